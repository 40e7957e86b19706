import type { Logger } from 'pino';
import { EventLog } from '../events/log';
import { PoolStore } from './ports';
import { Projection, Projector } from './projector';
import { PoolSnapshots, PoolSnapshotter, restoreFromSnapshot, SnapshottablePool, SnapshotterSettings } from './snapshots';

/*
 * The projections a process feeds for itself (the in-memory pool; everything on
 * the embedded log). The pool must have the whole log before the process serves
 * or decides anything, so the start waits for it; from its latest snapshot, when
 * it has one, that is a replay of only what came after.
 */

export interface OwnProjectionsDeps {
  log: EventLog;
  pool: PoolStore;
  projections: Projection[];
  /** the pool when it lives in memory, with where its snapshots are kept; null when it does not */
  snapshots: { pool: SnapshottablePool; store: PoolSnapshots } | null;
  /** the projector that feeds them (the root wires what it records and parks) */
  projector(projections: Projection[]): Projector;
  logger: Logger;
  clock: () => Date;
  /** how long to wait for the pool to catch up with the log */
  catchUpTimeoutMs: number;
  snapshotSettings: SnapshotterSettings;
}

/**
 * Starts feeding, waits until the pool has the log's last event and keeps snapshotting it.
 * Each thing started is handed to `onStop` at once (in the order to stop it), so a start
 * that fails half way can still be undone.
 */
export async function startOwnProjections(deps: OwnProjectionsDeps, onStop: (stop: () => Promise<void>) => void): Promise<void> {
  const { log, pool, logger } = deps;
  const started = Date.now();
  const ownsPool = deps.projections.some((p) => p.name === 'pool');
  let snapshotter: PoolSnapshotter | null = null;
  let fromSnapshot: number | null = null;
  if (ownsPool && deps.snapshots) {
    const snapshotDeps = { log, pool: deps.snapshots.pool, snapshots: deps.snapshots.store, logger, clock: deps.clock };
    fromSnapshot = await restoreFromSnapshot(snapshotDeps);
    snapshotter = new PoolSnapshotter(snapshotDeps, deps.snapshotSettings, fromSnapshot ?? -1);
  }
  const own = deps.projector(deps.projections);
  await own.start();
  onStop(() => own.stop());
  const head = await log.lastOffset();
  if (head >= 0 && ownsPool) await pool.waitFor(head, deps.catchUpTimeoutMs);
  logger.info({ events: head + 1, replayed: head - (fromSnapshot ?? -1), fromSnapshot, ms: Date.now() - started }, 'read model caught up with the event log');
  if (snapshotter) {
    const s = snapshotter;
    s.start();
    // After the projector stopped: the last snapshot holds every event applied.
    onStop(() => s.stop());
  }
}
