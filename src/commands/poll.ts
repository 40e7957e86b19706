import { draft, EventDraft, isAppendable, PollFailureReason } from '../events/catalog';
import { Meeting, Server } from '../projections/pool';
import { Decided } from './decision';

/*
 * What a poll of one BBB server means for the pool. Scalelite's rules: load
 * from getMeetings (§2.3), online after SERVER_HEALTHY_THRESHOLD successes,
 * offline after SERVER_UNHEALTHY_THRESHOLD failures (its meetings ended), a
 * cordoned server with nothing left on it becomes disabled. Plus ours: a routed
 * meeting its server no longer reports has ended, and a meeting it reports that is
 * routed nowhere is adopted where it runs. Events only for what changed.
 */

export interface ObservedMeeting {
  meetingId: string;
  isBreakout: boolean;
  participantCount: number;
  moderatorCount: number;
  videoCount: number;
  /** epoch milliseconds */
  createTime: number;
  /** what a route needs if the meeting has none here (adoption); absent where a test does not care */
  voiceBridge?: string;
  moderatorPassword?: string | null;
  /** the tenant-id metadata the balancer sets at create; null when there is none */
  tenantId?: string | null;
}

export type PollOutcome = { ok: true; meetings: ObservedMeeting[]; bbbVersion: string | null } | { ok: false; reason: PollFailureReason; error: string };

/** The poller's memory of one server between polls (not an event: a standby poller starts afresh). */
export interface ServerHealth {
  healthy: number;
  unhealthy: number;
  /**
   * Routes this server has reported at least once: meetingID -> placedAt of the
   * route seen. A meeting ended and created again is a new route, not yet seen.
   */
  seen: Map<string, string>;
}

export const freshHealth = (): ServerHealth => ({ healthy: 0, unhealthy: 0, seen: new Map() });

export interface PollSettings {
  healthyThreshold: number;
  unhealthyThreshold: number;
  loadMinUserCount: number;
  loadJoinBufferMinutes: number;
  /** a route its server has never reported ends only after this long (the create may still be on its way) */
  newMeetingGraceMs: number;
}

export interface LoadReading {
  load: number;
  meetings: number;
  users: number;
  largestMeeting: number;
  videos: number;
}

/** Scalelite's load formula, quirks included: moderators count twice, breakouts add no load but count in the stats. */
export function readLoad(meetings: ObservedMeeting[], multiplier: number, now: Date, settings: PollSettings): LoadReading {
  const bufferStart = Math.floor(now.getTime() / 1000) - settings.loadJoinBufferMinutes * 60;
  let load = 0;
  for (const m of meetings) {
    if (m.isBreakout) continue;
    const attendees = m.participantCount + m.moderatorCount;
    const created = Math.floor(m.createTime / 1000);
    load += created > bufferStart ? Math.max(attendees, settings.loadMinUserCount) : attendees;
  }
  return {
    load: load * multiplier,
    meetings: meetings.length,
    users: meetings.reduce((sum, m) => sum + m.participantCount, 0),
    largestMeeting: meetings.reduce((max, m) => Math.max(max, m.participantCount), 0),
    videos: meetings.reduce((sum, m) => sum + m.videoCount, 0),
  };
}

/** What a poll of one server found, and when it began. */
export interface RecordPoll {
  outcome: PollOutcome;
  startedAt: Date;
}

export interface PollView {
  server: Server;
  /** the routes to the server */
  routes: Meeting[];
  /** the poller's memory of the server from its earlier polls */
  health: ServerHealth;
  /** reported meetings that have a route on another server: those are not adopted here */
  routedElsewhere?: ReadonlySet<string>;
}

export interface Polled {
  /** the poller's memory of the server for its next poll */
  health: ServerHealth;
  /** meetings ended because the server went offline: BBB end is still worth a try */
  endCalls: Meeting[];
}

export function decidePoll(poll: RecordPoll, view: PollView, settings: PollSettings): Decided<Polled> {
  const { outcome, startedAt } = poll;
  const { server, routes, health: previous, routedElsewhere = new Set<string>() } = view;
  const serverId = server.id;
  if (!outcome.ok) {
    const health = { ...previous, healthy: 0 };
    const error = outcome.error.slice(0, 1000);
    // Said once per reason, not at every failed poll: a server down all day writes one event, not 1,440.
    const told = server.pollFailure?.reason === outcome.reason ? [] : [draft('ServerPollFailed', { serverId, reason: outcome.reason, error })];
    if (!server.online) return { events: told, result: { health, endCalls: [] } };
    health.unhealthy += 1;
    if (health.unhealthy < settings.unhealthyThreshold) return { events: told, result: { health, endCalls: [] } };
    return {
      events: [
        ...told,
        ...routes.map((m) => draft('MeetingEnded', { meetingId: m.meetingId, serverId, reason: 'serverOffline' })),
        draft('ServerWentOffline', { serverId, error }),
      ],
      result: { health: freshHealth(), endCalls: routes },
    };
  }

  const events: EventDraft[] = server.pollFailure ? [draft('ServerPollRecovered', { serverId })] : [];
  let health: ServerHealth = { ...previous, unhealthy: 0 };
  if (!server.online) {
    health.healthy += 1;
    if (health.healthy < settings.healthyThreshold) return { events, result: { health, endCalls: [] } };
    health = { ...freshHealth(), seen: health.seen };
    events.push(draft('ServerWentOnline', { serverId }));
  }

  const reading = readLoad(outcome.meetings, server.loadMultiplier, startedAt, settings);
  // informational only: a server reporting something odd must still be able to come online
  const bbbVersion = (outcome.bbbVersion ?? server.bbbVersion).slice(0, 100);
  const changed =
    // going online always records a poll, even if the numbers match the stale ones
    events.some((e) => e.type === 'ServerWentOnline') ||
    server.load !== reading.load ||
    server.meetings !== reading.meetings ||
    server.users !== reading.users ||
    server.largestMeeting !== reading.largestMeeting ||
    server.videos !== reading.videos ||
    server.bbbVersion !== bbbVersion;
  if (changed) events.push(draft('ServerPolled', { serverId, ...reading, bbbVersion }));

  const reported = new Set(outcome.meetings.map((m) => m.meetingId));
  const seen = new Map<string, string>();
  for (const route of routes) {
    const seenBefore = health.seen.get(route.meetingId) === route.placedAt;
    if (reported.has(route.meetingId)) {
      seen.set(route.meetingId, route.placedAt);
    } else if (seenBefore || Date.parse(route.placedAt) < startedAt.getTime() - settings.newMeetingGraceMs) {
      events.push(draft('MeetingEnded', { meetingId: route.meetingId, serverId, reason: 'notRunning' }));
    }
  }
  health = { ...health, seen };
  events.push(...adoptions(serverId, outcome.meetings, routes, routedElsewhere));

  // Drained: nothing left to join, so late joiners are not cut off (Scalelite disabled at load 0 alone).
  if (server.state === 'cordoned' && reading.load === 0 && reading.meetings === 0) {
    events.push(draft('ServerDisabled', { serverId, reason: 'drained' }));
  }
  return { events, result: { health, endCalls: [] } };
}

/**
 * Meetings the server runs that no route knows: made on the server directly, by another
 * balancer, or before a cutover. Routing them where they run keeps a re-create through
 * us from starting the same room a second time on another server. Breakouts are
 * BBB's own (joined through their parent) and are left alone.
 */
export function adoptions(serverId: string, reported: ObservedMeeting[], routes: Meeting[], routedElsewhere: ReadonlySet<string>): EventDraft[] {
  const routed = new Set(routes.map((m) => m.meetingId));
  const adopted = new Set<string>();
  const events: EventDraft[] = [];
  for (const m of reported) {
    if (m.isBreakout || m.meetingId === '' || routed.has(m.meetingId) || routedElsewhere.has(m.meetingId) || adopted.has(m.meetingId)) continue;
    if (m.voiceBridge === undefined) continue;
    const adoption = draft('MeetingAdopted', {
      meetingId: m.meetingId,
      serverId,
      tenantId: m.tenantId || null,
      voiceBridge: m.voiceBridge,
      moderatorPassword: m.moderatorPassword ?? null,
      reason: 'runningWithoutRoute',
    });
    // What a server reports is outside data: a meetingID or tenant no event can hold is left unrouted.
    if (!isAppendable(adoption)) continue;
    adopted.add(m.meetingId);
    events.push(adoption);
  }
  return events;
}

/** Meetings the server reports that have no route on it: the ones to look up elsewhere before adopting. */
export const unroutedReported = (reported: ObservedMeeting[], routes: Meeting[]): string[] => {
  const routed = new Set(routes.map((m) => m.meetingId));
  return reported.filter((m) => !m.isBreakout && m.meetingId !== '' && !routed.has(m.meetingId)).map((m) => m.meetingId);
};

export interface OrphansView {
  /** every route */
  routes: Meeting[];
  /** the servers in the pool */
  serverIds: ReadonlySet<string>;
}

/** Routes whose server is no longer in the pool: nobody can reach them through us. Nothing to ask: the view says it all. */
export function decideOrphans(view: OrphansView): Decided {
  return {
    events: view.routes.filter((m) => !view.serverIds.has(m.serverId)).map((m) => draft('MeetingEnded', { meetingId: m.meetingId, serverId: m.serverId, reason: 'serverRemoved' })),
  };
}
