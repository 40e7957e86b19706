import { DomainEvent, LRS_FIELDS, PollFailureReason } from '../events/catalog';

/*
 * The pool read model: BBB servers, meeting routes and voice bridges.
 *
 * `evolve` is pure and works on any slice of the model that holds the entities
 * an event touches (`touchedBy`). The memory store and the Redis store both load
 * that slice, evolve it and write back the difference with their checkpoint, so
 * the two stores cannot drift apart in how they read an event.
 */

export type ServerState = 'enabled' | 'cordoned' | 'disabled';

export interface Server {
  id: string;
  url: string;
  secret: string;
  tag: string | null;
  loadMultiplier: number;
  state: ServerState;
  online: boolean;
  /** null while offline or before the first successful poll */
  load: number | null;
  meetings: number;
  users: number;
  largestMeeting: number;
  videos: number;
  bbbVersion: string;
  addedAt: string;
  /** time of the last event that changed this server */
  changedAt: string;
  /** why its polls fail, since when (absent while they succeed) */
  pollFailure?: { reason: PollFailureReason; error: string; since: string };
}

export interface Meeting {
  meetingId: string;
  serverId: string;
  tenantId: string | null;
  voiceBridge: string;
  moderatorPassword: string | null;
  loadEstimate: number;
  placedAt: string;
}

/** A tenant (multitenancy): its host label, its secrets and its xAPI/LRS settings. */
export interface Tenant {
  id: string;
  name: string;
  secrets: string[];
  lrsEndpoint: string | null;
  lrsUsername: string | null;
  lrsPassword: string | null;
  kcTokenUrl: string | null;
  kcClientId: string | null;
  kcClientSecret: string | null;
  kcUsername: string | null;
  kcPassword: string | null;
  addedAt: string;
  changedAt: string;
}

/** A tenant's default (or forced, with override) value of a create/join param. */
export interface TenantSetting {
  id: string;
  tenantId: string;
  param: string;
  value: string;
  override: boolean;
}

export interface PoolState {
  servers: Record<string, Server>;
  meetings: Record<string, Meeting>;
  /** voice bridge number -> meetingID */
  voiceBridges: Record<string, string>;
  tenants: Record<string, Tenant>;
  tenantSettings: Record<string, TenantSetting>;
  /** lowercased tenant name -> tenant id (the host's first label resolves through it) */
  tenantNames: Record<string, string>;
}

export const emptyPool = (): PoolState => ({ servers: {}, meetings: {}, voiceBridges: {}, tenants: {}, tenantSettings: {}, tenantNames: {} });

export interface PoolKeys {
  servers: string[];
  meetings: string[];
  voiceBridges: string[];
  tenants: string[];
  tenantSettings: string[];
  tenantNames: string[];
}

export const emptyKeys = (): PoolKeys => ({ servers: [], meetings: [], voiceBridges: [], tenants: [], tenantSettings: [], tenantNames: [] });

export const tenantNameKey = (name: string): string => name.toLowerCase();

/** The entities an event reads or writes (voice bridges of the touched meetings are loaded too). */
export function touchedBy(event: DomainEvent): PoolKeys {
  const d = event.data as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? [v] : []);
  const tenantEvent = event.type.startsWith('Tenant');
  return {
    servers: [...str(d.serverId), ...str(d.previousServerId)],
    meetings: str(d.meetingId),
    voiceBridges: str(d.voiceBridge),
    // the names of loaded tenants are loaded with them (a rename frees the old one)
    tenants: tenantEvent ? str(d.tenantId) : [],
    tenantSettings: str(d.settingId),
    tenantNames: tenantEvent && typeof d.name === 'string' ? [tenantNameKey(d.name)] : [],
  };
}

/** A copy of the state's tables (the entities are shared: they are replaced, never changed in place). */
const copyTables = (state: PoolState): PoolState => ({
  servers: { ...state.servers },
  meetings: { ...state.meetings },
  voiceBridges: { ...state.voiceBridges },
  tenants: { ...state.tenants },
  tenantSettings: { ...state.tenantSettings },
  tenantNames: { ...state.tenantNames },
});

/** The state after an event. Pure: `state` is not touched. */
export function evolve(state: PoolState, event: DomainEvent): PoolState {
  const next = copyTables(state);
  evolveInto(next, event);
  return next;
}

/** The state after a run of events: one copy of the tables for the whole run, so a batch costs what its events do. */
export function evolveAll(state: PoolState, events: DomainEvent[]): PoolState {
  const next = copyTables(state);
  for (const event of events) evolveInto(next, event);
  return next;
}

/** Route a meeting to its server, freeing the voice bridge its previous route held. */
function route(state: PoolState, m: Meeting): void {
  const previous = state.meetings[m.meetingId];
  if (previous && previous.voiceBridge !== m.voiceBridge && state.voiceBridges[previous.voiceBridge] === m.meetingId) {
    delete state.voiceBridges[previous.voiceBridge];
  }
  state.meetings[m.meetingId] = {
    meetingId: m.meetingId,
    serverId: m.serverId,
    tenantId: m.tenantId,
    voiceBridge: m.voiceBridge,
    moderatorPassword: m.moderatorPassword,
    loadEstimate: m.loadEstimate,
    placedAt: m.placedAt,
  };
  state.voiceBridges[m.voiceBridge] = m.meetingId;
}

function withServer(state: PoolState, id: string, change: (s: Server) => Server): void {
  const server = state.servers[id];
  // Events about a server that is gone are facts of the past; they change nothing now.
  if (server) state.servers[id] = change(server);
}

const zeroStats = { meetings: 0, users: 0, largestMeeting: 0, videos: 0 };

/** A tenant's name no longer resolves to it (unless another tenant holds it now). */
function releaseName(state: PoolState, tenant: Tenant): void {
  const key = tenantNameKey(tenant.name);
  if (state.tenantNames[key] === tenant.id) delete state.tenantNames[key];
}

/** Apply one event to tables the caller owns: entities are replaced with new objects, never modified. */
function evolveInto(state: PoolState, event: DomainEvent): void {
  const at = event.at;
  switch (event.type) {
    case 'ServerAdded': {
      const d = event.data;
      state.servers[d.serverId] = {
        id: d.serverId,
        url: d.url,
        secret: d.secret,
        tag: d.tag,
        loadMultiplier: d.loadMultiplier,
        state: 'disabled',
        online: false,
        load: null,
        ...zeroStats,
        bbbVersion: '',
        addedAt: at,
        changedAt: at,
      };
      return;
    }
    case 'ServerUpdated': {
      const d = event.data;
      return withServer(state, d.serverId, (s) => ({
        ...s,
        url: d.url ?? s.url,
        secret: d.secret ?? s.secret,
        loadMultiplier: d.loadMultiplier ?? s.loadMultiplier,
        tag: d.tag === undefined ? s.tag : d.tag,
        changedAt: at,
      }));
    }
    case 'ServerEnabled':
      return withServer(state, event.data.serverId, (s) => ({ ...s, state: 'enabled', changedAt: at }));
    case 'ServerCordoned':
      return withServer(state, event.data.serverId, (s) => ({ ...s, state: 'cordoned', changedAt: at }));
    case 'ServerDisabled':
      return withServer(state, event.data.serverId, (s) => ({ ...s, state: 'disabled', changedAt: at }));
    case 'ServerRemoved':
      delete state.servers[event.data.serverId];
      return;
    case 'ServerPanicked':
      // What a panic changes comes as its own events (MeetingEnded, ServerDisabled); this one is the why.
      return;
    case 'ServerPolled': {
      const d = event.data;
      return withServer(state, d.serverId, (s) => ({
        ...s,
        load: d.load,
        meetings: d.meetings,
        users: d.users,
        largestMeeting: d.largestMeeting,
        videos: d.videos,
        bbbVersion: d.bbbVersion,
        changedAt: at,
      }));
    }
    case 'ServerWentOnline':
      return withServer(state, event.data.serverId, (s) => ({ ...s, online: true, changedAt: at }));
    case 'ServerPollFailed': {
      const d = event.data;
      return withServer(state, d.serverId, (s) => ({ ...s, pollFailure: { reason: d.reason, error: d.error, since: at }, changedAt: at }));
    }
    case 'ServerPollRecovered':
      return withServer(state, event.data.serverId, ({ pollFailure: _recovered, ...s }) => ({ ...s, changedAt: at }));
    case 'ServerWentOffline':
      return withServer(state, event.data.serverId, (s) => ({ ...s, online: false, load: null, ...zeroStats, changedAt: at }));
    case 'MeetingPlaced': {
      const d = event.data;
      route(state, { ...d, loadEstimate: d.loadEstimate, placedAt: at });
      // Until the next poll measures it, a new meeting counts as its estimate (Scalelite counted 1).
      return withServer(state, d.serverId, (s) => (s.load === null ? s : { ...s, load: s.load + d.loadEstimate }));
    }
    case 'MeetingAdopted': {
      // The poll that found it running already counted its users in the server's load.
      route(state, { ...event.data, loadEstimate: 0, placedAt: at });
      return;
    }
    case 'MeetingEnded': {
      const d = event.data;
      const meeting = state.meetings[d.meetingId];
      // An end for an earlier placement must not remove a newer route of the same meetingID.
      if (!meeting || meeting.serverId !== d.serverId) return;
      delete state.meetings[d.meetingId];
      if (state.voiceBridges[meeting.voiceBridge] === d.meetingId) delete state.voiceBridges[meeting.voiceBridge];
      return;
    }
    case 'TenantAdded': {
      const d = event.data;
      state.tenants[d.tenantId] = {
        id: d.tenantId,
        name: d.name,
        secrets: d.secrets,
        ...(Object.fromEntries(LRS_FIELDS.map((field) => [field, d[field] ?? null])) as Pick<Tenant, (typeof LRS_FIELDS)[number]>),
        addedAt: at,
        changedAt: at,
      };
      state.tenantNames[tenantNameKey(d.name)] = d.tenantId;
      return;
    }
    case 'TenantUpdated': {
      const d = event.data;
      const tenant = state.tenants[d.tenantId];
      if (!tenant) return;
      const next: Tenant = { ...tenant, changedAt: at };
      if (d.name !== undefined) next.name = d.name;
      if (d.secrets !== undefined) next.secrets = d.secrets;
      for (const field of LRS_FIELDS) {
        const value = d[field];
        if (value !== undefined) next[field] = value;
      }
      if (next.name !== tenant.name) {
        releaseName(state, tenant);
        state.tenantNames[tenantNameKey(next.name)] = tenant.id;
      }
      state.tenants[d.tenantId] = next;
      return;
    }
    case 'TenantRemoved': {
      const tenant = state.tenants[event.data.tenantId];
      if (!tenant) return;
      delete state.tenants[tenant.id];
      releaseName(state, tenant);
      return;
    }
    case 'TenantSettingAdded': {
      const d = event.data;
      state.tenantSettings[d.settingId] = { id: d.settingId, tenantId: d.tenantId, param: d.param, value: d.value, override: d.override };
      return;
    }
    case 'TenantSettingRemoved':
      delete state.tenantSettings[event.data.settingId];
      return;
    // Recordings and their callbacks are the recordings model's (recordings.ts); the others are about the log itself.
    case 'MeetingCallbacksRegistered':
    case 'RecordingImported':
    case 'RecordingMigrated':
    case 'RecordingImportFailed':
    case 'RecordingPublished':
    case 'RecordingUnpublished':
    case 'RecordingUpdated':
    case 'RecordingDeleted':
    case 'RecordingsAssignedToTenant':
    case 'RecordingReadyNotified':
    case 'ReadModelRebuilt':
    case 'EventUnreadable':
      return;
    default: {
      // A type added to the catalogue does not compile here until the pool decides about it.
      const unhandled: never = event;
      return unhandled;
    }
  }
}

export interface EntityChanges<T> {
  put: Array<{ key: string; value: T; previous?: T }>;
  remove: Array<{ key: string; previous: T }>;
}

export interface PoolChanges {
  servers: EntityChanges<Server>;
  meetings: EntityChanges<Meeting>;
  voiceBridges: EntityChanges<string>;
  tenants: EntityChanges<Tenant>;
  tenantSettings: EntityChanges<TenantSetting>;
  tenantNames: EntityChanges<string>;
}

function diffRecord<T>(before: Record<string, T>, after: Record<string, T>): EntityChanges<T> {
  const changes: EntityChanges<T> = { put: [], remove: [] };
  for (const [key, value] of Object.entries(after)) {
    if (before[key] !== value) changes.put.push(key in before ? { key, value, previous: before[key] } : { key, value });
  }
  for (const [key, previous] of Object.entries(before)) if (!(key in after)) changes.remove.push({ key, previous });
  return changes;
}

/** What a store must write to go from `before` to `after` (entities compared by identity: evolve copies what it changes). */
export function diffPool(before: PoolState, after: PoolState): PoolChanges {
  return {
    servers: diffRecord(before.servers, after.servers),
    meetings: diffRecord(before.meetings, after.meetings),
    voiceBridges: diffRecord(before.voiceBridges, after.voiceBridges),
    tenants: diffRecord(before.tenants, after.tenants),
    tenantSettings: diffRecord(before.tenantSettings, after.tenantSettings),
    tenantNames: diffRecord(before.tenantNames, after.tenantNames),
  };
}

export function isEmptyChange(c: PoolChanges): boolean {
  return [c.servers, c.meetings, c.voiceBridges, c.tenants, c.tenantSettings, c.tenantNames].every((e) => e.put.length === 0 && e.remove.length === 0);
}

/** The order admins see servers in: as they were added. */
export const byAddition = (a: Server, b: Server): number => (a.addedAt < b.addedAt ? -1 : a.addedAt > b.addedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Selectable for a new meeting: enabled, online and with a known load. */
export const isSelectable = (s: Server): boolean => s.state === 'enabled' && s.online && s.load !== null;
/** Joinable: online and not disabled (cordoned servers still take joins to their meetings). */
export const isJoinable = (s: Server): boolean => s.online && s.state !== 'disabled';
