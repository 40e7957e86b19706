import { meetingInfoOut } from '../../../cli/commands/meetings/info';
import { parseXml } from '../../../src/infra/bbb/xml';

/** getMeetingInfo as BBB answers it (get-meeting-info.ftlx), with these attendees, metadata and breakout rooms. */
function reply(attendees: string[], metadata: string, breakouts: string[] = []): Record<string, unknown> {
  const attendee = (name: string, presenter: boolean) =>
    `<attendee><userID>u-${name}</userID><fullName>${name}</fullName><role>VIEWER</role><isPresenter>${presenter}</isPresenter><isListeningOnly>false</isListeningOnly><hasJoinedVoice>true</hasJoinedVoice><hasVideo>false</hasVideo><clientType>HTML5</clientType><customdata></customdata></attendee>`;
  const xml =
    '<response><returncode>SUCCESS</returncode><meetingName>101</meetingName><meetingID>math-101</meetingID><internalMeetingID>abc-1764000000000</internalMeetingID>' +
    '<createTime>1764000000000</createTime><createDate>Mon Nov 24 16:00:00 UTC 2025</createDate><voiceBridge>70001</voiceBridge><dialNumber>613-555-1234</dialNumber>' +
    '<attendeePW>ap</attendeePW><moderatorPW>mp</moderatorPW><running>true</running><duration>0</duration><hasUserJoined>true</hasUserJoined><recording>false</recording>' +
    `<hasBeenForciblyEnded>false</hasBeenForciblyEnded><startTime>1764000000100</startTime><endTime>0</endTime><participantCount>${attendees.length}</participantCount>` +
    `<listenerCount>0</listenerCount><voiceParticipantCount>${attendees.length}</voiceParticipantCount><videoCount>0</videoCount><maxUsers>0</maxUsers><moderatorCount>0</moderatorCount>` +
    `<attendees>${attendees.map((a, i) => attendee(a, i === 0)).join('')}</attendees><metadata>${metadata}</metadata><isBreakout>false</isBreakout>` +
    (breakouts.length > 0 ? `<breakoutRooms>${breakouts.map((b) => `<breakout>${b}</breakout>`).join('')}</breakoutRooms>` : '') +
    '</response>';
  return parseXml(xml)!.response as Record<string, unknown>;
}

describe("meetings:info --json gives BBB's reply one type per field", () => {
  test('given one attendee and some metadata: numbers, booleans, a list of one, a map', () => {
    const out = meetingInfoOut(reply(['Ada'], '<bbb-origin>Moodle</bbb-origin><course>7</course>'));
    expect(out).toMatchObject({
      meetingName: '101',
      voiceBridge: '70001',
      createTime: 1764000000000,
      running: true,
      recording: false,
      participantCount: 1,
      endTime: 0,
      metadata: { 'bbb-origin': 'Moodle', course: '7' },
      attendees: [{ userID: 'u-Ada', fullName: 'Ada', isPresenter: true, hasJoinedVoice: true, customdata: {} }],
    });
  });

  test('given no attendees and no metadata (empty elements in the XML): an empty list and an empty map, not ""', () => {
    const raw = reply([], '');
    expect(raw.attendees).toBe('');
    expect(meetingInfoOut(raw)).toMatchObject({ attendees: [], metadata: {}, participantCount: 0 });
  });

  test('given replies of every shape: each field has the same type in all of them', () => {
    const outs = [reply([], ''), reply(['Ada'], '<a>1</a>'), reply(['Ada', 'Bob'], '<a>1</a><b>2</b>', ['br-1', 'br-2']), reply(['Cy'], '', ['br-3'])].map(meetingInfoOut);
    const typeOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
    const keys = new Set(outs.flatMap((o) => Object.keys(o)));
    for (const key of keys) {
      const types = new Set(outs.filter((o) => key in o).map((o) => typeOf(o[key])));
      expect([key, [...types]]).toEqual([key, [expect.any(String)]]);
    }
    expect(outs[2].attendees).toHaveLength(2);
    expect(outs[2].breakoutRooms).toEqual(['br-1', 'br-2']);
    expect(outs[3].breakoutRooms).toEqual(['br-3']);
  });

  test('given a count BBB did not fill: null rather than a string', () => {
    expect(meetingInfoOut({ participantCount: '', running: 'maybe', meetingName: '' })).toEqual({ participantCount: null, running: null, meetingName: '' });
  });
});
