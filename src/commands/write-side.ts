import { Actor } from '../events/envelope';
import { checkEvent, DomainEvent, EventDraft, InvalidEventError, stamp, StoredEvent } from '../events/catalog';
import { EventLog } from '../events/log';
import { PoolReader } from '../projections/ports';
import { ProjectionTimeoutError } from '../projections/waiters';
import { Decision } from './decision';
import { DecisionUnavailableError, DomainError, domainError, isDomainError } from './errors';

export type { Decided, Decision } from './decision';

/** Serialises decisions: in one process a mutex, across processes a Redis lease. */
export interface DecisionLock {
  /**
   * Runs fn alone. With a deadline (epoch ms), a caller still waiting for its turn then
   * leaves the queue with a DecisionUnavailableError; once fn has started it runs to its end.
   */
  withLock<T>(fn: () => Promise<T>, deadline?: number): Promise<T>;
}

/** A read model decisions are made against: it can say where it is and when it has applied an event. */
export interface Projected {
  checkpoint(): Promise<number>;
  waitFor(offset: number, timeoutMs?: number): Promise<void>;
}

export interface WriteSideDeps<R extends Projected = PoolReader> {
  log: EventLog;
  /** the read model decisions read (the pool, or the recordings) */
  pool: R;
  lock: DecisionLock;
  clock: () => Date;
  newId: () => string;
  /** how long a caller waits for its turn and for its events to be projected */
  projectionTimeoutMs: number;
  /** the wall clock the deadlines are measured on (tests) */
  now?: () => number;
  /** told of each decision made: how long it waited (read model and lock) and held the lock, and what it appended */
  onDecided?: (timing: DecisionTiming) => void;
  /**
   * The read model plus events decided but not yet appended (PoolOverlay): with it, decisions
   * asked with `batch` that queue up meanwhile are made in one hold of the lock and appended
   * together, each seeing those before it.
   */
  overlay?(view: R): DecisionOverlay<R>;
}

export interface DecisionOverlay<R> {
  view: R;
  apply(events: DomainEvent[]): Promise<void>;
}

/** The most decisions made in one hold of the lock: bounds the hold, and so what others wait. */
export const MAX_BATCH = 64;

/** How long a batch may wait for more decisions while each turn of the event loop brings some. */
export const GATHER_MS = 10;

interface Queued<R> {
  actor: Actor;
  // a method, not a property: its parameter stays bivariant, so a WriteSide<PoolStore> is still a WriteSide<PoolReader>
  decision(pool: R): Decision<unknown> | Promise<Decision<unknown>>;
  correlationId?: string;
  asked: number;
  deadline: number;
  settle: (outcome: Promise<Committed<unknown> | DomainError>) => void;
}

export interface DecisionTiming {
  waitMs: number;
  holdMs: number;
  /** the types of the events appended, in order */
  appended: string[];
}

export interface Committed<T> {
  result: T;
  events: StoredEvent[];
}

/**
 * Every change goes through here: make sure the read model has every event of the
 * log, take the decision lock, decide against the read model, append what was
 * decided and wait until the projection includes it. So decisions never see a
 * stale pool, and whoever made a change reads it back at once.
 *
 * A caller's wait is bounded: queueing for the lock and catching up share one
 * deadline (PROJECTION_TIMEOUT), and a caller still queued at it leaves the queue.
 * Once a wait found the read model stuck, later callers are answered at once, before
 * the lock, until it moves: with the projector down, one caller waits a timeout and
 * the others fail fast, instead of each holding the cluster-wide lock for a whole
 * timeout in turn (120 s queues were seen).
 */
export class WriteSide<R extends Projected = PoolReader> {
  /** where the read model was when a caller last timed out waiting for it */
  private stuck: { at: number; since: number; probedAt: number; probing: boolean } | null = null;
  /** batchable decisions waiting for this process's next hold of the lock */
  private queued: Array<Queued<R>> = [];
  private draining = false;

  constructor(private readonly deps: WriteSideDeps<R>) {}

  /**
   * `decision` loads its view from the read model it is given and returns what a
   * decider returns (decision.ts): often just `async (view) => decideX(command, await xView(view))`.
   */
  async decide<T = undefined>(
    actor: Actor,
    decision: (pool: R) => Decision<T> | Promise<Decision<T>>,
    correlationId?: string,
    options: { batch?: boolean } = {},
  ): Promise<Committed<T> | DomainError> {
    const { lock, projectionTimeoutMs } = this.deps;
    const now = this.deps.now ?? Date.now;
    const asked = now();
    const deadline = asked + projectionTimeoutMs;
    // Known to be stuck: answered here, without queueing for the lock (no I/O otherwise).
    if (this.stuck) await this.caughtUp(deadline);
    if (options.batch && this.deps.overlay) {
      return new Promise<Committed<unknown> | DomainError>((resolve, reject) => {
        this.queued.push({ actor, decision: decision as Queued<R>['decision'], correlationId, asked, deadline, settle: (outcome) => outcome.then(resolve, reject) });
        if (!this.draining) void this.drain();
      }) as Promise<Committed<T> | DomainError>;
    }
    return lock.withLock(async () => {
      const held = now();
      let appended: string[] = [];
      try {
        return await this.decideHolding(actor, decision, deadline, correlationId, (types) => (appended = types));
      } finally {
        this.deps.onDecided?.({ waitMs: held - asked, holdMs: now() - held, appended });
      }
    }, deadline);
  }

  private async decideHolding<T>(
    actor: Actor,
    decision: (pool: R) => Decision<T> | Promise<Decision<T>>,
    deadline: number,
    correlationId: string | undefined,
    tell: (types: string[]) => void,
  ): Promise<Committed<T> | DomainError> {
    const { log, pool, clock, newId, projectionTimeoutMs } = this.deps;
    const now = this.deps.now ?? Date.now;
    // Within the caller's deadline (at least a second, for one that queued long for the lock).
    await this.caughtUp(Math.max(deadline, now() + Math.min(1000, projectionTimeoutMs)));
    const decided = await decision(pool);
    if (isDomainError(decided)) return decided;
    const result = decided.result as T;
    if (decided.events.length === 0) return { result, events: [] };
    const events = stamp(decided.events, actor, clock(), newId, correlationId);
    // The log refuses what its schemas refuse; say so as an error, not as a crash.
    try {
      events.forEach((e) => checkEvent(e));
    } catch (err) {
      if (err instanceof InvalidEventError) return domainError('invalidRequest', err.message);
      throw err;
    }
    const offsets = await log.append(events);
    tell(events.map((e) => e.type));
    // Appended is decided: the caller waits a whole timeout for its read-your-write.
    await this.projected(offsets[offsets.length - 1], projectionTimeoutMs);
    return { result, events: events.map((event, i) => ({ offset: offsets[i], event })) };
  }

  /**
   * Group commit: while one batch holds the lock, the decisions asked meanwhile queue
   * here, and the next hold takes them all (up to MAX_BATCH). One log-head read, one
   * append and one projection wait serve the whole batch, where each decision alone paid
   * them (and the lock) in turn: a burst of creates at 9:00 is placed at many times the rate.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queued.length > 0) {
        await this.gather();
        const batch = this.queued.splice(0, MAX_BATCH);
        const latest = Math.max(...batch.map((q) => q.deadline));
        const run = this.deps.lock.withLock(() => this.decideBatch(batch), latest);
        // A failure of the lock or the batch as a whole answers every member still waiting.
        await run.catch((err: unknown) => {
          for (const q of batch) q.settle(Promise.reject(err));
        });
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Before a batch: while a turn of the event loop brings more decisions, wait for the next
   * turn (up to GATHER_MS, or a full batch). Node accepts one connection a turn (libuv#3696),
   * so clients with a connection per call, as an LMS's curl is, arrive one a turn: each batch
   * held one of them, and the embedded default placed ~180 creates/s for them against ~800 for
   * keep-alive clients, whose requests come in bursts. A decision alone waits one turn.
   */
  private async gather(): Promise<void> {
    const started = performance.now();
    let seen = this.queued.length;
    // Requests arrive in a turn's poll for I/O, before its immediates: the first wait is for the
    // next turn's immediates, past its poll (an immediate set now may still run in this turn).
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    while (this.queued.length > seen && this.queued.length < MAX_BATCH && performance.now() - started < GATHER_MS) {
      seen = this.queued.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async decideBatch(batch: Array<Queued<R>>): Promise<void> {
    const { log, pool, clock, newId, projectionTimeoutMs } = this.deps;
    const now = this.deps.now ?? Date.now;
    const held = now();
    const live: Array<Queued<R>> = [];
    for (const q of batch) {
      // Still queued at its deadline: answered now, and its decision never runs.
      if (q.deadline <= held) q.settle(Promise.reject(new DecisionUnavailableError(`no turn at the decision lock within ${projectionTimeoutMs} ms`)));
      else live.push(q);
    }
    if (live.length === 0) return;
    await this.caughtUp(Math.max(...live.map((q) => q.deadline), now() + Math.min(1000, projectionTimeoutMs)));
    const overlay = this.deps.overlay!(pool);
    const decided: Array<{ q: Queued<R>; result: unknown; events: DomainEvent[] }> = [];
    for (const q of live) {
      let outcome: Decision<unknown>;
      try {
        outcome = await q.decision(overlay.view);
      } catch (err) {
        q.settle(Promise.reject(err));
        continue;
      }
      if (isDomainError(outcome)) {
        q.settle(Promise.resolve(outcome));
        continue;
      }
      if (outcome.events.length === 0) {
        q.settle(Promise.resolve({ result: outcome.result, events: [] }));
        continue;
      }
      const events = stamp(outcome.events, q.actor, clock(), newId, q.correlationId);
      try {
        events.forEach((e) => checkEvent(e));
      } catch (err) {
        if (!(err instanceof InvalidEventError)) throw err;
        q.settle(Promise.resolve(domainError('invalidRequest', err.message)));
        continue;
      }
      // A read failing here leaves the overlay unsure: the whole batch fails (drain answers everyone left).
      await overlay.apply(events);
      decided.push({ q, result: outcome.result, events });
    }
    if (decided.length === 0) return;
    try {
      const offsets = await log.append(decided.flatMap((d) => d.events));
      await this.projected(offsets[offsets.length - 1], projectionTimeoutMs);
      let at = 0;
      for (const d of decided) {
        const stored = d.events.map((event) => ({ offset: offsets[at++], event }));
        this.deps.onDecided?.({ waitMs: held - d.q.asked, holdMs: now() - held, appended: d.events.map((e) => e.type) });
        d.q.settle(Promise.resolve({ result: d.result, events: stored }));
      }
    } catch (err) {
      for (const d of decided) d.q.settle(Promise.reject(err));
    }
  }

  /**
   * Append facts that need no decision against the read model (a projector rebuilt its
   * store), without the lock and without waiting for them to be projected.
   */
  async record(actor: Actor, drafts: EventDraft[], correlationId?: string): Promise<number[]> {
    const { log, clock, newId } = this.deps;
    const events = stamp(drafts, actor, clock(), newId, correlationId);
    events.forEach((e) => checkEvent(e));
    return log.append(events);
  }

  /** The read model holds every event of the log, or DecisionUnavailableError by the deadline. */
  private async caughtUp(deadline: number): Promise<void> {
    const { log, pool } = this.deps;
    const now = this.deps.now ?? Date.now;
    const head = await log.lastOffset();
    if (head < 0) return;
    const stuck = this.stuck;
    if (stuck) {
      const at = await pool.checkpoint();
      if (at !== stuck.at || at >= head) this.stuck = null;
      // Stuck: one caller a second waits to see whether it moves again; the others are answered at once.
      else if (stuck.probing || now() - stuck.probedAt < STUCK_PROBE_MS) {
        const seconds = Math.round((now() - stuck.since) / 1000);
        throw new DecisionUnavailableError(`the read model has been stuck at event ${at} for ${seconds} s while the log is at ${head}: is a projector running?`);
      } else {
        stuck.probing = true;
        stuck.probedAt = now();
      }
    }
    try {
      await this.projected(head, Math.max(0, deadline - now()));
    } finally {
      if (stuck) stuck.probing = false;
    }
  }

  private async projected(offset: number, timeoutMs: number): Promise<void> {
    const { pool } = this.deps;
    const now = this.deps.now ?? Date.now;
    try {
      await pool.waitFor(offset, timeoutMs);
      this.stuck = null;
    } catch (err) {
      if (!(err instanceof ProjectionTimeoutError)) throw err;
      const at = await pool.checkpoint().catch(() => -1);
      if (!this.stuck || this.stuck.at !== at) this.stuck = { at, since: now() - timeoutMs, probedAt: now(), probing: false };
      throw new DecisionUnavailableError(`${err.message}: is a projector running?`);
    }
  }
}

/** While the read model is stuck, how often one caller waits again to see whether it moves. */
const STUCK_PROBE_MS = 1000;

/** A mutex for one process: decisions run one after another in arrival order. */
export class LocalDecisionLock implements DecisionLock {
  private tail: Promise<unknown> = Promise.resolve();

  withLock<T>(fn: () => Promise<T>, deadline?: number): Promise<T> {
    const turn = queuedTurn(fn, deadline);
    const run = this.tail.then(turn.run, turn.run);
    this.tail = run.catch(() => undefined);
    return turn.outcome(run);
  }
}

/**
 * A place in a queue that can be given up: until `run` starts, the deadline can pass,
 * and then the caller is answered at once while its turn, when it comes, does nothing.
 */
export function queuedTurn<T>(fn: () => Promise<T>, deadline?: number) {
  let started = false;
  let abandoned = false;
  return {
    run: (): Promise<T> => {
      if (abandoned) return Promise.reject(new DecisionUnavailableError('gave up its turn'));
      started = true;
      return fn();
    },
    outcome: (run: Promise<T>): Promise<T> => {
      if (deadline === undefined) return run;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            if (started) return;
            abandoned = true;
            reject(new DecisionUnavailableError('the decision lock stayed busy past the deadline: too many decisions at once, or a slow read model'));
          },
          Math.max(0, deadline - Date.now()),
        );
        run.then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          },
        );
      });
    },
  };
}
