import pino from 'pino';
import { DecisionLock, LocalDecisionLock, WriteSide } from '../../../src/commands/write-side';
import { isDomainError } from '../../../src/commands/errors';
import { BbbClient } from '../../../src/infra/bbb/client';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../../src/infra/embedded/sql-log';
import { migrate } from '../../../src/infra/sql/migrations';
import { openPglite } from '../../../src/infra/sql/pglite';
import { Sql } from '../../../src/infra/sql/sql';
import { Poller, PollerSettings } from '../../../src/poller/poller';
import { poolProjection } from '../../../src/projections/apply';
import { Projector } from '../../../src/projections/projector';
import { startSimulator, type Simulator } from '../../../src/sim';
import { adminActor, e, idSequence } from '../../support/events';
import { parkedInMemory } from '../../support/parked';

/*
 * Poll passes over a pool of simulated servers (issue 9): every server each pass,
 * the least recently polled first when a pass runs out of time, no lock and no
 * event for a poll that changes nothing, and meetings found running without a
 * route adopted where they run.
 */

jest.setTimeout(60_000);
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

const SERVERS = 24;

/** A lock that counts how often a decision took it. */
class CountingLock implements DecisionLock {
  taken = 0;
  private readonly inner = new LocalDecisionLock();
  withLock<T>(fn: () => Promise<T>, deadline?: number): Promise<T> {
    this.taken += 1;
    return this.inner.withLock(fn, deadline);
  }
}

describe('poll passes over a pool', () => {
  let sql: Sql;
  let log: SqlEventLog;
  let store: MemoryPoolStore;
  let projector: Projector;
  let sim: Simulator;
  let bbb: BbbClient;
  let lock: CountingLock;
  let writeSide: WriteSide;
  const polledIn: string[][] = [];

  const poller = (settings: Partial<PollerSettings> = {}, clock = () => new Date()) => {
    const polled: string[] = [];
    polledIn.push(polled);
    return new Poller({
      pool: store,
      writeSide,
      bbb,
      logger: pino({ level: 'silent' }),
      clock,
      endMeeting: async () => true,
      onPolled: (serverId) => polled.push(serverId),
      settings: {
        intervalMs: 60_000,
        concurrency: 6,
        passTimeoutMs: 30_000,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
        loadMinUserCount: 15,
        loadJoinBufferMinutes: 15,
        newMeetingGraceMs: 60_000,
        ...settings,
      },
    });
  };
  const createOn = async (index: number, meetingID: string, extra: Array<[string, string]> = []) => {
    const reply = await bbb.call(sim.servers[index]!, 'create', [['meetingID', meetingID], ['name', meetingID], ...extra]);
    expect(reply.kind).toBe('success');
  };
  const head = () => log.lastOffset();

  beforeAll(async () => {
    sql = await openPglite(null);
    await migrate(sql);
    sim = await startSimulator({ servers: SERVERS });
    log = new SqlEventLog(sql, 20);
    store = new MemoryPoolStore(2_000);
    projector = new Projector({ log, projections: [poolProjection(store)], logger: pino({ level: 'silent' }), parked: parkedInMemory(), isTransient: () => true });
    await projector.start();
    lock = new CountingLock();
    writeSide = new WriteSide({ log, pool: store, lock, clock: () => new Date(), newId: idSequence(), projectionTimeoutMs: 5_000 });
    bbb = new BbbClient({ algorithm: 'sha1', connectTimeoutMs: 1_000, responseTimeoutMs: 2_000 });
    const added = await writeSide.decide(adminActor, async () => ({
      events: sim.servers.flatMap((s, i) => [e.serverAdded(`s${String(i).padStart(2, '0')}`, { url: s.url, secret: s.secret }), e.serverEnabled(`s${String(i).padStart(2, '0')}`)]),
      result: null,
    }));
    if (isDomainError(added)) throw new Error(added.message);
  });

  afterAll(async () => {
    await bbb.close();
    await sim.close();
    await projector.stop();
    await log.close();
    await sql.close();
  });

  test('given a pool, each pass polls every server once; a pass that changes nothing takes no lock and writes no event', async () => {
    const p = poller();
    const first = await p.pollAll();
    expect(first).toMatchObject({ servers: SERVERS, polled: SERVERS, online: SERVERS });
    // The summary counts what was written, though six workers added to it at once.
    const before = await head();
    await createOn(3, 'busy-room');
    await createOn(7, 'other-room');
    const changed = await p.pollAll();
    expect(changed.events).toBe((await head()) - before);
    expect(changed.events).toBeGreaterThanOrEqual(4); // two ServerPolled, two MeetingAdopted

    const taken = lock.taken;
    const quiet = await head();
    polledIn.at(-1)!.length = 0;
    const unchanged = await p.pollAll();
    expect(unchanged).toMatchObject({ servers: SERVERS, polled: SERVERS, events: 0 });
    expect(await head()).toBe(quiet);
    expect(lock.taken).toBe(taken);
    expect([...polledIn.at(-1)!].sort()).toEqual((await store.servers()).map((s) => s.id).sort());
  });

  test('given passes that run out of time, the servers left come first in the next one, so none starves', async () => {
    // One worker and no time (the clock moves 10 ms at every look): each pass polls the first server it takes, then leaves the rest.
    let ticks = 0;
    const p = poller({ concurrency: 1, passTimeoutMs: 0 }, () => new Date(Date.now() + 10 * ++ticks));
    const seen = new Set<string>();
    for (let pass = 0; pass < SERVERS; pass += 1) {
      const summary = await p.pollAll();
      expect(summary.polled).toBe(1);
      seen.add(polledIn.at(-1)!.at(-1)!);
    }
    expect(seen.size).toBe(SERVERS);
  });

  test('given a meeting created on a server directly, a poll routes it there with the reason; one routed elsewhere and breakouts are left alone', async () => {
    const p = poller();
    await createOn(5, 'direct-room', [
      ['voiceBridge', '71234'],
      ['moderatorPW', 'mod-pw'],
      ['meta_tenant-id', 'tenant-a'],
    ]);
    await createOn(6, 'direct-room-b');
    await createOn(6, 'direct-room-b-breakout', [
      ['isBreakout', 'true'],
      ['parentMeetingID', 'direct-room-b'],
      ['sequence', '1'],
    ]);
    // Routed to s08 by a placement, yet also running on s09 (a second start elsewhere): the route stays.
    const placed = await writeSide.decide(adminActor, async () => ({ events: [e.meetingPlaced('split-room', 's08')], result: null }));
    if (isDomainError(placed)) throw new Error(placed.message);
    await createOn(9, 'split-room');
    await p.pollAll();

    expect(await store.meeting('direct-room')).toMatchObject({ serverId: 's05', tenantId: 'tenant-a', voiceBridge: '71234', moderatorPassword: 'mod-pw', loadEstimate: 0 });
    expect(await store.meeting('direct-room-b')).toMatchObject({ serverId: 's06', tenantId: null });
    expect(await store.meeting('direct-room-b-breakout')).toBeNull();
    expect(await store.meeting('split-room')).toMatchObject({ serverId: 's08' });
    const adopted = (await log.read(0, 10_000)).filter((s) => s.event.type === 'MeetingAdopted').map((s) => s.event.data);
    expect(adopted).toContainEqual({
      meetingId: 'direct-room',
      serverId: 's05',
      tenantId: 'tenant-a',
      voiceBridge: '71234',
      moderatorPassword: 'mod-pw',
      reason: 'runningWithoutRoute',
    });
    expect(adopted.filter((d) => (d as { meetingId: string }).meetingId === 'split-room')).toEqual([]);

    // Adopted once: the next pass finds the route and writes nothing more for it.
    const count = adopted.length;
    await p.pollAll();
    expect((await log.read(0, 10_000)).filter((s) => s.event.type === 'MeetingAdopted')).toHaveLength(count);
  });
});
