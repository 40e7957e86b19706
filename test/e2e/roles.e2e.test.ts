import { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import { request } from 'undici';
import { LmsClient, tag } from '../support/bbb-client';
import { sample } from '../support/metrics';
import { passes } from '../support/eventually';
import { baseEnv, cli, cliJson, freePort, ScaleliteProcess, startSimProcess } from '../support/processes';
import { isolatedProductionEnv, ProductionEnv, TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../support/production';

/*
 * The production deployment scaled out: two api processes, one projector and
 * one poller, as separate processes on real Kafka, Redis and PostgreSQL, in
 * front of simulated BBB servers.
 */

const SECRET = 'roles-secret';

/** The pids of a process's children, from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('separate roles on the production backends', () => {
  let prod: ProductionEnv;
  let env: NodeJS.ProcessEnv;
  let sim: { proc: ChildProcess; servers: Array<{ url: string; secret: string }> };
  const procs: ScaleliteProcess[] = [];
  let api1: string;
  let api2: string;
  let projector: ScaleliteProcess;
  let pollerMetrics: number;
  let projectorMetrics: number;

  const start = (name: string, role: string, extra: Record<string, string> = {}) => {
    const p = new ScaleliteProcess(name, [role], { ...env, ...extra });
    procs.push(p);
    return p;
  };
  const at = (url: string) => ({ ...env, SCALELITE_URL: url });
  const meetingsOf = async () => (await cliJson<{ meetings: Array<{ meeting_id: string; server_id: string }> }>(at(api1), 'meetings')).meetings;

  beforeAll(async () => {
    prod = await isolatedProductionEnv('roles');
    // POLL_INTERVAL is long: polls happen when asked (poll:all), so nothing corrects loads mid-burst
    env = baseEnv({ ...prod.env, LOADBALANCER_SECRET: SECRET, BIND: '127.0.0.1', POLL_INTERVAL: '3600', PROJECTION_TIMEOUT: '45', NEW_MEETING_GRACE_PERIOD: '600' });
    sim = await startSimProcess(4, env);
    const [p1, p2] = [await freePort(), await freePort()];
    api1 = `http://127.0.0.1:${p1}`;
    api2 = `http://127.0.0.1:${p2}`;
    const a1 = start('api-1', 'api', { PORT: String(p1) });
    const a2 = start('api-2', 'api', { PORT: String(p2) });
    pollerMetrics = await freePort();
    projectorMetrics = await freePort();
    projector = start('projector', 'projector', { METRICS_PORT: String(projectorMetrics) });
    const poller = start('poller', 'poller', { METRICS_PORT: String(pollerMetrics) });
    await Promise.all([a1.waitHealthy(api1), a2.waitHealthy(api2), projector.waitForLog(/projecting the log/), poller.waitForLog(/active poller/)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    sim?.proc.kill('SIGTERM');
    await prod?.cleanup();
  }, 60_000);

  test('an admin command through one api process is visible through the other at once (read-your-writes)', async () => {
    for (const s of sim.servers) {
      const added = await cliJson<{ id: string }>(at(api1), 'servers:add', s.url, s.secret);
      // the very next call, on the other process
      const seen = await cliJson<Array<{ id: string; state: string }>>(at(api2), 'servers');
      expect(seen.map((x) => x.id)).toContain(added.id);
      expect((await cli(at(api2), 'servers:enable', added.id)).code).toBe(0);
      expect((await cliJson<{ state: string }>(at(api1), 'servers:cordon', added.id)).state).toBe('cordoned');
      expect((await cliJson<Array<{ id: string; state: string }>>(at(api2), 'servers')).find((x) => x.id === added.id)?.state).toBe('cordoned');
      expect((await cli(at(api2), 'servers:enable', added.id)).code).toBe(0);
    }
    // poll:all through an api process reaches the poller process
    const polled = await cliJson<{ summary: { polled: number; online: number } }>(at(api2), 'poll:all');
    expect(polled.summary).toMatchObject({ polled: 4, online: 4 });
  }, 120_000);

  test('the poller and the projector serve their own metrics on METRICS_PORT, labelled with their role', async () => {
    const scrape = async (port: number) => (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    const poller = await scrape(pollerMetrics);
    expect(sample(poller, 'scalelite_poll_pass_duration_seconds_count', { role: 'poller' })).toBeGreaterThan(0);
    expect(sample(poller, 'scalelite_read_model_lag_events', { role: 'poller', model: 'pool' })).toBeDefined();
    const projectorText = await scrape(projectorMetrics);
    expect(sample(projectorText, 'scalelite_read_model_lag_events', { role: 'projector', model: 'history' })).toBeDefined();
    expect(sample(projectorText, 'process_resident_memory_bytes', { role: 'projector' })).toBeGreaterThan(0);
  });

  test('concurrent creates of one meetingID from both api processes land on one server', async () => {
    const lms = [new LmsClient(api1, SECRET), new LmsClient(api2, SECRET)];
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => lms[i % 2].get('create', { meetingID: 'contested', name: 'Contested', moderatorPW: 'mp', attendeePW: 'ap' })),
    );
    expect(replies.map((r) => tag(r.body, 'returncode'))).toEqual(Array(20).fill('SUCCESS'));
    const placed = await cliJson<{ events: unknown[] }>(at(api1), 'events', '--meeting', 'contested', '--type', 'MeetingPlaced');
    expect(placed.events).toHaveLength(1);
    const joins = await Promise.all(lms.map((c) => c.get('join', { meetingID: 'contested', fullName: 'Ada', password: 'ap' })));
    expect(new Set(joins.map((j) => new URL(String(j.headers.location)).port)).size).toBe(1);
  }, 60_000);

  test('a burst of 200 creates through both api processes spreads evenly over 4 servers', async () => {
    const lms = [new LmsClient(api1, SECRET), new LmsClient(api2, SECRET)];
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => lms[i % 2].get('create', { meetingID: `burst-${i}`, name: `Burst ${i}`, moderatorPW: 'mp', attendeePW: 'ap' })),
    );
    expect(replies.filter((r) => tag(r.body, 'returncode') !== 'SUCCESS').map((r) => r.body)).toEqual([]);
    const perServer = new Map<string, number>();
    for (const m of await meetingsOf()) perServer.set(m.server_id, (perServer.get(m.server_id) ?? 0) + 1);
    const counts = [...perServer.values()];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(201);
    expect(counts).toHaveLength(4);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  }, 120_000);

  test('a projector killed mid-stream and restarted applies every event exactly once', async () => {
    const lms = [new LmsClient(api1, SECRET), new LmsClient(api2, SECRET)];
    const stream = (async () => {
      const out: string[] = [];
      for (let i = 0; i < 60; i++) {
        const r = await lms[i % 2].get('create', { meetingID: `stream-${i}`, name: `Stream ${i}`, moderatorPW: 'mp', attendeePW: 'ap' });
        out.push(tag(r.body, 'returncode') ?? r.body);
      }
      return out;
    })();
    await new Promise((r) => setTimeout(r, 300));
    await projector.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    projector = start('projector-2', 'projector');
    expect(await stream).toEqual(Array(60).fill('SUCCESS'));

    // the read model is exactly the log replayed once
    const rebuilt = await cliJson<{ equal: boolean; differences: string[]; events: number; checkpoint: number }>(at(api2), 'projections:rebuild');
    expect(rebuilt.differences).toEqual([]);
    expect(rebuilt.equal).toBe(true);
    // and the history has every event once
    const kafka = new Kafka({ clientId: 'check', brokers: TEST_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
    await kafka.connect();
    const [{ high }] = await kafka.fetchTopicOffsets(prod.topic);
    await kafka.disconnect();
    const pg = new Client({ connectionString: prod.databaseUrl });
    await pg.connect();
    const deadline = Date.now() + 30_000;
    let counts = { n: 0, distinct: 0, max: -1 };
    while (Date.now() < deadline) {
      const r = await pg.query<{ n: string; distinct: string; max: string | null }>('select count(*) n, count(distinct position) distinct, max(position) max from history');
      counts = { n: Number(r.rows[0].n), distinct: Number(r.rows[0].distinct), max: Number(r.rows[0].max ?? -1) };
      if (counts.n >= Number(high)) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    await pg.end();
    expect(counts).toEqual({ n: Number(high), distinct: Number(high), max: Number(high) - 1 });
    expect((await meetingsOf()).filter((m) => m.meeting_id.startsWith('stream-'))).toHaveLength(60);
  }, 180_000);

  test('a standby poller takes over within two poll intervals when the active one dies', async () => {
    // the long-interval poller leaves politely; a pair with a 1 s interval replaces it
    await procs.find((p) => p.name === 'poller')!.stop('SIGTERM');
    const first = start('poller-a', 'poller', { POLL_INTERVAL: '1' });
    await first.waitForLog(/active poller/);
    const standby = start('poller-b', 'poller', { POLL_INTERVAL: '1' });
    await standby.waitForLog(/scalelite running/);
    expect(standby.log).not.toMatch(/active poller/);
    const redis = new Redis(TEST_REDIS_URL);
    const leaseOwner = () => redis.get(`${prod.namespace}:poller-lease`);
    const owner = await leaseOwner();
    await first.stop('SIGKILL');
    const killedAt = Date.now();
    await standby.waitForLog(/active poller/, 10_000);
    const tookOver = Date.now() - killedAt;
    expect(tookOver).toBeLessThanOrEqual(2 * 1000 + 500); // two intervals, plus process scheduling slack
    expect(await leaseOwner()).not.toBe(owner);
    await redis.quit();
    // and it polls: a new participant shows up in the load
    const polled = await cliJson<{ summary: { polled: number } }>(at(api1), 'poll:all');
    expect(polled.summary.polled).toBe(4);
  }, 120_000);
  test('WEB_CONCURRENCY=2: one api role, two worker processes on one port; a worker that dies is replaced; METRICS_PORT shows both', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = start('api-workers', 'api', { PORT: String(port), WEB_CONCURRENCY: '2', METRICS_PORT: String(metricsPort) });
    await api.waitForLog(/scalelite api workers running/);
    await api.waitHealthy(url);
    const workers = () => childrenOf(api.child.pid!);
    await passes(async () => expect(workers()).toHaveLength(2), 30_000);
    const lms = new LmsClient(url, SECRET);
    for (let i = 0; i < 20; i++) expect(tag((await lms.get('getMeetings', {})).body, 'returncode')).toBe('SUCCESS');
    const scrape = async () => (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body.text();
    // Each worker's series carry its number; together they count every call.
    await passes(async () => {
      const text = await scrape();
      const counts = ['1', '2'].map(
        (worker) => sample(text, 'scalelite_http_request_duration_seconds_count', { role: 'api', call: 'getMeetings', outcome: 'SUCCESS', worker }) ?? 0,
      );
      expect(counts.reduce((a, b) => a + b, 0)).toBe(20);
    }, 10_000);

    const [victim] = workers();
    process.kill(victim!, 'SIGKILL');
    await passes(async () => {
      const now = workers();
      expect(now).toHaveLength(2);
      expect(now).not.toContain(victim);
    }, 30_000);
    await api.waitHealthy(url);
    expect(api.log).toMatch(/an api worker died: starting another/);
    await api.stop('SIGTERM');
    expect(workers()).toEqual([]);
  }, 120_000);
});
