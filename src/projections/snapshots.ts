import type { Logger } from 'pino';
import { EventLog } from '../events/log';
import { PoolState } from './pool';

/*
 * Snapshots of the in-memory pool read model, so the embedded default starts
 * from the latest snapshot and replays only the events after it, instead of
 * the whole log. The log stays the truth: a snapshot is used only when it is
 * of this code's state shape (SNAPSHOT_VERSION) and belongs to this log (the
 * event at its position has the id it recorded); otherwise the whole log is
 * replayed, as without snapshots. `projections:rebuild` still compares the
 * live model with a full replay.
 */

/** Bump when PoolState (or what evolve puts in it) changes shape: older snapshots are then ignored. */
export const SNAPSHOT_VERSION = 1;

export interface PoolSnapshot {
  /** the offset of the last event the state includes */
  position: number;
  /** that event's id: a snapshot of another log (a new topic, a wiped database) is refused */
  eventId: string;
  version: number;
  takenAt: string;
  state: PoolState;
}

export interface PoolSnapshots {
  latest(): Promise<PoolSnapshot | null>;
  /** saves it and drops all but the newest few */
  save(snapshot: PoolSnapshot): Promise<void>;
}

/** A read model that can be snapshotted and restored (the in-memory one). */
export interface SnapshottablePool {
  /** the state and the checkpoint it is at, taken together */
  snapshotAt(): { state: PoolState; checkpoint: number };
  replaceAll(state: PoolState, checkpoint: number): Promise<void>;
}

export interface SnapshotDeps {
  log: EventLog;
  pool: SnapshottablePool;
  snapshots: PoolSnapshots;
  logger: Logger;
  clock?: () => Date;
}

/** Why a snapshot cannot be used, or null when it can. */
export function snapshotRefusal(snapshot: PoolSnapshot, head: number, eventIdAtPosition: string | null): string | null {
  if (snapshot.version !== SNAPSHOT_VERSION) return `it is of state version ${snapshot.version}, this code's is ${SNAPSHOT_VERSION}`;
  if (snapshot.position > head) return `it is at event ${snapshot.position}, beyond the log's last event ${head}`;
  if (eventIdAtPosition !== snapshot.eventId) return `event ${snapshot.position} of the log is not the one it was taken at`;
  return null;
}

/** Loads the latest usable snapshot into the pool; answers its position, or null (replay everything). */
export async function restoreFromSnapshot(deps: SnapshotDeps): Promise<number | null> {
  const snapshot = await deps.snapshots.latest();
  if (!snapshot) return null;
  const head = await deps.log.lastOffset();
  const [atPosition] = snapshot.position <= head ? await deps.log.read(snapshot.position, 1) : [];
  const refusal = snapshotRefusal(snapshot, head, atPosition?.offset === snapshot.position ? atPosition.event.id : null);
  if (refusal) {
    deps.logger.warn({ position: snapshot.position, takenAt: snapshot.takenAt }, `not starting from the read-model snapshot: ${refusal}; replaying the whole log`);
    return null;
  }
  await deps.pool.replaceAll(snapshot.state, snapshot.position);
  return snapshot.position;
}

export interface SnapshotterSettings {
  /** how often to look whether a snapshot is due */
  checkIntervalMs: number;
  /** a snapshot is due once this many events were applied since the last one */
  everyEvents: number;
}

/** Takes a snapshot when enough events were applied since the last one, and a last one at stop. */
export class PoolSnapshotter {
  private timer: NodeJS.Timeout | null = null;
  private taking: Promise<void> | null = null;
  private lastPosition: number;

  constructor(
    private readonly deps: SnapshotDeps,
    private readonly settings: SnapshotterSettings,
    startPosition: number,
  ) {
    this.lastPosition = startPosition;
  }

  start(): void {
    this.timer = setInterval(() => void this.takeIfDue(this.settings.everyEvents), this.settings.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.taking;
    // One at stop, so the next start replays almost nothing.
    await this.takeIfDue(1);
  }

  /** Takes one when at least `minEvents` were applied since the last; answers whether it did. */
  async takeIfDue(minEvents: number): Promise<boolean> {
    if (this.taking) return false;
    const at = this.deps.pool.snapshotAt();
    const checkpoint = at.checkpoint;
    if (checkpoint < 0 || checkpoint - this.lastPosition < minEvents) return false;
    // A copy now: the live model goes on changing while the snapshot is saved.
    const state = structuredClone(at.state);
    let took = false;
    this.taking = (async () => {
      const [event] = await this.deps.log.read(checkpoint, 1);
      if (event?.offset !== checkpoint) return;
      await this.deps.snapshots.save({
        position: checkpoint,
        eventId: event.event.id,
        version: SNAPSHOT_VERSION,
        takenAt: (this.deps.clock?.() ?? new Date()).toISOString(),
        state,
      });
      this.lastPosition = checkpoint;
      took = true;
    })()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not save a read-model snapshot'))
      .finally(() => (this.taking = null));
    await this.taking;
    return took;
  }
}
