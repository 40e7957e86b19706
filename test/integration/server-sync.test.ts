import { createHash, randomUUID } from 'node:crypto';
import pino from 'pino';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { ServerSyncAdmin, SyncResult } from '../../src/api/admin-sync';
import { DomainError } from '../../src/commands/errors';
import { Committed, Decided, WriteSide } from '../../src/commands/write-side';
import { Actor } from '../../src/events/envelope';
import { PoolReader } from '../../src/projections/ports';
import { AdminClient, AdminClientError } from '../../src/infra/admin-client';
import { tag } from '../support/bbb-client';
import { BACKENDS, Harness, serverHolding, startHarness, TEST_SECRET } from '../support/harness';

/*
 * servers:sync and servers:yaml over the admin API: the pool converges on a
 * YAML document, every change an event of the admin who ran it, and the
 * export reads back as a sync that changes nothing.
 */

interface ServerRow {
  id: string;
  url: string;
  secret: string;
  tag: string;
  state: string;
  load_multiplier: string;
}

interface EventRow {
  type: string;
  actor: { kind: string; name: string };
  server_id: string | null;
  meeting_id: string | null;
  correlation_id: string | null;
  data: Record<string, unknown>;
}

type Entry = Record<string, unknown>;

describe.each(BACKENDS)('servers:sync and servers:yaml (%s backends)', (backend) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ backend, servers: 3, addServers: false, enable: false });
  });
  afterAll(async () => {
    // the live read model is exactly what the log says
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  const sim = (i: number) => h.sim.servers[i];
  const entry = (i: number, over: Entry = {}): Entry => ({ url: sim(i).url, secret: sim(i).secret, ...over });
  const SPARE = { url: 'http://127.0.0.1:1/bigbluebutton/api', secret: 'spare-secret' };
  const document = (servers: Record<string, Entry>) => stringify({ servers });

  async function sync(yaml: string, options: { mode?: string; dry_run?: boolean | string } = {}, admin: AdminClient = h.admin) {
    const lines: Array<Record<string, unknown>> = [];
    const result = await admin.stream<SyncResult>('syncServers', { yaml, ...options }, (line) => lines.push(line));
    return {
      result,
      log: lines.filter((l) => typeof l.log === 'string').map((l) => l.log as string),
      warnings: lines.filter((l) => typeof l.warning === 'string').map((l) => l.warning as string),
      raw: JSON.stringify({ lines, result }),
    };
  }

  async function raw(action: string, body?: unknown) {
    const checksum = createHash('sha256')
      .update(action + TEST_SECRET)
      .digest('hex');
    const res = await request(`${h.balancer.url}/scalelite/api/${action}?checksum=${checksum}`, {
      method: body === undefined ? 'GET' : 'POST',
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
    return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
  }

  async function servers(): Promise<Map<string, ServerRow>> {
    try {
      const rows = await h.admin.call<ServerRow[]>('getServers', 'GET', { show_secrets: 'true' });
      return new Map(rows.map((s) => [s.id, s]));
    } catch (err) {
      if (err instanceof AdminClientError && err.status === 404) return new Map();
      throw err;
    }
  }

  const states = async () => Object.fromEntries([...(await servers())].map(([id, s]) => [id, s.state]));
  const head = () => h.balancer.backends.log.lastOffset();
  /** The history, once it has `count` matching events (with the production backends it is projected apart from the pool). */
  async function events(query: Record<string, string>, count: number): Promise<EventRow[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = (await h.admin.call<{ events: EventRow[] }>('getEvents', 'GET', { limit: '1000', order: 'asc', ...query })).events;
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const routes = async () => (await h.admin.call<{ meetings: Array<{ meeting_id: string; server_id: string }> }>('getMeetingRoutes', 'GET')).meetings;

  async function createMeeting(meetingId: string): Promise<void> {
    const created = await h.lms.get('create', { meetingID: meetingId, name: meetingId, moderatorPW: 'mp', attendeePW: 'ap' });
    expect(`${tag(created.body, 'returncode')} ${created.body}`).toMatch(/^SUCCESS/);
  }

  test('an invalid document or mode is a 400 with the reason, and changes nothing', async () => {
    const before = await head();
    const cases: Array<[unknown, string | RegExp]> = [
      [{ yaml: 'servers: [a, b]' }, 'Servers parameter not a hash'],
      [{ yaml: 'servers:\n  bbb-x:\n    url: http://bbb-x/bigbluebutton/api\n' }, 'Server id=bbb-x has no secret'],
      [{ yaml: 'servers:\n  bbb-x:\n    secret: s\n    colour: red\n' }, 'Server id=bbb-x has bad parameters: ["colour"]'],
      [{ yaml: 'servers:\n  bbb-x:\n    secret: s\n    load_multiplier: 0\n' }, 'Server id=bbb-x has invalid load_multiplier=0'],
      [{ yaml: 'servers: {a: [\n' }, /^Invalid YAML document/],
      [{ yaml: document({ 'bbb-x': { secret: 's' } }), mode: 'nuke' }, "Unknown sync mode 'nuke' (choose: keep cordon force)"],
      [{}, 'yaml: the servers document is required'],
    ];
    for (const [body, message] of cases) {
      const res = await raw('syncServers', body);
      expect(res.status).toBe(400);
      expect(res.type).toContain('application/json');
      expect(JSON.parse(res.text).error).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
    }
    // as the CLI sees it: an error, before any step
    await expect(sync('servers: [a]')).rejects.toThrow('Servers parameter not a hash');
    expect(await head()).toBe(before);
    expect(await servers()).toEqual(new Map());
  });

  const initial = () =>
    document({
      'bbb-0': entry(0),
      'bbb-1': entry(1, { enabled: false, load_multiplier: 2.5, tag: 'gpu' }),
      'bbb-2': entry(2),
      spare: { ...SPARE, enabled: false },
    });
  const created = ['[bbb-0] Server created', '[bbb-0] Server enabled', '[bbb-1] Server created', '[bbb-2] Server created', '[bbb-2] Server enabled', '[spare] Server created'];

  test('a dry run prints what would change and changes nothing', async () => {
    const before = await head();
    const run = await sync(initial(), { dry_run: true });
    expect(run.log).toEqual(created);
    expect(run.result).toMatchObject({ dry_run: true, mode: 'cordon' });
    expect(run.result.steps.map((s) => `${s.kind} ${s.id}`)).toEqual(['add bbb-0', 'enable bbb-0', 'add bbb-1', 'add bbb-2', 'enable bbb-2', 'add spare']);
    // dryrun is read as Scalelite reads it: any value but n/no/false
    expect((await sync(initial(), { dry_run: 'yes' })).result.dry_run).toBe(true);
    expect(await head()).toBe(before);
    expect(await servers()).toEqual(new Map());
  });

  test("creates the servers of the file with their ids, enabled unless enabled: false; every event is the admin's", async () => {
    const run = await sync(initial());
    expect(run.log).toEqual(created);
    expect(run.result).toMatchObject({ dry_run: false, mode: 'cordon' });
    // progress and result never carry a secret
    for (const i of [0, 1, 2]) expect(run.raw).not.toContain(sim(i).secret);
    expect(run.raw).not.toContain(SPARE.secret);

    const pool = await servers();
    expect([...pool.keys()]).toEqual(['bbb-0', 'bbb-1', 'bbb-2', 'spare']);
    expect(pool.get('bbb-0')).toMatchObject({ url: sim(0).url, secret: sim(0).secret, state: 'enabled', load_multiplier: '1.0', tag: '' });
    expect(pool.get('bbb-1')).toMatchObject({ state: 'disabled', load_multiplier: '2.5', tag: 'gpu' });
    expect(pool.get('bbb-2')?.state).toBe('enabled');
    expect(pool.get('spare')).toMatchObject({ url: SPARE.url, state: 'disabled' });

    const recorded = await events({ type: 'ServerAdded,ServerEnabled' }, 6);
    expect(recorded.map((e) => `${e.type} ${e.server_id}`)).toEqual([
      'ServerAdded bbb-0',
      'ServerEnabled bbb-0',
      'ServerAdded bbb-1',
      'ServerAdded bbb-2',
      'ServerEnabled bbb-2',
      'ServerAdded spare',
    ]);
    expect(recorded.every((e) => e.actor.kind === 'admin' && e.actor.name === 'test-admin')).toBe(true);
    // one sync, one correlation id
    expect(new Set(recorded.map((e) => e.correlation_id)).size).toBe(1);
    expect(recorded.every((e) => e.data.secret === undefined || e.data.secret === '[redacted]')).toBe(true);
  });

  test('updates url, secret, multiplier and tag, and enables or cordons to match the file', async () => {
    const run = await sync(
      document({
        'bbb-0': entry(0, { enabled: false }),
        'bbb-1': entry(1),
        'bbb-2': entry(2, { secret: 'rotated-secret' }),
        spare: { ...SPARE, url: 'http://127.0.0.1:2/bigbluebutton/api', enabled: false },
      }),
    );
    expect(run.log).toEqual([
      '[bbb-0] Server disabled (cordoned)',
      '[bbb-1] Server updated: load_multiplier=1.0',
      '[bbb-1] Server updated: tag=',
      '[bbb-1] Server enabled',
      '[bbb-2] Server updated: secret=*****',
      '[spare] Server updated: url=http://127.0.0.1:2/bigbluebutton/api',
    ]);
    expect(run.raw).not.toContain('rotated-secret');
    const pool = await servers();
    expect(pool.get('bbb-0')?.state).toBe('cordoned');
    expect(pool.get('bbb-1')).toMatchObject({ state: 'enabled', load_multiplier: '1.0', tag: '' });
    expect(pool.get('bbb-2')?.secret).toBe('rotated-secret');
    expect(pool.get('spare')?.url).toBe('http://127.0.0.1:2/bigbluebutton/api');
  });

  test('mode keep leaves the servers missing from the file', async () => {
    const run = await sync(document({ 'bbb-0': entry(0, { enabled: false }), 'bbb-1': entry(1, { enabled: false }), 'bbb-2': entry(2) }), { mode: 'keep' });
    expect(run.log).toEqual(['[bbb-1] Server disabled (cordoned)', '[bbb-2] Server updated: secret=*****', '[spare] Server not removed']);
    expect(await states()).toEqual({ 'bbb-0': 'cordoned', 'bbb-1': 'cordoned', 'bbb-2': 'enabled', spare: 'disabled' });
  });

  const withoutBbb2 = () => document({ 'bbb-0': entry(0, { enabled: false }), 'bbb-1': entry(1) });

  test('mode cordon removes the empty servers missing from the file and cordons the busy ones', async () => {
    await h.balancer.poller.pollAll();
    await createMeeting('sync-cordon');
    expect(serverHolding(h, 'sync-cordon')).toEqual([2]);

    const run = await sync(withoutBbb2());
    expect(run.log).toEqual(['[bbb-1] Server enabled', '[bbb-2] Server not empty. Cordoned for removal', '[spare] Server removed']);
    const pool = await servers();
    expect(pool.has('spare')).toBe(false);
    expect(pool.get('bbb-2')?.state).toBe('cordoned');
    // its meeting goes on
    expect(serverHolding(h, 'sync-cordon')).toEqual([2]);
    expect((await routes()).map((m) => `${m.meeting_id} ${m.server_id}`)).toEqual(['sync-cordon bbb-2']);

    // again: still busy, already cordoned, so nothing to do but say so
    expect((await sync(withoutBbb2())).log).toEqual(['[bbb-2] Server not empty. Not removed']);
  });

  test('mode force in a dry run prints the meetings it would end and changes nothing', async () => {
    const before = await head();
    const run = await sync(withoutBbb2(), { mode: 'force', dry_run: true });
    expect(run.log).toEqual(['[bbb-2] Server not empty. Ending meetings now...', '[bbb-2] Try to end meeting id=sync-cordon', '[bbb-2] Server removed']);
    expect(await head()).toBe(before);
    expect(serverHolding(h, 'sync-cordon')).toEqual([2]);
    expect((await servers()).has('bbb-2')).toBe(true);
  });

  test('mode force ends the meetings on BBB, then removes the server', async () => {
    const run = await sync(withoutBbb2(), { mode: 'force' });
    expect(run.log).toEqual(['[bbb-2] Server not empty. Ending meetings now...', '[bbb-2] Try to end meeting id=sync-cordon', '[bbb-2] Server removed']);
    expect(run.warnings).toEqual([]);
    expect(run.result.steps).toEqual([{ kind: 'endMeetingsAndRemove', id: 'bbb-2', log: run.log, meetings_ended: ['sync-cordon'], end_failed: [] }]);
    expect(serverHolding(h, 'sync-cordon')).toEqual([]);
    expect(sim(2).meetings()).toEqual([]);
    expect((await servers()).has('bbb-2')).toBe(false);
    expect(await routes()).toEqual([]);
    const recorded = await events({ server: 'bbb-2', type: 'MeetingEnded,ServerDisabled,ServerRemoved' }, 3);
    expect(recorded.map((e) => e.type)).toEqual(['MeetingEnded', 'ServerDisabled', 'ServerRemoved']);
    expect(recorded[0].meeting_id).toBe('sync-cordon');
    expect(recorded.every((e) => e.actor.name === 'test-admin')).toBe(true);
  });

  test('mode force on an enabled busy server cordons it, ends its meetings and removes it', async () => {
    const setup = await sync(document({ 'bbb-0': entry(0, { enabled: false }), 'bbb-1': entry(1, { enabled: false }), 'bbb-2': entry(2) }));
    expect(setup.log).toEqual(['[bbb-1] Server disabled (cordoned)', '[bbb-2] Server created', '[bbb-2] Server enabled']);
    await h.balancer.poller.pollAll();
    await createMeeting('sync-force');
    expect(serverHolding(h, 'sync-force')).toEqual([2]);

    const bot = new AdminClient({ baseUrl: h.balancer.url, secret: TEST_SECRET, actor: 'sync-bot' });
    const run = await sync(document({ 'bbb-0': entry(0), 'bbb-1': entry(1) }), { mode: 'force' }, bot);
    expect(run.log).toEqual([
      '[bbb-0] Server enabled',
      '[bbb-1] Server enabled',
      '[bbb-2] Server not empty. Cordoned for removal',
      '[bbb-2] Server not empty. Ending meetings now...',
      '[bbb-2] Try to end meeting id=sync-force',
      '[bbb-2] Server removed',
    ]);
    expect(serverHolding(h, 'sync-force')).toEqual([]);
    expect(await states()).toEqual({ 'bbb-0': 'enabled', 'bbb-1': 'enabled' });
    const recorded = await events({ actor: 'sync-bot' }, 6);
    expect(recorded.map((e) => `${e.type} ${e.server_id}`)).toEqual([
      'ServerEnabled bbb-0',
      'ServerEnabled bbb-1',
      'ServerCordoned bbb-2',
      'MeetingEnded bbb-2',
      'ServerDisabled bbb-2',
      'ServerRemoved bbb-2',
    ]);
    expect(recorded.every((e) => e.actor.kind === 'admin')).toBe(true);
    // the ended meeting is gone for the LMS too
    const join = await h.lms.get('join', { meetingID: 'sync-force', fullName: 'x', password: 'mp' });
    expect(tag(join.body, 'messageKey')).toBe('notFound');
  });

  test('servers:yaml is a sync document: fed back, it changes nothing', async () => {
    // a pool with a tag, a multiplier and every state
    await sync(document({ 'bbb-0': entry(0, { tag: 'gpu', load_multiplier: 2 }), 'bbb-1': entry(1, { enabled: false }), spare: SPARE }));
    await h.balancer.poller.pollAll();
    const before = await head();

    const { yaml } = await h.admin.call<{ yaml: string }>('getServersYaml', 'GET');
    expect(yaml.startsWith('---\n')).toBe(true);
    expect(parse(yaml)).toEqual({
      servers: {
        'bbb-0': { url: sim(0).url, secret: sim(0).secret, load_multiplier: 2, tag: 'gpu', enabled: true },
        'bbb-1': { url: sim(1).url, secret: sim(1).secret, load_multiplier: 1, tag: '', enabled: false },
        spare: { url: SPARE.url, secret: SPARE.secret, load_multiplier: 1, tag: '', enabled: true },
      },
    });
    const again = await sync(yaml);
    expect(again.log).toEqual([]);
    expect(again.result.steps).toEqual([]);

    const verbose = (await h.admin.call<{ yaml: string }>('getServersYaml', 'GET', { verbose: 'true' })).yaml;
    const fields = (parse(verbose) as { servers: Record<string, Record<string, unknown>> }).servers['bbb-0'];
    expect(fields).toMatchObject({ state: 'enabled', online: true, bbb_version: expect.any(String), load: expect.any(Number) });
    expect((await sync(verbose, { mode: 'force' })).log).toEqual([]);
    expect(await head()).toBe(before);
  });

  test('a step that fails stops the sync with the step named; the steps before it stay applied', async () => {
    const { log, pool, lock } = h.balancer.backends;
    let calls = 0;
    /** Another admin removes `spare` just before the sync's fourth decision (the plan is the first). */
    class RacingWriteSide extends WriteSide {
      override async decide<T>(actor: Actor, decision: (pool: PoolReader) => Promise<Decided<T> | DomainError>, correlationId?: string): Promise<Committed<T> | DomainError> {
        if (++calls === 4) await h.admin.call('deleteServer', 'POST', {}, { id: 'spare' });
        return super.decide(actor, decision, correlationId);
      }
    }
    const writeSide = new RacingWriteSide({ log, pool, lock, clock: () => new Date(), newId: randomUUID, projectionTimeoutMs: h.config.projectionTimeoutMs });
    const admin = new ServerSyncAdmin({ pool, writeSide, endOnServer: async () => true, logger: pino({ level: 'silent' }) });
    const outcome = admin.syncServers({
      params: { yaml: document({ 'bbb-0': entry(0, { tag: 'cpu', load_multiplier: 2 }), 'bbb-1': entry(1), spare: { ...SPARE, tag: 'x' } }) },
      actor: { kind: 'admin', name: 'racer' },
      correlationId: randomUUID(),
    });
    if (!('stream' in outcome)) throw new Error(`expected a stream, got ${JSON.stringify(outcome)}`);
    const lines: unknown[] = [];
    await expect(outcome.stream((line) => lines.push(line))).rejects.toThrow(
      "Sync stopped at step 3 of 3 ([spare] update): Couldn't find server with id=spare. The 2 steps before it were applied; the rest were not run.",
    );
    expect(lines).toEqual([{ log: '[bbb-0] Server updated: tag=cpu' }, { log: '[bbb-1] Server enabled' }, { log: '[spare] Server updated: tag=x' }]);
    const now = await servers();
    expect(now.get('bbb-0')?.tag).toBe('cpu');
    expect(now.get('bbb-1')?.state).toBe('enabled');
    expect(now.has('spare')).toBe(false);
  });
});
