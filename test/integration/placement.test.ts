import { BACKENDS, Harness, serverHolding, startHarness } from '../support/harness';
import { tag } from '../support/bbb-client';

/*
 * Where meetings go, through the real API: spreading, idempotence under
 * concurrency, tags, and placing again when a route's server is gone.
 */

const countsPerServer = (h: Harness) => h.sim.servers.map((s) => s.meetings().filter((m) => !m.isBreakout).length);

describe.each(BACKENDS)('placement under load (%s backends)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, servers: 4 });
  });
  afterAll(async () => {
    // the live read model is exactly what the log says
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  test('100 concurrent creates of distinct meetings over 4 equal servers spread evenly (max - min <= 1)', async () => {
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => h.lms.get('create', { meetingID: `burst-${i}`, name: `Burst ${i}`, moderatorPW: 'mp', attendeePW: 'ap' })),
    );
    expect(replies.every((r) => tag(r.body, 'returncode') === 'SUCCESS')).toBe(true);
    const counts = countsPerServer(h);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // and each placement counted LOAD_MIN_USER_COUNT until the next poll
    const status = await h.admin.call<{ servers: Array<{ load: number }> }>('getStatus', 'GET');
    expect(status.servers.map((s) => s.load).reduce((a, b) => a + b, 0)).toBe(100 * 15);
  });

  test('20 concurrent creates of one meetingID land on one server, placed once', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => h.lms.get('create', { meetingID: 'popular', name: 'Popular', moderatorPW: 'mp', attendeePW: 'ap' })));
    expect(replies.every((r) => tag(r.body, 'returncode') === 'SUCCESS')).toBe(true);
    expect(serverHolding(h, 'popular')).toHaveLength(1);
    const holder = h.sim.servers[serverHolding(h, 'popular')[0]];
    expect(holder.lastRequests.filter((r) => r.action === 'create' && r.query.includes('meetingID=popular'))).toHaveLength(20);
    const placed = await h.admin.call<{ events: unknown[] }>('getEvents', 'GET', { meeting: 'popular', type: 'MeetingPlaced' });
    expect(placed.events).toHaveLength(1);
    // every join goes to that server
    const joins = await Promise.all(Array.from({ length: 5 }, (_, i) => h.lms.get('join', { meetingID: 'popular', fullName: `U${i}`, password: 'ap' })));
    expect(new Set(joins.map((j) => new URL(String(j.headers.location)).port))).toEqual(new Set([String(holder.port)]));
  });

  test('the next poll replaces the estimates with measured loads', async () => {
    await h.balancer.poller.pollAll();
    const status = await h.admin.call<{ servers: Array<{ meetings: number; load: number }> }>('getStatus', 'GET');
    // meetings created within LOAD_JOIN_BUFFER_TIME count LOAD_MIN_USER_COUNT each, so the loads agree
    for (const s of status.servers) expect(s.load).toBe(s.meetings * 15);
  });
});

describe.each(BACKENDS)('server tags (%s backends)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, servers: 3 });
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[0], server: { tag: 'big' } });
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[1], server: { tag: 'small' } });
  });
  afterAll(async () => {
    // the live read model is exactly what the log says
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  test('a tagged request goes to a server with that tag, and the tag is forwarded', async () => {
    const res = await h.lms.get('create', { meetingID: 'for-big', name: 'For big', 'meta_server-tag': 'big' });
    expect(tag(res.body, 'returncode')).toBe('SUCCESS');
    expect(serverHolding(h, 'for-big')).toEqual([0]);
    const createCall = h.sim.servers[0].lastRequests.find((r) => r.action === 'create' && r.query.includes('meetingID=for-big'));
    expect(createCall?.query).toContain('meta_server-tag=big');
  });

  test('an untagged request never goes to a tagged server; the tag param is not forwarded', async () => {
    for (let i = 0; i < 3; i++) await h.lms.get('create', { meetingID: `plain-${i}`, name: `Plain ${i}`, 'meta_server-tag': '' });
    for (let i = 0; i < 3; i++) expect(serverHolding(h, `plain-${i}`)).toEqual([2]);
    const createCall = h.sim.servers[2].lastRequests.find((r) => r.action === 'create' && r.query.includes('meetingID=plain-0'));
    expect(createCall?.query).not.toContain('meta_server-tag');
  });

  test('an unknown optional tag falls back to untagged servers; a required one fails', async () => {
    await h.lms.get('create', { meetingID: 'fallback', name: 'Fallback', 'meta_server-tag': 'huge' });
    expect(serverHolding(h, 'fallback')).toEqual([2]);
    const required = await h.lms.get('create', { meetingID: 'strict', name: 'Strict', 'meta_server-tag': 'huge!' });
    expect(tag(required.body, 'messageKey')).toBe('serverTagUnavailable');
    expect(tag(required.body, 'message')).toBe('There is no available server with the required tag=huge.');
  });

  test('a list of tags picks the least loaded of them', async () => {
    await h.lms.get('create', { meetingID: 'either', name: 'Either', 'meta_server-tag': 'big;small' });
    // big already holds one meeting, small none
    expect(serverHolding(h, 'either')).toEqual([1]);
  });
});

describe.each(BACKENDS)('placing again when the route is stale (%s backends)', (backend) => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ backend, servers: 2 });
  });
  afterEach(async () => {
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  async function placedOn(meetingId: string): Promise<number> {
    await h.lms.get('create', { meetingID: meetingId, name: 'Stale route', moderatorPW: 'mp', attendeePW: 'ap' });
    return serverHolding(h, meetingId)[0];
  }

  test('a meeting whose server was disabled is placed on another server on re-create', async () => {
    const first = await placedOn('moves');
    const voiceBridge = (await h.admin.call<{ meeting: { voice_bridge: string } }>('getMeetingRoute', 'GET', { meetingID: 'moves' })).meeting.voice_bridge;
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[first], server: { state: 'disable' } });
    const join = await h.lms.get('join', { meetingID: 'moves', fullName: 'Ada', password: 'mp' });
    expect(tag(join.body, 'messageKey')).toBe('serverUnavailable');
    const again = await h.lms.get('create', { meetingID: 'moves', name: 'Stale route', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(tag(again.body, 'returncode')).toBe('SUCCESS');
    expect(h.sim.servers[1 - first].meetings().some((m) => m.meetingID === 'moves')).toBe(true);
    const route = await h.admin.call<{ meeting: { server_id: string; voice_bridge: string } }>('getMeetingRoute', 'GET', { meetingID: 'moves' });
    expect(route.meeting.server_id).toBe(h.serverIds[1 - first]);
    expect(route.meeting.voice_bridge).toBe(voiceBridge);
    const placed = await h.admin.call<{ events: Array<{ data: { previousServerId?: string } }> }>('getEvents', 'GET', { meeting: 'moves', type: 'MeetingPlaced' });
    expect(placed.events[0].data.previousServerId).toBe(h.serverIds[first]);
  });

  test('a meeting whose server was removed is placed again; the poll ends orphaned routes', async () => {
    // both meetings on server 0: server 1 is cordoned while they are created
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[1], server: { state: 'cordon' } });
    await h.lms.get('create', { meetingID: 'orphan-a', name: 'Orphan A', moderatorPW: 'mp', attendeePW: 'ap' });
    await h.lms.get('create', { meetingID: 'orphan-b', name: 'Orphan B' });
    expect([serverHolding(h, 'orphan-a'), serverHolding(h, 'orphan-b')]).toEqual([[0], [0]]);
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[1], server: { state: 'enable' } });
    await h.admin.call('deleteServer', 'POST', {}, { id: h.serverIds[0] });
    const again = await h.lms.get('create', { meetingID: 'orphan-a', name: 'Orphan A', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(tag(again.body, 'returncode')).toBe('SUCCESS');
    expect(serverHolding(h, 'orphan-a')).toEqual([0, 1]);
    await h.balancer.poller.pollAll();
    const ended = await h.admin.call<{ events: Array<{ data: { reason: string } }> }>('getEvents', 'GET', { meeting: 'orphan-b', type: 'MeetingEnded' });
    expect(ended.events.map((e) => e.data.reason)).toEqual(['serverRemoved']);
    const routes = await h.admin.call<{ meetings: Array<{ meeting_id: string }> }>('getMeetingRoutes', 'GET');
    expect(routes.meetings.map((m) => m.meeting_id)).toEqual(['orphan-a']);
  });

  test('a cordoned server keeps its running meetings; an ended one there is placed anew (Scalelite #1260)', async () => {
    const first = await placedOn('drain');
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[first], server: { state: 'cordon' } });
    h.sim.servers[first].addParticipants('drain', 2);
    const reuse = await h.lms.get('create', { meetingID: 'drain', name: 'Stale route', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(tag(reuse.body, 'returncode')).toBe('SUCCESS');
    expect(serverHolding(h, 'drain')).toEqual([first]);
    const join = await h.lms.get('join', { meetingID: 'drain', fullName: 'Late', password: 'ap' });
    expect(join.status).toBe(302);
    h.sim.servers[first].endMeeting('drain');
    const again = await h.lms.get('create', { meetingID: 'drain', name: 'Stale route', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(tag(again.body, 'returncode')).toBe('SUCCESS');
    expect(serverHolding(h, 'drain')).toEqual([1 - first]);
  });

  test('every route and server survives a restart', async () => {
    const on = await placedOn('durable');
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[1 - on], server: { state: 'cordon', load_multiplier: 2.5, tag: 'kept' } });
    const before = await h.balancer.backends.pool.snapshot();
    await h.restart();
    const after = await h.balancer.backends.pool.snapshot();
    expect(after).toEqual(before);
    const join = await h.lms.get('join', { meetingID: 'durable', fullName: 'Back', password: 'mp' });
    expect(join.status).toBe(302);
    expect(String(join.headers.location).startsWith(h.sim.servers[on].url)).toBe(true);
    const server = await h.admin.call<{ state: string; load_multiplier: string; tag: string }>('getServerInfo', 'GET', { id: h.serverIds[1 - on] });
    expect(server).toMatchObject({ state: 'cordoned', load_multiplier: '2.5', tag: 'kept' });
  });
});
