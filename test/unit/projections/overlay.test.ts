import { DomainEvent } from '../../../src/events/catalog';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { applyToPool } from '../../../src/projections/apply';
import { PoolOverlay } from '../../../src/projections/overlay';
import { PoolReader } from '../../../src/projections/ports';
import { e, given, liveServer, stored } from '../../support/events';

/*
 * The overlay a batch of decisions reads: the read model plus the events decided before
 * in the batch. Whatever those events, every read answers what a read model that had
 * applied them all would answer.
 */

async function storeWith(events: DomainEvent[]): Promise<MemoryPoolStore> {
  const store = new MemoryPoolStore(1_000);
  await applyToPool(store, stored(events));
  return store;
}

const sortBy = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));

async function everyRead(r: PoolReader) {
  return {
    servers: sortBy(await r.servers(), (s) => s.id),
    meetings: sortBy(await r.meetings(), (m) => m.meetingId),
    onA: sortBy(await r.meetingsOnServer('bbb-a'), (m) => m.meetingId),
    onB: sortBy(await r.meetingsOnServer('bbb-b'), (m) => m.meetingId),
    serverC: await r.server('bbb-c'),
    m1: await r.meeting('m-1'),
    m3: await r.meeting('m-3'),
    bridges: [...(await r.voiceBridgesTaken(['111', '222', '333', '444']))].sort(),
    bridge222: await r.voiceBridge('222'),
    tenants: sortBy(await r.tenants(), (t) => t.id),
    byName: await r.tenantByName('PHYSICS'),
    oldName: await r.tenantByName('math'),
    settings: sortBy(await r.tenantSettings('t-1'), (s) => s.id),
    allSettings: sortBy(await r.tenantSettings(), (s) => s.id),
  };
}

describe('PoolOverlay', () => {
  test('given a read model and events decided on it, every read answers as the read model with all of them applied', async () => {
    const before = given([
      ...liveServer('bbb-a', 10),
      ...liveServer('bbb-b', 20),
      e.meetingPlaced('m-1', 'bbb-a', { voiceBridge: '111' }),
      e.meetingPlaced('m-2', 'bbb-b', { voiceBridge: '222' }),
      e.tenantAdded('t-1', 'math'),
      e.tenantSettingAdded('s-1', 't-1', 'record', 'false'),
    ]);
    const decided = given(
      [
        e.meetingPlaced('m-3', 'bbb-a', { voiceBridge: '333' }),
        e.meetingPlaced('m-1', 'bbb-b', { voiceBridge: '444', previousServerId: 'bbb-a' }),
        e.meetingEnded('m-2', 'bbb-b'),
        ...liveServer('bbb-c', 0),
        e.serverCordoned('bbb-b'),
        e.tenantUpdated('t-1', { name: 'physics' }),
        e.tenantSettingAdded('s-2', 't-1', 'muteOnStart', 'true'),
        e.tenantSettingRemoved('s-1', 't-1'),
        e.meetingAdopted('m-4', 'bbb-c', { voiceBridge: '555' }),
      ],
      { start: Date.parse('2024-05-02T00:00:00Z'), firstId: 500 },
    );
    const base = await storeWith(before);
    const overlay = new PoolOverlay(base);
    await overlay.apply(decided.slice(0, 4));
    await overlay.apply(decided.slice(4));
    const expected = await storeWith([...before, ...decided]);
    expect(await everyRead(overlay)).toEqual(await everyRead(expected));
    // and the read model itself is left as it was
    expect(await everyRead(base)).toEqual(await everyRead(await storeWith(before)));
  });

  test('given no events, it reads through to the read model', async () => {
    const base = await storeWith(given([...liveServer('bbb-a', 5), e.meetingPlaced('m-1', 'bbb-a', { voiceBridge: '111' })]));
    expect(await everyRead(new PoolOverlay(base))).toEqual(await everyRead(base));
  });
});
