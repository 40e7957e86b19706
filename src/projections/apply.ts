import { StoredEvent } from '../events/catalog';
import { diffPool, emptyKeys, emptyPool, evolveAll, PoolKeys, touchedBy } from './pool';
import { CheckpointConflictError, PoolSliceStore } from './ports';
import { Projection } from './projector';

export class ProjectionGapError extends Error {
  constructor(checkpoint: number, offset: number) {
    super(`the pool read model is at event ${checkpoint} and was handed event ${offset}: refusing to skip events`);
  }
}

/**
 * Apply a batch of events to a pool store at most once: events at or below the
 * store's checkpoint are skipped; the rest are folded over the slice they touch
 * and written back together with the new checkpoint.
 */
export async function applyToPool(store: PoolSliceStore, batch: StoredEvent[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyOnce(store, batch);
    } catch (err) {
      // Another projector committed part of this batch first: start again from its checkpoint.
      if (!(err instanceof CheckpointConflictError) || attempt >= 5) throw err;
    }
  }
}

async function applyOnce(store: PoolSliceStore, batch: StoredEvent[]): Promise<number> {
  const checkpoint = await store.checkpoint();
  const fresh = batch.filter((s) => s.offset > checkpoint);
  if (fresh.length === 0) return checkpoint;
  // The log has no holes: an event skipped here would be missing from the read model for good.
  if (fresh[0].offset !== checkpoint + 1) throw new ProjectionGapError(checkpoint, fresh[0].offset);
  const keys: PoolKeys = emptyKeys();
  for (const { event } of fresh) {
    const k = touchedBy(event);
    for (const table of Object.keys(keys) as Array<keyof PoolKeys>) keys[table].push(...k[table]);
  }
  const before = await store.loadSlice(dedupe(keys));
  const after = evolveAll(
    before,
    fresh.map((s) => s.event),
  );
  const last = fresh[fresh.length - 1].offset;
  await store.commit(diffPool(before, after), last, checkpoint);
  return last;
}

function dedupe(keys: PoolKeys): PoolKeys {
  return Object.fromEntries(Object.entries(keys).map(([table, ids]) => [table, [...new Set(ids)]])) as unknown as PoolKeys;
}

/** The pool store as a projection the projector feeds. */
export function poolProjection(store: PoolSliceStore): Projection {
  return {
    name: 'pool',
    checkpoint: () => store.checkpoint(),
    apply: async (batch) => {
      await applyToPool(store, batch);
    },
    // A parked event changes nothing: only the checkpoint moves over it.
    skip: (stored) => store.commit(diffPool(emptyPool(), emptyPool()), stored.offset, stored.offset - 1),
    clear: () => store.clear(),
  };
}
