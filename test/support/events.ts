import { Actor } from '../../src/events/envelope';
import { DomainEvent, draft, EventData, EventDraft, stamp, StoredEvent } from '../../src/events/catalog';
import { emptyPool, evolve, Meeting, PoolState, Server } from '../../src/projections/pool';

/*
 * Builders for "given these events" lists: drafts for every pool event with
 * sensible defaults, stamped with deterministic ids and times.
 */

/** 2024-05-01T10:00:00Z: the time the first given event happens. */
export const T0 = Date.parse('2024-05-01T10:00:00.000Z');
export const at = (ms: number): string => new Date(ms).toISOString();

export const adminActor: Actor = { kind: 'admin', name: 'test-admin' };
export const pollerActor: Actor = { kind: 'poller', name: 'test-poller' };

/** A valid (version 4, RFC 4122 variant) uuid whose last digits are n. */
export const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** A deterministic id source: uuid(1), uuid(2), ... */
export function idSequence(start = 1): () => string {
  let n = start;
  return () => uuid(n++);
}

export const urlOf = (serverId: string): string => `https://${serverId}.example.com/bigbluebutton/api`;
export const secretOf = (serverId: string): string => `secret-${serverId}`;

export const e = {
  serverAdded: (serverId: string, over: Partial<EventData<'ServerAdded'>> = {}): EventDraft =>
    draft('ServerAdded', { serverId, url: urlOf(serverId), secret: secretOf(serverId), loadMultiplier: 1, tag: null, ...over }),
  serverUpdated: (serverId: string, changes: Omit<EventData<'ServerUpdated'>, 'serverId'>): EventDraft => draft('ServerUpdated', { serverId, ...changes }),
  serverEnabled: (serverId: string): EventDraft => draft('ServerEnabled', { serverId }),
  serverCordoned: (serverId: string): EventDraft => draft('ServerCordoned', { serverId }),
  serverDisabled: (serverId: string, reason: EventData<'ServerDisabled'>['reason'] = 'admin'): EventDraft => draft('ServerDisabled', { serverId, reason }),
  serverRemoved: (serverId: string): EventDraft => draft('ServerRemoved', { serverId }),
  serverPanicked: (serverId: string, over: Partial<EventData<'ServerPanicked'>> = {}): EventDraft =>
    draft('ServerPanicked', { serverId, keepState: false, endCalls: true, meetingsCleared: 0, ...over }),
  serverPolled: (serverId: string, load: number, over: Partial<EventData<'ServerPolled'>> = {}): EventDraft =>
    draft('ServerPolled', { serverId, load, meetings: 0, users: 0, largestMeeting: 0, videos: 0, bbbVersion: '2.7.3', ...over }),
  wentOnline: (serverId: string): EventDraft => draft('ServerWentOnline', { serverId }),
  wentOffline: (serverId: string, error = 'connect ECONNREFUSED'): EventDraft => draft('ServerWentOffline', { serverId, error }),
  pollFailed: (serverId: string, reason: EventData<'ServerPollFailed'>['reason'] = 'unreachable', error = 'connect ECONNREFUSED'): EventDraft =>
    draft('ServerPollFailed', { serverId, reason, error }),
  pollRecovered: (serverId: string): EventDraft => draft('ServerPollRecovered', { serverId }),
  meetingPlaced: (meetingId: string, serverId: string, over: Partial<EventData<'MeetingPlaced'>> = {}): EventDraft =>
    draft('MeetingPlaced', {
      meetingId,
      serverId,
      tenantId: null,
      voiceBridge: '123456789',
      moderatorPassword: 'mp',
      loadEstimate: 15,
      tag: null,
      considered: [],
      ...over,
    }),
  meetingAdopted: (meetingId: string, serverId: string, over: Partial<EventData<'MeetingAdopted'>> = {}): EventDraft =>
    draft('MeetingAdopted', { meetingId, serverId, tenantId: null, voiceBridge: '71234', moderatorPassword: null, reason: 'runningWithoutRoute', ...over }),
  meetingEnded: (meetingId: string, serverId: string, reason: EventData<'MeetingEnded'>['reason'] = 'end'): EventDraft => draft('MeetingEnded', { meetingId, serverId, reason }),
  tenantAdded: (tenantId: string, name: string, secrets = [`${name.toLowerCase()}-secret`]): EventDraft => draft('TenantAdded', { tenantId, name, secrets }),
  tenantUpdated: (tenantId: string, changes: Omit<EventData<'TenantUpdated'>, 'tenantId'>): EventDraft => draft('TenantUpdated', { tenantId, ...changes }),
  tenantRemoved: (tenantId: string): EventDraft => draft('TenantRemoved', { tenantId }),
  tenantSettingAdded: (settingId: string, tenantId: string, param: string, value: string, override = false): EventDraft =>
    draft('TenantSettingAdded', { settingId, tenantId, param, value, override }),
  tenantSettingRemoved: (settingId: string, tenantId: string): EventDraft => draft('TenantSettingRemoved', { settingId, tenantId }),
  callbacksRegistered: (meetingId: string, recordingReadyUrl: string | null = 'https://lms.example.com/ready'): EventDraft =>
    draft('MeetingCallbacksRegistered', { meetingId, tenantId: null, recordingReadyUrl, analyticsCallbackUrl: null }),
  recordingImported: (recordId: string, meetingId: string, over: Partial<EventData<'RecordingImported'>> = {}): EventDraft =>
    draft('RecordingImported', {
      recordId,
      meetingId,
      tenantId: null,
      name: `Meeting ${meetingId}`,
      published: true,
      protected: false,
      state: 'published',
      startTime: 1_764_000_000_000,
      endTime: 1_764_003_600_000,
      participants: 3,
      metadata: { 'bbb-origin': 'Moodle' },
      formats: [
        {
          format: 'presentation',
          url: `/playback/presentation/2.3/${recordId}`,
          length: 60,
          processingTime: 1200,
          thumbnails: [{ url: `/presentation/${recordId}/thumb-1.png`, width: 176, height: 136, alt: 'Welcome' }],
        },
      ],
      source: `${recordId}.tar`,
      ...over,
    }),
  importFailed: (source: string, reason = 'not a tar archive'): EventDraft => draft('RecordingImportFailed', { source, reason, movedTo: `/spool/failed/${source}` }),
  recordingPublished: (recordId: string): EventDraft => draft('RecordingPublished', { recordId }),
  recordingUnpublished: (recordId: string): EventDraft => draft('RecordingUnpublished', { recordId }),
  recordingUpdated: (recordId: string, over: Partial<EventData<'RecordingUpdated'>> = {}): EventDraft => draft('RecordingUpdated', { recordId, set: {}, removed: [], ...over }),
  recordingDeleted: (recordId: string): EventDraft => draft('RecordingDeleted', { recordId }),
  recordingsToTenant: (tenantId: string): EventDraft => draft('RecordingsAssignedToTenant', { tenantId }),
  readyNotified: (recordId: string, meetingId: string): EventDraft =>
    draft('RecordingReadyNotified', { recordId, meetingId, url: 'https://lms.example.com/ready', outcome: 'delivered', status: 200, attempts: 1 }),
  readModelRebuilt: (projection = 'pool', reason: 'lost' | 'foreign' = 'lost'): EventDraft => draft('ReadModelRebuilt', { projection, reason, found: -1, expected: 41, head: 42 }),
  /** what reading makes of a record it cannot read (never appended) */
  unreadable: (reason = 'ServerExploded v1 is unknown', type: string | null = 'ServerExploded'): EventDraft => draft('EventUnreadable', { reason, type }),
};

/** The events that make a server selectable: added, enabled, online, polled at `load`. */
export function liveServer(serverId: string, load: number, over: Partial<EventData<'ServerAdded'>> = {}): EventDraft[] {
  return [e.serverAdded(serverId, over), e.serverEnabled(serverId), e.wentOnline(serverId), e.serverPolled(serverId, load)];
}

export interface StampOptions {
  /** time of the first event (ms); default T0 */
  start?: number;
  /** time between two events (ms); default 1000 */
  stepMs?: number;
  actor?: Actor;
  /** number of the first id; default 1 */
  firstId?: number;
}

/** Stamp drafts as the write side does: ids uuid(firstId)..., one second apart from T0. */
export function given(drafts: EventDraft[], options: StampOptions = {}): DomainEvent[] {
  const { start = T0, stepMs = 1000, actor = adminActor, firstId = 1 } = options;
  const ids = idSequence(firstId);
  return drafts.map((d, i) => stamp([d], actor, new Date(start + i * stepMs), ids)[0]);
}

/** Give events offsets from `from` on, as the log does. */
export function stored(events: DomainEvent[], from = 0): StoredEvent[] {
  return events.map((event, i) => ({ offset: from + i, event }));
}

/** Fold events over a pool state (empty by default). */
export function project(events: DomainEvent[], state: PoolState = emptyPool()): PoolState {
  return events.reduce(evolve, state);
}

/** The pool after these drafts, stamped with `given`. */
export function poolAfter(drafts: EventDraft[], options?: StampOptions): PoolState {
  return project(given(drafts, options));
}

/** A server record for pure decisions: enabled, online, load 0 unless overridden. */
export function server(id: string, over: Partial<Server> = {}): Server {
  return {
    id,
    url: urlOf(id),
    secret: secretOf(id),
    tag: null,
    loadMultiplier: 1,
    state: 'enabled',
    online: true,
    load: 0,
    meetings: 0,
    users: 0,
    largestMeeting: 0,
    videos: 0,
    bbbVersion: '2.7.3',
    addedAt: at(T0),
    changedAt: at(T0),
    ...over,
  };
}

/** A meeting route for pure decisions. */
export function meeting(meetingId: string, serverId: string, over: Partial<Meeting> = {}): Meeting {
  return {
    meetingId,
    serverId,
    tenantId: null,
    voiceBridge: '123456789',
    moderatorPassword: 'mp',
    loadEstimate: 15,
    placedAt: at(T0),
    ...over,
  };
}

/** The meetings of a pool state routed to one server. */
export const meetingsOn = (state: PoolState, serverId: string): Meeting[] => Object.values(state.meetings).filter((m) => m.serverId === serverId);
