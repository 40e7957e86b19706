import { freePort } from '../../bench/support';
import { PrivatePostgres, PrivateRedis, startPrivatePostgres, startPrivateRedis } from '../../bench/services';
import Redis from 'ioredis';
import { Harness, serverHolding, startHarness } from '../support/harness';
import { tag } from '../support/bbb-client';
import { passes } from '../support/eventually';

jest.setTimeout(240_000);

/*
 * The production backends restarting or losing what they hold, under a running balancer:
 * no process dies, callers get an answer within a bounded time, and everything comes back
 * without a hand. Redis and PostgreSQL here are private servers of this test (restarting the
 * shared ones would pull them from under every other test); Kafka is the shared broker.
 */

const MEETINGS = 100;
const ids = Array.from({ length: MEETINGS }, (_, i) => `restart-${i}`);

async function createAll(h: Harness, meetingIds: string[], concurrency = 10): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < meetingIds.length; i += concurrency) {
    const batch = await Promise.all(meetingIds.slice(i, i + concurrency).map((id) => h.lms.get('create', { meetingID: id, name: id })));
    answers.push(...batch.map((r) => tag(r.body, 'returncode') ?? `HTTP ${r.status}`));
  }
  return answers;
}

/** Every meeting routed again, and how long that took. */
async function routesBack(h: Harness, meetingIds: string[]): Promise<number> {
  const started = Date.now();
  await passes(async () => {
    const routes = await Promise.all(meetingIds.map((id) => h.balancer.backends.pool.meeting(id)));
    expect(routes.filter((r) => r === null)).toHaveLength(0);
  }, 30_000);
  return Date.now() - started;
}

/** Each meeting runs on exactly one simulated server, and joins go there. */
async function expectOnePlaceEach(h: Harness, meetingIds: string[]): Promise<void> {
  for (const id of meetingIds) {
    const holding = serverHolding(h, id);
    expect({ id, holding: holding.length }).toEqual({ id, holding: 1 });
    const join = await h.lms.get('join', { meetingID: id, fullName: 'A', role: 'viewer' });
    expect(join.status).toBe(302);
    expect(String(join.headers.location)).toContain(h.sim.servers[holding[0]].url.replace(/\/bigbluebutton\/api\/?$/, ''));
  }
}

describe('Redis losing the read model, under a running balancer', () => {
  let redis: PrivateRedis;
  let h: Harness;

  beforeAll(async () => {
    redis = await startPrivateRedis(await freePort());
    h = await startHarness({ backend: 'production', servers: 3, env: { REDIS_URL: redis.url, PROJECTION_TIMEOUT: '5' } });
    expect(await createAll(h, ids)).toEqual(ids.map(() => 'SUCCESS'));
  });
  afterAll(async () => {
    await h?.close();
    await redis?.close();
  });

  test('after FLUSHALL every route is back by itself, joins go where each meeting runs, and re-creates place nothing twice', async () => {
    const client = new Redis(redis.url);
    await client.flushall();
    await client.quit();
    const ms = await routesBack(h, ids);
    process.stdout.write(`backend-restarts: ${MEETINGS} routes back ${ms} ms after FLUSHALL\n`);
    expect(ms).toBeLessThan(15_000);
    expect(await createAll(h, ids)).toEqual(ids.map(() => 'SUCCESS'));
    await expectOnePlaceEach(h, ids);
    const { events } = await h.admin.call<{ events: Array<{ type: string; data: Record<string, unknown> }> }>('getEvents', 'GET', { type: 'ReadModelRebuilt' });
    expect(events[0]).toMatchObject({ type: 'ReadModelRebuilt', data: { projection: 'pool', reason: 'lost', found: -1 } });
  });

  test('a Redis restart that keeps nothing: callers get an answer within a bounded time while it is down, then every route is back', async () => {
    await redis.kill();
    const started = Date.now();
    const during = await h.lms.get('create', { meetingID: 'while-redis-is-down', name: 'after' });
    const answeredIn = Date.now() - started;
    expect(tag(during.body, 'returncode')).toBe('FAILED');
    // PROJECTION_TIMEOUT is 5 s here: the caller is answered within it and the retries of a command
    expect(answeredIn).toBeLessThan(20_000);
    await redis.start();
    const ms = await routesBack(h, ids);
    process.stdout.write(`backend-restarts: ${MEETINGS} routes back ${ms} ms after Redis restarted empty\n`);
    expect(await createAll(h, ids)).toEqual(ids.map(() => 'SUCCESS'));
    await expectOnePlaceEach(h, ids);
    const created = await h.lms.get('create', { meetingID: 'after-redis-restart', name: 'after' });
    expect(created.body).toContain('<returncode>SUCCESS</returncode>');
  });
});

describe('PostgreSQL restarting under load', () => {
  let pg: PrivatePostgres;
  let h: Harness;

  beforeAll(async () => {
    pg = await startPrivatePostgres(await freePort());
    h = await startHarness({ backend: 'production', servers: 2, env: { DATABASE_URL: pg.url, PROJECTION_TIMEOUT: '5' } });
  });
  afterAll(async () => {
    await h?.close();
    await pg?.close();
  });

  test('pg_ctl stop -m immediate during a burst: no process dies, creates go on (they need no SQL), the history catches up once it is back', async () => {
    const burst = Array.from({ length: 60 }, (_, i) => `pg-${i}`);
    const creating = createAll(h, burst, 4);
    // A transaction holding its connection when the server dies: pg emits 'error' on that
    // client, where no listener of pg's own is; unheard, it used to end the process.
    const holding = h.balancer.backends.sql.transaction(async (tx) => {
      await tx.query('select 1');
      await new Promise((r) => setTimeout(r, 1500));
      await tx.query('select 2');
    });
    await new Promise((r) => setTimeout(r, 300));
    await pg.stopImmediately();
    await expect(holding).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 2000));
    await pg.start();
    const startedAt = Date.now();
    expect(await creating).toEqual(burst.map(() => 'SUCCESS'));
    await passes(async () => {
      const placed = (await h.admin.call<{ events: Array<{ meeting_id: string }> }>('getEvents', 'GET', { type: 'MeetingPlaced', limit: '1000' })).events;
      expect(new Set(placed.map((e) => e.meeting_id))).toEqual(new Set(burst));
    }, 60_000);
    process.stdout.write(`backend-restarts: history complete ${Date.now() - startedAt} ms after PostgreSQL restarted\n`);
    // the projector lanes are still running: a new event reaches the history
    const created = await h.lms.get('create', { meetingID: 'after-pg-restart', name: 'after' });
    expect(created.body).toContain('<returncode>SUCCESS</returncode>');
    await passes(async () => expect((await h.admin.call<{ events: unknown[] }>('getEvents', 'GET', { meeting: 'after-pg-restart' })).events).toHaveLength(1), 30_000);
    expect(await h.balancer.backends.parked.count()).toBe(0);
  });
});
