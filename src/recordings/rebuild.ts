import { DecisionLock } from '../commands/write-side';
import { StoredEvent } from '../events/catalog';
import { EventLog } from '../events/log';
import { PoolStore } from '../projections/ports';
import { rebuildPool, RebuildProgress, RebuildResult } from '../projections/rebuild';
import { RebuildOutcome, RecordingStore } from './ports';

/*
 * `projections:rebuild`: every read model this process can reach, replayed from
 * the log and compared with the live one. The pool is rebuilt first (mostly
 * outside the lock), then the recordings tables in one transaction.
 */

export interface ReadModelRebuildDeps {
  log: EventLog;
  lock: DecisionLock;
  pool: PoolStore;
  /** an empty pool store to replay into */
  scratchPool(): PoolStore;
  projectionTimeoutMs: number;
  recordings: Pick<RecordingStore, 'rebuild'>;
  /**
   * The log is read through the connection the recordings' rebuild transaction holds
   * (both in PGlite): it must be read before that transaction starts.
   */
  logSharesSql: boolean;
  /** the events the recordings model reads: only these are held in memory when the log is read first */
  isRecordingEvent(stored: StoredEvent): boolean;
}

/** Rebuild the pool and the recordings from the log; `equal` says whether both live models matched it. */
export async function rebuildReadModels(deps: ReadModelRebuildDeps, onProgress: (p: RebuildProgress) => void): Promise<RebuildResult> {
  const started = Date.now();
  const rebuilt = await rebuildPool({ log: deps.log, live: deps.pool, lock: deps.lock, fresh: deps.scratchPool(), projectionTimeoutMs: deps.projectionTimeoutMs }, onProgress);
  const recordings = await rebuildRecordings(deps);
  const differences = [...rebuilt.differences, ...recordings.differences.map((id) => `recording ${id}: differed from the log`)];
  return { ...rebuilt, equal: differences.length === 0, differences, ms: Date.now() - started };
}

/** The recordings tables, rebuilt from the log's recording events in one transaction (no event is appended meanwhile). */
export function rebuildRecordings(deps: Pick<ReadModelRebuildDeps, 'log' | 'lock' | 'recordings' | 'logSharesSql' | 'isRecordingEvent'>): Promise<RebuildOutcome> {
  const { log, lock, recordings } = deps;
  return lock.withLock(async () => {
    const head = await log.lastOffset();
    // The log is read inside the rebuild's transaction, so nothing is held in memory; but an
    // embedded log shares the PGlite connection that transaction holds, so it is read first.
    if (deps.logSharesSql) {
      const events: StoredEvent[] = [];
      await log.replay(0, async (batch) => void events.push(...batch.filter((e) => deps.isRecordingEvent(e))));
      return recordings.rebuild((apply) => apply(events), head);
    }
    return recordings.rebuild(async (apply) => void (await log.replay(0, apply)), head);
  });
}
