import { request } from 'undici';
import { signJwt, verifyJwt } from '../../src/infra/jwt';
import { generateRecording } from '../../src/sim/recordings';
import { decryptLrsPayload } from '../../src/tenants/lrs';
import { LmsClient, tag } from '../support/bbb-client';
import { eventually } from '../support/eventually';
import { startReceiver } from '../support/receiver';
import { BACKENDS, Harness, startHarness, TEST_SECRET } from '../support/harness';

/*
 * Multitenancy through the BBB API, the admin API and playback: the host's
 * first label names the tenant; nothing of tenant A is visible to tenant B;
 * the bare URL_HOST keeps working with the load balancer secrets. Parameter
 * policies, tenant settings, the analytics callback, the LRS payload and the
 * FreeSWITCH dial-in ride along.
 */

const URL_HOST = 'lb.example.com';

describe.each(BACKENDS)('multitenancy (%s backends)', (backend) => {
  let h: Harness;
  let alpha: { id: string; name: string };
  let beta: { id: string; name: string };

  /** A BBB API call as an LMS of that host would make it. */
  const call = async (host: string, secret: string, action: string, params: Record<string, string> = {}) => {
    const lms = new LmsClient(h.balancer.url, secret);
    return lms.raw(lms.url(action, params), { headers: { host } });
  };
  const asAlpha = (action: string, params: Record<string, string> = {}) => call(`alpha.${URL_HOST}`, 'alpha-secret', action, params);
  const asBeta = (action: string, params: Record<string, string> = {}) => call(`beta.${URL_HOST}`, 'beta-secret', action, params);
  const asBare = (action: string, params: Record<string, string> = {}) => call(URL_HOST, TEST_SECRET, action, params);
  const lastCreate = () => {
    const all = h.sim.servers.flatMap((s) => s.lastRequests.filter((r) => r.action === 'create'));
    return new URLSearchParams(all.sort((a, b) => a.at - b.at)[all.length - 1].query);
  };

  beforeAll(async () => {
    h = await startHarness({
      backend,
      servers: 1,
      env: {
        MULTITENANCY_ENABLED: 'true',
        URL_HOST,
        RECORDING_IMPORT_POLL_INTERVAL: '0.2',
        DEFAULT_CREATE_PARAMS: 'welcome=Welcome from the operator,record=false',
        OVERRIDE_JOIN_PARAMS: 'userdata-bbb_show_participants_on_login=false',
        CREATE_EXCLUDE_PARAMS: 'logo',
        MAX_MEETING_DURATION: '120',
      },
    });
    ({ tenant: alpha } = await h.admin.call<{ tenant: { id: string; name: string } }>('addTenant', 'POST', {}, { tenant: { name: 'alpha', secrets: 'alpha-secret:alpha-old' } }));
    ({ tenant: beta } = await h.admin.call<{ tenant: { id: string; name: string } }>('addTenant', 'POST', {}, { tenant: { name: 'beta', secrets: 'beta-secret' } }));
  });
  afterAll(async () => {
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  test('a tenant host signs with its own secrets; the LB secret and unknown tenants are refused there; the bare host keeps the LB secret', async () => {
    expect(tag((await asAlpha('getMeetings')).body, 'returncode')).toBe('SUCCESS');
    expect(tag((await call(`alpha.${URL_HOST}`, 'alpha-old', 'getMeetings')).body, 'returncode')).toBe('SUCCESS');
    expect(tag((await call(`alpha.${URL_HOST}`, TEST_SECRET, 'getMeetings')).body, 'messageKey')).toBe('checksumError');
    expect(tag((await call(`gamma.${URL_HOST}`, TEST_SECRET, 'getMeetings')).body, 'messageKey')).toBe('checksumError');
    expect(tag((await asBare('getMeetings')).body, 'returncode')).toBe('SUCCESS');
    expect(tag((await call(URL_HOST, 'alpha-secret', 'getMeetings')).body, 'messageKey')).toBe('checksumError');
  });

  test("create adds the tenant metadata and applies the param policies; the balancer's own values win", async () => {
    const created = await asAlpha('create', { meetingID: 'alpha-room', name: 'Alpha', logo: 'https://x/logo.png', duration: '600', record: 'true' });
    expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    const forwarded = lastCreate();
    expect(forwarded.get('meta_tenant-id')).toBe(alpha.id);
    expect(forwarded.get('meta_tenant-name')).toBe('alpha');
    expect(forwarded.get('welcome')).toBe('Welcome from the operator');
    expect(forwarded.get('record')).toBe('true');
    expect(forwarded.has('logo')).toBe(false);
    expect(forwarded.get('duration')).toBe('120');
    const join = await asAlpha('join', { meetingID: 'alpha-room', fullName: 'Ann', role: 'MODERATOR' });
    expect(join.status).toBe(302);
    expect(new URL(String(join.headers.location)).searchParams.get('userdata-bbb_show_participants_on_login')).toBe('false');
  });

  test('nothing of tenant alpha is visible to tenant beta or to the bare host', async () => {
    expect(tag((await asBeta('isMeetingRunning', { meetingID: 'alpha-room' })).body, 'running')).toBe('false');
    expect(tag((await asBeta('getMeetingInfo', { meetingID: 'alpha-room' })).body, 'messageKey')).toBe('notFound');
    expect(tag((await asBeta('join', { meetingID: 'alpha-room', fullName: 'Eve', role: 'MODERATOR' })).body, 'messageKey')).toBe('notFound');
    expect(tag((await asBeta('end', { meetingID: 'alpha-room' })).body, 'messageKey')).toBe('notFound');
    expect(tag((await asBare('getMeetingInfo', { meetingID: 'alpha-room' })).body, 'messageKey')).toBe('notFound');
    // meetingIDs are global: beta cannot take over alpha's
    expect(tag((await asBeta('create', { meetingID: 'alpha-room', name: 'Beta' })).body, 'messageKey')).toBe('internalError');
    expect((await asAlpha('getMeetings')).body).toContain('<meetingID>alpha-room</meetingID>');
    expect((await asBeta('getMeetings')).body).toContain('noMeetings');
    expect((await asBare('getMeetings')).body).toContain('noMeetings');
    expect(tag((await asAlpha('isMeetingRunning', { meetingID: 'alpha-room' })).body, 'returncode')).toBe('SUCCESS');
  });

  test('tenant settings: defaults under the request, overrides over everything, tags through them', async () => {
    await h.admin.call('addTenantSetting', 'POST', {}, { tenant_setting: { tenant_id: beta.id, param: 'welcome', value: 'Beta welcome', override: 'false' } });
    const forced = await h.admin.call<{ tenant_setting: { id: string } }>(
      'addTenantSetting',
      'POST',
      {},
      {
        tenant_setting: { tenant_id: beta.id, param: 'muteOnStart', value: 'true', override: true },
      },
    );
    await asBeta('create', { meetingID: 'beta-room', name: 'Beta', muteOnStart: 'false' });
    let forwarded = lastCreate();
    expect(forwarded.get('welcome')).toBe('Beta welcome');
    expect(forwarded.get('muteOnStart')).toBe('true');
    await asBeta('create', { meetingID: 'beta-room-2', name: 'Beta', welcome: 'Mine' });
    forwarded = lastCreate();
    expect(forwarded.get('welcome')).toBe('Mine');
    const listed = await h.admin.call<{ settings: Array<{ id: string; tenant_name: string; override: boolean }> }>('getTenantSettings', 'GET', { tenant_id: beta.id });
    expect(listed.settings.map((s) => [s.tenant_name, s.override])).toEqual([
      ['beta', true],
      ['beta', false],
    ]);
    await h.admin.call('deleteTenantSetting', 'POST', {}, { id: forced.tenant_setting.id });
    // a tenant server pool: a required tag no server has
    await h.admin.call('addTenantSetting', 'POST', {}, { tenant_setting: { tenant_id: beta.id, param: 'meta_server-tag', value: 'beta-pool!', override: true } });
    expect(tag((await asBeta('create', { meetingID: 'beta-room-3', name: 'Beta' })).body, 'messageKey')).toBe('serverTagUnavailable');
  });

  test('recordings and their playback are scoped by tenant', async () => {
    const { recordId } = await generateRecording({ spoolDir: h.config.recordings.spoolDir, meetingId: 'alpha-room', metadata: { 'tenant-id': alpha.id } });
    await eventually('the import', async () => (await asAlpha('getRecordings', { meetingID: 'alpha-room' })).body.includes(recordId));
    expect((await asBeta('getRecordings', {})).body).toContain('noRecordings');
    expect((await asBare('getRecordings', {})).body).toContain('noRecordings');
    expect(tag((await asBeta('publishRecordings', { recordID: recordId, publish: 'false' })).body, 'messageKey')).toBe('notFound');
    expect(tag((await asBeta('deleteRecordings', { recordID: recordId })).body, 'messageKey')).toBe('notFound');
    expect(tag((await asBeta('updateRecordings', { recordID: recordId, meta_x: 'y' })).body, 'updated')).toBe('false');
    const resource = `${h.balancer.url}/presentation/${recordId}/metadata.xml`;
    expect((await request(resource, { headers: { host: `alpha.${URL_HOST}` } })).statusCode).toBe(200);
    expect((await request(resource, { headers: { host: `beta.${URL_HOST}` } })).statusCode).toBe(404);
  });

  test("the analytics callback goes through us to the LMS, signed with the tenant's secret", async () => {
    const lms = await startReceiver();
    const received = lms.requests;
    try {
      const target = lms.url('/analytics');
      await asAlpha('create', { meetingID: 'alpha-analytics', name: 'A', 'meta_analytics-callback-url': target });
      expect(lastCreate().get('meta_analytics-callback-url')).toBe(`https://alpha.${URL_HOST}/bigbluebutton/api/analytics_callback`);
      const bbbToken = signJwt({ exp: Math.floor(Date.now() / 1000) + 60 }, h.sim.servers[0].secret, 'HS512');
      const res = await request(`${h.balancer.url}/bigbluebutton/api/analytics_callback`, {
        method: 'POST',
        headers: { host: `alpha.${URL_HOST}`, authorization: `Bearer ${bbbToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ meeting_id: 'alpha-analytics', data: { duration: 42 } }),
      });
      expect(res.statusCode).toBe(204);
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0].body)).toMatchObject({ meeting_id: 'alpha-analytics', customer: 'alpha', data: { duration: 42 } });
      expect(verifyJwt(String(received[0].headers.authorization).replace('Bearer ', ''), 'alpha-secret', { algorithms: ['HS512'] }).ok).toBe(true);
      // a token no server signed is dropped, still with 204
      const forged = await request(`${h.balancer.url}/bigbluebutton/api/analytics_callback`, {
        method: 'POST',
        headers: { host: `alpha.${URL_HOST}`, authorization: `Bearer ${signJwt({}, 'not-a-server', 'HS512')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ meeting_id: 'alpha-analytics' }),
      });
      expect(forged.statusCode).toBe(204);
      expect(received).toHaveLength(1);
    } finally {
      lms.close();
    }
  });

  test('a tenant with LRS credentials gets an encrypted LRS payload only the chosen server can read', async () => {
    await h.admin.call('updateTenant', 'POST', {}, { id: alpha.id, tenant: { lrs_endpoint: 'https://lrs.example.com/xapi', lrs_username: 'u', lrs_password: 'p' } });
    await asAlpha('create', { meetingID: 'alpha-lrs', name: 'A' });
    const payload = lastCreate().get('meta_secret-lrs-payload')!;
    expect(decryptLrsPayload(payload, h.sim.servers[0].secret)).toEqual({ lrs_endpoint: 'https://lrs.example.com/xapi', lrs_username: 'u', lrs_password: 'p' });
    const info = await h.admin.call<Record<string, unknown>>('getTenantInfo', 'GET', { id: alpha.id });
    expect(info).toMatchObject({ name: 'alpha', secrets: '********', lrs_endpoint: 'https://lrs.example.com/xapi', lrs_password: '********', kc_token_url: null });
  });

  test("FreeSWITCH dial-in: Basic auth, then the meeting's voice bridge bridges to its server", async () => {
    const meeting = await h.admin.call<{ meeting: { voice_bridge: string } }>('getMeetingRoute', 'GET', { meetingID: 'alpha-room' });
    const pin = meeting.meeting.voice_bridge;
    const form = new URLSearchParams({ section: 'dialplan', 'Caller-Destination-Number': '6135551234', variable_pin: pin, 'Caller-Caller-ID-Name': '5554321' });
    const denied = await request(`${h.balancer.url}/fsapi`, { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(denied.statusCode).toBe(401);
    await denied.body.dump();
    const res = await request(`${h.balancer.url}/fsapi`, {
      method: 'POST',
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`fsapi:${TEST_SECRET}`).toString('base64')}` },
    });
    const doc = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(doc).toContain(`sofia/external/${pin}@127.0.0.1`);
    expect(doc).toContain('555XXXX');
  });

  test('admin: tenants are listed with masked secrets, renamed, and removed; names are unique', async () => {
    const list = await h.admin.call<Array<{ id: string; name: string; secrets: string }>>('getTenants', 'GET');
    expect(list.map((t) => [t.name, t.secrets])).toEqual([
      ['alpha', '********'],
      ['beta', '********'],
    ]);
    await expect(h.admin.call('addTenant', 'POST', {}, { tenant: { name: 'ALPHA', secrets: 'x' } })).rejects.toThrow(/exists already/);
    await expect(h.admin.call('addTenant', 'POST', {}, { tenant: { name: 'bad name', secrets: 'x' } })).rejects.toThrow(/DNS label/);
    await h.admin.call('updateTenant', 'POST', {}, { id: beta.id, tenant: { name: 'gamma' } });
    expect(tag((await asBeta('getMeetings')).body, 'messageKey')).toBe('checksumError');
    expect(tag((await call(`gamma.${URL_HOST}`, 'beta-secret', 'getMeetings')).body, 'returncode')).toBe('SUCCESS');
    await h.admin.call('deleteTenant', 'POST', {}, { id: beta.id });
    expect(tag((await call(`gamma.${URL_HOST}`, 'beta-secret', 'getMeetings')).body, 'messageKey')).toBe('checksumError');
    const { events } = await h.admin.call<{ events: Array<{ type: string; actor: { name: string } }> }>('getEvents', 'GET', { type: 'TenantAdded,TenantUpdated,TenantRemoved' });
    expect(events.map((e) => e.type).sort()).toEqual(['TenantAdded', 'TenantAdded', 'TenantRemoved', 'TenantUpdated', 'TenantUpdated']);
    expect(events.every((e) => e.actor.name === 'test-admin')).toBe(true);
  });
});

describe('multitenancy disabled', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ servers: 1 });
  });
  afterAll(() => h.close());

  test('the tenant endpoints answer 412', async () => {
    await expect(h.admin.call('getTenants', 'GET')).rejects.toThrow(/Multitenancy is disabled/);
    await expect(h.admin.call('addTenant', 'POST', {}, { tenant: { name: 'a', secrets: 'b' } })).rejects.toThrow(/Multitenancy is disabled/);
  });
});
