import pino from 'pino';
import { StoredEvent } from '../../../src/events/catalog';
import { poolProjection } from '../../../src/projections/apply';
import { historyProjection } from '../../../src/projections/history';
import { emptyPool } from '../../../src/projections/pool';
import { Projection, Projector, RebuildReport } from '../../../src/projections/projector';
import { isTransientFault } from '../../../src/infra/faults';
import { MemoryPoolStore } from '../../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../../src/infra/embedded/sql-log';
import { SqlHistoryStore } from '../../../src/infra/sql/history-store';
import { migrate } from '../../../src/infra/sql/migrations';
import { SqlParkedEvents } from '../../../src/infra/sql/parked-store';
import { openPglite } from '../../../src/infra/sql/pglite';
import { Sql } from '../../../src/infra/sql/sql';
import { e, given, liveServer } from '../../support/events';
import { passes } from '../../support/eventually';

jest.setTimeout(30_000);
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

describe('the projector, over a PGlite log, the memory pool and the SQL history', () => {
  let sql: Sql;
  let log: SqlEventLog;
  let pool: MemoryPoolStore;
  let history: SqlHistoryStore;
  let parked: SqlParkedEvents;
  let projector: Projector | null;
  let rebuilt: RebuildReport[];

  beforeAll(async () => {
    sql = await openPglite(null);
    await migrate(sql);
  });
  afterAll(async () => {
    await sql.close();
  });

  beforeEach(async () => {
    for (const table of ['event_log', 'history', 'parked_events']) await sql.query(`delete from ${table}`);
    await sql.query('alter table history drop constraint if exists refuses_poison');
    log = new SqlEventLog(sql, 20);
    pool = new MemoryPoolStore(5_000);
    history = new SqlHistoryStore(sql, 5_000);
    parked = new SqlParkedEvents(sql);
    rebuilt = [];
    projector = null;
  });
  afterEach(async () => {
    await projector?.stop();
    await log.close();
  });

  const start = async (projections: Projection[]) => {
    projector = new Projector({
      log,
      projections,
      logger: pino({ level: 'silent' }),
      parked,
      isTransient: isTransientFault,
      onRebuilt: async (r) => void rebuilt.push(r),
      watchIntervalMs: 50,
      isolateRetryMs: 5,
    });
    await projector.start();
    return projector;
  };

  test('given an event the history store refuses for good: it is parked, its place kept, and every later event applied by both', async () => {
    // A real refusal by the store: a constraint PostgreSQL enforces (SQLSTATE 23514).
    await sql.query(`alter table history add constraint refuses_poison check (meeting_id is distinct from 'poison')`);
    await start([poolProjection(pool), historyProjection(history)]);
    await log.append(given([...liveServer('bbb-1', 0), e.meetingPlaced('poison', 'bbb-1'), e.meetingPlaced('after', 'bbb-1', { voiceBridge: '22222' })]));
    await history.waitFor(5);
    await pool.waitFor(5);
    expect(await pool.meeting('after')).not.toBeNull();
    const [entry] = await parked.list(10);
    expect(entry).toMatchObject({ projection: 'history', offset: 4, type: 'MeetingPlaced', reason: expect.stringMatching(/refuses_poison/) });
    expect(await parked.count()).toBe(1);
    const rows = await history.query({ limit: 10, order: 'asc' });
    expect(rows.map((r) => r.type)).toEqual(['ServerAdded', 'ServerEnabled', 'ServerWentOnline', 'ServerPolled', 'MeetingPlaced', 'MeetingPlaced']);
    expect(rows[4].data).toEqual({ parked: expect.stringMatching(/refuses_poison/) });
    expect(projector!.status()).toEqual([
      { projection: 'pool', applied: 5, rebuilds: 0, parked: 0 },
      { projection: 'history', applied: 5, rebuilds: 0, parked: 1 },
    ]);
  });

  test('given a store that fails for a while (a restart): nothing is parked, the events are applied once it is back, and the other lane never waited', async () => {
    let failures = 3;
    const flaky: Projection = {
      ...historyProjection(history),
      apply: async (batch: StoredEvent[]) => {
        if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        await history.apply(batch);
      },
    };
    await start([poolProjection(pool), flaky]);
    await log.append(given(liveServer('bbb-1', 0)));
    // the pool is not held back by the history's store
    await pool.waitFor(3, 1000);
    await history.waitFor(3, 10_000);
    expect(await parked.count()).toBe(0);
    expect(await history.query({ limit: 10 })).toHaveLength(4);
  });

  test('given the pool store loses everything it held (FLUSHALL): the lane rebuilds it from the log by itself and says so', async () => {
    await start([poolProjection(pool)]);
    await log.append(given([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1')]));
    await pool.waitFor(4);
    await pool.clear();
    await passes(async () => expect(await pool.meeting('m-1')).not.toBeNull(), 5_000);
    expect(await pool.checkpoint()).toBe(4);
    await passes(async () => expect(rebuilt).toEqual([{ projection: 'pool', reason: 'lost', found: -1, expected: 4, head: 4 }]));
    expect(projector!.status()[0]).toMatchObject({ rebuilds: 1, applied: 4 });
  });

  test('given the store holds another log (its checkpoint is ahead of the log): it is cleared and rebuilt from this log', async () => {
    await start([poolProjection(pool)]);
    await log.append(given(liveServer('bbb-1', 0)));
    await pool.waitFor(3);
    const other = emptyPool();
    other.servers['elsewhere'] = { ...(await pool.server('bbb-1'))!, id: 'elsewhere' };
    await pool.replaceAll(other, 99);
    await passes(async () => expect(await pool.checkpoint()).toBe(3), 5_000);
    expect((await pool.servers()).map((s) => s.id)).toEqual(['bbb-1']);
    await passes(async () => expect(rebuilt[0]).toMatchObject({ projection: 'pool', reason: 'foreign', found: 99 }));
  });

  test('a record the log cannot read is EventUnreadable: no read model applies it, the history shows it, and it is parked for every projection', async () => {
    await start([poolProjection(pool), historyProjection(history)]);
    await log.append(given(liveServer('bbb-1', 0)));
    // written by a newer version: a type this build does not know
    const [newer] = given([e.serverEnabled('bbb-1')], { firstId: 50 });
    await sql.query('insert into event_log (position, id, type, at, envelope) values ($1, $2, $3, $4, $5)', [
      4,
      newer.id,
      'ServerExploded',
      newer.at,
      JSON.stringify({ ...newer, type: 'ServerExploded' }),
    ]);
    await log.append(given([e.meetingPlaced('m-1', 'bbb-1')], { firstId: 60 }));
    await pool.waitFor(5);
    await history.waitFor(5);
    expect(await pool.meeting('m-1')).not.toBeNull();
    const rows = await history.query({ limit: 1, types: ['EventUnreadable'] });
    expect(rows[0]).toMatchObject({ offset: 4, data: { type: 'ServerExploded', reason: 'unknown event type ServerExploded' } });
    await passes(async () => expect(await parked.list(5)).toEqual([expect.objectContaining({ projection: '*', offset: 4, type: 'ServerExploded' })]));
  });
});

describe('isTransientFault', () => {
  test.each<[string, unknown, boolean]>([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['PostgreSQL shutting down (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), true],
    ['a serialization failure (40001)', Object.assign(new Error('could not serialize'), { code: '40001' }), true],
    ['pg losing its connection', new Error('Connection terminated unexpectedly'), true],
    ['ioredis giving up a command', Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }), true],
    ['a cause that is transient', new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }), true],
    ['invalid text for UTF8 (22021)', Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }), false],
    ['an integer out of range (22003)', Object.assign(new Error('value "3000000000" is out of range for type integer'), { code: '22003' }), false],
    ['an index row too large (54000)', Object.assign(new Error('index row requires 16016 bytes'), { code: '54000' }), false],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')"), false],
    ['not an error', 'oops', false],
  ])('%s: %s', (_case, err, transient) => {
    expect(isTransientFault(err)).toBe(transient);
  });
});
