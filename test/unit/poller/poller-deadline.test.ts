import pino from 'pino';
import { LocalDecisionLock, WriteSide } from '../../../src/commands/write-side';
import { isDomainError } from '../../../src/commands/errors';
import { BbbClient } from '../../../src/infra/bbb/client';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../../src/infra/embedded/sql-log';
import { migrate } from '../../../src/infra/sql/migrations';
import { openPglite } from '../../../src/infra/sql/pglite';
import { Sql } from '../../../src/infra/sql/sql';
import { Poller } from '../../../src/poller/poller';
import { poolProjection } from '../../../src/projections/apply';
import { Projector } from '../../../src/projections/projector';
import { startSimulator, type Simulator } from '../../../src/sim';
import { adminActor, e, idSequence } from '../../support/events';
import { parkedInMemory } from '../../support/parked';

/*
 * A poll pass against simulated servers, one of which drips its answers a byte
 * at a time (issue 15, defect 5): the call is cut at the client's deadline, so
 * the server goes offline like any unreachable one and the pass moves on.
 */

jest.setTimeout(30_000);
// PGlite through Node's own loader: runs with or without --experimental-vm-modules (see the helper).
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

describe('poller against a server that never finishes its answer', () => {
  let sql: Sql;
  let log: SqlEventLog;
  let store: MemoryPoolStore;
  let projector: Projector;
  let sim: Simulator;
  let bbb: BbbClient;
  let poller: Poller;

  beforeAll(async () => {
    sql = await openPglite(null);
    await migrate(sql);
    sim = await startSimulator({ servers: 2 });
    log = new SqlEventLog(sql, 20);
    store = new MemoryPoolStore(2_000);
    projector = new Projector({ log, projections: [poolProjection(store)], logger: pino({ level: 'silent' }), parked: parkedInMemory(), isTransient: () => true });
    await projector.start();
    const writeSide = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(), newId: idSequence(), projectionTimeoutMs: 2_000 });
    // Deadline 200 + 500 = 700 ms; the drip's 200 ms gaps never trip undici's idle timeouts.
    bbb = new BbbClient({ algorithm: 'sha1', connectTimeoutMs: 200, responseTimeoutMs: 500 });
    poller = new Poller({
      pool: store,
      writeSide,
      bbb,
      logger: pino({ level: 'silent' }),
      clock: () => new Date(),
      endMeeting: async () => true,
      // One worker, the dripping server first: the healthy one is polled only if the cut frees the worker in time.
      settings: {
        intervalMs: 60_000,
        concurrency: 1,
        passTimeoutMs: 5_000,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
        loadMinUserCount: 15,
        loadJoinBufferMinutes: 15,
        newMeetingGraceMs: 0,
      },
    });
    const added = await writeSide.decide(adminActor, async () => ({
      events: ['drip', 'fine'].flatMap((id, i) => [e.serverAdded(id, { url: sim.servers[i]!.url, secret: sim.servers[i]!.secret }), e.serverEnabled(id)]),
      result: null,
    }));
    if (isDomainError(added)) throw new Error(added.message);
  });

  afterAll(async () => {
    await poller.stop();
    await bbb.close();
    await sim.close();
    await projector.stop();
    await log.close();
    await sql.close();
  });

  test('given a dripping server: offline after SERVER_UNHEALTHY_THRESHOLD passes, each pass bounded, the healthy server polled in each', async () => {
    await poller.pollAll();
    expect((await store.servers()).map((s) => [s.id, s.online])).toEqual([
      ['drip', true],
      ['fine', true],
    ]);

    await sim.servers[0]!.setMode({ kind: 'drip', intervalMs: 200 });
    const passes = [];
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const summary = await poller.pollAll();
      passes.push({ summary, ms: performance.now() - started });
    }
    for (const { summary, ms } of passes) {
      expect(summary).toMatchObject({ servers: 2, polled: 2 });
      // one cut call (700 ms) plus a healthy poll, far from the ~30 s the drip would take to finish
      expect(ms).toBeLessThan(2_000);
    }
    expect(sim.servers[1]!.requestCounts().getMeetings).toBe(3);
    expect((await store.server('drip'))?.online).toBe(false);
    expect((await store.server('fine'))?.online).toBe(true);
    const offline = (await log.read(0, 100)).filter((s) => s.event.type === 'ServerWentOffline').map((s) => s.event.data);
    expect(offline).toEqual([{ serverId: 'drip', error: 'timeout: no complete answer within 700 ms' }]);
  });
});
