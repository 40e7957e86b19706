import type { Logger } from 'pino';
import { StoredEvent } from '../events/catalog';
import { EventLog, LogSubscription } from '../events/log';
import { sanitizeStrings } from '../events/storable';
import { ProjectionGapError } from './apply';

/** A read model fed from the log: applies each event at most once, tracked by its checkpoint. */
export interface Projection {
  name: string;
  checkpoint(): Promise<number>;
  apply(batch: StoredEvent[]): Promise<void>;
  /** Move the checkpoint over one event this projection cannot apply (it is parked), changing nothing else. */
  skip(stored: StoredEvent, reason: string): Promise<void>;
  /** Forget everything, checkpoint included: the store held another log's state. */
  clear(): Promise<void>;
}

/** An event a projection could not apply, set aside so that the events after it are applied. */
export interface ParkedEvent {
  projection: string;
  offset: number;
  eventId: string;
  type: string;
  reason: string;
  parkedAt: string;
}

/** Where parked events are kept, for `status`, the metrics and whoever repairs them. */
export interface ParkedEvents {
  park(entry: ParkedEvent): Promise<void>;
  /** newest first */
  list(limit: number): Promise<ParkedEvent[]>;
  count(): Promise<number>;
}

/** Why a store was rebuilt from the log by the projector itself. */
export interface RebuildReport {
  projection: string;
  /** lost: it holds less than was applied (emptied, restored from an older copy); foreign: it is ahead of the log */
  reason: 'lost' | 'foreign';
  found: number;
  expected: number;
  head: number;
}

export interface ProjectorDeps {
  log: EventLog;
  projections: Projection[];
  logger: Logger;
  parked: ParkedEvents;
  /** A fault that passes (a store or the network unreachable): retried until it works, never parked. */
  isTransient(err: unknown): boolean;
  /** Told once a store is being rebuilt by this process, to record the fact in the log. */
  onRebuilt?(report: RebuildReport): Promise<void>;
  clock?: () => Date;
  /** how often each lane checks its store still holds what it applied */
  watchIntervalMs?: number;
  /** pause between attempts at one event before it is parked */
  isolateRetryMs?: number;
}

export interface LaneStatus {
  projection: string;
  /** the last offset this process applied or skipped; null while the lane is another process's */
  applied: number | null;
  rebuilds: number;
  parked: number;
}

/** How many times one event is tried on its own before it is parked. */
const ATTEMPTS_BEFORE_PARKING = 3;

/**
 * Follows the log and feeds every projection, each in its own lane: its own
 * subscription from its own checkpoint, so a projection that waits for its store
 * (PostgreSQL restarting) holds back no other (the pool, which decisions need).
 *
 * A lane never stops the world:
 * - an event its store refuses for good is tried alone, then parked (kept in
 *   ParkedEvents, logged, counted) and the checkpoint moves past it;
 * - a fault that passes (isTransient) is retried with backoff by the subscription;
 * - a store found holding less than the lane applied (FLUSHALL, a Redis restart
 *   without persistence, a truncated table), or ahead of the log (another log's
 *   state), is rebuilt from the log by the lane itself, which says so.
 */
export class Projector {
  private readonly lanes: Lane[];

  constructor(deps: ProjectorDeps) {
    this.lanes = deps.projections.map((p, i) => new Lane(deps, p, i === 0));
  }

  /** Start following the log; `group` makes several projector processes share each lane, one active at a time. */
  async start(group?: string): Promise<void> {
    for (const lane of this.lanes) lane.start(group);
  }

  status(): LaneStatus[] {
    return this.lanes.map((l) => l.status());
  }

  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.stop()));
  }
}

class Lane {
  private subscription: LogSubscription | null = null;
  private applied: number | null = null;
  private group: string | undefined;
  private restarting: Promise<void> | null = null;
  private pendingReport: Omit<RebuildReport, 'head'> | null = null;
  private watch: NodeJS.Timeout | null = null;
  private watching = false;
  private rebuilds = 0;
  private parkedHere = 0;
  private stopped = false;
  private readonly logger: Logger;

  constructor(
    private readonly deps: ProjectorDeps,
    private readonly projection: Projection,
    /** one lane tells of records the log holds but nobody can read, so they are told once */
    private readonly reportsUnreadable: boolean,
  ) {
    this.logger = deps.logger.child({ projection: projection.name });
  }

  start(group?: string): void {
    this.group = group;
    this.stopped = false;
    this.subscribe();
    if (!this.watch) {
      this.watch = setInterval(() => void this.check(), this.deps.watchIntervalMs ?? 1000);
      this.watch.unref();
    }
  }

  status(): LaneStatus {
    return { projection: this.projection.name, applied: this.applied, rebuilds: this.rebuilds, parked: this.parkedHere };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watch) clearInterval(this.watch);
    this.watch = null;
    await this.restarting;
    await this.subscription?.close();
    this.subscription = null;
  }

  private subscribe(): void {
    const { log, logger } = this.deps;
    this.subscription = log.subscribe(
      // Asked whenever delivery (re)starts here: resume from what the store holds.
      async () => {
        const at = await this.projection.checkpoint();
        this.applied = at;
        this.logger.info({ from: at + 1 }, 'projecting the log');
        const report = this.pendingReport;
        this.pendingReport = null;
        if (report) void this.report(report);
        return at + 1;
      },
      (batch) => this.onBatch(batch),
      {
        group: this.group ? `${this.group}-${this.projection.name}` : undefined,
        onError: (err, attempt) => {
          // A store restarting is expected to fail for a while: say so once, then now and then.
          if (attempt === 1 || attempt % 10 === 0) logger.warn({ err, attempt, projection: this.projection.name }, 'projection failed; retrying the same events');
        },
      },
    );
  }

  private async onBatch(batch: StoredEvent[]): Promise<void> {
    // Delivered by a subscription being replaced: the new one delivers it again.
    if (this.restarting || this.stopped) return;
    if (this.reportsUnreadable) this.tellUnreadable(batch);
    try {
      await this.applyOrPark(batch);
    } catch (err) {
      if (err instanceof ProjectionGapError) {
        const found = await this.projection.checkpoint();
        this.heal('lost', found);
        return;
      }
      throw err;
    }
    const last = batch[batch.length - 1].offset;
    if (this.applied === null || last > this.applied) this.applied = last;
  }

  private async applyOrPark(batch: StoredEvent[]): Promise<void> {
    try {
      await this.projection.apply(batch);
      return;
    } catch (err) {
      if (this.deps.isTransient(err) || err instanceof ProjectionGapError) throw err;
      this.logger.warn({ err, from: batch[0].offset, to: batch[batch.length - 1].offset }, 'a batch was refused: applying its events one by one');
    }
    for (const stored of batch) {
      if (stored.offset <= (await this.projection.checkpoint())) continue;
      await this.applyOne(stored);
    }
  }

  private async applyOne(stored: StoredEvent): Promise<void> {
    let last: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS_BEFORE_PARKING; attempt++) {
      try {
        await this.projection.apply([stored]);
        return;
      } catch (err) {
        if (this.deps.isTransient(err) || err instanceof ProjectionGapError) throw err;
        last = err;
        await sleep((this.deps.isolateRetryMs ?? 200) * attempt);
      }
    }
    // The store answers (this read throws when it does not, and the event is retried),
    // yet refuses this one event every time: it is the event, and it is set aside.
    await this.projection.checkpoint();
    const reason = sanitizeStrings(last instanceof Error ? last.message : String(last)).slice(0, 2000);
    await this.deps.parked.park({
      projection: this.projection.name,
      offset: stored.offset,
      eventId: stored.event.id,
      type: stored.event.type,
      reason,
      parkedAt: (this.deps.clock ?? (() => new Date()))().toISOString(),
    });
    await this.projection.skip(stored, reason);
    this.parkedHere += 1;
    this.logger.error(
      { offset: stored.offset, eventId: stored.event.id, type: stored.event.type, reason },
      `event ${stored.offset} parked: the ${this.projection.name} read model cannot apply it (see scalelite status); the events after it are applied`,
    );
  }

  private tellUnreadable(batch: StoredEvent[]): void {
    for (const { offset, event } of batch) {
      if (event.type !== 'EventUnreadable') continue;
      this.logger.error({ offset, eventId: event.id, ...event.data }, `event ${offset} of the log cannot be read by this version; no read model applies it`);
      void this.deps.parked
        .park({ projection: '*', offset, eventId: event.id, type: event.data.type ?? 'unknown', reason: event.data.reason, parkedAt: new Date().toISOString() })
        .catch((err: unknown) => this.logger.warn({ err, offset }, 'could not record an unreadable event'));
    }
  }

  /** Whether the store still holds what this lane applied, and no more than the log has. */
  private async check(): Promise<void> {
    if (this.watching || this.restarting || this.stopped || this.applied === null) return;
    this.watching = true;
    try {
      const applied = this.applied;
      // The store first, then the log: a store read before the head can never be ahead of it legitimately.
      const found = await this.projection.checkpoint();
      if (found < applied) return this.heal('lost', found);
      // Ahead of what this lane applied is normal (another projector process applied it);
      // ahead of the log is not. The log is asked only then: a store never gets ahead of it legitimately.
      if (found > applied && found > (await this.deps.log.lastOffset())) return this.heal('foreign', found);
    } catch {
      // A store or log that does not answer now is the subscription's to retry; nothing to heal yet.
    } finally {
      this.watching = false;
    }
  }

  private heal(reason: RebuildReport['reason'], found: number): void {
    if (this.restarting || this.stopped) return;
    const expected = this.applied ?? -1;
    this.rebuilds += 1;
    this.logger.warn(
      { reason, found, expected },
      reason === 'lost'
        ? `the ${this.projection.name} read model holds less than was applied (at event ${found}, not ${expected}): rebuilding it from the log`
        : `the ${this.projection.name} read model is ahead of the log (at event ${found}): it holds another log's state; clearing and rebuilding it from the log`,
    );
    this.restarting = (async () => {
      await this.subscription?.close();
      this.subscription = null;
      if (reason === 'foreign') await this.projection.clear();
      this.pendingReport = { projection: this.projection.name, reason, found, expected };
      this.applied = null;
      if (!this.stopped) this.subscribe();
    })()
      .catch((err: unknown) => this.logger.error({ err }, 'could not restart the projection'))
      .finally(() => {
        this.restarting = null;
      });
  }

  private async report(report: Omit<RebuildReport, 'head'>): Promise<void> {
    try {
      const head = await this.deps.log.lastOffset();
      await this.deps.onRebuilt?.({ ...report, head });
    } catch (err) {
      this.logger.warn({ err }, 'could not record the rebuild in the log');
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
