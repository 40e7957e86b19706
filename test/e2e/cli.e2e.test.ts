import { ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { LmsClient, tag } from '../support/bbb-client';
import { BACKENDS } from '../support/harness';
import { isolatedProductionEnv, ProductionEnv } from '../support/production';

/*
 * The product as an admin uses it: `scalelite start` and `scalelite sim` as
 * processes, the CLI against them, an LMS over HTTP, and restarts.
 */

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'run.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe.each(BACKENDS)('scalelite end to end (%s backends)', (backend) => {
  let prod: ProductionEnv | null = null;
  let dataDir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let balancer: ChildProcess | null = null;
  let sim: ChildProcess;
  let simServers: Array<{ url: string; secret: string }>;
  let balancerLog = '';

  const cli = (...args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile('node', [BIN, ...args], { env, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  const cliJson = async <T>(...args: string[]): Promise<T> => {
    const r = await cli(...args, '--json');
    if (r.code !== 0) throw new Error(`scalelite ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  };

  async function startBalancer(extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    const child = spawn('node', [BIN, 'start'], { env: { ...env, ...extraEnv }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (balancerLog += d));
    child.stderr!.on('data', (d) => (balancerLog += d));
    balancer = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`scalelite start exited (${child.exitCode}): ${balancerLog}`);
      try {
        const res = await request(`http://127.0.0.1:${port}/health_check`);
        if ((await res.body.text()) === 'success') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`scalelite start not healthy after 60 s: ${balancerLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function stopBalancer(signal: NodeJS.Signals): Promise<void> {
    const child = balancer;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    balancer = null;
  }

  // the embedded default generates its secret; production needs one configured
  const lms = () =>
    new LmsClient(`http://127.0.0.1:${port}`, prod ? String(env.LOADBALANCER_SECRET) : readFileSync(join(dataDir, 'loadbalancer-secret'), 'utf8').trim());

  beforeAll(async () => {
    dataDir = await freshDataDir();
    port = await freePort();
    env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', POLL_INTERVAL: '0.5', LOG_LEVEL: 'info', NEW_MEETING_GRACE_PERIOD: '5' };
    delete env.LOADBALANCER_SECRET;
    delete env.LOADBALANCER_SECRETS;
    delete env.SCALELITE_URL;
    delete env.NODE_OPTIONS;
    if (backend === 'production') {
      prod = await isolatedProductionEnv('cli');
      Object.assign(env, prod.env, { LOADBALANCER_SECRET: 'e2e-production-secret' });
    }
    sim = spawn('node', [BIN, 'sim', '--servers', '3', '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: sim.stdout! }).once('line', resolve);
      sim.once('exit', (code) => reject(new Error(`sim exited ${code}`)));
    });
    simServers = JSON.parse(firstLine).servers;
    await startBalancer();
  }, 90_000);

  afterAll(async () => {
    await stopBalancer('SIGTERM');
    sim?.kill('SIGTERM');
    removeDataDir(dataDir);
    await prod?.cleanup();
  });

  test('an admin builds the pool with the CLI; an LMS creates and joins meetings', async () => {
    const [a, b, c] = simServers;
    const added = await cli('servers:add', a.url, a.secret, '--tag', 'big');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^OK\nid: [0-9a-f-]{36}\n$/);
    // the rake bracket form keeps admins' scripts working
    expect((await cli(`servers:add[${b.url},${b.secret}]`)).code).toBe(0);
    expect((await cli(`servers:add[${c.url},${c.secret},2]`)).code).toBe(0);

    const listing = await cli('servers');
    expect(listing.stdout).toContain('\tsecret: ********');
    expect(listing.stdout).not.toContain(a.secret);
    const shown = await cli('servers', '--show-secrets');
    expect(shown.stdout).toContain(`\tsecret: ${a.secret}`);

    const servers = await cliJson<Array<{ id: string; url: string; state: string; load_multiplier: string; tag: string }>>('servers');
    expect(servers.map((s) => s.state)).toEqual(['disabled', 'disabled', 'disabled']);
    expect(servers.find((s) => s.url === c.url)?.load_multiplier).toBe('2.0');
    for (const s of servers) expect((await cli('servers:enable', s.id)).code).toBe(0);

    // the poller brings them online on its own (POLL_INTERVAL=0.5)
    const deadline = Date.now() + 20_000;
    for (;;) {
      const st = await cliJson<{ servers: Array<{ online: string }> }>('status');
      if (st.servers.every((s) => s.online === 'online')) break;
      if (Date.now() > deadline) throw new Error(`servers not online: ${JSON.stringify(st)}\n${balancerLog}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const table = await cli('status');
    expect(table.stdout.split('\n')[0]).toMatch(/^HOSTNAME\s+STATE\s+STATUS\s+MEETINGS\s+USERS\s+LARGEST MEETING\s+VIDEOS\s+LOAD\s+BBB VERSION\s+TAG$/);
    expect(table.stdout).toContain('3.0.4');

    const client = lms();
    for (const id of ['physics', 'chemistry', 'biology']) {
      const created = await client.get('create', { meetingID: id, name: `Course ${id}`, moderatorPW: 'mp', attendeePW: 'ap' });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    }
    const join = await client.get('join', { meetingID: 'physics', fullName: 'Marie', password: 'ap' });
    expect(join.status).toBe(302);
    const followed = await client.raw(String(join.headers.location));
    expect(followed.status).toBe(302); // the BBB server's own redirect into its client

    const meetings = await cli('meetings');
    expect(meetings.stdout).toContain('MeetingID: physics');
    const info = await cli('meetings:info', 'physics');
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('Meeting Name: Course physics');
    expect(info.stdout).toContain('Participants: 1');

    const events = await cliJson<{ events: Array<{ type: string; actor: { kind: string; name: string }; meeting_id: string | null }> }>('events', '--meeting', 'physics');
    expect(events.events.map((e) => e.type)).toEqual(['MeetingPlaced']);
    expect(events.events[0].actor.kind).toBe('api');
    const adminEvents = await cliJson<{ events: Array<{ actor: { kind: string } }> }>('events', '--type', 'ServerEnabled');
    expect(adminEvents.events).toHaveLength(3);
    expect(adminEvents.events.every((e) => e.actor.kind === 'admin')).toBe(true);
    const text = await cli('events', '--limit', '5');
    expect(text.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTOR\s+TYPE\s+SUBJECT\s+DETAIL$/);
  }, 120_000);

  test('errors are a clear message and a non-zero exit', async () => {
    const unknown = await cli('servers:enable', 'no-such-server');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("Couldn't find server with id=no-such-server");
    const missing = await cli('servers:add');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Please input at least a URL and a secret!');
    const badUrl = await cli('servers:add', 'ftp://x', 'secret');
    expect(badUrl.code).not.toBe(0);
    expect(badUrl.stderr).toContain('must start with http:// or https://');
    const badTime = await cli('events', '--since', 'someday');
    expect(badTime.code).not.toBe(0);
    const wrongSecret = await new Promise<CliResult>((resolve) =>
      execFile('node', [BIN, 'status'], { env: { ...env, LOADBALANCER_SECRET: 'not-it' }, cwd: ROOT }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(wrongSecret.code).not.toBe(0);
    expect(wrongSecret.stderr).toContain('checksumError');
    const nobody = await new Promise<CliResult>((resolve) =>
      execFile('node', [BIN, 'status', '--balancer', 'http://127.0.0.1:1'], { env, cwd: ROOT }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('Cannot reach the balancer');
  }, 60_000);

  test('a bad configuration stops the start with the variable named', async () => {
    const res = await new Promise<CliResult>((resolve) =>
      execFile('node', [BIN, 'start'], { env: { ...env, POLL_INTERVAL: 'soon', PORT: '0' }, cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("POLL_INTERVAL: expected a number, got 'soon'");
  }, 60_000);

  test('every route is intact after a restart, and after the process is killed', async () => {
    const before = await cliJson<{ meetings: Array<{ meeting_id: string; server_id: string; voice_bridge: string }> }>('meetings');
    expect(before.meetings.map((m) => m.meeting_id).sort()).toEqual(['biology', 'chemistry', 'physics']);

    await stopBalancer('SIGTERM');
    await startBalancer();
    expect(await cliJson('meetings')).toEqual(before);

    // an acknowledged create survives a kill -9
    const created = await lms().get('create', { meetingID: 'geology', name: 'Course geology', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    await stopBalancer('SIGKILL');
    await startBalancer();
    const after = await cliJson<{ meetings: Array<{ meeting_id: string }> }>('meetings');
    expect(after.meetings.map((m) => m.meeting_id).sort()).toEqual(['biology', 'chemistry', 'geology', 'physics']);
    const join = await lms().get('join', { meetingID: 'geology', fullName: 'Mary', password: 'mp' });
    expect(join.status).toBe(302);
  }, 120_000);
});
