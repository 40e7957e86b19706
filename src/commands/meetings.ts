import { draft, EventDraft, eventSchemas, isAppendable } from '../events/catalog';
import { Meeting } from '../projections/pool';
import { Decided, Decision } from './decision';
import { isDomainError } from './errors';
import { decidePlacement, Placement, PlacementRequest, PlacementSettings, PlacementView } from './placement';

/*
 * Decisions about a meeting's route besides its placement: a create with its
 * callback URLs, and the ends the BBB API and the admin ask for.
 */

/** The callback URLs a create carried, as given (each null when absent). */
export interface CreateCallbacks {
  /** the first of the recording-ready URL params present (READY_URL_PARAMS) */
  recordingReadyUrl: string | null;
  /** meta_analytics-callback-url */
  analyticsCallbackUrl: string | null;
}

export interface CreateMeeting extends PlacementRequest {
  callbacks: CreateCallbacks;
}

export interface Created {
  placement: Placement;
  /**
   * none: the create carried no callback URL; registered: MeetingCallbacksRegistered is among the
   * events; notKept: a URL the log cannot hold, left out with why (the create goes on without it).
   */
  callbacks: { kept: 'none' | 'registered' } | { kept: 'notKept'; why: string };
}

/**
 * A create: where the meeting goes (decidePlacement), and the callback URLs it carried,
 * kept until its recordings arrive. Decided together, so a create with a callback takes
 * the decision lock once and appends once, whether its route is new or reused.
 */
export function decideCreate(command: CreateMeeting, view: PlacementView, settings: PlacementSettings): Decision<Created> {
  const placed = decidePlacement(command, view, settings);
  if (isDomainError(placed)) return placed;
  const { recordingReadyUrl, analyticsCallbackUrl } = command.callbacks;
  if (recordingReadyUrl === null && analyticsCallbackUrl === null) return { events: placed.events, result: { placement: placed.result, callbacks: { kept: 'none' } } };
  const registration = draft('MeetingCallbacksRegistered', {
    meetingId: command.meetingId,
    tenantId: command.tenantId,
    recordingReadyUrl: recordingReadyUrl?.trim() ?? null,
    analyticsCallbackUrl: analyticsCallbackUrl?.trim() ?? null,
  });
  // A URL no event can hold (blank, too long) costs the create its callback, not the meeting.
  if (!isAppendable(registration)) {
    return { events: placed.events, result: { placement: placed.result, callbacks: { kept: 'notKept', why: unkeptWhy(registration) } } };
  }
  return { events: [...placed.events, registration], result: { placement: placed.result, callbacks: { kept: 'registered' } } };
}

function unkeptWhy(registration: EventDraft): string {
  const checked = eventSchemas.MeetingCallbacksRegistered.safeParse(registration.data);
  const issue = checked.success ? null : checked.error.issues[0];
  return `MeetingCallbacksRegistered: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'holds what no store can keep'}`;
}

/** The BBB end of a meeting, confirmed by its server: the route the caller saw ends. */
export interface EndMeeting {
  meetingId: string;
  /** the server the route led to when BBB was asked */
  serverId: string;
}

/** The meeting's route now, if it has one. */
export interface RouteView {
  route: Meeting | null;
}

/** A route that moved (ended and created again elsewhere) meanwhile is not the one BBB ended: it stays. */
export function decideEndMeeting(command: EndMeeting, view: RouteView): Decided {
  if (!view.route || view.route.serverId !== command.serverId) return { events: [] };
  return { events: [draft('MeetingEnded', { meetingId: command.meetingId, serverId: command.serverId, reason: 'end' })] };
}

/** The admin ends meetings: the named ones, or every one when none is named. */
export interface EndMeetings {
  meetingIds?: string[];
}

export interface EndMeetingsView {
  /** the routes of the named meetings that have one (every route when none is named) */
  routes: Meeting[];
}

export interface Ended {
  ended: Meeting[];
  /** named meetings with no route */
  unknown: string[];
}

export function decideEndMeetings(command: EndMeetings, view: EndMeetingsView): Decided<Ended> {
  const routed = new Set(view.routes.map((m) => m.meetingId));
  return {
    events: view.routes.map((m) => draft('MeetingEnded', { meetingId: m.meetingId, serverId: m.serverId, reason: 'admin' })),
    result: { ended: view.routes, unknown: (command.meetingIds ?? []).filter((id) => !routed.has(id)) },
  };
}
