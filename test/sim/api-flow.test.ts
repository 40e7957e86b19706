import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator, type SimulatedServer } from '../../src/sim';
import { getXml, signedUrl, topLevelElements, type Algo } from './helpers';

describe('simulated BigBlueButton API', () => {
  let sim: Simulator;
  let bbb: SimulatedServer;
  const url = (action: string, params: Record<string, string | number | boolean> = {}, algo: Algo = 'sha1') => signedUrl(bbb.url, action, params, bbb.secret, algo);

  beforeAll(async () => {
    sim = await startSimulator({ servers: 2, secrets: ['first-secret-0123456789', 'second-secret-0123456789'] });
    bbb = sim.servers[0]!;
  });
  afterAll(() => sim.close());
  beforeEach(() => bbb.resetRequestCounts());
  afterEach(() => {
    for (const m of bbb.meetings()) if (!m.isBreakout) bbb.endMeeting(m.meetingID);
  });

  describe('checksums', () => {
    it.each<Algo>(['sha1', 'sha256', 'sha384', 'sha512'])('given a %s signature, when calling getMeetings, then it succeeds', async (algo) => {
      const { xml } = await getXml(url('getMeetings', {}, algo));
      expect(xml.returncode).toBe('SUCCESS');
    });

    it('given a wrong checksum, when calling getMeetings, then BBB answers checksumError', async () => {
      const { status, xml } = await getXml(`${bbb.url}getMeetings?checksum=${'0'.repeat(40)}`);
      expect(status).toBe(200);
      expect(xml).toEqual({ returncode: 'FAILED', messageKey: 'checksumError', message: 'Checksums do not match' });
    });

    it("given another server's secret, when calling create, then checksumError and no meeting", async () => {
      const other = sim.servers[1]!;
      const { xml } = await getXml(signedUrl(bbb.url, 'create', { name: 'x1', meetingID: 'wrong-secret' }, other.secret));
      expect(xml.messageKey).toBe('checksumError');
      expect(bbb.meetings()).toHaveLength(0);
    });

    it('given no checksum, when calling isMeetingRunning, then checksumError', async () => {
      const { xml } = await getXml(`${bbb.url}isMeetingRunning?meetingID=abc`);
      expect(xml.messageKey).toBe('checksumError');
    });

    it('given a server restricted to sha256, when signing with sha1, then checksumError', async () => {
      const strict = await startSimulator({ servers: 1, checksumAlgorithms: ['sha256'] });
      try {
        const s = strict.servers[0]!;
        expect((await getXml(signedUrl(s.url, 'getMeetings', {}, s.secret, 'sha1'))).xml.messageKey).toBe('checksumError');
        expect((await getXml(signedUrl(s.url, 'getMeetings', {}, s.secret, 'sha256'))).xml.returncode).toBe('SUCCESS');
      } finally {
        await strict.close();
      }
    });

    it('given a tampered parameter, when calling create, then checksumError', async () => {
      const signed = url('create', { name: 'Room', meetingID: 'tamper' });
      const { xml } = await getXml(signed.replace('meetingID=tamper', 'meetingID=tamperX'));
      expect(xml.messageKey).toBe('checksumError');
    });
  });

  describe('root version document', () => {
    it('given no checksum, when calling /bigbluebutton/api, then it answers the version document', async () => {
      const { body, xml } = await getXml(bbb.url.replace(/\/$/, ''));
      expect(topLevelElements(body)).toEqual(['returncode', 'version', 'apiVersion', 'bbbVersion', 'graphqlWebsocketUrl', 'graphqlApiUrl']);
      expect(xml).toMatchObject({ returncode: 'SUCCESS', version: '2.0', apiVersion: '2.0', bbbVersion: '3.0.4' });
    });

    it('given revealVersion=false, when signed for the empty action, then bbbVersion is revealed only then', async () => {
      const hidden = await startSimulator({ servers: 1, revealVersion: false, bbbVersion: '2.7.12' });
      try {
        const s = hidden.servers[0]!;
        expect((await getXml(s.url)).xml.bbbVersion).toBe('');
        const { body, xml } = await getXml(signedUrl(s.url, '', {}, s.secret));
        expect(xml.bbbVersion).toBe('2.7.12');
        expect(body).not.toContain('graphql'); // 2.x has no GraphQL endpoints
      } finally {
        await hidden.close();
      }
    });
  });

  describe('meeting lifecycle', () => {
    it('create → getMeetingInfo → join → counts → getMeetings → end', async () => {
      // Given a meeting created with passwords and metadata
      const created = await getXml(
        url('create', {
          name: 'Team <Room> & "Co"',
          meetingID: 'life-1',
          attendeePW: 'ap',
          moderatorPW: 'mp',
          record: true,
          'meta_bbb-origin': 'greenlight',
          meta_endCallbackUrl: 'http://127.0.0.1:9/never',
        }),
      );
      expect(topLevelElements(created.body)).toEqual([
        'returncode',
        'meetingID',
        'internalMeetingID',
        'parentMeetingID',
        'attendeePW',
        'moderatorPW',
        'createTime',
        'voiceBridge',
        'dialNumber',
        'createDate',
        'hasUserJoined',
        'duration',
        'hasBeenForciblyEnded',
        'messageKey',
        'message',
      ]);
      const c = created.xml;
      expect(c).toMatchObject({ returncode: 'SUCCESS', meetingID: 'life-1', parentMeetingID: 'bbb-none', attendeePW: 'ap', moderatorPW: 'mp' });
      expect(c.internalMeetingID).toBe(`${require('node:crypto').createHash('sha1').update('life-1').digest('hex')}-${c.createTime}`);
      expect(c.voiceBridge).toMatch(/^\d{5}$/);
      expect(c.createDate).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}$/);

      // When nobody joined yet, then the meeting exists but is not running
      let info = await getXml(url('getMeetingInfo', { meetingID: 'life-1' }));
      expect(info.xml).toMatchObject({ running: 'false', participantCount: '0', hasUserJoined: 'false', recording: 'true' });
      expect(info.body).toContain('<meetingName>Team &lt;Room&gt; &amp; &quot;Co&quot;</meetingName>');
      expect(info.xml.metadata).toEqual({ 'bbb-origin': 'greenlight', endcallbackurl: 'http://127.0.0.1:9/never' });
      expect((await getXml(url('isMeetingRunning', { meetingID: 'life-1' }))).xml).toEqual({ returncode: 'SUCCESS', running: 'false' });

      // When a moderator joins with the default redirect, then 302 to the client, which answers 200
      const join = await fetch(url('join', { meetingID: 'life-1', fullName: 'Mod', password: 'mp' }), { redirect: 'manual' });
      expect(join.status).toBe(302);
      const location = join.headers.get('location')!;
      expect(location).toMatch(new RegExp(`^${bbb.url.replace('/bigbluebutton/api/', '')}/html5client/join\\?sessionToken=[a-z0-9]{16}$`));
      await join.arrayBuffer();
      const followed = await fetch(url('join', { meetingID: 'life-1', fullName: 'Viewer 1', role: 'viewer', userID: 'ext-42' }));
      expect(followed.status).toBe(200);
      expect(await followed.text()).toContain('Viewer 1');

      // When a viewer joins with redirect=false, then the join XML document
      const xmlJoin = await getXml(url('join', { meetingID: 'life-1', fullName: 'Viewer 2', password: 'ap', redirect: 'false', 'userdata-bbb_x': 'y' }));
      expect(topLevelElements(xmlJoin.body)).toEqual(['returncode', 'messageKey', 'message', 'meeting_id', 'user_id', 'auth_token', 'session_token', 'guestStatus', 'url']);
      expect(xmlJoin.xml).toMatchObject({ returncode: 'SUCCESS', messageKey: 'successfullyJoined', meeting_id: c.internalMeetingID, guestStatus: 'ALLOW' });
      expect(xmlJoin.xml.user_id).toMatch(/^w_[a-z0-9]{12}$/);

      // Then participant counts and attendees reflect the joins plus simulated media
      bbb.addParticipants('life-1', 3, { withVideo: 2, listenOnly: 1 });
      info = await getXml(url('getMeetingInfo', { meetingID: 'life-1' }));
      expect(info.xml).toMatchObject({
        running: 'true',
        hasUserJoined: 'true',
        participantCount: '6',
        moderatorCount: '1',
        videoCount: '2',
        listenerCount: '1',
        voiceParticipantCount: '2',
      });
      const attendees = info.xml.attendees.attendee;
      expect(attendees[0]).toMatchObject({ fullName: 'Mod', role: 'MODERATOR', isPresenter: 'true', clientType: 'HTML5' });
      expect(attendees[1]).toMatchObject({ userID: 'ext-42', role: 'VIEWER', isPresenter: 'false' });
      expect(attendees[2].customdata).toEqual({ bbb_x: 'y' });
      expect(topLevelElements(info.body)).toEqual([
        'returncode',
        'meetingName',
        'meetingID',
        'internalMeetingID',
        'createTime',
        'createDate',
        'voiceBridge',
        'dialNumber',
        'attendeePW',
        'moderatorPW',
        'running',
        'duration',
        'hasUserJoined',
        'recording',
        'hasBeenForciblyEnded',
        'startTime',
        'endTime',
        'participantCount',
        'listenerCount',
        'voiceParticipantCount',
        'videoCount',
        'maxUsers',
        'moderatorCount',
        'attendees',
        'metadata',
        'isBreakout',
      ]);

      // And getMeetings lists it
      const list = await getXml(url('getMeetings'));
      expect(list.xml.meetings.meeting.map((m: { meetingID: string }) => m.meetingID)).toEqual(['life-1']);
      expect(list.xml.meetings.meeting[0].participantCount).toBe('6');

      // When ended with a wrong password, then invalidPassword; with none, then sentEndMeetingRequest
      expect((await getXml(url('end', { meetingID: 'life-1', password: 'ap' }))).xml.messageKey).toBe('invalidPassword');
      const end = await getXml(url('end', { meetingID: 'life-1' }));
      expect(end.xml).toMatchObject({ returncode: 'SUCCESS', messageKey: 'sentEndMeetingRequest' });

      // Then it is gone
      expect((await getXml(url('getMeetingInfo', { meetingID: 'life-1' }))).xml).toEqual({
        returncode: 'FAILED',
        messageKey: 'notFound',
        message: 'A meeting with that ID does not exist',
      });
      expect((await getXml(url('getMeetings'))).xml).toEqual({
        returncode: 'SUCCESS',
        meetings: '',
        messageKey: 'noMeetings',
        message: 'no meetings were found on this server',
      });
      expect(bbb.requestCounts()).toMatchObject({ create: 1, join: 3, end: 2, getMeetings: 2 });
    });

    it('given an existing meeting, when created again with the same passwords, then duplicateWarning with the same meeting', async () => {
      const first = await getXml(url('create', { name: 'Dup', meetingID: 'dup-1', attendeePW: 'ap', moderatorPW: 'mp' }));
      const again = await getXml(url('create', { name: 'Dup', meetingID: 'dup-1', attendeePW: 'ap', moderatorPW: 'mp' }));
      expect(again.xml).toMatchObject({
        returncode: 'SUCCESS',
        internalMeetingID: first.xml.internalMeetingID,
        createTime: first.xml.createTime,
        messageKey: 'duplicateWarning',
        message: 'This conference was already in existence and may currently be in progress.',
      });
      expect(first.xml.messageKey).toBe('');
      const clash = await getXml(url('create', { name: 'Dup', meetingID: 'dup-1', attendeePW: 'other', moderatorPW: 'mp' }));
      expect(clash.xml.messageKey).toBe('idNotUnique');
      expect(bbb.meetings()).toHaveLength(1);
    });

    it('given no passwords, when creating, then BBB generates them and role-based joins work', async () => {
      const { xml } = await getXml(url('create', { name: 'NoPw', meetingID: 'nopw' }));
      expect(xml.attendeePW).toMatch(/^[A-Za-z0-9]{8}$/);
      expect(xml.moderatorPW).toMatch(/^[A-Za-z0-9]{8}$/);
      const join = await getXml(url('join', { meetingID: 'nopw', fullName: 'M', role: 'MODERATOR', redirect: false }));
      expect(join.xml.returncode).toBe('SUCCESS');
      expect(bbb.meetings()[0]!.moderators).toBe(1);
    });

    it('given invalid create parameters, then the ValidationService errors', async () => {
      expect((await getXml(url('create', { name: 'Room' }))).xml.messageKey).toBe('missingParamMeetingID');
      expect((await getXml(url('create', { name: 'Room', meetingID: 'a,b' }))).xml.messageKey).toBe('validationError');
      expect((await getXml(url('create', { meetingID: 'noname' }))).xml.message).toBe('You must provide a meeting name');
    });

    it('given join errors, when redirect=false, then FAILED XML; otherwise a redirect carrying errors', async () => {
      await getXml(url('create', { name: 'Join errors', meetingID: 'jerr', attendeePW: 'ap', moderatorPW: 'mp' }));
      expect((await getXml(url('join', { meetingID: 'jerr', fullName: 'X', password: 'nope', redirect: false }))).xml.messageKey).toBe('invalidPassword');
      expect((await getXml(url('join', { meetingID: 'missing', fullName: 'X', password: 'ap', redirect: false }))).xml.messageKey).toBe('invalidMeetingIdentifier');
      expect((await getXml(url('join', { meetingID: 'jerr', password: 'ap', redirect: false }))).xml.messageKey).toBe('missingParamFullName');
      const redirected = await fetch(url('join', { meetingID: 'jerr', fullName: 'X', password: 'nope' }), { redirect: 'manual' });
      expect(redirected.status).toBe(302);
      const errors = JSON.parse(new URL(redirected.headers.get('location')!).searchParams.get('errors')!);
      expect(errors).toEqual([{ key: 'invalidPassword', message: 'The provided password is neither a moderator or attendee password' }]);
      await redirected.arrayBuffer();
      expect(bbb.meetings()[0]!.participants).toBe(0);
    });
  });

  describe('breakout rooms', () => {
    it('given a parent meeting, when a breakout is created, then both appear in getMeetings linked together', async () => {
      const parent = (await getXml(url('create', { name: 'Parent', meetingID: 'parent-1', attendeePW: 'ap', moderatorPW: 'mp' }))).xml;
      const breakoutID = `${parent.internalMeetingID}-1`;
      const child = await getXml(
        url('create', { name: 'Parent (Room 1)', meetingID: breakoutID, isBreakout: true, parentMeetingID: parent.internalMeetingID, sequence: 1, freeJoin: false }),
      );
      expect(child.xml).toMatchObject({ returncode: 'SUCCESS', internalMeetingID: breakoutID, parentMeetingID: parent.internalMeetingID });

      const meetings = (await getXml(url('getMeetings'))).xml.meetings.meeting;
      expect(meetings).toHaveLength(2);
      const p = meetings.find((m: { meetingID: string }) => m.meetingID === 'parent-1');
      const b = meetings.find((m: { meetingID: string }) => m.meetingID === breakoutID);
      expect(p.isBreakout).toBe('false');
      expect(p.breakoutRooms.breakout).toEqual([breakoutID]);
      expect(b).toMatchObject({ isBreakout: 'true', parentMeetingID: parent.internalMeetingID, sequence: '1', freeJoin: 'false' });

      const info = await getXml(url('getMeetingInfo', { meetingID: breakoutID }));
      expect(topLevelElements(info.body).slice(-4)).toEqual(['isBreakout', 'parentMeetingID', 'sequence', 'freeJoin']);

      // When the parent ends, then its breakouts end too
      await getXml(url('end', { meetingID: 'parent-1', password: 'mp' }));
      expect(bbb.meetings()).toHaveLength(0);
    });

    it('given isBreakout without parentMeetingID, then parentMeetingIdMissing', async () => {
      expect((await getXml(url('create', { name: 'Orphan', meetingID: 'orphan', isBreakout: true }))).xml.messageKey).toBe('parentMeetingIdMissing');
    });
  });

  describe('insertDocument', () => {
    const payload =
      '<modules><module name="presentation"><document url="https://example.org/a.pdf" filename="a.pdf"/><document name="b.pdf">SGVsbG8=</document></module></modules>';

    it('given a meeting, when POSTing documents, then SUCCESS and they are recorded', async () => {
      // Pre-uploaded documents on create are accepted too (POST with XML body)
      await getXml(url('create', { name: 'Docs', meetingID: 'docs-1' }), { method: 'POST', body: payload, headers: { 'content-type': 'application/xml' } });
      const res = await getXml(url('insertDocument', { meetingID: 'docs-1' }), { method: 'POST', body: payload, headers: { 'content-type': 'application/xml' } });
      expect(res.xml).toEqual({ returncode: 'SUCCESS', message: 'Presentation is being uploaded' });
      expect(bbb.meetings()[0]!.documents).toBe(4);
    });

    it('given no meeting, then FAILED with the insert-document template', async () => {
      const res = await getXml(url('insertDocument', { meetingID: 'ghost' }), { method: 'POST', body: payload });
      expect(res.xml).toEqual({ returncode: 'FAILED', message: 'Meeting with id [ghost] not found.' });
    });

    it('given a meeting but no payload, then FAILED', async () => {
      await getXml(url('create', { name: 'Docs', meetingID: 'docs-2' }));
      expect((await getXml(url('insertDocument', { meetingID: 'docs-2' }))).xml.returncode).toBe('FAILED');
    });
  });

  describe('end callbacks', () => {
    it('given meta_endCallbackUrl and meetingEndedURL, when the meeting ends, then BBB-style GETs reach both', async () => {
      const hits: string[] = [];
      const receiver = createServer((req, res) => {
        hits.push(req.url ?? '');
        res.end('ok');
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      try {
        await getXml(url('create', { name: 'Callbacks', meetingID: 'cb-1', meta_endCallbackUrl: `${base}/ended?id=cb-1`, meetingEndedURL: `${base}/meeting-ended` }));
        bbb.endMeeting('cb-1');
        for (let i = 0; i < 50 && hits.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
        expect(hits.sort()).toEqual(['/ended?id=cb-1&recordingmarks=false', '/meeting-ended']);
      } finally {
        await new Promise((r) => receiver.close(r));
      }
    });
  });

  describe('other requests', () => {
    it('given an unknown action, then 404 with a FAILED document', async () => {
      const res = await getXml(url('fooBar'));
      expect(res.status).toBe(404);
      expect(res.xml).toMatchObject({ returncode: 'FAILED', messageKey: 'unsupportedRequest' });
    });

    it('given a POST form body without query string, then the checksum covers the sorted parameters like bbb-web', async () => {
      const { createHash } = require('node:crypto') as typeof import('node:crypto');
      const sorted = 'meetingID=form-1&name=Form+Room';
      const checksum = createHash('sha256').update(`create${sorted}${bbb.secret}`).digest('hex');
      const res = await getXml(`${bbb.url}create`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `name=Form+Room&meetingID=form-1&checksum=${checksum}`,
      });
      expect(res.xml).toMatchObject({ returncode: 'SUCCESS', meetingID: 'form-1' });
    });

    it('given getRecordings, then the empty recordings answer', async () => {
      expect((await getXml(url('getRecordings'))).xml).toMatchObject({ returncode: 'SUCCESS', messageKey: 'noRecordings' });
    });
  });
});
