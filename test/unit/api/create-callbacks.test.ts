import pino from 'pino';
import { DecisionLock, LocalDecisionLock, WriteSide } from '../../../src/commands/write-side';
import { isDomainError } from '../../../src/commands/errors';
import { emptyParamPolicy } from '../../../src/commands/param-policy';
import { EventDraft } from '../../../src/events/catalog';
import { BbbClient } from '../../../src/infra/bbb/client';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../../src/infra/embedded/sql-log';
import { migrate } from '../../../src/infra/sql/migrations';
import { openPglite } from '../../../src/infra/sql/pglite';
import { Sql } from '../../../src/infra/sql/sql';
import { MeetingApi } from '../../../src/api/meetings';
import { poolProjection } from '../../../src/projections/apply';
import { poolOverlay } from '../../../src/projections/overlay';
import { Projector } from '../../../src/projections/projector';
import { startSimulator, type Simulator } from '../../../src/sim';
import { adminActor, e, idSequence } from '../../support/events';
import { parkedInMemory } from '../../support/parked';

/*
 * A create carrying callback URLs is one decision: the placement (or the reused
 * route) and MeetingCallbacksRegistered are decided in one hold of the decision
 * lock and appended together, against a real log, pool and BBB (simulated).
 */

jest.setTimeout(30_000);
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

/** A lock that counts how often a decision took it. */
class CountingLock implements DecisionLock {
  taken = 0;
  private readonly inner = new LocalDecisionLock();
  withLock<T>(fn: () => Promise<T>, deadline?: number): Promise<T> {
    this.taken += 1;
    return this.inner.withLock(fn, deadline);
  }
}

const READY = 'https://lms.example.com/ready';

describe('a create with callback URLs', () => {
  let sql: Sql;
  let log: SqlEventLog;
  let store: MemoryPoolStore;
  let projector: Projector;
  let sim: Simulator;
  let lock: CountingLock;
  let api: MeetingApi;
  let bbb: BbbClient;
  /** the event types of each append to the log, in order */
  let appends: string[][];
  const warnings: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    sql = await openPglite(null);
    await migrate(sql);
    sim = await startSimulator({ servers: 1 });
    log = new SqlEventLog(sql, 20);
    store = new MemoryPoolStore(2_000);
    projector = new Projector({ log, projections: [poolProjection(store)], logger: pino({ level: 'silent' }), parked: parkedInMemory(), isTransient: () => true });
    await projector.start();
    lock = new CountingLock();
    const writeSide = new WriteSide({ log, pool: store, lock, clock: () => new Date(), newId: idSequence(), projectionTimeoutMs: 5_000, overlay: poolOverlay });
    const server = sim.servers[0]!;
    const pool: EventDraft[] = [e.serverAdded('bbb-1', { url: server.url, secret: server.secret }), e.serverEnabled('bbb-1'), e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 0)];
    const added = await writeSide.decide(adminActor, () => ({ events: pool }));
    if (isDomainError(added)) throw new Error(added.message);
    bbb = new BbbClient({ algorithm: 'sha1', connectTimeoutMs: 1_000, responseTimeoutMs: 2_000 });
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) });
    api = new MeetingApi({
      pool: store,
      callbackStore: store,
      writeSide,
      bbb,
      settings: {
        loadMinUserCount: 15,
        voiceBridgeLength: 5,
        useExternalVoiceBridge: false,
        maxMeetingDuration: 0,
        createPolicy: emptyParamPolicy(),
        joinPolicy: emptyParamPolicy(),
      },
      logger,
    });
    const append = log.append.bind(log);
    jest.spyOn(log, 'append').mockImplementation((events) => {
      appends.push(events.map((ev) => ev.type));
      return append(events);
    });
  });

  afterAll(async () => {
    await bbb.close();
    await projector.stop();
    await log.close();
    await sim.close();
    await sql.close();
  });

  beforeEach(() => {
    appends = [];
    lock.taken = 0;
    warnings.length = 0;
  });

  const create = (meetingId: string, extra: Array<[string, string]> = []) =>
    api.create({ meetingId, params: [['meetingID', meetingId], ['name', meetingId], ...extra], tenantId: null, actor: adminActor, correlationId: `create-${meetingId}` });

  test('given a new meeting: placed and its callbacks kept in one hold of the lock and one append', async () => {
    expect(await create('m-1', [['meta_bbb-recording-ready-url', READY]])).toMatchObject({ kind: 'xml', body: expect.stringContaining('<returncode>SUCCESS</returncode>') });
    expect(lock.taken).toBe(1);
    expect(appends).toEqual([['MeetingPlaced', 'MeetingCallbacksRegistered']]);
  });

  test('given its route, a create with callbacks again: one hold, one append, the route reused', async () => {
    expect(await create('m-1', [['meta_analytics-callback-url', 'https://lms.example.com/analytics']])).toMatchObject({ kind: 'xml' });
    expect(lock.taken).toBe(1);
    expect(appends).toEqual([['MeetingCallbacksRegistered']]);
    expect((await store.meeting('m-1'))?.serverId).toBe('bbb-1');
  });

  test('given its route, a create without callbacks takes no lock and appends nothing', async () => {
    expect(await create('m-1')).toMatchObject({ kind: 'xml' });
    expect(lock.taken).toBe(0);
    expect(appends).toEqual([]);
  });

  test('a callback URL the log cannot hold: the meeting is placed without it, with a warning', async () => {
    expect(await create('m-2', [['meta_bbb-recording-ready-url', `${READY}/${'a'.repeat(3000)}`]])).toMatchObject({ kind: 'xml', body: expect.stringContaining('SUCCESS') });
    expect(appends).toEqual([['MeetingPlaced']]);
    expect(warnings).toContainEqual(expect.objectContaining({ msg: 'callback URLs not kept', meetingId: 'm-2' }));
  });
});
