import { Actor } from '../events/envelope';
import { EventDraft, InvalidEventError, parseEvent, stamp, StoredEvent } from '../events/catalog';
import { EventLog } from '../events/log';
import { PoolReader } from '../projections/ports';
import { DomainError, domainError, isDomainError } from './errors';

/** Serialises decisions: in one process a mutex, across processes a Redis lease. */
export interface DecisionLock {
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

export interface WriteSideDeps {
  log: EventLog;
  pool: PoolReader;
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
export class WriteSide {
  constructor(private readonly deps: WriteSideDeps) {}

  async decide<T>(
    actor: Actor,
    decision: (pool: PoolReader) => Promise<Decided<T> | DomainError>,
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
