import { ObservedMeeting, PollOutcome } from '../commands/poll';
import { PollFailureReason } from '../events/catalog';
import { BbbEndpoint, BbbGateway, BbbReply } from './ports';
import { childNamed, childText, ScannedXml, XmlElement } from '../infra/bbb/xml-scan';

const int = (v: string | undefined): number => {
  const n = Number.parseInt(v ?? '0', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** The meetings of a getMeetings reply as the load formula needs them: six fields each, read in place. */
export function observedMeetings(reply: ScannedXml): ObservedMeeting[] {
  const meetings = childNamed(reply.root, 'meetings');
  if (!meetings) return [];
  const observed: ObservedMeeting[] = [];
  for (const m of meetings.children) {
    if (m.name !== 'meeting') continue;
    observed.push({
      meetingId: childText(reply, m, 'meetingID') ?? '',
      isBreakout: childText(reply, m, 'isBreakout') === 'true',
      participantCount: int(childText(reply, m, 'participantCount')),
      moderatorCount: int(childText(reply, m, 'moderatorCount')),
      videoCount: int(childText(reply, m, 'videoCount')),
      createTime: int(childText(reply, m, 'createTime')),
      voiceBridge: childText(reply, m, 'voiceBridge') ?? '',
      moderatorPassword: childText(reply, m, 'moderatorPW') ?? null,
      tenantId: tenantOf(reply, m),
    });
  }
  return observed;
}

function tenantOf(reply: ScannedXml, meeting: XmlElement): string | null {
  const metadata = childNamed(meeting, 'metadata');
  return (metadata && childText(reply, metadata, 'tenant-id')) || null;
}

/** One look at a server: its meetings (getMeetings) and its version (the root API call). */
export async function observe(bbb: BbbGateway, server: BbbEndpoint): Promise<PollOutcome> {
  // Each reply read as it is interpreted: a pass over a large pool keeps six fields a meeting, not the replies.
  const [meetings, bbbVersion] = await Promise.all([
    bbb.read(server, 'getMeetings', [], (reply) => (reply.kind === 'success' ? observedMeetings(reply.scanned) : whyFailed(reply))),
    bbb.read(server, '', [], (reply) => (reply.kind === 'success' ? (childText(reply.scanned, reply.scanned.root, 'bbbVersion') ?? '') : null)),
  ]);
  if (!Array.isArray(meetings)) return { ok: false, ...meetings };
  return { ok: true, meetings, bbbVersion };
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
