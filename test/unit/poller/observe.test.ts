import { observedMeetings, whyFailed } from '../../../src/poller/observe';
import { scanXml, ScannedXml } from '../../../src/infra/bbb/xml-scan';

const doc = (meetings: string): ScannedXml => {
  const parsed = scanXml(`<?xml version="1.0"?><response><returncode>SUCCESS</returncode>${meetings}</response>`);
  if (!parsed) throw new Error('not XML');
  return parsed;
};

const meetingXml = (fields: Record<string, string>): string =>
  `<meeting>${Object.entries(fields)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('')}<metadata><bbb-origin>Moodle</bbb-origin></metadata></meeting>`;

describe('observedMeetings (a getMeetings document)', () => {
  test('what a route needs: voice bridge, moderator password and the tenant-id metadata', () => {
    const d = doc(
      `<meetings><meeting><meetingID>m-1</meetingID><voiceBridge>70123</voiceBridge><moderatorPW>mp &amp; co</moderatorPW><metadata><tenant-id> t1 </tenant-id></metadata></meeting></meetings>`,
    );
    expect(observedMeetings(d)[0]).toMatchObject({ meetingId: 'm-1', voiceBridge: '70123', moderatorPassword: 'mp & co', tenantId: 't1' });
  });

  test('one meeting (a single element, not an array)', () => {
    const d = doc(
      `<meetings>${meetingXml({ meetingName: 'Demo', meetingID: 'm-1', createTime: '1714557600123', participantCount: '12', moderatorCount: '2', videoCount: '3', isBreakout: 'false' })}</meetings>`,
    );
    expect(observedMeetings(d)).toEqual([
      {
        meetingId: 'm-1',
        isBreakout: false,
        participantCount: 12,
        moderatorCount: 2,
        videoCount: 3,
        createTime: 1714557600123,
        voiceBridge: '',
        moderatorPassword: null,
        tenantId: null,
      },
    ]);
  });

  test('several meetings, breakouts marked', () => {
    const d = doc(
      `<meetings>${meetingXml({ meetingID: 'parent', participantCount: '5', moderatorCount: '1', videoCount: '0', createTime: '1000', isBreakout: 'false' })}${meetingXml({ meetingID: 'parent-breakout-1', participantCount: '2', moderatorCount: '0', videoCount: '1', createTime: '2000', isBreakout: 'true' })}</meetings>`,
    );
    expect(observedMeetings(d)).toEqual([
      { meetingId: 'parent', isBreakout: false, participantCount: 5, moderatorCount: 1, videoCount: 0, createTime: 1000, voiceBridge: '', moderatorPassword: null, tenantId: null },
      {
        meetingId: 'parent-breakout-1',
        isBreakout: true,
        participantCount: 2,
        moderatorCount: 0,
        videoCount: 1,
        createTime: 2000,
        voiceBridge: '',
        moderatorPassword: null,
        tenantId: null,
      },
    ]);
  });

  test('missing or unreadable counts are 0; a missing isBreakout is false', () => {
    const d = doc(`<meetings>${meetingXml({ meetingID: 'm-1', participantCount: '', videoCount: 'many', moderatorCount: '-3' })}</meetings>`);
    expect(observedMeetings(d)).toEqual([
      { meetingId: 'm-1', isBreakout: false, participantCount: 0, moderatorCount: 0, videoCount: 0, createTime: 0, voiceBridge: '', moderatorPassword: null, tenantId: null },
    ]);
  });

  test('a meetingID that looks like a number stays a string as sent', () => {
    const d = doc(`<meetings>${meetingXml({ meetingID: '007', participantCount: '1' })}</meetings>`);
    expect(observedMeetings(d)[0].meetingId).toBe('007');
  });

  test('no meetings: the noMeetings document, an empty element, or none at all', () => {
    expect(observedMeetings(doc('<messageKey>noMeetings</messageKey><message>no meetings were found on this server</message><meetings/>'))).toEqual([]);
    expect(observedMeetings(doc('<meetings></meetings>'))).toEqual([]);
    expect(observedMeetings(doc(''))).toEqual([]);
  });
});

describe('whyFailed: what an admin is told of a failed poll', () => {
  test.each<[string, Parameters<typeof whyFailed>[0], ReturnType<typeof whyFailed>]>([
    [
      'a wrong secret (BBB answers checksumError)',
      { kind: 'failed', messageKey: 'checksumError', message: 'Checksums do not match' },
      { reason: 'checksumError', error: "the server's secret does not match (checksumError)" },
    ],
    ['any other FAILED answer', { kind: 'failed', messageKey: 'internalError', message: 'oops' }, { reason: 'failed', error: 'internalError: oops' }],
    ['an answer that is not BBB XML', { kind: 'invalid', error: 'Response did not include returncode' }, { reason: 'malformed', error: 'Response did not include returncode' }],
    ['an HTTP error', { kind: 'unreachable', error: 'HTTP 502' }, { reason: 'httpError', error: 'HTTP 502' }],
    ['a reply over the size limit', { kind: 'unreachable', error: 'reply larger than 16777216 bytes' }, { reason: 'malformed', error: 'reply larger than 16777216 bytes' }],
    [
      'the total deadline',
      { kind: 'unreachable', error: 'timeout: no complete answer within 15000 ms' },
      { reason: 'timeout', error: 'timeout: no complete answer within 15000 ms' },
    ],
    [
      "undici's headers timeout",
      { kind: 'unreachable', error: 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error' },
      { reason: 'timeout', error: 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error' },
    ],
    [
      'a refused connection',
      { kind: 'unreachable', error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' },
      { reason: 'unreachable', error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' },
    ],
  ])('%s', (_case, reply, told) => {
    expect(whyFailed(reply)).toEqual(told);
  });
});
