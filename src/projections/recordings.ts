import { DomainEvent, PlaybackFormat } from '../events/catalog';

/*
 * The recordings read model: each recording as the log made it, and the callback
 * URLs meetings registered for theirs. Like the pool (pool.ts), it is pure: the SQL
 * store loads the recordings a batch names (`recordingsTouchedBy`), hands them to
 * `evolveRecordings` and only writes the changes it gets back, with its checkpoint.
 * What the tables become after an event is decided here, never in the adapter's SQL.
 *
 * It lives beside the pool's evolve (it used to be src/recordings/model.ts, which
 * re-exports it): the projections room holds every read model's rules, and the
 * recordings room (importer, storage, files) reads it like any other reader.
 */

export const RECORDING_STATES = ['processing', 'processed', 'published', 'unpublished', 'deleted'] as const;

/** The metadatum that ties a recording to a tenant (set by create through `meta_tenant-id`). */
export const TENANT_METADATUM = 'tenant-id';

export interface Recording {
  recordId: string;
  meetingId: string;
  name: string;
  published: boolean;
  protected: boolean;
  state: string | null;
  startTime: number | null;
  endTime: number | null;
  participants: number | null;
  /** published was changed through the API: a later import keeps it */
  publishUpdated: boolean;
  metadata: Record<string, string>;
  /** sorted by format name */
  formats: PlaybackFormat[];
  importedAt: string;
  updatedAt: string;
  /** imported, and the recording-ready callback (if the meeting registered one) not yet answered */
  readyPending: boolean;
}

/** An empty tenant-id metadatum ties a recording to no tenant. */
export const tenantOf = (r: Pick<Recording, 'metadata'>): string | null => r.metadata[TENANT_METADATUM] || null;

const byFormat = (a: PlaybackFormat, b: PlaybackFormat) => (a.format < b.format ? -1 : a.format > b.format ? 1 : 0);

/** The recording after one event; null when it does not exist. Events about other recordings return it unchanged. */
export function evolveRecording(recording: Recording | null, event: DomainEvent): Recording | null {
  const at = event.at;
  switch (event.type) {
    case 'RecordingImported': {
      const d = event.data;
      const formats = new Map((recording?.formats ?? []).map((f) => [f.format, f]));
      for (const f of d.formats) formats.set(f.format, f);
      return {
        recordId: d.recordId,
        meetingId: d.meetingId,
        name: d.name,
        published: d.published,
        protected: d.protected,
        state: d.state,
        startTime: d.startTime,
        endTime: d.endTime,
        participants: d.participants,
        publishUpdated: recording?.publishUpdated ?? false,
        metadata: { ...(recording?.metadata ?? {}), ...d.metadata },
        formats: [...formats.values()].sort(byFormat),
        importedAt: recording?.importedAt ?? at,
        updatedAt: at,
        readyPending: true,
      };
    }
    case 'RecordingMigrated': {
      // The whole recording as the other index had it; its ready callback was that balancer's business.
      const { tenantId: _tenant, source: _source, ...d } = event.data;
      return { ...d, formats: [...d.formats].sort(byFormat), importedAt: recording?.importedAt ?? at, updatedAt: at, readyPending: false };
    }
    case 'RecordingReadyNotified':
      return recording ? { ...recording, readyPending: false } : null;
    case 'RecordingPublished':
    case 'RecordingUnpublished': {
      if (!recording) return null;
      const published = event.type === 'RecordingPublished';
      return { ...recording, published, publishUpdated: true, state: published ? 'published' : 'unpublished', updatedAt: at };
    }
    case 'RecordingUpdated': {
      if (!recording) return null;
      const metadata = { ...recording.metadata };
      for (const key of event.data.removed) delete metadata[key];
      Object.assign(metadata, event.data.set);
      return { ...recording, metadata, protected: event.data.protected ?? recording.protected, updatedAt: at };
    }
    case 'RecordingDeleted':
      if (!recording) return null;
      return { ...recording, state: 'deleted', metadata: {}, formats: [], updatedAt: at };
    case 'RecordingsAssignedToTenant':
      // Every recording of no tenant (deleted ones too) gets this one; one that has a tenant keeps it.
      if (!recording || tenantOf(recording)) return recording;
      return { ...recording, metadata: { ...recording.metadata, [TENANT_METADATUM]: event.data.tenantId }, updatedAt: at };
    // A refused tarball left no recording; callbacks are the meetings' (evolveRecordings keeps
    // them); the pool's events, and those about the log itself, say nothing about recordings.
    case 'RecordingImportFailed':
    case 'MeetingCallbacksRegistered':
    case 'ServerAdded':
    case 'ServerUpdated':
    case 'ServerEnabled':
    case 'ServerCordoned':
    case 'ServerDisabled':
    case 'ServerRemoved':
    case 'ServerPanicked':
    case 'ServerPolled':
    case 'ServerWentOnline':
    case 'ServerPollFailed':
    case 'ServerPollRecovered':
    case 'ServerWentOffline':
    case 'MeetingPlaced':
    case 'MeetingEnded':
    case 'MeetingAdopted':
    case 'TenantAdded':
    case 'TenantUpdated':
    case 'TenantRemoved':
    case 'TenantSettingAdded':
    case 'TenantSettingRemoved':
    case 'ReadModelRebuilt':
    case 'EventUnreadable':
      return recording;
    default: {
      // A type added to the catalogue does not compile here until this model decides about it.
      const unhandled: never = event;
      void unhandled;
      return recording;
    }
  }
}

/** Callback URLs a create left for the meeting's recordings (Scalelite's callback_data). */
export interface MeetingCallbacks {
  meetingId: string;
  tenantId: string | null;
  recordingReadyUrl: string | null;
  analyticsCallbackUrl: string | null;
}

/** A meeting's callbacks as the model keeps them: only recordings imported at or after `registeredAt` are owed the ready callback. */
export interface RegisteredCallbacks extends MeetingCallbacks {
  registeredAt: string;
}

/**
 * recordings:addToTenant, as a set: every recording whose tenant-id metadatum is missing or
 * empty gets `tenantId` (metadatum and tenant column), updated at `at`; one with a tenant keeps
 * it. The same rule as `evolveRecording` applies to a recording it holds, stated for the rows a
 * store holds, so that a store with 100k recordings changes them in one statement rather than
 * loading them.
 */
export interface TenantAssignment {
  tenantId: string;
  at: string;
}

/** What part of the recordings model an event changes, and how when it is not one recording. */
export type RecordingsReach =
  | { kind: 'recording'; recordId: string }
  | { kind: 'unassignedRecordings'; assignment: TenantAssignment }
  | { kind: 'meetingCallbacks'; callbacks: RegisteredCallbacks }
  | { kind: 'none' };

export function reachOf(event: DomainEvent): RecordingsReach {
  switch (event.type) {
    case 'RecordingImported':
    case 'RecordingMigrated':
    case 'RecordingReadyNotified':
    case 'RecordingPublished':
    case 'RecordingUnpublished':
    case 'RecordingUpdated':
    case 'RecordingDeleted':
      return { kind: 'recording', recordId: event.data.recordId };
    case 'RecordingsAssignedToTenant':
      return { kind: 'unassignedRecordings', assignment: { tenantId: event.data.tenantId, at: event.at } };
    case 'MeetingCallbacksRegistered': {
      // A later registration of the meetingID replaces the earlier one, URLs, tenant and time.
      const { meetingId, tenantId, recordingReadyUrl, analyticsCallbackUrl } = event.data;
      return { kind: 'meetingCallbacks', callbacks: { meetingId, tenantId, recordingReadyUrl, analyticsCallbackUrl, registeredAt: event.at } };
    }
    case 'RecordingImportFailed':
    case 'ServerAdded':
    case 'ServerUpdated':
    case 'ServerEnabled':
    case 'ServerCordoned':
    case 'ServerDisabled':
    case 'ServerRemoved':
    case 'ServerPanicked':
    case 'ServerPolled':
    case 'ServerWentOnline':
    case 'ServerPollFailed':
    case 'ServerPollRecovered':
    case 'ServerWentOffline':
    case 'MeetingPlaced':
    case 'MeetingEnded':
    case 'MeetingAdopted':
    case 'TenantAdded':
    case 'TenantUpdated':
    case 'TenantRemoved':
    case 'TenantSettingAdded':
    case 'TenantSettingRemoved':
    case 'ReadModelRebuilt':
    case 'EventUnreadable':
      return { kind: 'none' };
    default: {
      const unhandled: never = event;
      void unhandled;
      return { kind: 'none' };
    }
  }
}

/** The recording an event is about, if it is about one. */
export function recordIdOf(event: DomainEvent): string | null {
  const reach = reachOf(event);
  return reach.kind === 'recording' ? reach.recordId : null;
}

/** Whether an event changes the recordings model (a rebuild reads only these). */
export const changesRecordings = (event: DomainEvent): boolean => reachOf(event).kind !== 'none';

/** The recordings a batch names: what a store loads (null for those it lacks) before `evolveRecordings`. */
export function recordingsTouchedBy(events: DomainEvent[]): string[] {
  return [...new Set(events.map(recordIdOf).filter((id): id is string => id !== null))];
}

/**
 * What a store writes for a batch, in this order: the assignments, as sets, to its rows as
 * they were before the batch; the callbacks, one per meeting (the latest); then the
 * recordings the batch names, whole, as they now are. Those were folded through every event
 * of the batch, assignments included, so writing them last over the sets is exact.
 */
export interface RecordingsChanges {
  assignments: TenantAssignment[];
  callbacks: RegisteredCallbacks[];
  put: Recording[];
  remove: string[];
}

/**
 * The changes a batch makes to the model, given the recordings it names as the store holds
 * them (`recordingsTouchedBy`; null: not there). Pure: `loaded` is not touched.
 */
export function evolveRecordings(loaded: ReadonlyMap<string, Recording | null>, events: DomainEvent[]): RecordingsChanges {
  const current = new Map(loaded);
  const changed = new Set<string>();
  const assignments: TenantAssignment[] = [];
  const callbacks = new Map<string, RegisteredCallbacks>();
  const evolveOne = (recordId: string, event: DomainEvent) => {
    const before = current.get(recordId) ?? null;
    const after = evolveRecording(before, event);
    if (after === before) return;
    current.set(recordId, after);
    changed.add(recordId);
  };
  for (const event of events) {
    const reach = reachOf(event);
    if (reach.kind === 'recording') evolveOne(reach.recordId, event);
    else if (reach.kind === 'unassignedRecordings') {
      assignments.push(reach.assignment);
      // the batch's own recordings see it in their order among the batch's events
      for (const recordId of current.keys()) evolveOne(recordId, event);
    } else if (reach.kind === 'meetingCallbacks') {
      callbacks.set(reach.callbacks.meetingId, reach.callbacks);
    }
  }
  const put: Recording[] = [];
  const remove: string[] = [];
  for (const recordId of changed) {
    const recording = current.get(recordId) ?? null;
    if (recording) put.push(recording);
    else if (loaded.get(recordId)) remove.push(recordId);
  }
  return { assignments, callbacks: [...callbacks.values()], put, remove };
}
