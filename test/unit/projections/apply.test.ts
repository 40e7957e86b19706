import { DomainEvent, StoredEvent } from '../../../src/events/catalog';
import { applyToPool, poolProjection } from '../../../src/projections/apply';
import { emptyKeys, emptyPool } from '../../../src/projections/pool';
import { ProjectionTimeoutError } from '../../../src/projections/waiters';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { e, given, liveServer, project, stored } from '../../support/events';

/** A log that exercises every event type, re-placements, ends of old placements and a removal. */
function history(): DomainEvent[] {
  return given([
    ...liveServer('bbb-1', 0, { tag: 'test' }),
    ...liveServer('bbb-2', 5),
    e.serverAdded('bbb-3', { loadMultiplier: 2 }),
    e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '111', tag: 'test' }),
    e.meetingPlaced('m-2', 'bbb-2', { voiceBridge: '222' }),
    e.meetingPlaced('m-3', 'bbb-2', { voiceBridge: '333' }),
    e.serverUpdated('bbb-1', { tag: null, loadMultiplier: 1.5 }),
    e.serverPolled('bbb-2', 40, { meetings: 2, users: 12, largestMeeting: 8, videos: 3 }),
    e.serverEnabled('bbb-3'),
    e.wentOnline('bbb-3'),
    e.serverPolled('bbb-3', 0),
    e.meetingEnded('m-2', 'bbb-2', 'notRunning'),
    e.meetingEnded('m-1', 'bbb-1', 'serverOffline'),
    e.wentOffline('bbb-1'),
    e.meetingPlaced('m-3', 'bbb-3', { voiceBridge: '333', previousServerId: 'bbb-2' }),
    e.meetingEnded('m-3', 'bbb-2', 'notRunning'), // an end for the earlier placement: keeps the new route
    e.meetingPlaced('m-4', 'bbb-3', { voiceBridge: '444' }),
    e.meetingPlaced('m-5', 'bbb-2', { voiceBridge: '555' }),
    e.serverCordoned('bbb-2'),
    e.serverPanicked('bbb-2', { meetingsCleared: 1 }),
    e.meetingEnded('m-5', 'bbb-2', 'panic'),
    e.serverDisabled('bbb-2', 'panic'),
    e.meetingPlaced('m-6', 'bbb-2', { voiceBridge: '666' }),
    e.serverRemoved('bbb-2'),
    e.meetingPlaced('m-1', 'bbb-3', { voiceBridge: '777' }),
  ]);
}

async function applyOneByOne(store: MemoryPoolStore, batch: StoredEvent[]): Promise<void> {
  for (const s of batch) await applyToPool(store, [s]);
}

describe('applyToPool on the memory store', () => {
  test('an empty store has checkpoint -1 and nothing in it', async () => {
    const store = new MemoryPoolStore();
    expect(await store.checkpoint()).toBe(-1);
    expect(await store.snapshot()).toEqual(emptyPool());
  });

  test('the store ends up equal to the pure fold of the log, with the last offset as checkpoint', async () => {
    const events = history();
    const store = new MemoryPoolStore();
    expect(await applyToPool(store, stored(events))).toBe(events.length - 1);
    expect(await store.checkpoint()).toBe(events.length - 1);
    expect(await store.snapshot()).toEqual(project(events));
  });

  test('batches give the same result as one event at a time, for every batch size', async () => {
    const log = stored(history());
    const reference = new MemoryPoolStore();
    await applyOneByOne(reference, log);
    const expected = await reference.snapshot();
    expect(expected).toEqual(project(history()));
    for (const size of [2, 3, 5, 7, log.length]) {
      const store = new MemoryPoolStore();
      for (let i = 0; i < log.length; i += size) await applyToPool(store, log.slice(i, i + size));
      expect(await store.snapshot()).toEqual(expected);
      expect(await store.checkpoint()).toBe(log.length - 1);
    }
  });

  test('re-delivering a batch changes nothing', async () => {
    const log = stored(history());
    const store = new MemoryPoolStore();
    await applyToPool(store, log.slice(0, 12));
    const once = await store.snapshot();
    expect(await applyToPool(store, log.slice(0, 12))).toBe(11);
    expect(await store.snapshot()).toEqual(once);
    // and a burst placement applied twice would count its load twice: it must not
    const placed = stored(given([...liveServer('s', 0), e.meetingPlaced('m', 's', { loadEstimate: 15 })]));
    const s2 = new MemoryPoolStore();
    await applyToPool(s2, placed);
    await applyToPool(s2, placed);
    await applyToPool(s2, placed.slice(4));
    expect((await s2.server('s'))?.load).toBe(15);
  });

  test('an overlapping batch applies only the events past the checkpoint', async () => {
    const log = stored(history());
    const store = new MemoryPoolStore();
    await applyToPool(store, log.slice(0, 15));
    await applyToPool(store, log.slice(10, 22));
    await applyToPool(store, log.slice(5));
    expect(await store.snapshot()).toEqual(project(history()));
    expect(await store.checkpoint()).toBe(log.length - 1);
  });

  test('replaying the whole log into an empty store equals the live store', async () => {
    const log = stored(history());
    const live = new MemoryPoolStore();
    // live: uneven batches as a subscription would deliver them, with redeliveries after "failures"
    for (const [from, to] of [
      [0, 4],
      [0, 9],
      [9, 10],
      [10, 18],
      [14, 25],
      [25, log.length],
    ])
      await applyToPool(live, log.slice(from, to));
    const rebuilt = new MemoryPoolStore();
    await applyToPool(rebuilt, log);
    expect(await rebuilt.snapshot()).toEqual(await live.snapshot());
    // clear() then replay also gives the same model
    await live.clear();
    expect(await live.checkpoint()).toBe(-1);
    expect(await live.snapshot()).toEqual(emptyPool());
    await applyToPool(live, log);
    expect(await live.snapshot()).toEqual(await rebuilt.snapshot());
    for (const id of ['bbb-1', 'bbb-2', 'bbb-3']) expect(await live.meetingsOnServer(id)).toEqual(await rebuilt.meetingsOnServer(id));
  });

  test('an empty batch, or one entirely behind the checkpoint, returns the checkpoint and writes nothing', async () => {
    const store = new MemoryPoolStore();
    expect(await applyToPool(store, [])).toBe(-1);
    const log = stored(history());
    await applyToPool(store, log.slice(0, 3));
    const commit = jest.spyOn(store, 'commit');
    expect(await applyToPool(store, log.slice(0, 3))).toBe(2);
    expect(await applyToPool(store, [])).toBe(2);
    expect(commit).not.toHaveBeenCalled();
  });

  test('the checkpoint advances even when the events change nothing', async () => {
    const store = new MemoryPoolStore();
    await applyToPool(store, stored(given([e.serverEnabled('ghost'), e.meetingEnded('nope', 'ghost')])));
    expect(await store.checkpoint()).toBe(1);
    expect(await store.snapshot()).toEqual(emptyPool());
  });

  test('poolProjection feeds the store and reports its checkpoint', async () => {
    const store = new MemoryPoolStore();
    const projection = poolProjection(store);
    expect(projection.name).toBe('pool');
    expect(await projection.checkpoint()).toBe(-1);
    await projection.apply(stored(history()).slice(0, 6));
    expect(await projection.checkpoint()).toBe(5);
  });
});

describe('MemoryPoolStore readers', () => {
  async function storeAfter(events: DomainEvent[]): Promise<MemoryPoolStore> {
    const store = new MemoryPoolStore();
    await applyToPool(store, stored(events));
    return store;
  }

  const ids = (meetings: Array<{ meetingId: string }>) => meetings.map((m) => m.meetingId).sort();

  test('server, servers, meeting, meetings', async () => {
    const store = await storeAfter(history());
    expect((await store.servers()).map((s) => s.id).sort()).toEqual(['bbb-1', 'bbb-3']);
    expect(await store.server('bbb-2')).toBeNull();
    expect((await store.server('bbb-3'))?.loadMultiplier).toBe(2);
    expect(await store.meeting('m-2')).toBeNull();
    expect((await store.meeting('m-3'))?.serverId).toBe('bbb-3');
    expect(ids(await store.meetings())).toEqual(['m-1', 'm-3', 'm-4', 'm-6']);
  });

  test('meetingsOnServer stays right through placements, re-placements and ends', async () => {
    const store = await storeAfter(history());
    expect(ids(await store.meetingsOnServer('bbb-3'))).toEqual(['m-1', 'm-3', 'm-4']);
    expect(ids(await store.meetingsOnServer('bbb-1'))).toEqual([]);
    // bbb-2 was removed, but m-6's route is still there until the poller ends it as an orphan
    expect(ids(await store.meetingsOnServer('bbb-2'))).toEqual(['m-6']);
    expect(await store.meetingsOnServer('nowhere')).toEqual([]);
  });

  test('meetingsOnServer after each event matches the meetings of the fold', async () => {
    const events = history();
    const store = new MemoryPoolStore();
    for (let i = 0; i < events.length; i++) {
      await applyToPool(store, stored(events.slice(i, i + 1), i));
      const state = project(events.slice(0, i + 1));
      for (const serverId of ['bbb-1', 'bbb-2', 'bbb-3']) {
        const expected = Object.values(state.meetings).filter((m) => m.serverId === serverId);
        expect(ids(await store.meetingsOnServer(serverId))).toEqual(ids(expected));
      }
    }
  });

  test('voiceBridgesTaken and voiceBridge', async () => {
    const store = await storeAfter(history());
    expect(await store.voiceBridgesTaken(['111', '222', '333', '444', '555', '666', '777', '999'])).toEqual(new Set(['333', '444', '666', '777']));
    expect(await store.voiceBridgesTaken([])).toEqual(new Set());
    expect(await store.voiceBridge('777')).toBe('m-1');
    expect(await store.voiceBridge('111')).toBeNull();
  });

  test('loadSlice returns only what it is asked, with the voice bridges of the meetings', async () => {
    const store = await storeAfter(history());
    const slice = await store.loadSlice({ ...emptyKeys(), servers: ['bbb-3', 'gone'], meetings: ['m-4', 'nope'], voiceBridges: ['666', '000'] });
    expect(Object.keys(slice.servers)).toEqual(['bbb-3']);
    expect(Object.keys(slice.meetings)).toEqual(['m-4']);
    expect(slice.voiceBridges).toEqual({ '444': 'm-4', '666': 'm-6' });
  });
});

describe('MemoryPoolStore.waitFor (read-your-writes)', () => {
  test('resolves at once when the offset is already applied', async () => {
    const store = new MemoryPoolStore();
    await applyToPool(store, stored(given([e.serverAdded('s')])));
    await expect(store.waitFor(0, 10)).resolves.toBeUndefined();
    await expect(store.waitFor(-1, 10)).resolves.toBeUndefined();
  });

  test('resolves when a later commit reaches the offset, not before', async () => {
    const store = new MemoryPoolStore();
    const log = stored(given([e.serverAdded('s'), e.serverEnabled('s'), e.serverCordoned('s')]));
    let done = false;
    const waiting = store.waitFor(2, 5_000).then(() => {
      done = true;
    });
    await applyToPool(store, log.slice(0, 2));
    await Promise.resolve();
    expect(done).toBe(false);
    await applyToPool(store, log.slice(2));
    await waiting;
    expect(done).toBe(true);
  });

  test('several waiters are released by one commit', async () => {
    const store = new MemoryPoolStore();
    const waits = [store.waitFor(0, 5_000), store.waitFor(1, 5_000)];
    await applyToPool(store, stored(given([e.serverAdded('s'), e.serverEnabled('s')])));
    await expect(Promise.all(waits)).resolves.toEqual([undefined, undefined]);
  });

  test('rejects with ProjectionTimeoutError when the offset is not reached in time', async () => {
    const store = new MemoryPoolStore();
    await applyToPool(store, stored(given([e.serverAdded('s')])));
    const started = Date.now();
    await expect(store.waitFor(5, 30)).rejects.toThrow(ProjectionTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    await expect(store.waitFor(5, 10)).rejects.toThrow('the read model did not reach event 5 within 10 ms (it is at 0)');
  });

  test('uses the default timeout given to the store', async () => {
    const store = new MemoryPoolStore(20);
    await expect(store.waitFor(0)).rejects.toThrow(/within 20 ms/);
  });

  test('a waiter that timed out is not resolved later, and others still are', async () => {
    const store = new MemoryPoolStore();
    const late = store.waitFor(0, 5).catch((err: unknown) => err);
    const patient = store.waitFor(0, 5_000);
    expect(await late).toBeInstanceOf(ProjectionTimeoutError);
    await applyToPool(store, stored(given([e.serverAdded('s')])));
    await expect(patient).resolves.toBeUndefined();
  });
});
