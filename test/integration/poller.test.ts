import { BACKENDS, Harness, serverHolding, startHarness } from '../support/harness';
import { LmsClient, tag } from '../support/bbb-client';

/* The poller against simulated servers: health, load, and meetings that end. */

type ServerRow = {
  id: string;
  state: string;
  online: string;
  load: number | string;
  meetings: number;
  users: number;
  largest_meeting: number;
  videos: number;
  bbb_version: string;
};

const status = async (h: Harness) => (await h.admin.call<{ servers: ServerRow[] }>('getStatus', 'GET')).servers;
const row = async (h: Harness, index: number) => (await status(h)).find((s) => s.id === h.serverIds[index])!;
const eventsOf = async (h: Harness, query: Record<string, string>) =>
  (await h.admin.call<{ events: Array<{ type: string; data: Record<string, unknown> }> }>('getEvents', 'GET', { ...query, order: 'asc' })).events;

describe.each(BACKENDS)('poller (%s backends)', (backend) => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ backend, servers: 2, env: { SERVER_UNHEALTHY_THRESHOLD: '2', SERVER_HEALTHY_THRESHOLD: '2', NEW_MEETING_GRACE_PERIOD: '0' } });
  });
  afterEach(async () => {
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  test('a new server comes online after SERVER_HEALTHY_THRESHOLD good polls, with its bbb version', async () => {
    // the harness polled once: with a threshold of 2 the servers are still offline
    expect((await row(h, 0)).online).toBe('offline');
    await h.balancer.poller.pollAll();
    const r = await row(h, 0);
    expect(r).toMatchObject({ online: 'online', load: 0, bbb_version: '3.0.4' });
  });

  test("load and stats follow Scalelite's formula; a quiet poll emits nothing", async () => {
    await h.balancer.poller.pollAll();
    await h.lms.get('create', { meetingID: 'class', name: 'Class', moderatorPW: 'mp', attendeePW: 'ap' });
    const on = serverHolding(h, 'class')[0];
    h.sim.servers[on].addParticipants('class', 20, { moderators: 2, withVideo: 3 });
    await h.balancer.poller.pollAll();
    expect(await row(h, on)).toMatchObject({ meetings: 1, users: 20, largest_meeting: 20, videos: 3, load: 22 });
    const before = (await eventsOf(h, {})).length;
    await h.balancer.poller.pollAll();
    expect((await eventsOf(h, {})).length).toBe(before);
  });

  test('a server added with the wrong secret says so: ServerPollFailed with checksumError once, the reason in status, and once when it recovers', async () => {
    const s = h.sim.servers[0];
    const added = await h.admin.call<{ id: string }>('addServer', 'POST', {}, { server: { url: s.url, secret: 'not-the-secret' } });
    await h.admin.call('updateServer', 'POST', {}, { id: added.id, server: { state: 'enable' } });
    await h.balancer.poller.pollAll();
    await h.balancer.poller.pollAll();
    const failed = await eventsOf(h, { server: added.id, type: 'ServerPollFailed' });
    expect(failed.map((e) => e.data)).toEqual([{ serverId: added.id, reason: 'checksumError', error: "the server's secret does not match (checksumError)" }]);
    const shown = (await status(h)).find((r) => r.id === added.id) as ServerRow & { poll_error: unknown };
    expect(shown).toMatchObject({ online: 'offline', poll_error: { reason: 'checksumError', message: "the server's secret does not match (checksumError)" } });
    // the admin fixes the secret: the next poll recovers, and the error is gone
    await h.admin.call('updateServer', 'POST', {}, { id: added.id, server: { secret: s.secret } });
    await h.balancer.poller.pollAll();
    expect(await eventsOf(h, { server: added.id, type: 'ServerPollRecovered' })).toHaveLength(1);
    expect(((await status(h)).find((r) => r.id === added.id) as ServerRow & { poll_error: unknown }).poll_error).toBeNull();
  });

  test('a server that stops answering goes offline after SERVER_UNHEALTHY_THRESHOLD polls; its meetings end; it comes back', async () => {
    await h.balancer.poller.pollAll();
    await h.lms.get('create', { meetingID: 'stranded', name: 'Stranded', moderatorPW: 'mp', attendeePW: 'ap' });
    const on = serverHolding(h, 'stranded')[0];
    await h.sim.servers[on].setMode({ kind: 'down' });
    await h.balancer.poller.pollAll();
    expect((await row(h, on)).online).toBe('online');
    await h.balancer.poller.pollAll();
    expect(await row(h, on)).toMatchObject({ online: 'offline', load: 'unavailable', meetings: 0 });
    const ended = await eventsOf(h, { meeting: 'stranded', type: 'MeetingEnded' });
    expect(ended.map((e) => e.data.reason)).toEqual(['serverOffline']);
    const offline = await eventsOf(h, { server: h.serverIds[on], type: 'ServerWentOffline' });
    expect(offline).toHaveLength(1);
    // a create now goes to the other server
    await h.lms.get('create', { meetingID: 'stranded', name: 'Stranded', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(h.sim.servers[1 - on].meetings().map((m) => m.meetingID)).toContain('stranded');
    await h.sim.servers[on].setMode({ kind: 'ok' });
    await h.balancer.poller.pollAll();
    await h.balancer.poller.pollAll();
    expect((await row(h, on)).online).toBe('online');
  });

  test('a meeting started on a pool server directly is adopted by the next poll: joins and re-creates go where it runs, never to a second server', async () => {
    await h.balancer.poller.pollAll(); // online (threshold 2)
    const direct = h.sim.servers[1];
    // an LMS (or a second balancer) talking to the BBB server itself, as during a cutover
    const bbb = new LmsClient(direct.url.replace(/\/bigbluebutton\/api\/?$/, ''), direct.secret);
    expect(tag((await bbb.get('create', { meetingID: 'walk-in', name: 'Walk-in', voiceBridge: '73311', moderatorPW: 'mp', attendeePW: 'ap' })).body, 'returncode')).toBe('SUCCESS');
    await h.balancer.poller.pollAll();
    const adopted = await eventsOf(h, { meeting: 'walk-in', type: 'MeetingAdopted' });
    expect(adopted.map((e) => e.data)).toEqual([
      { meetingId: 'walk-in', serverId: h.serverIds[1], tenantId: null, voiceBridge: '73311', moderatorPassword: '[redacted]', reason: 'runningWithoutRoute' },
    ]);
    const created = await h.lms.get('create', { meetingID: 'walk-in', name: 'Walk-in', moderatorPW: 'mp', attendeePW: 'ap' });
    expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    expect(tag(created.body, 'voiceBridge')).toBe('73311');
    expect(serverHolding(h, 'walk-in')).toEqual([1]);
    const joined = await h.lms.get('join', { meetingID: 'walk-in', fullName: 'Ada', role: 'viewer' });
    expect(joined.status).toBe(302);
    expect(String(joined.headers.location)).toContain(new URL(direct.url).host);
  });

  test('a meeting BBB no longer reports is ended by the poll', async () => {
    await h.balancer.poller.pollAll();
    await h.lms.get('create', { meetingID: 'short', name: 'Short', moderatorPW: 'mp', attendeePW: 'ap' });
    const on = serverHolding(h, 'short')[0];
    await h.balancer.poller.pollAll();
    h.sim.servers[on].endMeeting('short');
    await h.balancer.poller.pollAll();
    const ended = await eventsOf(h, { meeting: 'short', type: 'MeetingEnded' });
    expect(ended.map((e) => e.data.reason)).toEqual(['notRunning']);
    const info = await h.lms.get('getMeetingInfo', { meetingID: 'short' });
    expect(info.body).toContain('<messageKey>notFound</messageKey>');
  });

  test('a cordoned server is disabled once it has nothing left', async () => {
    await h.balancer.poller.pollAll();
    await h.lms.get('create', { meetingID: 'last', name: 'Last one', moderatorPW: 'mp', attendeePW: 'ap' });
    const on = serverHolding(h, 'last')[0];
    await h.admin.call('updateServer', 'POST', {}, { id: h.serverIds[on], server: { state: 'cordon' } });
    await h.balancer.poller.pollAll();
    expect((await row(h, on)).state).toBe('cordoned');
    h.sim.servers[on].endMeeting('last');
    await h.balancer.poller.pollAll();
    expect((await row(h, on)).state).toBe('disabled');
    const disabled = await eventsOf(h, { server: h.serverIds[on], type: 'ServerDisabled' });
    expect(disabled.map((e) => e.data.reason)).toEqual(['drained']);
  });

  test('a slow server still counts as answering within RESPONSE_TIMEOUT; a failing one does not', async () => {
    await h.balancer.poller.pollAll();
    await h.sim.servers[0].setMode({ kind: 'slow', delayMs: 300 });
    await h.sim.servers[1].setMode({ kind: 'failing', how: 'failed-xml' });
    await h.balancer.poller.pollAll();
    await h.balancer.poller.pollAll();
    expect((await row(h, 0)).online).toBe('online');
    expect((await row(h, 1)).online).toBe('offline');
  });
});
