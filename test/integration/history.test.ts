import pino from 'pino';
import { AdminApi, AdminDeps } from '../../src/api/admin';
import { draft } from '../../src/events/catalog';
import { migrate } from '../../src/infra/sql/migrations';
import { openPglite } from '../../src/infra/sql/pglite';
import { SqlHistoryStore } from '../../src/infra/sql/history-store';
import { Sql } from '../../src/infra/sql/sql';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { given, stored } from '../support/events';

/*
 * The history is projected apart from the pool (by the projector role, in
 * production): getEvents answers only once it holds what the log holds, so an
 * admin reads their own change back at once, and says so when it cannot.
 */
describe('getEvents against a history projected by another process', () => {
  let dir: string;
  let sql: Sql;
  let history: SqlHistoryStore;
  let writer: SqlHistoryStore;
  const log = stored(given([0, 1, 2].map((i) => draft('ServerCordoned', { serverId: `s-${i}` }))));
  const adminWith = (logHead: number) => new AdminApi({ history, logHead: async () => logHead, logger: pino({ level: 'silent' }) } as Partial<AdminDeps> as AdminDeps);
  const request = { params: {}, actor: { kind: 'admin' as const, name: 'test' }, correlationId: 'c' };

  beforeAll(async () => {
    dir = await freshDataDir();
    sql = await openPglite(`${dir}/pglite`);
    await migrate(sql);
    // one store reads (the api's), another writes (the projector's): only the table is shared
    history = new SqlHistoryStore(sql, 1_000);
    writer = new SqlHistoryStore(sql);
    await writer.apply(log.slice(0, 2));
  }, 60_000);
  afterAll(async () => {
    await sql.close();
    removeDataDir(dir);
  });

  test('given the history one event behind the log, when the projector applies it during the call, then the answer holds it', async () => {
    const answer = adminWith(2).getEvents(request);
    setTimeout(() => void writer.apply(log.slice(2)), 100);
    const outcome = (await answer) as { status: number; json: { events: Array<{ offset: number }> } };
    expect(outcome.status).toBe(200);
    expect(outcome.json.events.map((e) => e.offset)).toEqual([2, 1, 0]);
  });

  test('given no projector moves the history, when the timeout passes, then the call answers 503 naming the lag', async () => {
    const outcome = (await adminWith(5).getEvents(request)) as { status: number; json: { error: string } };
    expect(outcome.status).toBe(503);
    expect(outcome.json.error).toMatch(/history is behind the log.*did not reach event 5.*it is at 2.*projector/);
  });
});

describe('the history store writes each event once', () => {
  let dir: string;
  let sql: Sql;
  let statements: string[];
  let counted: Sql;
  const log = stored(given(Array.from({ length: 9 }, (_, i) => draft('ServerCordoned', { serverId: `s-${i}` }))));
  const checkpointQueries = () => statements.filter((t) => t.startsWith('select coalesce(max(position)')).length;
  const rowsInserted = () => statements.filter((t) => t.startsWith('insert into history')).map((t) => (t.match(/\(\$\d+/g) ?? []).length);

  beforeEach(async () => {
    dir = await freshDataDir();
    sql = await openPglite(`${dir}/pglite`);
    await migrate(sql);
    statements = [];
    counted = {
      ...sql,
      query: (text, params) => {
        statements.push(text);
        return sql.query(text, params);
      },
    };
  }, 60_000);
  afterEach(async () => {
    await sql.close();
    removeDataDir(dir);
  });

  test('given a restart that replays events the table holds, they are skipped; batches that follow its own writes ask no checkpoint', async () => {
    await new SqlHistoryStore(sql).apply(log.slice(0, 5));
    const restarted = new SqlHistoryStore(counted);
    await restarted.apply(log.slice(3, 6));
    expect(checkpointQueries()).toBe(1);
    await restarted.apply(log.slice(6, 8));
    await restarted.apply(log.slice(8));
    expect(checkpointQueries()).toBe(1);
    // 5, then 6-7, then 8: nothing written twice
    expect(rowsInserted()).toEqual([1, 2, 1]);
    expect((await restarted.query({ limit: 20 })).map((h) => h.offset)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  test('given the table emptied elsewhere (a rebuild), a replay from the start is written again whole', async () => {
    const store = new SqlHistoryStore(counted);
    await store.apply(log.slice(0, 3));
    await sql.query('delete from history');
    await store.apply(log.slice(0, 5));
    expect((await store.query({ limit: 20 })).map((h) => h.offset)).toEqual([4, 3, 2, 1, 0]);
  });
});
