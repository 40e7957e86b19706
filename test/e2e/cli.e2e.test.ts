import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { LmsClient, tag } from '../support/bbb-client';
import { BACKENDS } from '../support/harness';
import { isolatedProductionEnv, ProductionEnv } from '../support/production';
import { baseEnv, cli as run, CliResult, cliJson as runJson, freePort, ScaleliteProcess, startSimProcess } from '../support/processes';

/*
 * The product as an admin uses it: `scalelite start` and `scalelite sim` as
 * processes, the CLI against them, an LMS over HTTP, and restarts.
 */

describe.each(BACKENDS)('scalelite end to end (%s backends)', (backend) => {
  let prod: ProductionEnv | null = null;
  let dataDir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let balancer: ScaleliteProcess | null = null;
  let sim: ChildProcess;
  let simServers: Array<{ url: string; secret: string }>;

  const cli = (...args: string[]): Promise<CliResult> => run(env, ...args);
  /** --json: each field one type, whatever a server's state (never "unavailable" or "2.0"). */
  const expectTypedServer = (s: Record<string, unknown>) => {
    expect(s.load === null || typeof s.load === 'number').toBe(true);
    for (const k of ['load_multiplier', 'meetings', 'users', 'largest_meeting', 'videos']) expect([k, typeof s[k]]).toEqual([k, 'number']);
    for (const k of ['id', 'url', 'secret', 'tag', 'bbb_version', 'state', 'online']) expect([k, typeof s[k]]).toEqual([k, 'string']);
  };
  const cliJson = <T>(...args: string[]): Promise<T> => runJson<T>(env, ...args);
  const balancerLog = () => balancer?.log ?? '';

  async function startBalancer(): Promise<void> {
    balancer = new ScaleliteProcess('start', ['start'], env);
    await balancer.waitHealthy(`http://127.0.0.1:${port}`);
  }

  async function stopBalancer(signal: NodeJS.Signals): Promise<void> {
    await balancer?.stop(signal);
    balancer = null;
  }

  const lms = () => new LmsClient(`http://127.0.0.1:${port}`, prod ? String(env.LOADBALANCER_SECRET) : readFileSync(join(dataDir, 'loadbalancer-secret'), 'utf8').trim());

  beforeAll(async () => {
    dataDir = await freshDataDir();
    port = await freePort();
    prod = backend === 'production' ? await isolatedProductionEnv('cli') : null;
    env = baseEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      BIND: '127.0.0.1',
      POLL_INTERVAL: '0.5',
      NEW_MEETING_GRACE_PERIOD: '5',
      // the embedded default generates its secret; production needs one configured
      ...(prod ? { ...prod.env, LOADBALANCER_SECRET: 'e2e-production-secret' } : {}),
    });
    ({ proc: sim, servers: simServers } = await startSimProcess(3, env));
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

    const servers = await cliJson<Array<{ id: string; url: string; state: string; load_multiplier: number; tag: string }>>('servers');
    expect(servers.map((s) => s.state)).toEqual(['disabled', 'disabled', 'disabled']);
    expect(servers.find((s) => s.url === c.url)?.load_multiplier).toBe(2);
    servers.forEach(expectTypedServer);
    // the admin API underneath keeps Scalelite's string shapes
    expect(listing.stdout).toContain('\tload multiplier: 2.0');
    for (const s of servers) expect((await cli('servers:enable', s.id)).code).toBe(0);

    // the poller brings them online on its own (POLL_INTERVAL=0.5)
    const deadline = Date.now() + 20_000;
    for (;;) {
      const st = await cliJson<{ servers: Array<{ online: string }> }>('status');
      if (st.servers.every((s) => s.online === 'online')) break;
      if (Date.now() > deadline) throw new Error(`servers not online: ${JSON.stringify(st)}\n${balancerLog()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const table = await cli('status');
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^HOSTNAME\s+STATE\s+STATUS\s+MEETINGS\s+USERS\s+LARGEST MEETING\s+VIDEOS\s+LOAD\s+BBB VERSION\s+TAG$/);
    expect(table.stdout).toContain('3.0.4');
    // a server row per server, then the totals (Scalelite #162), each cell under its header
    expect(rows).toHaveLength(5);
    expect(rows[4]).toMatch(/^TOTAL\s+3\/3 online\s+0\s+0\s+0\s+0$/);
    expect(rows[4].indexOf('3/3 online')).toBe(rows[0].indexOf('STATUS'));
    expect(rows[4].lastIndexOf(' 0') + 1).toBe(rows[0].indexOf('VIDEOS'));

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
    const infoJson = await cliJson<{ server: Record<string, unknown>; info: Record<string, unknown> }>('meetings:info', 'physics');
    expectTypedServer(infoJson.server);
    expect(infoJson.info).toMatchObject({ meetingName: 'Course physics', participantCount: 1, running: true, hasUserJoined: true, metadata: {} });
    expect(infoJson.info.attendees).toEqual([expect.objectContaining({ fullName: 'Marie', isPresenter: expect.any(Boolean) })]);

    // the totals add up what the rows show, after the poller has counted the meetings
    const polled = await cliJson<{ servers: Array<Record<string, unknown>> }>('poll:all');
    polled.servers.forEach(expectTypedServer);
    const status = await cliJson<{ servers: Array<Record<string, unknown> & { meetings: number; users: number }> }>('status');
    status.servers.forEach(expectTypedServer);
    const sum = (k: 'meetings' | 'users') => status.servers.reduce((n, s) => n + s[k], 0);
    expect(sum('meetings')).toBe(3);
    const totals = (await cli('status')).stdout.trimEnd().split('\n').at(-1)!;
    expect(totals.split(/\s{2,}/).slice(0, 4)).toEqual(['TOTAL', '3/3 online', String(sum('meetings')), String(sum('users'))]);

    const events = await cliJson<{ events: Array<{ type: string; actor: { kind: string; name: string }; meeting_id: string | null }> }>('events', '--meeting', 'physics');
    expect(events.events.map((e) => e.type)).toEqual(['MeetingPlaced']);
    expect(events.events[0].actor.kind).toBe('api');
    const adminEvents = await cliJson<{ events: Array<{ actor: { kind: string } }> }>('events', '--type', 'ServerEnabled');
    expect(adminEvents.events).toHaveLength(3);
    expect(adminEvents.events.every((e) => e.actor.kind === 'admin')).toBe(true);
    const text = await cli('events', '--limit', '5');
    expect(text.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTOR\s+TYPE\s+SUBJECT\s+DETAIL$/);

    // --actor takes what the ACTOR column shows, or the name alone
    const enabledRows = (await cli('events', '--type', 'ServerEnabled')).stdout.trimEnd().split('\n');
    const header = enabledRows[0];
    const shownActor = enabledRows[1].slice(header.indexOf('ACTOR'), header.indexOf('TYPE')).trim();
    expect(shownActor).toMatch(/^admin:\S+@\S+$/);
    const byColumn = await cliJson<{ events: Array<{ type: string; actor: { kind: string; name: string } }> }>('events', '--actor', shownActor, '--type', 'ServerEnabled');
    expect(byColumn.events).toHaveLength(3);
    expect(byColumn.events.every((e) => `${e.actor.kind}:${e.actor.name}` === shownActor)).toBe(true);
    const byName = await cliJson<{ events: unknown[] }>('events', '--actor', shownActor.slice('admin:'.length), '--type', 'ServerEnabled');
    expect(byName).toEqual(byColumn);
    const apiColumn = `api:${events.events[0].actor.name}`;
    const apiEvents = await cliJson<{ events: Array<{ meeting_id: string | null }> }>('events', '--actor', apiColumn, '--type', 'MeetingPlaced');
    expect(apiEvents.events.map((e) => e.meeting_id).sort()).toEqual(['biology', 'chemistry', 'physics']);
    // the admin's name under another kind is no one
    const wrongKind = await cli('events', '--actor', `poller:${shownActor.slice('admin:'.length)}`);
    expect(wrongKind).toMatchObject({ code: 0, stdout: '' });
    expect(wrongKind.stderr).toContain('No events match.');

    // --type names are the catalogue's, in any case
    const anyCase = await cliJson<{ events: unknown[] }>('events', '--type', 'serverenabled');
    expect(anyCase.events).toHaveLength(3);
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
    const badType = await cli('events', '--type', 'ServerEnabled,Bogus');
    expect(badType).toMatchObject({ code: 1, stdout: '' });
    // oclif wraps the message and marks each line with ›
    const said = badType.stderr.replace(/[\s›]+/g, ' ');
    expect(said).toContain("Unknown event type 'Bogus'. The event types are: ");
    for (const known of ['MeetingPlaced', 'ServerAdded', 'ServerEnabled', 'RecordingImported']) expect(said).toContain(known);
    expect(said).not.toContain('No events match');
    const badTypeJson = await cli('events', '--type', 'Bogus', '--json');
    expect(badTypeJson.code).toBe(1);
    expect(JSON.parse(badTypeJson.stdout).error.message).toMatch(/^Unknown event type 'Bogus'\. The event types are: /);
    const wrongSecret = await run({ ...env, LOADBALANCER_SECRET: 'not-it' }, 'status');
    expect(wrongSecret.code).not.toBe(0);
    expect(wrongSecret.stderr).toContain('checksumError');
    const nobody = await cli('status', '--balancer', 'http://127.0.0.1:1');
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('Cannot reach the balancer');
  }, 60_000);

  test('a server added with the wrong secret: poll:all, status and servers say the secret does not match, and the server is removed again', async () => {
    const added = await cliJson<{ id: string }>('servers:add', simServers[0].url, 'not-its-secret');
    expect((await cli('servers:enable', added.id)).code).toBe(0);
    const polled = await cli('poll:all');
    expect(polled.stdout).toMatch(new RegExp(`${added.id} \\(.*\\): poll failed \\(checksumError\\): the server's secret does not match`));
    const status = await cli('status');
    expect(status.stdout).toMatch(new RegExp(`\\(${added.id}\\): polls fail since \\S+: the server's secret does not match \\(checksumError\\)`));
    const listed = await cli('servers');
    expect(listed.stdout).toContain('polls fail since');
    const [json] = (await cliJson<Array<{ id: string; poll_error: { reason: string } | null }>>('servers')).filter((x) => x.id === added.id);
    expect(json.poll_error).toMatchObject({ reason: 'checksumError' });
    expect((await cli('servers:disable', added.id)).code).toBe(0);
    expect((await cli('servers:remove', added.id)).code).toBe(0);
  }, 60_000);

  test('a bad configuration stops the start with the variable named', async () => {
    const res = await run({ ...env, POLL_INTERVAL: 'soon', PORT: '0' }, 'start');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("POLL_INTERVAL: expected a number, got 'soon'");
    const bool = await run({ ...env, MULTITENANCY_ENABLED: 'maybe', PORT: '0' }, 'start');
    expect(bool.code).not.toBe(0);
    expect(bool.stderr.replace(/[\s›]+/g, ' ')).toContain("MULTITENANCY_ENABLED: expected true or false (also 1/0, yes/no, on/off), got 'maybe'");
    const level = await run({ ...env, LOG_LEVEL: 'verbose', PORT: '0' }, 'start');
    expect(level.code).not.toBe(0);
    expect(level.stderr.replace(/[\s›]+/g, ' ')).toContain("LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got 'verbose'");
  }, 60_000);

  test('events --follow prints the latest events, then each new one as it happens; status --watch redraws', async () => {
    const [server] = await cliJson<Array<{ id: string }>>('servers');
    const follower = new ScaleliteProcess('events-follow', ['events', '--follow', '--type', 'ServerCordoned,ServerEnabled', '--limit', '1'], env);
    try {
      await follower.waitForLog(/ServerEnabled/, 30_000);
      const shown = follower.log;
      expect((await cli('servers:cordon', server.id)).code).toBe(0);
      await follower.waitForLog(new RegExp(`admin:\\S+  ServerCordoned  server ${server.id}`), 30_000);
      expect((await cli('servers:enable', server.id)).code).toBe(0);
      await follower.waitForLog(new RegExp(`ServerCordoned[^\\n]*\\n[^\\n]*ServerEnabled  server ${server.id}`), 30_000);
      // the latest one first, then only what happened since, each once
      expect(follower.log.startsWith(shown)).toBe(true);
      expect(follower.log.split('\n').filter((l) => l.includes('ServerCordoned'))).toHaveLength(1);
    } finally {
      await follower.stop('SIGINT');
    }
    const watcher = new ScaleliteProcess('status-watch', ['status', '--watch', '1'], env);
    try {
      await watcher.waitForLog(/HOSTNAME[\s\S]*HOSTNAME/, 30_000);
      expect(watcher.log).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  every 1 s\nHOSTNAME\s+STATE/);
    } finally {
      await watcher.stop('SIGINT');
    }
    const refused = await cli('events', '--follow', '--json');
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain('--follow prints lines as events happen');
  });

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
