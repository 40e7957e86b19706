import { draft, EventDraft, eventSchemas, LIMITS, PlaybackFormat } from '../events/catalog';
import { RecordingFields } from '../recordings/metadata';
import { Recording, tenantOf } from '../recordings/model';
import { Decided, Decision } from './decision';
import { domainError } from './errors';

/*
 * Decisions about recordings: pure, against the recordings as the read model
 * has them. File moves happen at the edge, around these decisions.
 */

/** What a tarball's metadata.xml files say about one recording: the recording and all its formats. */
export type ImportedRecording = RecordingFields & { formats: PlaybackFormat[] };

export interface ImportSettings {
  /** RECORDING_IMPORT_UNPUBLISHED */
  importUnpublished: boolean;
  /** PROTECTED_RECORDINGS_ENABLED: every import is protected (Scalelite overwrites it on each import) */
  protectedEnabled: boolean;
}

/**
 * Whether the imported recording is published: a choice made earlier through the
 * API wins, then RECORDING_IMPORT_UNPUBLISHED, then what BBB says.
 */
export function importedPublished(current: Recording | null, imported: ImportedRecording, settings: ImportSettings): boolean {
  if (current?.publishUpdated && current.state !== 'deleted') return current.published;
  if (settings.importUnpublished) return false;
  return imported.published;
}

/** A tarball's recording, to import: `source` is the tarball it came in. */
export interface ImportRecording {
  recording: ImportedRecording;
  source: string;
}

/** The recording as the index has it, null when it does not know it. */
export interface ImportView {
  current: Recording | null;
}

export interface Imported {
  published: boolean;
  /** whether the index knew the recording (a failed import of a known one keeps its earlier files) */
  known: boolean;
}

export function decideImport(command: ImportRecording, view: ImportView, settings: ImportSettings): Decision<Imported> {
  const { recording: imported, source } = command;
  const { current } = view;
  const published = importedPublished(current, imported, settings);
  // Scalelite keeps state "published" on an unpublished import; we say what it is, so state filters agree with `published`.
  const state = !published && imported.state === 'published' ? 'unpublished' : imported.state;
  const metadata = { ...(current && current.state !== 'deleted' ? current.metadata : {}), ...imported.metadata };
  const data = {
    recordId: imported.recordId,
    meetingId: imported.meetingId,
    tenantId: tenantOf({ metadata }),
    name: imported.name,
    published,
    protected: settings.protectedEnabled,
    state,
    startTime: imported.startTime,
    endTime: imported.endTime,
    participants: imported.participants,
    metadata: imported.metadata,
    formats: imported.formats,
    source: source.slice(0, 1024),
  };
  // What a tarball says is outside data: what the log would refuse is refused here, before any file moves.
  const valid = eventSchemas.RecordingImported.safeParse(data);
  if (!valid.success) return domainError('invalidRequest', valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return { events: [draft('RecordingImported', data)], result: { published, known: current !== null } };
}

/** A tarball that could not be imported, moved aside (movedTo) or left where it was (null). */
export interface RecordImportFailure {
  source: string;
  reason: string;
  movedTo: string | null;
}

export function decideImportFailed(command: RecordImportFailure): Decided {
  return { events: [draft('RecordingImportFailed', { source: command.source.slice(0, 1024), reason: command.reason.slice(0, 2000), movedTo: command.movedTo })] };
}

/** publishRecordings: only the recordings whose published flag changes get an event. */
export interface PublishRecordings {
  publish: boolean;
}

/**
 * `found`, the view of the recordings deciders: the recordings the command names, as
 * the caller may see them (its tenant), in the order the command names them.
 */
export function decidePublish(command: PublishRecordings, found: Recording[]): Decision {
  const { publish } = command;
  const candidates = found.filter((r) => r.state === 'published' || r.state === 'unpublished');
  if (candidates.length === 0) return domainError('recordingsNotFound', 'We could not find recordings');
  return {
    events: candidates
      .filter((r) => r.published !== publish)
      .map((r) => (publish ? draft('RecordingPublished', { recordId: r.recordId }) : draft('RecordingUnpublished', { recordId: r.recordId }))),
  };
}

/** The recordings publishRecordings acts on (its state filter), for the file moves. */
export const publishable = (found: Recording[], publish: boolean): Recording[] =>
  found.filter((r) => (r.state === 'published' || r.state === 'unpublished') && r.published !== publish);

export interface RecordingUpdate {
  /** meta_<key> params: key lowercased; an empty value removes the metadatum */
  metadata: Array<[string, string]>;
  /** the protect param, if given */
  protect?: boolean;
}

export interface UpdateRecordings {
  recordIds: string[];
  update: RecordingUpdate;
}

/**
 * updateRecordings: all listed recordings must exist, else nothing changes
 * (`updated` false). Metadata is set on or removed from each; `protect` applies
 * to the first listed recording only, as in Scalelite.
 */
export function decideUpdate(command: UpdateRecordings, found: Recording[]): Decision<{ updated: boolean }> {
  const { recordIds, update } = command;
  const byId = new Map(found.map((r) => [r.recordId, r]));
  const ids = [...new Set(recordIds)];
  if (ids.length !== recordIds.length || ids.some((id) => !byId.has(id))) return { events: [], result: { updated: false } };
  for (const [key, value] of update.metadata) {
    if (key.length === 0 || key.length > LIMITS.metadataKey)
      return domainError('invalidRequest', `metadata key '${key.slice(0, 50)}' must be 1 to ${LIMITS.metadataKey} characters`);
    if (value.length > LIMITS.metadataValue) return domainError('invalidRequest', `metadata value of '${key}' is longer than ${LIMITS.metadataValue} characters`);
  }
  const set = Object.fromEntries(update.metadata.filter(([, v]) => v !== ''));
  const removed = [...new Set(update.metadata.filter(([, v]) => v === '').map(([k]) => k))];
  const events: EventDraft[] = [];
  let updated = false;
  ids.forEach((id, i) => {
    const current = byId.get(id) as Recording;
    const removes = removed.filter((k) => k in current.metadata);
    const sets = Object.fromEntries(Object.entries(set).filter(([k, v]) => current.metadata[k] !== v));
    const protect = i === 0 ? update.protect : undefined;
    // Scalelite answers updated=true for any metadata param or protect, even when the value was already there.
    if (update.metadata.length > 0 || protect !== undefined) updated = true;
    if (removes.length === 0 && Object.keys(sets).length === 0 && (protect === undefined || protect === current.protected)) return;
    events.push(
      draft('RecordingUpdated', {
        recordId: id,
        set: sets,
        removed: removes,
        ...(protect !== undefined && protect !== current.protected ? { protected: protect } : {}),
      }),
    );
  });
  return { events, result: { updated } };
}

/** deleteRecordings, or a purge (with its reason). */
export interface DeleteRecordings {
  reason?: string;
}

/** Every found recording, deleted ones included (their files may still be on disk). */
export function decideDelete(command: DeleteRecordings, found: Recording[]): Decision {
  if (found.length === 0) return domainError('recordingsNotFound', 'We could not find recordings');
  return { events: found.map((r) => draft('RecordingDeleted', command.reason ? { recordId: r.recordId, reason: command.reason } : { recordId: r.recordId })) };
}

/** recordings:addToTenant: every recording without a tenant becomes the tenant's (the projection applies it to each). */
export interface AssignRecordingsToTenant {
  tenantId: string;
}

export function decideAssignToTenant(command: AssignRecordingsToTenant): Decided {
  return { events: [draft('RecordingsAssignedToTenant', { tenantId: command.tenantId })] };
}
