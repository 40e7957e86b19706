import Redis from 'ioredis';
import { Client } from 'pg';
import { MigrationReport, runMigration } from '../../src/infra/scalelite/migrate-run';
import { ScaleliteSource } from '../../src/infra/scalelite/source';
import { parseXml, XmlNode } from '../../src/infra/bbb/xml';
import { LmsClient, tag, tags } from '../support/bbb-client';
import { BACKENDS, Harness, startHarness, TEST_SECRET } from '../support/harness';
import { isolatedDatabase, isolationId, TEST_REDIS_URL } from '../support/production';
import {
  createScaleliteDatabase,
  dropNamespace,
  scaleliteRedis,
  seedMeeting,
  seedRecordings,
  seedServer,
  seedTenant,
  seedTenantSetting,
  ServerSeed,
  stateOf,
} from '../../src/sim/scalelite-stores';

/*
 * A live Scalelite (its own Redis keys and PostgreSQL tables, with every server
 * state, meetings running on the servers, tenants with settings and thousands of
 * recordings of every state) is migrated; then the API answers what Scalelite
 * would have answered for that state: join targets, getMeetings, getRecordings,
 * getServers and getTenants. A second run appends nothing; a killed run resumes.
 */

const URL_HOST = 'lb.example.com';
const RECORDINGS = 3000;
const ALPHA = '0b7e7c1e-5a1f-4f0e-9d59-8a1b2c3d4e01';
const BETA = '0b7e7c1e-5a1f-4f0e-9d59-8a1b2c3d4e02';

describe.each(BACKENDS)('migrate:scalelite from a live Scalelite (%s backends)', (backend) => {
  let h: Harness;
  let redis: Redis;
  let pg: Client;
  let drop: () => Promise<void>;
  let databaseUrl: string;
  let namespace: string;
  let servers: ServerSeed[];
  let first: MigrationReport;

  const source = () => new ScaleliteSource(TEST_REDIS_URL, namespace, databaseUrl);
  const migrate = async (opts: { dryRun?: boolean; onProgress?: (done: number, total: number) => void } = {}) => {
    const s = source();
    await s.connect();
    try {
      return await runMigration({ source: s, client: h.admin, dryRun: opts.dryRun ?? false, skipRecordings: false, batchSize: 400, onProgress: opts.onProgress });
    } finally {
      await s.close();
    }
  };
  const asHost = (host: string, secret: string) => {
    const lms = new LmsClient(h.balancer.url, secret);
    return (action: string, params: Record<string, string> = {}) => lms.raw(lms.url(action, params), { headers: { host } });
  };
  const bare = () => asHost(URL_HOST, TEST_SECRET);
  const alpha = () => asHost(`alpha.${URL_HOST}`, 'alpha-secret');

  beforeAll(async () => {
    h = await startHarness({ backend, servers: 5, addServers: false, env: { MULTITENANCY_ENABLED: 'true', URL_HOST } });
    const id = isolationId('scalelite');
    namespace = `test:${id}:scalelite`;
    const db = await isolatedDatabase(`${id}_src`);
    databaseUrl = db.databaseUrl;
    drop = db.drop;
    pg = await createScaleliteDatabase(databaseUrl);
    redis = scaleliteRedis(TEST_REDIS_URL, namespace);

    const sim = h.sim.servers;
    const stats = { meetings: 1, users: 3, largest: 3, videos: 1 };
    servers = [
      { id: 'bbb-enabled', url: sim[0].url, secret: sim[0].secret, state: 'enabled', online: true, loadMultiplier: '1.0', load: 12, stats },
      { id: 'bbb-cordoned', url: sim[1].url, secret: sim[1].secret, state: 'cordoned', online: true, tag: 'eu', loadMultiplier: '2.5', load: 4, stats },
      { id: 'bbb-legacy', url: sim[2].url, secret: sim[2].secret, legacyEnabled: true, online: true, load: 3, stats },
      { id: 'bbb-disabled', url: sim[3].url, secret: sim[3].secret, state: 'disabled', online: false, loadMultiplier: '-1' },
      { id: 'bbb-legacy-off', url: sim[4].url, secret: sim[4].secret, online: false },
    ];
    for (const s of servers) await seedServer(redis, s);
    // Meetings running on the servers, created there by Scalelite (the BBB create it forwarded).
    const running: Array<[string, number, string, string | undefined]> = [
      ['m-enabled', 0, '712345678', undefined],
      ['m-cordoned', 1, '723456789', undefined],
      ['m-legacy', 2, '734567890', undefined],
      ['m-disabled', 3, '745678901', undefined],
      ['m-alpha', 0, '756789012', ALPHA],
    ];
    for (const [meetingId, i, voiceBridge, tenantId] of running) {
      const direct = new LmsClient(sim[i].url.replace(/\/bigbluebutton\/api\/$/, ''), sim[i].secret);
      const created = await direct.get('create', { meetingID: meetingId, name: meetingId, voiceBridge, moderatorPW: 'mp', ...(tenantId ? { 'meta_tenant-id': tenantId } : {}) });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
      await seedMeeting(redis, { id: meetingId, serverId: servers[i].id, voiceBridge, moderatorPw: 'mp', tenantId });
    }
    await redis.sadd('meetings', 'm-expired'); // its hash expired (DEFAULT_MEETING_TTL)
    // Redis is binary-safe: a NUL no store here can keep
    await seedMeeting(redis, { id: 'm-nul', serverId: 'bbb-enabled', voiceBridge: '778901234', moderatorPw: 'mod\u0000pw' });
    await seedMeeting(redis, { id: 'm-stale', serverId: 'bbb-removed', voiceBridge: '767890123', moderatorPw: 'mp' });

    await seedTenant(redis, {
      id: ALPHA,
      name: 'alpha',
      secrets: 'alpha-secret:alpha-old',
      fields: { lrs_endpoint: 'https://lrs.example.com/xapi', lrs_username: 'u', lrs_password: 'p' },
    });
    await seedTenant(redis, {
      id: BETA,
      name: 'beta',
      secrets: 'beta-secret',
      fields: { lrs_endpoint: 'https://lrs.example.com/xapi', kc_token_url: 'https://kc.example.com/token', kc_client_id: 'c' },
    });
    await seedTenant(redis, { id: 'bad-name', name: 'not_a_label', secrets: 'x' });
    await seedTenant(redis, { id: 'name-thief', name: 'alpha', secrets: 'thief', holdsName: false });
    await seedTenantSetting(redis, { id: 'ts-record', tenantId: ALPHA, param: 'record', value: 'false', override: false });
    await seedTenantSetting(redis, { id: 'ts-tag', tenantId: BETA, param: 'meta_server-tag', value: 'eu', override: true });
    await seedTenantSetting(redis, { id: 'ts-orphan', tenantId: 'bad-name', param: 'record', value: 'true', override: false });
    await seedRecordings(pg, { count: RECORDINGS, tenantIds: [ALPHA, BETA] });
  }, 120_000);

  afterAll(async () => {
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
    redis.disconnect();
    await pg.end();
    await drop();
    await dropNamespace(TEST_REDIS_URL, namespace);
  });

  test('a dry run prints the plan and changes nothing', async () => {
    const plan = await migrate({ dryRun: true });
    expect(plan).toMatchObject({ dry_run: true, appended: 0 });
    expect(plan.counts.recording.imported).toBe(RECORDINGS);
    expect(plan.counts.server.imported + plan.counts.server.attention).toBe(5);
    // the routes are planned against the servers and tenants the plan brings (sent in a later batch)
    expect(plan.counts.meeting).toMatchObject({ imported: 5, skipped: 2 });
    expect(plan.counts.tenantSetting).toMatchObject({ imported: 2, skipped: 1 });
    await expect(h.admin.call('getServers', 'GET')).rejects.toThrow('No servers are configured');
  }, 120_000);

  test('the first run imports everything it can, and says what it skipped and what needs a hand', async () => {
    let lastProgress: [number, number] = [0, 0];
    first = await migrate({ onProgress: (done, total) => (lastProgress = [done, total]) });
    expect(lastProgress).toEqual([RECORDINGS, RECORDINGS]);
    expect(first.counts.server).toMatchObject({ imported: 4, attention: 1 });
    expect(first.counts.tenant).toMatchObject({ imported: 2, attention: 2 });
    expect(first.counts.tenantSetting).toMatchObject({ imported: 2, skipped: 1 });
    expect(first.counts.meeting).toMatchObject({ imported: 5, skipped: 2, attention: 1 });
    expect(first.counts.recording).toMatchObject({ imported: RECORDINGS, skipped: 0, attention: 0 });
    const reasons = Object.fromEntries(first.items.map((i) => [i.id, `${i.outcome}: ${i.reason}`]));
    expect(reasons['bbb-disabled']).toMatch(/^attention: load_multiplier=-1/);
    expect(reasons['bad-name']).toMatch(/^attention: name 'not_a_label' is not a DNS label/);
    expect(reasons['name-thief']).toMatch(/^attention: name alpha resolves to another tenant/);
    expect(reasons['ts-orphan']).toMatch(/^skipped: its tenant/);
    expect(reasons['m-expired']).toMatch(/^skipped: .*expired/);
    expect(reasons['m-nul']).toBe('attention: moderatorPassword holds a NUL character, which no store can keep: fix it in Scalelite');
    expect(reasons['m-stale']).toMatch(/^skipped: its server \(id=bbb-removed\)/);
    expect(first.recording_dirs).not.toBeNull();
  }, 300_000);

  test('every event names the migration as its actor', async () => {
    const { events } = await h.admin.call<{ events: Array<{ actor: { kind: string; name: string }; type: string }> }>('getEvents', 'GET', { limit: '10000' });
    expect(events.length).toBe(first.appended);
    expect(new Set(events.map((e) => `${e.actor.kind} ${e.actor.name}`))).toEqual(new Set(['admin migrate:scalelite by test-admin']));
    expect(events.filter((e) => e.type === 'RecordingMigrated')).toHaveLength(RECORDINGS);
  });

  test('getServers answers the same servers: ids, states, tags, multipliers, secrets, health and load', async () => {
    const got = await h.admin.call<Array<Record<string, unknown>>>('getServers', 'GET', { show_secrets: 'true' });
    const byId = new Map(got.map((s) => [s.id, s]));
    const expected: Record<string, { state: string; tag: string; multiplier: number; online: string; load: number | string }> = {
      'bbb-enabled': { state: 'enabled', tag: '', multiplier: 1, online: 'online', load: 12 },
      'bbb-cordoned': { state: 'cordoned', tag: 'eu', multiplier: 2.5, online: 'online', load: 4 },
      'bbb-legacy': { state: 'enabled', tag: '', multiplier: 1, online: 'online', load: 3 },
      // Scalelite would keep -1; this balancer needs a positive multiplier (reported above)
      'bbb-disabled': { state: 'disabled', tag: '', multiplier: 1, online: 'offline', load: 'unavailable' },
      'bbb-legacy-off': { state: 'disabled', tag: '', multiplier: 1, online: 'offline', load: 'unavailable' },
    };
    expect([...byId.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const s of servers) {
      const e = expected[s.id];
      expect(byId.get(s.id)).toMatchObject({ url: s.url, secret: s.secret, state: e.state, tag: e.tag, online: e.online, load: e.load });
      expect(Number(byId.get(s.id)!.load_multiplier)).toBe(e.multiplier);
    }
  });

  test('getTenants and getTenantInfo answer the tenants with their secrets and LRS fields; settings apply', async () => {
    const tenants = await h.admin.call<Array<{ id: string; name: string; secrets: string }>>('getTenants', 'GET', { show_secrets: 'true' });
    expect(tenants.map((t) => [t.id, t.name, t.secrets]).sort()).toEqual([
      [ALPHA, 'alpha', 'alpha-secret:alpha-old'],
      [BETA, 'beta', 'beta-secret'],
    ]);
    const info = await h.admin.call<Record<string, unknown>>('getTenantInfo', 'GET', { id: BETA, show_secrets: 'true' });
    expect(info).toMatchObject({ lrs_endpoint: 'https://lrs.example.com/xapi', kc_token_url: 'https://kc.example.com/token', kc_client_id: 'c' });
    const settings = await h.admin.call<{ settings: Array<{ id: string; param: string; value: string; override: boolean }> }>('getTenantSettings', 'GET', {});
    expect(settings.settings.map((s) => [s.id, s.param, s.value, s.override]).sort()).toEqual([
      ['ts-record', 'record', 'false', false],
      ['ts-tag', 'meta_server-tag', 'eu', true],
    ]);
  });

  test('joins go where Scalelite routed them; a disabled server is unavailable; unknown routes are not found', async () => {
    const target = async (call: ReturnType<typeof bare>, meetingId: string) => {
      const res = await call('join', { meetingID: meetingId, fullName: 'Ada', role: 'viewer' });
      return res.status === 302 ? String(res.headers.location).split('join?')[0] : tag(res.body, 'messageKey');
    };
    expect(await target(bare(), 'm-enabled')).toBe(servers[0].url);
    expect(await target(bare(), 'm-cordoned')).toBe(servers[1].url);
    expect(await target(bare(), 'm-legacy')).toBe(servers[2].url);
    expect(await target(bare(), 'm-disabled')).toBe('serverUnavailable');
    expect(await target(bare(), 'm-expired')).toBe('notFound');
    expect(await target(alpha(), 'm-alpha')).toBe(servers[0].url);
    // Another tenant's meeting is not found, as in Scalelite.
    expect(await target(bare(), 'm-alpha')).toBe('notFound');
  });

  test('a re-create of a migrated meeting goes to its server, with its voice bridge', async () => {
    const res = await bare()('create', { meetingID: 'm-legacy', name: 'again' });
    expect(tag(res.body, 'returncode')).toBe('SUCCESS');
    const creates = h.sim.servers[2].lastRequests.filter((r) => r.action === 'create');
    expect(new URLSearchParams(creates[creates.length - 1].query).get('voiceBridge')).toBe('734567890');
  });

  test('getMeetings lists the meetings of the online, not disabled servers, per tenant', async () => {
    const ids = (xml: string) => tags(xml, 'meetingID').sort();
    expect(ids((await bare()('getMeetings')).body)).toEqual(['m-cordoned', 'm-enabled', 'm-legacy']);
    expect(ids((await alpha()('getMeetings')).body)).toEqual(['m-alpha']);
  });

  test('getRecordings answers the documents Scalelite would: states, metadata, formats, previews, protection', async () => {
    const check = async (call: ReturnType<typeof bare>, meetingId: string, tenantFilter: string, origin: string) => {
      const expected = await pg.query<{ id: string; record_id: string; published: boolean; state: string; protected: boolean; start_ms: string; participants: number }>(
        `select r.id, r.record_id, r.published, r.state, r.protected, floor(extract(epoch from r.starttime) * 1000)::bigint as start_ms, r.participants
           from recordings r left join metadata t on t.recording_id = r.id and t.key = 'tenant-id'
          where r.meeting_id = $1 and r.state in ('published', 'unpublished') and ${tenantFilter}
          order by r.starttime desc`,
        [meetingId],
      );
      const res = await call('getRecordings', { meetingID: meetingId });
      const doc = parseXml(res.body)!.response as XmlNode;
      const list = expected.rows.length === 0 ? [] : ([] as XmlNode[]).concat(((doc.recordings as XmlNode).recording as XmlNode | XmlNode[]) ?? []);
      expect(list.map((r) => r.recordID)).toEqual(expected.rows.map((r) => r.record_id));
      for (const [i, row] of expected.rows.entries()) {
        const got = list[i];
        expect(got).toMatchObject({
          meetingID: meetingId,
          internalMeetingID: row.record_id,
          published: String(row.published),
          state: row.state,
          startTime: String(row.start_ms),
          participants: String(row.participants),
        });
        const meta = await pg.query<{ key: string; value: string }>('select key, value from metadata where recording_id = $1', [row.id]);
        const gotMeta = got.metadata as XmlNode;
        for (const m of meta.rows) expect(String(gotMeta[m.key] ?? '')).toBe(m.value);
        const formats = await pg.query<{ format: string; url: string; length: number; n: string }>(
          `select f.format, f.url, f.length, (select count(*) from thumbnails t where t.playback_format_id = f.id) as n from playback_formats f where f.recording_id = $1 order by f.format`,
          [row.id],
        );
        const gotFormats = ([] as XmlNode[]).concat(((got.playback as XmlNode).format as XmlNode | XmlNode[]) ?? []);
        expect(gotFormats.map((f) => f.type)).toEqual(formats.rows.map((f) => f.format));
        for (const [j, f] of formats.rows.entries()) {
          const g = gotFormats[j];
          expect(g.length).toBe(String(f.length));
          if (row.protected) {
            expect(String(g.url)).toMatch(new RegExp(`^${origin}/recording/${row.record_id}/${f.format}\\?token=[0-9a-f]{64}$`));
            expect(g.preview).toBeUndefined();
          } else {
            expect(g.url).toBe(`${origin}${f.url}`);
            const images = Number(f.n) === 0 ? [] : ([] as XmlNode[]).concat((((g.preview as XmlNode).images as XmlNode).image as XmlNode | XmlNode[]) ?? []);
            expect(images).toHaveLength(Number(f.n));
          }
        }
      }
      return expected.rows.length;
    };
    let seen = 0;
    for (const meetingId of ['meeting-0', 'meeting-7', 'meeting-13', 'meeting-210']) {
      seen += await check(bare(), meetingId, 't.value is null', `http://${URL_HOST}`);
      seen += await check(alpha(), meetingId, `t.value = '${ALPHA}'`, `http://alpha.${URL_HOST}`);
    }
    expect(seen).toBeGreaterThan(10);
    // state=any lists every state the fixture has, deleted ones included, as Scalelite does.
    const any = await bare()('getRecordings', { meetingID: 'meeting-5,meeting-6,meeting-7,meeting-8,meeting-9', state: 'any' });
    const states = new Set(tags(any.body, 'state'));
    expect([...states].sort()).toEqual(['deleted', 'processed', 'processing', 'published', 'unpublished']);
    expect(stateOf(9)).toBe('deleted');
  });

  test('a second run appends nothing and says so', async () => {
    const again = await migrate();
    expect(again.appended).toBe(0);
    expect(again.counts.recording).toMatchObject({ unchanged: RECORDINGS, imported: 0, updated: 0 });
    expect(again.counts.server).toMatchObject({ unchanged: 4, imported: 0, updated: 0 });
    expect(again.counts.meeting).toMatchObject({ unchanged: 5, imported: 0 });
    expect(again.counts.tenant).toMatchObject({ unchanged: 2, imported: 0 });
  }, 300_000);

  test('a change made in Scalelite since is brought over; a run killed half way resumes without duplicates', async () => {
    await pg.query(`update recordings set published = false, state = 'unpublished', publish_updated = true where id = 1`);
    await redis.hset('server:bbb-enabled', 'tag', 'us');
    const extra = 1200;
    await pg.query(
      `insert into recordings (id, record_id, meeting_id, name, published, state, starttime, endtime)
       select i, 'late-' || i, 'meeting-late', 'late ' || i, true, 'published', now(), now() from generate_series(${RECORDINGS + 1}, ${RECORDINGS + extra}) as i`,
    );
    // Killed after its first batches of recordings.
    await expect(
      migrate({
        onProgress: (done) => {
          if (done >= RECORDINGS + 400) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    const resumed = await migrate();
    const partial = extra - resumed.counts.recording.imported;
    expect(partial).toBeGreaterThan(0);
    expect(resumed.counts.recording.updated).toBe(0);
    const { events } = await h.admin.call<{ events: Array<{ type: string; data: { recordId?: string } }> }>('getEvents', 'GET', { limit: '10000', type: 'RecordingMigrated' });
    const ids = events.map((e) => e.data.recordId!);
    expect(new Set(ids).size).toBe(RECORDINGS + extra);
    // the first recording twice (the first run, then its unpublishing), no other duplicate
    expect(ids.length).toBe(RECORDINGS + extra + 1);
    const server = await h.admin.call<{ tag: string }>('getServerInfo', 'GET', { id: 'bbb-enabled' });
    expect(server.tag).toBe('us');
    expect((await migrate()).appended).toBe(0);
  }, 300_000);
});
