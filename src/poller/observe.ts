import { ObservedMeeting, PollOutcome } from '../commands/poll';
import { BbbEndpoint, BbbGateway } from '../infra/bbb/client';
import { XmlNode } from '../infra/bbb/xml';

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const int = (v: unknown): number => {
  const n = Number.parseInt(String(v ?? '0'), 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** The meetings of a getMeetings document as the load formula needs them. */
export function observedMeetings(doc: XmlNode): ObservedMeeting[] {
  const response = doc.response as XmlNode;
  const meetings = response.meetings;
  if (!meetings || typeof meetings !== 'object') return [];
  return asArray((meetings as XmlNode).meeting as XmlNode | XmlNode[]).map((m) => ({
    meetingId: String(m.meetingID ?? ''),
    isBreakout: String(m.isBreakout ?? 'false') === 'true',
    participantCount: int(m.participantCount),
    moderatorCount: int(m.moderatorCount),
    videoCount: int(m.videoCount),
    createTime: int(m.createTime),
  }));
}

/** One look at a server: its meetings (getMeetings) and its version (the root API call). */
export async function observe(bbb: BbbGateway, server: BbbEndpoint): Promise<PollOutcome> {
  const [meetings, version] = await Promise.all([bbb.call(server, 'getMeetings', []), bbb.call(server, '', [])]);
  if (meetings.kind !== 'success') {
    return { ok: false, error: meetings.kind === 'failed' ? `${meetings.messageKey}: ${meetings.message}` : meetings.error };
  }
  const bbbVersion = version.kind === 'success' ? String((version.doc.response as XmlNode).bbbVersion ?? '') : null;
  return { ok: true, meetings: observedMeetings(meetings.doc), bbbVersion };
}
