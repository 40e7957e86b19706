import { StoredEvent } from '../events/catalog';
import { diffPool, evolve, PoolKeys, touchedBy } from './pool';
import { PoolSliceStore } from './ports';

/**
 * Apply a batch of events to a pool store at most once: events at or below the
 * store's checkpoint are skipped; the rest are folded over the slice they touch
 * and written back together with the new checkpoint.
 */
export async function applyToPool(store: PoolSliceStore, batch: StoredEvent[]): Promise<number> {
  const checkpoint = await store.checkpoint();
  const fresh = batch.filter((s) => s.offset > checkpoint);
  if (fresh.length === 0) return checkpoint;
  const keys: PoolKeys = { servers: [], meetings: [], voiceBridges: [] };
  for (const { event } of fresh) {
    const k = touchedBy(event);
    keys.servers.push(...k.servers);
    keys.meetings.push(...k.meetings);
    keys.voiceBridges.push(...k.voiceBridges);
  }
  const before = await store.loadSlice(dedupe(keys));
  const after = fresh.reduce((state, s) => evolve(state, s.event), before);
  const last = fresh[fresh.length - 1].offset;
  await store.commit(diffPool(before, after), last);
  return last;
}

function dedupe(keys: PoolKeys): PoolKeys {
  return { servers: [...new Set(keys.servers)], meetings: [...new Set(keys.meetings)], voiceBridges: [...new Set(keys.voiceBridges)] };
}

/** The pool store as a projection the projector feeds. */
export function poolProjection(store: PoolSliceStore): { name: string; checkpoint(): Promise<number>; apply(batch: StoredEvent[]): Promise<void> } {
  return {
    name: 'pool',
    checkpoint: () => store.checkpoint(),
    apply: async (batch) => {
      await applyToPool(store, batch);
    },
  };
}
