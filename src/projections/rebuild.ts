import { StoredEvent } from '../events/catalog';
import { EventLog } from '../events/log';
import { DecisionLock } from '../commands/write-side';
import { applyToPool } from './apply';
import { PoolState } from './pool';
import { PoolStore } from './ports';

/*
 * Read models are disposable: the log is the truth. A rebuild replays the whole
 * log into an empty model, compares it with the live one and puts it in place.
 */

export interface RebuildProgress {
  applied: number;
  total: number;
}

export interface RebuildResult {
  events: number;
  checkpoint: number;
  /** whether the live model was exactly what the log says */
  equal: boolean;
  differences: string[];
  ms: number;
}

/** Entity by entity, what differs between two models (empty when equal). */
export function differences(live: PoolState, rebuilt: PoolState): string[] {
  const out: string[] = [];
  const compare = (table: string, a: Record<string, unknown>, b: Record<string, unknown>) => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(key in b)) out.push(`${table} ${key}: only in the live model`);
      else if (!(key in a)) out.push(`${table} ${key}: missing from the live model`);
      else if (canonical(a[key]) !== canonical(b[key])) out.push(`${table} ${key}: live ${canonical(a[key])} / log ${canonical(b[key])}`);
    }
  };
  compare('server', live.servers, rebuilt.servers);
  compare('meeting', live.meetings, rebuilt.meetings);
  compare('voice bridge', live.voiceBridges, rebuilt.voiceBridges);
  compare('tenant', live.tenants, rebuilt.tenants);
  compare('tenant setting', live.tenantSettings, rebuilt.tenantSettings);
  compare('tenant name', live.tenantNames, rebuilt.tenantNames);
  return out;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value as Record<string, unknown>)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

export interface RebuildDeps {
  log: EventLog;
  live: PoolStore;
  lock: DecisionLock;
  /** an empty store to rebuild into */
  fresh: PoolStore;
  projectionTimeoutMs: number;
}

/**
 * Replay the log into `fresh` (outside the lock: it may take a while), then,
 * holding the decision lock so no event is appended, catch up the tail, wait
 * until the live model has every event, compare and replace it.
 */
export async function rebuildPool(deps: RebuildDeps, onProgress: (p: RebuildProgress) => void = () => undefined): Promise<RebuildResult> {
  const started = Date.now();
  const { log, live, lock, fresh } = deps;
  await fresh.clear();
  let applied = 0;
  const total = (await log.lastOffset()) + 1;
  const apply = async (batch: StoredEvent[]) => {
    await applyToPool(fresh, batch);
    applied += batch.length;
    onProgress({ applied, total: Math.max(total, applied) });
  };
  await log.replay(0, apply);
  return lock.withLock(async () => {
    await log.replay((await fresh.checkpoint()) + 1, apply);
    const checkpoint = await fresh.checkpoint();
    if (checkpoint >= 0) await live.waitFor(checkpoint, deps.projectionTimeoutMs);
    const rebuilt = await fresh.snapshot();
    const found = differences(await live.snapshot(), rebuilt);
    await live.replaceAll(rebuilt, checkpoint);
    return { events: applied, checkpoint, equal: found.length === 0, differences: found.slice(0, 100), ms: Date.now() - started };
  });
}

/** The pool as it was at a moment: the log replayed up to the last event at or before `at`. */
export async function poolAt(log: EventLog, at: Date, fresh: PoolStore): Promise<{ state: PoolState; checkpoint: number }> {
  await fresh.clear();
  const limit = at.getTime();
  let done = false;
  await log.replay(0, async (batch) => {
    if (done) return;
    const cut = batch.findIndex((s) => Date.parse(s.event.at) > limit);
    const prefix = cut < 0 ? batch : batch.slice(0, cut);
    if (cut >= 0) done = true;
    if (prefix.length > 0) await applyToPool(fresh, prefix);
  });
  return { state: await fresh.snapshot(), checkpoint: await fresh.checkpoint() };
}
