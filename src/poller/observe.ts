import { ObservedMeeting, PollOutcome } from '../commands/poll';
import { PollFailureReason } from '../events/catalog';
import { BbbEndpoint, BbbGateway, BbbReply } from '../infra/bbb/client';
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
  if (meetings.kind !== 'success') return { ok: false, ...whyFailed(meetings) };
  const bbbVersion = version.kind === 'success' ? String((version.doc.response as XmlNode).bbbVersion ?? '') : null;
  return { ok: true, meetings: observedMeetings(meetings.doc), bbbVersion };
}

/** What an admin needs to know of a failed poll: which kind of failure, and its words. */
export function whyFailed(reply: Exclude<BbbReply, { kind: 'success' }>): { reason: PollFailureReason; error: string } {
  switch (reply.kind) {
    case 'failed':
      // The most common setup mistake: the secret given to servers:add is not this server's (bbb-conf --secret).
      if (reply.messageKey === 'checksumError') return { reason: 'checksumError', error: "the server's secret does not match (checksumError)" };
      return { reason: 'failed', error: `${reply.messageKey}: ${reply.message}` };
    case 'invalid':
      return { reason: 'malformed', error: reply.error };
    case 'unreachable':
      if (/^HTTP \d{3}/.test(reply.error)) return { reason: 'httpError', error: reply.error };
      if (/larger than/.test(reply.error)) return { reason: 'malformed', error: reply.error };
      if (/timeout|timed out|TIMEOUT/i.test(reply.error)) return { reason: 'timeout', error: reply.error };
      return { reason: 'unreachable', error: reply.error };
  }
}
