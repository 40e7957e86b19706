import pino from 'pino';
import { MemoryPoolStore } from '../../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../../src/infra/embedded/sql-log';
import { migrate } from '../../src/infra/sql/migrations';
import { openPglite } from '../../src/infra/sql/pglite';
import { SqlPoolSnapshots } from '../../src/infra/sql/pool-snapshots';
import { Sql } from '../../src/infra/sql/sql';
import { applyToPool } from '../../src/projections/apply';
import { PoolSnapshotter, restoreFromSnapshot, SNAPSHOT_VERSION } from '../../src/projections/snapshots';
import { tag } from '../support/bbb-client';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { e, given, project } from '../support/events';
import { Harness, startHarness } from '../support/harness';

/*
 * The in-memory read model starts from its latest snapshot and replays only
 * the events after it; a snapshot that is not of this log is refused and the
 * whole log replayed. After every restart the live model equals a full replay.
 */

const rowsOf = async (sql: Sql) =>
  (await sql.query<{ position: string; event_id: string; version: number }>('select position, event_id, version from pool_snapshots')).rows.map((r) => ({
    position: Number(r.position),
    eventId: r.event_id,
    version: r.version,
  }));

describe('read-model snapshots (embedded balancer)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ servers: 2 });
  });
  afterAll(() => h.close());

  const routed = async () => (await h.admin.call<{ meetings: Array<{ meeting_id: string }> }>('getMeetingRoutes', 'GET')).meetings.map((m) => m.meeting_id).sort();

  test('given meetings placed, when the balancer stops, then a snapshot at the last event is saved, and the restart starts from it', async () => {
    for (const id of ['snap-1', 'snap-2', 'snap-3']) {
      expect(tag((await h.lms.get('create', { meetingID: id, name: id, moderatorPW: 'mp', attendeePW: 'ap' })).body, 'returncode')).toBe('SUCCESS');
    }
    const head = await h.balancer.backends.log.lastOffset();
    await h.restart();
    const rows = await rowsOf(h.balancer.backends.sql);
    expect(rows).toEqual([{ position: head, eventId: (await h.balancer.backends.log.read(head, 1))[0].event.id, version: SNAPSHOT_VERSION }]);
    expect(await routed()).toEqual(['snap-1', 'snap-2', 'snap-3']);
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
  });

  test('given a snapshot that is not of this log, when started, then it is refused, the whole log replayed, and a good one saved at stop', async () => {
    await h.balancer.backends.sql.query(`update pool_snapshots set event_id = 'of-another-log'`);
    await h.restart();
    expect(await routed()).toEqual(['snap-1', 'snap-2', 'snap-3']);
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.lms.get('end', { meetingID: 'snap-1', password: 'mp' });
    await h.restart();
    const head = await h.balancer.backends.log.lastOffset();
    expect(await rowsOf(h.balancer.backends.sql)).toEqual([{ position: head, eventId: (await h.balancer.backends.log.read(head, 1))[0].event.id, version: SNAPSHOT_VERSION }]);
    expect(await routed()).toEqual(['snap-2', 'snap-3']);
  });
});

describe('snapshot and restore (the parts, on PGlite)', () => {
  let dir: string;
  let sql: Sql;
  let log: SqlEventLog;
  const logger = pino({ level: 'silent' });
  const history = given([
    e.serverAdded('s-1'),
    e.serverEnabled('s-1'),
    e.meetingPlaced('m-1', 's-1', { voiceBridge: '111111111' }),
    e.meetingPlaced('m-2', 's-1', { voiceBridge: '222222222' }),
    e.tenantAdded('t-1', 'alpha'),
    e.meetingEnded('m-1', 's-1'),
    e.serverPolled('s-1', 42),
  ]);

  beforeAll(async () => {
    dir = await freshDataDir();
    sql = await openPglite(`${dir}/pglite`);
    await migrate(sql);
    log = new SqlEventLog(sql);
    await log.append(history);
  }, 60_000);
  afterAll(async () => {
    await log.close();
    await sql.close();
    removeDataDir(dir);
  });

  const applied = async (pool: MemoryPoolStore, from: number) => {
    await log.replay(from, async (batch) => void (await applyToPool(pool, batch)));
    return pool;
  };

  test('given a snapshot taken mid-log (the process died before its last one), when restored, then replaying the rest gives the full-replay state', async () => {
    const snapshots = new SqlPoolSnapshots(sql);
    const early = new MemoryPoolStore();
    await log.replay(
      0,
      async (batch) =>
        void (await applyToPool(
          early,
          batch.filter((s) => s.offset <= 3),
        )),
    );
    const snapshotter = new PoolSnapshotter({ log, pool: early, snapshots, logger }, { checkIntervalMs: 60_000, everyEvents: 3 }, -1);
    expect(await snapshotter.takeIfDue(5)).toBe(false);
    expect(await snapshotter.takeIfDue(3)).toBe(true);
    expect(await snapshotter.takeIfDue(1)).toBe(false);

    const restarted = new MemoryPoolStore();
    const from = await restoreFromSnapshot({ log, pool: restarted, snapshots, logger });
    expect(from).toBe(3);
    await applied(restarted, from! + 1);
    expect(restarted.snapshotAt().state).toEqual(project(history));
    expect(restarted.snapshotAt().checkpoint).toBe(history.length - 1);
  });

  test('a snapshot of another state version, beyond the log, or of another log is refused', async () => {
    const snapshots = new SqlPoolSnapshots(sql);
    const [last] = await log.read(history.length - 1, 1);
    const state = project(history);
    await snapshots.save({ position: last.offset, eventId: last.event.id, version: SNAPSHOT_VERSION + 1, takenAt: new Date().toISOString(), state });
    expect(await restoreFromSnapshot({ log, pool: new MemoryPoolStore(), snapshots, logger })).toBeNull();
    await snapshots.save({ position: last.offset + 5, eventId: last.event.id, version: SNAPSHOT_VERSION, takenAt: new Date().toISOString(), state });
    expect(await restoreFromSnapshot({ log, pool: new MemoryPoolStore(), snapshots, logger })).toBeNull();
    await snapshots.save({ position: last.offset, eventId: 'an-event-of-another-log', version: SNAPSHOT_VERSION, takenAt: new Date().toISOString(), state });
    expect(await restoreFromSnapshot({ log, pool: new MemoryPoolStore(), snapshots, logger })).toBeNull();
    // only the newest is kept
    expect(await rowsOf(sql)).toHaveLength(1);
    await snapshots.save({ position: last.offset, eventId: last.event.id, version: SNAPSHOT_VERSION, takenAt: new Date().toISOString(), state });
    const pool = new MemoryPoolStore();
    expect(await restoreFromSnapshot({ log, pool, snapshots, logger })).toBe(last.offset);
    expect(pool.snapshotAt().state).toEqual(state);
  });
});
