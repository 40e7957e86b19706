import { Actor } from '../events/envelope';
import { EventDraft, InvalidEventError, parseEvent, stamp, StoredEvent } from '../events/catalog';
import { EventLog } from '../events/log';
import { PoolReader } from '../projections/ports';
import { DomainError, domainError, isDomainError } from './errors';

/** Serialises decisions: in one process a mutex, across processes a Redis lease. */
export interface DecisionLock {
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

/** A read model decisions are made against: it can say when it has applied an event. */
export interface Projected {
  waitFor(offset: number, timeoutMs?: number): Promise<void>;
}

export interface WriteSideDeps<R extends Projected = PoolReader> {
  log: EventLog;
  /** the read model decisions read (the pool, or the recordings) */
  pool: R;
  lock: DecisionLock;
  clock: () => Date;
  newId: () => string;
  /** how long a caller waits for its events to be projected */
  projectionTimeoutMs: number;
}

export interface Decided<T> {
  events: EventDraft[];
  result: T;
}

export interface Committed<T> {
  result: T;
  events: StoredEvent[];
}

/**
 * Every change goes through here: take the decision lock, make sure the read
 * model has every event of the log, decide against it, append what was decided
 * and wait until the projection includes it. So decisions never see a stale
 * pool, and whoever made a change reads it back at once.
 */
export class WriteSide<R extends Projected = PoolReader> {
  constructor(private readonly deps: WriteSideDeps<R>) {}

  async decide<T>(
    actor: Actor,
    decision: (pool: R) => Promise<Decided<T> | DomainError>,
    correlationId?: string,
  ): Promise<Committed<T> | DomainError> {
    const { log, pool, lock, clock, newId, projectionTimeoutMs } = this.deps;
    return lock.withLock(async () => {
      const head = await log.lastOffset();
      if (head >= 0) await pool.waitFor(head, projectionTimeoutMs);
      const decided = await decision(pool);
      if (isDomainError(decided)) return decided;
      if (decided.events.length === 0) return { result: decided.result, events: [] };
      const events = stamp(decided.events, actor, clock(), newId, correlationId);
      // The log refuses what its schemas refuse; say so as an error, not as a crash.
      try {
        events.forEach((e) => parseEvent(e));
      } catch (err) {
        if (err instanceof InvalidEventError) return domainError('invalidRequest', err.message);
        throw err;
      }
      const offsets = await log.append(events);
      await pool.waitFor(offsets[offsets.length - 1], projectionTimeoutMs);
      return { result: decided.result, events: events.map((event, i) => ({ offset: offsets[i], event })) };
    });
  }
}

/** A mutex for one process: decisions run one after another in arrival order. */
export class LocalDecisionLock implements DecisionLock {
  private tail: Promise<unknown> = Promise.resolve();

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
