import { DomainEvent, PlaybackFormat } from '../events/catalog';

/*
 * The recordings read model: one recording as the log made it. `evolveRecording`
 * is pure; the SQL projection loads a recording, evolves it and saves it.
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
      if (!recording || tenantOf(recording)) return recording;
      return { ...recording, metadata: { ...recording.metadata, [TENANT_METADATUM]: event.data.tenantId }, updatedAt: at };
    default:
      return recording;
  }
}

/** The recording an event is about, if it is about one. */
export function recordIdOf(event: DomainEvent): string | null {
  const data = event.data as { recordId?: unknown };
  return typeof data.recordId === 'string' && event.type.startsWith('Recording') ? data.recordId : null;
}
