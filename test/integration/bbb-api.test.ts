import { sample } from '../support/metrics';
import { createHash } from 'node:crypto';
import { BACKENDS, Harness, serverHolding, startHarness, TEST_SECRET } from '../support/harness';
import { LmsClient, tag, tags } from '../support/bbb-client';

/*
 * The BBB API as an LMS sees it: the balancer on its embedded backends in
 * front of simulated BBB servers, over real HTTP.
 */

const sha = (alg: string, s: string) => createHash(alg).update(s).digest('hex');

describe.each(BACKENDS)('BBB API (%s backends)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, servers: 2 });
  });
  afterAll(async () => {
    // the live read model is exactly what the log says
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  describe('version, health and unknown requests', () => {
    test('the API root answers the version document without a checksum', async () => {
      for (const path of ['/bigbluebutton/api', '/bigbluebutton/api/']) {
        const res = await h.lms.raw(h.balancer.url + path);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toContain('application/xml');
        expect(res.body).toBe('<?xml version="1.0"?>\n<response><returncode>SUCCESS</returncode><version>2.0</version></response>');
      }
    });

    test('/metrics is Prometheus text with every server and no secret', async () => {
      const res = await h.lms.raw(`${h.balancer.url}/metrics`);
      expect(res.status).toBe(200);
      expect(String(res.headers['content-type'])).toContain('text/plain; version=0.0.4');
      for (const id of h.serverIds) expect(sample(res.body, 'scalelite_server_online', { server_id: id })).toBe(1);
      for (const s of h.sim.servers) expect(res.body).not.toContain(s.secret);
      expect(sample(res.body, 'scalelite_importer_active', { role: 'all' })).toBe(1);
    });

    test('/metrics measures what happened: requests by call and outcome, BBB calls, decisions, polls, process figures', async () => {
      await h.lms.get('create', { meetingID: 'measured', name: 'Measured' });
      await h.lms.get('join', { meetingID: 'measured', fullName: 'Ada', role: 'viewer' });
      await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/getMeetings?checksum=0000000000000000000000000000000000000000`);
      await h.balancer.poller.pollAll();
      const { body } = await h.lms.raw(`${h.balancer.url}/metrics`);
      const all = { role: 'all' };
      expect(sample(body, 'scalelite_http_request_duration_seconds_count', { ...all, route: 'bbb', call: 'create', outcome: 'SUCCESS' })).toBeGreaterThan(0);
      expect(sample(body, 'scalelite_http_request_duration_seconds_count', { ...all, route: 'bbb', call: 'join', outcome: 'redirect' })).toBeGreaterThan(0);
      expect(sample(body, 'scalelite_http_request_duration_seconds_count', { ...all, route: 'bbb', call: 'getMeetings', outcome: 'checksumError' })).toBe(1);
      expect(sample(body, 'scalelite_bbb_call_duration_seconds_count', { ...all, call: 'create', outcome: 'success' })).toBeGreaterThan(0);
      expect(sample(body, 'scalelite_decision_lock_wait_seconds_count', all)).toBeGreaterThan(0);
      expect(sample(body, 'scalelite_events_appended_total', { ...all, type: 'MeetingPlaced' })).toBeGreaterThan(0);
      expect(sample(body, 'scalelite_poll_pass_duration_seconds_count', all)).toBeGreaterThan(0);
      expect(sample(body, 'scalelite_server_state', { ...all, server_id: h.serverIds[0], state: 'enabled' })).toBe(1);
      expect(sample(body, 'scalelite_server_state', { ...all, server_id: h.serverIds[0], state: 'disabled' })).toBe(0);
      expect(sample(body, 'scalelite_read_model_lag_events', { ...all, model: 'pool' })).toBe(0);
      expect(sample(body, 'process_cpu_seconds_total', all)).toBeGreaterThan(0);
      // no per-server series carries the state: a state change starts no new series
      expect(body).not.toMatch(/scalelite_server_online\{[^}]*state=/);
    });

    test('health_check and / answer success in plain text', async () => {
      for (const path of ['/health_check', '/']) {
        const res = await h.lms.raw(h.balancer.url + path);
        expect(res.status).toBe(200);
        expect(res.body).toBe('success');
      }
    });

    test.each([
      ['an unknown action', '/bigbluebutton/api/getDefaultConfigXML', 'GET'],
      ['a suffix', '/bigbluebutton/api/create.xml', 'GET'],
      ['join by POST', '/bigbluebutton/api/join', 'POST'],
      ['insertDocument by GET', '/bigbluebutton/api/insertDocument', 'GET'],
      ['another path', '/some/where', 'GET'],
      ['another method', '/bigbluebutton/api/create', 'DELETE'],
    ])('%s is unsupportedRequest with HTTP 200', async (_what, path, method) => {
      const res = await h.lms.raw(h.balancer.url + path, { method });
      expect(res.status).toBe(200);
      expect(tag(res.body, 'returncode')).toBe('FAILED');
      expect(tag(res.body, 'messageKey')).toBe('unsupportedRequest');
      expect(tag(res.body, 'message')).toBe('This request is not supported.');
    });
  });

  describe('checksums', () => {
    test.each(['sha1', 'sha256', 'sha384', 'sha512'])('a %s checksum is accepted', async (alg) => {
      const qs = 'meetingID=nothing-here';
      const res = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/isMeetingRunning?${qs}&checksum=${sha(alg, `isMeetingRunning${qs}${TEST_SECRET}`)}`);
      expect(res.body).toContain('<running>false</running>');
    });

    test.each([
      ['a wrong secret', (qs: string) => sha('sha256', `isMeetingRunning${qs}wrong`)],
      ['uppercase hex', (qs: string) => sha('sha256', `isMeetingRunning${qs}${TEST_SECRET}`).toUpperCase()],
      ['an unknown length', (qs: string) => sha('sha256', `isMeetingRunning${qs}${TEST_SECRET}`).slice(0, 50)],
      ['no checksum', () => ''],
      ['the checksum of another action', (qs: string) => sha('sha256', `getMeetingInfo${qs}${TEST_SECRET}`)],
    ])('%s is a checksumError', async (_what, checksum) => {
      const qs = 'meetingID=m';
      const c = checksum(qs);
      const res = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/isMeetingRunning?${qs}${c ? `&checksum=${c}` : ''}`);
      expect(tag(res.body, 'messageKey')).toBe('checksumError');
      expect(tag(res.body, 'message')).toBe('You did not pass the checksum security check');
    });

    test('LOADBALANCER_CHECKSUM_ALGORITHM unset: a create signed with SHA-384 is accepted, as BBB 2.6+ accepts it', async () => {
      const lms384 = new LmsClient(h.balancer.url, TEST_SECRET, 'sha384');
      expect(lms384.query('create', { meetingID: 'signed-384' })).toMatch(/&checksum=[0-9a-f]{96}$/);
      const created = await lms384.get('create', { meetingID: 'signed-384', name: 'SHA-384' });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
      expect(serverHolding(h, 'signed-384')).toHaveLength(1);
      const ended = await lms384.get('end', { meetingID: 'signed-384', password: String(tag(created.body, 'moderatorPW')) });
      expect(tag(ended.body, 'returncode')).toBe('SUCCESS');
    });

    test('the checksum pair is cut from the raw query wherever it stands, without re-encoding', async () => {
      const qs = 'name=A%20b+c&meetingID=x%2Fy';
      const c = sha('sha1', `isMeetingRunning${qs}${TEST_SECRET}`);
      const first = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/isMeetingRunning?checksum=${c}&${qs}`);
      expect(tag(first.body, 'returncode')).toBe('SUCCESS');
      const middle = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/isMeetingRunning?name=A%20b+c&checksum=${c}&meetingID=x%2Fy`);
      expect(tag(middle.body, 'returncode')).toBe('SUCCESS');
    });

    test('a POST form is not covered by the checksum: only action + query + secret', async () => {
      const res = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/getMeetingInfo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `meetingID=nope&checksum=${sha('sha1', `getMeetingInfo${TEST_SECRET}`)}`,
      });
      expect(tag(res.body, 'messageKey')).toBe('notFound');
    });

    test('the order of checks: Content-Type, then checksum, then meetingID', async () => {
      const badType = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/getMeetingInfo?checksum=bad`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'x',
      });
      expect(tag(badType.body, 'messageKey')).toBe('unsupportedContentType');
      expect(tag(badType.body, 'message')).toBe('POST request Content-Type is missing or unsupported');
      const badChecksum = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/getMeetingInfo?checksum=bad`);
      expect(tag(badChecksum.body, 'messageKey')).toBe('checksumError');
      const noMeeting = await h.lms.get('getMeetingInfo');
      expect(tag(noMeeting.body, 'messageKey')).toBe('missingParamMeetingID');
      expect(tag(noMeeting.body, 'message')).toBe('You must specify a meeting ID for the meeting.');
    });

    test('create accepts an XML body (text/xml too, as Moodle sends); insertDocument only XML', async () => {
      const created = await h.lms.raw(h.lms.url('create', { meetingID: 'with-slides', name: 'Slides' }), {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: '<modules><module name="presentation"><document url="https://example.com/a.pdf"/></module></modules>',
      });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
      const formInsert = await h.lms.raw(h.lms.url('insertDocument', { meetingID: 'with-slides' }), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=b',
      });
      expect(tag(formInsert.body, 'messageKey')).toBe('unsupportedContentType');
      const inserted = await h.lms.raw(h.lms.url('insertDocument', { meetingID: 'with-slides' }), {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: '<modules><module name="presentation"><document url="https://example.com/b.pdf"/></module></modules>',
      });
      expect(tag(inserted.body, 'returncode')).toBe('SUCCESS');
      const holder = h.sim.servers[serverHolding(h, 'with-slides')[0]];
      expect(holder.requestCounts().insertDocument).toBe(1);
    });
  });

  describe('a meeting from create to end', () => {
    test('create places, join redirects to the same server, getMeetingInfo and isMeetingRunning forward, end frees the route', async () => {
      const create = await h.lms.get('create', { meetingID: 'lifecycle', name: 'Math & Physics <1>', attendeePW: 'ap', moderatorPW: 'mp' });
      expect(create.status).toBe(200);
      expect(create.body.startsWith('<?xml')).toBe(true);
      expect(tag(create.body, 'returncode')).toBe('SUCCESS');
      const [index] = serverHolding(h, 'lifecycle');
      const server = h.sim.servers[index];
      expect(tag(create.body, 'voiceBridge')).toMatch(/^[1-9]\d{8}$/);

      const join = await h.lms.get('join', { meetingID: 'lifecycle', fullName: 'Ada', password: 'mp' });
      expect(join.status).toBe(302);
      const location = String(join.headers.location);
      expect(location.startsWith(`${server.url}join?`)).toBe(true);
      // the redirect is signed with the server's own secret and BBB accepts it
      const followed = await h.lms.raw(location);
      expect(followed.status).toBe(302);
      expect(server.meetings().find((m) => m.meetingID === 'lifecycle')?.participants).toBe(1);

      const info = await h.lms.get('getMeetingInfo', { meetingID: 'lifecycle' });
      expect(tag(info.body, 'meetingName')).toBe('Math &amp; Physics &lt;1&gt;');
      expect(tag(info.body, 'participantCount')).toBe('1');
      const running = await h.lms.get('isMeetingRunning', { meetingID: 'lifecycle' });
      expect(tag(running.body, 'running')).toBe('true');

      const end = await h.lms.get('end', { meetingID: 'lifecycle', password: 'mp' });
      expect(tag(end.body, 'returncode')).toBe('SUCCESS');
      expect(tag(end.body, 'messageKey')).toBe('sentEndMeetingRequest');
      const after = await h.lms.get('getMeetingInfo', { meetingID: 'lifecycle' });
      expect(tag(after.body, 'messageKey')).toBe('notFound');
      expect(tag(after.body, 'message')).toBe('We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?');
      const notRunning = await h.lms.get('isMeetingRunning', { meetingID: 'lifecycle' });
      expect(notRunning.body).toContain('<returncode>SUCCESS</returncode><running>false</running>');
      const joinAfter = await h.lms.get('join', { meetingID: 'lifecycle', fullName: 'Ada', password: 'mp' });
      expect(tag(joinAfter.body, 'messageKey')).toBe('notFound');
    });

    test('a re-create reuses the route: same server, no new placement', async () => {
      await h.lms.get('create', { meetingID: 'again', name: 'Again', moderatorPW: 'mp', attendeePW: 'ap' });
      const first = serverHolding(h, 'again');
      const again = await h.lms.get('create', { meetingID: 'again', name: 'Again', moderatorPW: 'mp', attendeePW: 'ap' });
      expect(tag(again.body, 'returncode')).toBe('SUCCESS');
      expect(serverHolding(h, 'again')).toEqual(first);
      const placed = await h.admin.call<{ events: unknown[] }>('getEvents', 'GET', { meeting: 'again', type: 'MeetingPlaced' });
      expect(placed.events).toHaveLength(1);
    });

    test('without a moderatorPW, one is generated and forwarded for a new meeting', async () => {
      const res = await h.lms.get('create', { meetingID: 'no-pw', name: 'No password' });
      expect(tag(res.body, 'moderatorPW')).toMatch(/^[A-Za-z0-9]{8}$/);
    });

    test('end with a wrong password is passed through and keeps the route', async () => {
      await h.lms.get('create', { meetingID: 'guarded', name: 'Guarded', moderatorPW: 'right', attendeePW: 'ap' });
      const res = await h.lms.get('end', { meetingID: 'guarded', password: 'wrong' });
      expect(tag(res.body, 'returncode')).toBe('FAILED');
      const info = await h.lms.get('getMeetingInfo', { meetingID: 'guarded' });
      expect(tag(info.body, 'returncode')).toBe('SUCCESS');
    });

    test('an upstream FAILED is passed through with its key and message; other elements are dropped', async () => {
      await h.lms.get('create', { meetingID: 'gone-upstream', name: 'Guarded' });
      const server = h.sim.servers[serverHolding(h, 'gone-upstream')[0]];
      server.endMeeting('gone-upstream');
      const info = await h.lms.get('getMeetingInfo', { meetingID: 'gone-upstream' });
      expect(info.body).toMatch(/^<\?xml version="1.0"\?>\n<response><returncode>FAILED<\/returncode><messageKey>notFound<\/messageKey><message>[^<]+<\/message><\/response>$/);
    });

    test('unknown meetings: join and getMeetingInfo notFound, isMeetingRunning false, end notFound', async () => {
      expect(tag((await h.lms.get('join', { meetingID: 'nope', fullName: 'x', password: 'y' })).body, 'messageKey')).toBe('notFound');
      expect(tag((await h.lms.get('getMeetingInfo', { meetingID: 'nope' })).body, 'messageKey')).toBe('notFound');
      expect(tag((await h.lms.get('end', { meetingID: 'nope', password: 'y' })).body, 'messageKey')).toBe('notFound');
      expect((await h.lms.get('isMeetingRunning', { meetingID: 'nope' })).body).toContain('<running>false</running>');
    });

    test('a meetingID BBB would refuse (1 or over 256 characters) is refused before any placement', async () => {
      for (const meetingID of ['x', 'm'.repeat(257)]) {
        const res = await h.lms.get('create', { meetingID, name: 'Sized' });
        expect(tag(res.body, 'messageKey')).toBe('sizeError');
        expect(tag(res.body, 'message')).toBe('Meeting ID must be between 2 and 256 characters');
      }
      const placed = await h.admin.call<{ events: unknown[] }>('getEvents', 'GET', { meeting: 'x' });
      expect(placed.events).toEqual([]);
    });

    test('MAX_MEETING_DURATION is not set: duration is forwarded as given', async () => {
      const res = await h.lms.get('create', { meetingID: 'long', name: 'Long', duration: '600' });
      expect(tag(res.body, 'duration')).toBe('600');
    });
  });

  describe('getMeetings', () => {
    test('aggregates the meetings of every server into one document', async () => {
      await h.lms.get('create', { meetingID: 'agg-1', name: 'A1' });
      await h.lms.get('create', { meetingID: 'agg-2', name: 'A2' });
      const res = await h.lms.get('getMeetings');
      expect(res.body.startsWith('<?xml version="1.0"?>\n<response><returncode>SUCCESS</returncode><meetings><meeting>')).toBe(true);
      const ids = tags(res.body, 'meetingID');
      expect(ids).toEqual(expect.arrayContaining(['agg-1', 'agg-2']));
      const onServers = h.sim.servers.flatMap((s) => s.meetings().map((m) => m.meetingID));
      expect(ids.sort()).toEqual(onServers.sort());
    });

    test('one unreachable server is left out instead of failing the call', async () => {
      await h.lms.get('create', { meetingID: 'survivor', name: 'Survivor' });
      const holder = serverHolding(h, 'survivor')[0];
      const other = h.sim.servers[1 - holder];
      await other.setMode({ kind: 'down' });
      try {
        const res = await h.lms.get('getMeetings');
        expect(tag(res.body, 'returncode')).toBe('SUCCESS');
        expect(tags(res.body, 'meetingID')).toContain('survivor');
      } finally {
        await other.setMode({ kind: 'ok' });
      }
    });
  });
});

describe.each(BACKENDS)('BBB API with every server down or none (%s backends)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, servers: 1, addServers: false, enable: false });
  });
  afterAll(async () => {
    // the live read model is exactly what the log says
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
  });

  test('create with no server is internalError "Could not find any available servers."', async () => {
    const res = await h.lms.get('create', { meetingID: 'nowhere', name: 'Meeting' });
    expect(tag(res.body, 'messageKey')).toBe('internalError');
    expect(tag(res.body, 'message')).toBe('Could not find any available servers.');
  });

  test('getMeetings with no server answers noMeetings', async () => {
    const res = await h.lms.get('getMeetings');
    expect(res.body).toBe(
      '<?xml version="1.0"?>\n<response><returncode>SUCCESS</returncode><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message><meetings/></response>',
    );
  });

  test('a server that stopped answering gives internalError "Unable to create meeting on server."', async () => {
    const s = h.sim.servers[0];
    const added = await h.admin.call<{ id: string }>('addServer', 'POST', {}, { server: { url: s.url, secret: s.secret } });
    await h.admin.call('updateServer', 'POST', {}, { id: added.id, server: { state: 'enable' } });
    await h.balancer.poller.pollAll();
    await s.setMode({ kind: 'down' });
    const res = await h.lms.get('create', { meetingID: 'unlucky', name: 'Unlucky' });
    expect(tag(res.body, 'messageKey')).toBe('internalError');
    expect(tag(res.body, 'message')).toBe('Unable to create meeting on server.');
    const all = await h.lms.get('getMeetings');
    expect(tag(all.body, 'messageKey')).toBe('internalError');
    expect(tag(all.body, 'message')).toBe('Unable to access server.');
    await s.setMode({ kind: 'ok' });
  });
});

describe('SHA-384 within LOADBALANCER_CHECKSUM_ALGORITHM (embedded backends)', () => {
  test('given SHA256:SHA384: a SHA-384 create is accepted, and the calls to BBB are signed with SHA-384, the strongest allowed', async () => {
    // servers that take SHA-384 only: a create reaches one only if the balancer signs with SHA-384
    const h = await startHarness({ servers: 1, env: { LOADBALANCER_CHECKSUM_ALGORITHM: 'SHA256:SHA384' }, simOptions: { checksumAlgorithms: ['sha384'] } });
    try {
      const status = await h.admin.call<{ servers: Array<{ online: string }> }>('getStatus', 'GET');
      expect(status.servers.map((s) => s.online)).toEqual(['online']);
      const created = await new LmsClient(h.balancer.url, TEST_SECRET, 'sha384').get('create', { meetingID: 'strongest', name: 'Strongest' });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
      const create = h.sim.servers[0].lastRequests.find((r) => r.action === 'create');
      expect(create?.query).toMatch(/(^|&)checksum=[0-9a-f]{96}(&|$)/);
      // SHA-256 is still accepted from LMSs, and the balancer's call on to BBB is signed with SHA-384
      const info = await new LmsClient(h.balancer.url, TEST_SECRET, 'sha256').get('getMeetingInfo', { meetingID: 'strongest' });
      expect(tag(info.body, 'meetingName')).toBe('Strongest');
      // SHA-1 is not in the list
      const sha1 = await new LmsClient(h.balancer.url, TEST_SECRET, 'sha1').get('getMeetingInfo', { meetingID: 'strongest' });
      expect(tag(sha1.body, 'messageKey')).toBe('checksumError');
    } finally {
      await h.close();
    }
  });

  test("given Scalelite's SHA1:SHA256:SHA512: a SHA-384 create is a checksumError and places nothing", async () => {
    const h = await startHarness({ servers: 1, env: { LOADBALANCER_CHECKSUM_ALGORITHM: 'SHA1:SHA256:SHA512' } });
    try {
      const refused = await new LmsClient(h.balancer.url, TEST_SECRET, 'sha384').get('create', { meetingID: 'refused-384', name: 'Refused' });
      expect(tag(refused.body, 'messageKey')).toBe('checksumError');
      expect(tag(refused.body, 'message')).toBe('You did not pass the checksum security check');
      expect(h.sim.servers[0].meetings()).toEqual([]);
      const placed = await h.admin.call<{ events: unknown[] }>('getEvents', 'GET', { meeting: 'refused-384' });
      expect(placed.events).toEqual([]);
      // the same create signed with SHA-512 goes through
      const created = await new LmsClient(h.balancer.url, TEST_SECRET, 'sha512').get('create', { meetingID: 'refused-384', name: 'Refused' });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    } finally {
      await h.close();
    }
  });
});
