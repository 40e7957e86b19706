import { createHash } from 'node:crypto';
import { request } from 'undici';
import { BACKENDS, Harness, startHarness, TEST_SECRET } from '../support/harness';
import { tag } from '../support/bbb-client';

/* The admin API at /scalelite/api: Scalelite's shapes, statuses and checksum, plus ours. */

async function adminRaw(h: Harness, action: string, init: { method?: 'GET' | 'POST'; query?: string; body?: string; type?: string; secret?: string } = {}) {
  const query = init.query ?? '';
  const checksum = createHash('sha256')
    .update(action + query + (init.secret ?? TEST_SECRET))
    .digest('hex');
  const res = await request(`${h.balancer.url}/scalelite/api/${action}?${query ? `${query}&` : ''}checksum=${checksum}`, {
    method: init.method ?? 'GET',
    body: init.body,
    headers: init.body !== undefined ? { 'content-type': init.type ?? 'application/json' } : {},
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) };
}

describe.each(BACKENDS)('admin API (%s backends)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, servers: 2, addServers: false, enable: false });
  });
  afterAll(async () => {
    // the live read model is exactly what the log says
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  test('getServers with no servers is 404 {"error":"No servers are configured"}', async () => {
    const res = await adminRaw(h, 'getServers');
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: 'No servers are configured' });
  });

  test('a bad checksum is the XML checksumError with HTTP 200', async () => {
    const res = await adminRaw(h, 'getServers', { secret: 'wrong' });
    expect(res.status).toBe(200);
    expect(tag(res.text, 'messageKey')).toBe('checksumError');
  });

  test('a POST body that is not JSON is the XML unsupportedContentType', async () => {
    const res = await adminRaw(h, 'addServer', { method: 'POST', body: 'server[url]=x', type: 'application/x-www-form-urlencoded' });
    expect(tag(res.text, 'messageKey')).toBe('unsupportedContentType');
  });

  test('addServer: 201 with the server, created disabled and offline, multiplier "1.0", secret hidden', async () => {
    const s = h.sim.servers[0];
    const res = await adminRaw(h, 'addServer', { method: 'POST', body: JSON.stringify({ server: { url: s.url, secret: s.secret, load_multiplier: 0 } }) });
    expect(res.status).toBe(201);
    const server = res.json();
    expect(server).toMatchObject({ url: s.url, secret: '********', tag: '', bbb_version: '', state: 'disabled', load: 'unavailable', load_multiplier: '1.0', online: 'offline' });
    expect(server.id).toMatch(/^[0-9a-f-]{36}$/);
    const shown = await adminRaw(h, 'getServerInfo', { query: `id=${server.id}&show_secrets=true` });
    expect(shown.json().secret).toBe(s.secret);
  });

  test('addServer errors: no server key (XML internalError), no url or secret (400)', async () => {
    const noKey = await adminRaw(h, 'addServer', { method: 'POST', body: JSON.stringify({ url: 'x' }) });
    expect(tag(noKey.text, 'messageKey')).toBe('internalError');
    expect(tag(noKey.text, 'message')).toBe('param is missing or the value is empty: server');
    const noSecret = await adminRaw(h, 'addServer', { method: 'POST', body: JSON.stringify({ server: { url: 'https://bbb.example.com/bigbluebutton/api' } }) });
    expect(noSecret.status).toBe(400);
    expect(noSecret.json()).toEqual({ error: 'Server needs a URL and a secret' });
  });

  test('updateServer: state, multiplier as a decimal string, tag; errors 400 and 404', async () => {
    const s = h.sim.servers[1];
    const { id } = (await adminRaw(h, 'addServer', { method: 'POST', body: JSON.stringify({ server: { url: s.url, secret: s.secret, tag: 'blue' } }) })).json();
    const updated = await adminRaw(h, 'updateServer', { method: 'POST', body: JSON.stringify({ id, server: { state: 'enable', load_multiplier: '2.5', tag: '' } }) });
    expect(updated.status).toBe(200);
    expect(updated.json()).toMatchObject({ id, state: 'enabled', load_multiplier: '2.5', tag: '' });
    const badState = await adminRaw(h, 'updateServer', { method: 'POST', body: JSON.stringify({ id, server: { state: 'paused' } }) });
    expect(badState.status).toBe(400);
    expect(badState.json()).toEqual({ error: 'Invalid state parameter: paused' });
    const badMultiplier = await adminRaw(h, 'updateServer', { method: 'POST', body: JSON.stringify({ id, server: { load_multiplier: 0 } }) });
    expect(badMultiplier.status).toBe(400);
    expect(badMultiplier.json()).toEqual({ error: 'Load-multiplier must be a non-zero number' });
    const unknown = await adminRaw(h, 'updateServer', { method: 'POST', body: JSON.stringify({ id: 'nope', server: { state: 'enable' } }) });
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ error: "Couldn't find server with id=nope" });
  });

  test('every admin change is attributed to its actor in the history', async () => {
    const events = await h.admin.call<{ events: Array<{ type: string; actor: { kind: string; name: string }; data: Record<string, unknown> }> }>('getEvents', 'GET', {
      type: 'ServerAdded',
    });
    expect(events.events.length).toBe(2);
    expect(events.events.every((e) => e.actor.kind === 'admin')).toBe(true);
    // secrets never reach the history
    expect(events.events.every((e) => e.data.secret === '[redacted]')).toBe(true);
  });

  test('panicServer clears the meetings, ends them on BBB and disables the server', async () => {
    const servers = (await adminRaw(h, 'getServers')).json() as Array<{ id: string; url: string }>;
    const target = servers.find((s) => s.url === h.sim.servers[1].url)!;
    await h.balancer.poller.pollAll();
    await h.lms.get('create', { meetingID: 'doomed', name: 'Doomed', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(h.sim.servers[1].meetings().map((m) => m.meetingID)).toContain('doomed');
    const res = await adminRaw(h, 'panicServer', { method: 'POST', body: JSON.stringify({ id: target.id }) });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ success: `Server id=${target.id} has been disabled and the meetings have been destroyed`, meetings_cleared: ['doomed'] });
    expect(h.sim.servers[1].meetings().map((m) => m.meetingID)).not.toContain('doomed');
    expect((await adminRaw(h, 'getServerInfo', { query: `id=${target.id}` })).json().state).toBe('disabled');
    const join = await h.lms.get('join', { meetingID: 'doomed', fullName: 'x', password: 'mp' });
    expect(tag(join.body, 'messageKey')).toBe('notFound');
  });

  test("deleteServer: 200 with Scalelite's message, then 404", async () => {
    const servers = (await adminRaw(h, 'getServers')).json() as Array<{ id: string }>;
    const id = servers[0].id;
    const res = await adminRaw(h, 'deleteServer', { method: 'POST', body: JSON.stringify({ id }) });
    expect(res.json()).toEqual({ success: `Server id=${id} was destroyed` });
    const again = await adminRaw(h, 'deleteServer', { method: 'POST', body: JSON.stringify({ id }) });
    expect(again.status).toBe(404);
  });

  test('admin changes are read-your-writes: the next read sees them', async () => {
    const s = h.sim.servers[0];
    for (let i = 0; i < 5; i++) {
      const { id } = (await adminRaw(h, 'addServer', { method: 'POST', body: JSON.stringify({ server: { url: `${s.url}?n=${i}`, secret: s.secret } }) })).json();
      await adminRaw(h, 'updateServer', { method: 'POST', body: JSON.stringify({ id, server: { state: 'cordon' } }) });
      expect((await adminRaw(h, 'getServerInfo', { query: `id=${id}` })).json().state).toBe('cordoned');
    }
  });

  test('getEvents validates its filters', async () => {
    expect((await adminRaw(h, 'getEvents', { query: 'limit=0' })).status).toBe(400);
    expect((await adminRaw(h, 'getEvents', { query: 'since=yesterday' })).status).toBe(400);
  });
});
