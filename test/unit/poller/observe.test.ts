import { observedMeetings } from '../../../src/poller/observe';
import { parseXml, XmlNode } from '../../../src/infra/bbb/xml';

const doc = (meetings: string): XmlNode => {
  const parsed = parseXml(`<?xml version="1.0"?><response><returncode>SUCCESS</returncode>${meetings}</response>`);
  if (!parsed) throw new Error('not XML');
  return parsed;
};

const meetingXml = (fields: Record<string, string>): string =>
  `<meeting>${Object.entries(fields)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('')}<metadata><bbb-origin>Moodle</bbb-origin></metadata></meeting>`;

describe('observedMeetings (a getMeetings document)', () => {
  test('one meeting (a single element, not an array)', () => {
    const d = doc(
      `<meetings>${meetingXml({ meetingName: 'Demo', meetingID: 'm-1', createTime: '1714557600123', participantCount: '12', moderatorCount: '2', videoCount: '3', isBreakout: 'false' })}</meetings>`,
    );
    expect(observedMeetings(d)).toEqual([
      { meetingId: 'm-1', isBreakout: false, participantCount: 12, moderatorCount: 2, videoCount: 3, createTime: 1714557600123 },
    ]);
  });

  test('several meetings, breakouts marked', () => {
    const d = doc(
      `<meetings>${meetingXml({ meetingID: 'parent', participantCount: '5', moderatorCount: '1', videoCount: '0', createTime: '1000', isBreakout: 'false' })}${meetingXml({ meetingID: 'parent-breakout-1', participantCount: '2', moderatorCount: '0', videoCount: '1', createTime: '2000', isBreakout: 'true' })}</meetings>`,
    );
    expect(observedMeetings(d)).toEqual([
      { meetingId: 'parent', isBreakout: false, participantCount: 5, moderatorCount: 1, videoCount: 0, createTime: 1000 },
      { meetingId: 'parent-breakout-1', isBreakout: true, participantCount: 2, moderatorCount: 0, videoCount: 1, createTime: 2000 },
    ]);
  });

  test('missing or unreadable counts are 0; a missing isBreakout is false', () => {
    const d = doc(`<meetings>${meetingXml({ meetingID: 'm-1', participantCount: '', videoCount: 'many', moderatorCount: '-3' })}</meetings>`);
    expect(observedMeetings(d)).toEqual([{ meetingId: 'm-1', isBreakout: false, participantCount: 0, moderatorCount: 0, videoCount: 0, createTime: 0 }]);
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
