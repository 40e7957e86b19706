import { randomUUID } from 'node:crypto';
import { draft, DomainEvent, EventDraft, stamp } from '../src/events/catalog';

const actor = { kind: 'poller' as const, name: 'bench' };

/** A realistic history for the replay and start benches: 50 servers, meetings placed and ended, polls in between. */
export function history(count: number): DomainEvent[] {
  const drafts: EventDraft[] = [];
  const servers = Array.from({ length: 50 }, (_, i) => `bbb-${i}`);
  for (const serverId of servers) {
    drafts.push(draft('ServerAdded', { serverId, url: `https://${serverId}.example.com/bigbluebutton/api`, secret: 's', loadMultiplier: 1, tag: null }));
    drafts.push(draft('ServerWentOnline', { serverId }), draft('ServerEnabled', { serverId }));
  }
  const open: Array<{ meetingId: string; serverId: string }> = [];
  for (let i = 0; drafts.length < count; i++) {
    const serverId = servers[i % servers.length];
    if (i % 3 === 0) {
      const meetingId = `m-${i}`;
      open.push({ meetingId, serverId });
      drafts.push(
        draft('MeetingPlaced', { meetingId, serverId, tenantId: null, voiceBridge: String(100000000 + i), moderatorPassword: 'mp', loadEstimate: 15, tag: null, considered: [] }),
      );
    } else if (i % 3 === 1 && open.length > 200) {
      const m = open.shift()!;
      drafts.push(draft('MeetingEnded', { meetingId: m.meetingId, serverId: m.serverId, reason: 'notRunning' }));
    } else {
      drafts.push(draft('ServerPolled', { serverId, load: i % 500, meetings: i % 20, users: i % 300, largestMeeting: i % 100, videos: i % 30, bbbVersion: '3.0.4' }));
    }
  }
  return stamp(drafts.slice(0, count), actor, new Date(), randomUUID);
}
