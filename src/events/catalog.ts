import { z } from 'zod';
import { Actor, EnvelopeSchema, systemActor } from './envelope';
import { findUnstorable, MAX_INT4, sanitizeStrings } from './storable';

/*
 * The event catalogue: one zod schema per event, each with its current version.
 * Events are facts in the past tense. An event written by an older version is
 * upcast on read (see `upcasters`), never rewritten in the log.
 */

/** Longest values the log accepts; decisions check them first so callers get a readable error. */
export const LIMITS = {
  url: 2048,
  secret: 512,
  tag: 255,
  meetingId: 256,
  moderatorPassword: 1024,
  tagParam: 1024,
  recordId: 256,
  recordingName: 4096,
  metadataKey: 255,
  metadataValue: 16_384,
  metadataEntries: 200,
  formats: 20,
  thumbnails: 100,
} as const;

const serverId = z.string().min(1).max(255);
const meetingId = z.string().min(1).max(LIMITS.meetingId);
const tenantId = z.string().min(1).max(255).nullable();
const loadMultiplier = z.number().finite().positive();
const tag = z.string().min(1).max(LIMITS.tag).nullable();
// Counts land in PostgreSQL integer columns (participants, lengths, sizes): one beyond it would stop the projection.
const count = z.number().int().nonnegative().max(MAX_INT4);
const recordId = z.string().min(1).max(LIMITS.recordId);
const metadataKey = z.string().min(1).max(LIMITS.metadataKey);
const metadata = z.record(metadataKey, z.string().max(LIMITS.metadataValue)).refine((m) => Object.keys(m).length <= LIMITS.metadataEntries, {
  message: `at most ${LIMITS.metadataEntries} metadata entries`,
});
const epochMs = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable();

/** A preview image of a playback format, as metadata.xml lists it (the URL is a path on this host). */
export const ThumbnailSchema = z.object({
  url: z.string().min(1).max(LIMITS.url),
  width: z.number().int().nonnegative().nullable(),
  height: z.number().int().nonnegative().nullable(),
  alt: z.string().max(1024).nullable(),
});
/** One way to play a recording (presentation, video, podcast, …): `url` is the path of its player. */
export const PlaybackFormatSchema = z.object({
  format: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  url: z.string().min(1).max(LIMITS.url),
  /** minutes, rounded */
  length: count,
  processingTime: count.nullable(),
  thumbnails: z.array(ThumbnailSchema).max(LIMITS.thumbnails),
});
export type Thumbnail = z.infer<typeof ThumbnailSchema>;
export type PlaybackFormat = z.infer<typeof PlaybackFormatSchema>;

const tenantKey = z.string().min(1).max(255);
const tenantName = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'a DNS label (letters, digits and -)');
const tenantSecrets = z.array(z.string().min(1).max(LIMITS.secret)).min(1).max(20);
const optionalText = (max: number) => z.string().max(max).nullable().optional();
/** The xAPI/LRS fields of a tenant (§5.5): basic credentials or a Keycloak password grant. */
const lrsFields = {
  lrsEndpoint: optionalText(LIMITS.url),
  lrsUsername: optionalText(255),
  lrsPassword: optionalText(LIMITS.secret),
  kcTokenUrl: optionalText(LIMITS.url),
  kcClientId: optionalText(255),
  kcClientSecret: optionalText(LIMITS.secret),
  kcUsername: optionalText(255),
  kcPassword: optionalText(LIMITS.secret),
};
export const LRS_FIELDS = Object.keys(lrsFields) as Array<keyof typeof lrsFields>;

export const RECORDING_READY_OUTCOMES = ['delivered', 'rejected', 'failed'] as const;

export const MEETING_END_REASONS = [
  'end', // the BBB API end call
  'notRunning', // a poll found the meeting gone from its server
  'panic', // an admin panicked its server
  'serverOffline', // its server went offline
  'serverRemoved', // its server was removed from the pool
  'admin', // an admin ended it (meetings:end)
] as const;

export const MEETING_ADOPTION_REASONS = [
  'runningWithoutRoute', // a poll found it running on a pool server, routed nowhere
] as const;

export const SERVER_DISABLE_REASONS = ['admin', 'drained', 'panic'] as const;

/**
 * Why a poll of a server failed. checksumError is the most common setup mistake (the
 * server's secret is not the one given to servers:add); failed is any other FAILED answer.
 */
export const POLL_FAILURE_REASONS = ['unreachable', 'timeout', 'httpError', 'checksumError', 'failed', 'malformed'] as const;
export type PollFailureReason = (typeof POLL_FAILURE_REASONS)[number];

export const eventSchemas = {
  ServerAdded: z.object({ serverId, url: z.string().min(1).max(LIMITS.url), secret: z.string().min(1).max(LIMITS.secret), loadMultiplier, tag }),
  ServerUpdated: z.object({
    serverId,
    url: z.string().min(1).max(LIMITS.url).optional(),
    secret: z.string().min(1).max(LIMITS.secret).optional(),
    loadMultiplier: loadMultiplier.optional(),
    tag: tag.optional(),
  }),
  ServerEnabled: z.object({ serverId }),
  ServerCordoned: z.object({ serverId }),
  ServerDisabled: z.object({ serverId, reason: z.enum(SERVER_DISABLE_REASONS) }),
  ServerRemoved: z.object({ serverId }),
  ServerPanicked: z.object({ serverId, keepState: z.boolean(), endCalls: z.boolean(), meetingsCleared: count }),
  ServerPolled: z.object({
    serverId,
    load: z.number().finite().nonnegative(),
    meetings: count,
    users: count,
    largestMeeting: count,
    videos: count,
    bbbVersion: z.string().max(100),
  }),
  ServerWentOnline: z.object({ serverId }),
  /** Polls of the server fail, for this reason (written when the reason changes, not at every failed poll). */
  ServerPollFailed: z.object({ serverId, reason: z.enum(POLL_FAILURE_REASONS), error: z.string().max(1000) }),
  /** A poll of the server succeeded again after ServerPollFailed. */
  ServerPollRecovered: z.object({ serverId }),
  ServerWentOffline: z.object({ serverId, error: z.string().max(1000) }),
  MeetingPlaced: z.object({
    meetingId,
    serverId,
    tenantId,
    voiceBridge: z.string().regex(/^\d{1,20}$/),
    // BBB before 2.6 needs the moderator password to end a meeting on panic.
    moderatorPassword: z.string().max(LIMITS.moderatorPassword).nullable(),
    loadEstimate: z.number().finite().nonnegative(),
    tag: z.string().max(LIMITS.tagParam).nullable(),
    previousServerId: serverId.optional(),
    // why this server: the selectable servers and their loads when it was chosen
    considered: z.array(z.object({ serverId, load: z.number().finite() })).max(10),
  }),
  MeetingEnded: z.object({ meetingId, serverId, reason: z.enum(MEETING_END_REASONS) }),
  /**
   * A poll found the meeting running on its server with no route here (created on the server
   * directly, by another balancer, or before a cutover): it is routed there, so joins and
   * re-creates go where it runs instead of starting it a second time elsewhere.
   */
  MeetingAdopted: z.object({
    meetingId,
    serverId,
    tenantId,
    voiceBridge: z.string().regex(/^\d{1,20}$/),
    moderatorPassword: z.string().max(LIMITS.moderatorPassword).nullable(),
    reason: z.enum(MEETING_ADOPTION_REASONS),
  }),
  TenantAdded: z.object({ tenantId: tenantKey, name: tenantName, secrets: tenantSecrets, ...lrsFields }),
  /** Only the fields given change; a null LRS field is cleared. */
  TenantUpdated: z.object({ tenantId: tenantKey, name: tenantName.optional(), secrets: tenantSecrets.optional(), ...lrsFields }),
  TenantRemoved: z.object({ tenantId: tenantKey }),
  /** A tenant's default (or, with override, forced) value of a create/join param. */
  TenantSettingAdded: z.object({
    settingId: tenantKey,
    tenantId: tenantKey,
    param: z.string().min(1).max(255),
    value: z.string().max(LIMITS.metadataValue),
    override: z.boolean(),
  }),
  TenantSettingRemoved: z.object({ settingId: tenantKey, tenantId: tenantKey }),
  /** Callback URLs a create carried, kept until the meeting's recordings arrive (Scalelite's callback_data). */
  MeetingCallbacksRegistered: z.object({
    meetingId,
    tenantId,
    recordingReadyUrl: z.string().min(1).max(LIMITS.url).nullable(),
    analyticsCallbackUrl: z.string().min(1).max(LIMITS.url).nullable(),
  }),
  /**
   * A recording tarball was imported: these formats were moved into the publish
   * (or unpublish) dir. Metadata and formats are merged into what an earlier
   * import brought; `published` and `protected` are decided by the importer.
   */
  RecordingImported: z.object({
    recordId,
    meetingId,
    tenantId,
    name: z.string().max(LIMITS.recordingName),
    published: z.boolean(),
    protected: z.boolean(),
    state: z.string().min(1).max(32).nullable(),
    startTime: epochMs,
    endTime: epochMs,
    participants: count.nullable(),
    metadata,
    formats: z.array(PlaybackFormatSchema).min(1).max(LIMITS.formats),
    /** the tarball it came from, for the audit trail */
    source: z.string().max(1024),
  }),
  /**
   * A recording as another balancer's index held it (`scalelite migrate:scalelite`): the
   * whole recording, replacing whatever this index had, deleted ones (no formats) included.
   * Its files stay where that balancer's importer put them.
   */
  RecordingMigrated: z.object({
    recordId,
    meetingId,
    tenantId,
    name: z.string().max(LIMITS.recordingName),
    published: z.boolean(),
    protected: z.boolean(),
    state: z.string().min(1).max(32).nullable(),
    startTime: epochMs,
    endTime: epochMs,
    participants: count.nullable(),
    /** published was changed through that balancer's API: a later import keeps it */
    publishUpdated: z.boolean(),
    metadata,
    formats: z.array(PlaybackFormatSchema).max(LIMITS.formats),
    /** where it came from, e.g. `scalelite postgres://db/scalelite` (no password) */
    source: z.string().max(1024),
  }),
  RecordingImportFailed: z.object({ source: z.string().max(1024), reason: z.string().max(2000), movedTo: z.string().max(2048).nullable() }),
  RecordingPublished: z.object({ recordId }),
  RecordingUnpublished: z.object({ recordId }),
  /** updateRecordings: metadata set and removed (keys lowercased), and protection. */
  RecordingUpdated: z.object({
    recordId,
    set: metadata,
    removed: z.array(metadataKey).max(LIMITS.metadataEntries),
    protected: z.boolean().optional(),
  }),
  /**
   * Files, metadata and formats are gone; the recording is kept as `deleted`, as in Scalelite.
   * `reason` says why when it was not an LMS's deleteRecordings (a purge, the retention policy).
   */
  RecordingDeleted: z.object({ recordId, reason: z.string().min(1).max(200).optional() }),
  /** recordings:addToTenant: every recording without a tenant-id metadatum gets this one. */
  RecordingsAssignedToTenant: z.object({ tenantId: z.string().min(1).max(255) }),
  RecordingReadyNotified: z.object({
    recordId,
    meetingId,
    url: z.string().max(LIMITS.url),
    outcome: z.enum(RECORDING_READY_OUTCOMES),
    status: z.number().int().min(0).max(999).nullable(),
    attempts: z.number().int().positive().max(MAX_INT4),
  }),
  /**
   * A projector found its store had lost what it held (emptied, restored from an older
   * copy) or held another log's state, and rebuilt it from the log by itself.
   */
  ReadModelRebuilt: z.object({
    projection: z.string().min(1).max(64),
    reason: z.enum(['lost', 'foreign']),
    /** where the store said it was when this was found (-1: empty) */
    found: z.number().int().min(-1),
    /** what this projector had applied */
    expected: z.number().int().min(-1),
    head: z.number().int().min(-1),
  }),
  /**
   * A record the log holds that this build cannot read: written by a newer version, or
   * damaged. Made on read, never appended: it keeps the record's place in the order, no
   * read model applies it, and the history shows it, so one bad record stops nothing.
   */
  EventUnreadable: z.object({ reason: z.string().max(2000), type: z.string().max(200).nullable() }),
} as const;

/** Types that only reading makes: a decision can never append one. */
const READ_ONLY_TYPES: ReadonlySet<string> = new Set(['EventUnreadable']);

export type EventType = keyof typeof eventSchemas;
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;

/** The current version of each event type: what is written today. */
export const currentVersion: Record<EventType, number> = Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])) as Record<EventType, number>;

/** upcasters[type][v] turns the data of version v into version v+1. */
export const upcasters: Partial<Record<EventType, Record<number, (data: unknown) => unknown>>> = {};

type EnvelopeFields = { id: string; version: number; at: string; actor: Actor; correlationId?: string };
export type DomainEvent = { [T in EventType]: EnvelopeFields & { type: T; data: EventData<T> } }[EventType];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;
/** An event before it has an id, a time and an actor: what a decision returns. */
export type EventDraft = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

export function draft<T extends EventType>(type: T, data: EventData<T>): EventDraft {
  return { type, data } as EventDraft;
}

/** A stored event: its offset is its position in the one total order of the log. */
export interface StoredEvent {
  offset: number;
  event: DomainEvent;
}

export class InvalidEventError extends Error {}

const oneLine = (error: z.ZodError): string => z.prettifyError(error).replace(/\s*\n\s*/g, ' ');

function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(eventSchemas, type);
}

/** Validate an event, upcasting old versions; throws InvalidEventError. */
function validate(raw: unknown): DomainEvent {
  const envelope = EnvelopeSchema.safeParse(raw);
  if (!envelope.success) throw new InvalidEventError(`invalid event envelope: ${oneLine(envelope.error)}`);
  const { type } = envelope.data;
  if (!isEventType(type)) throw new InvalidEventError(`unknown event type ${type.slice(0, 200)}`);
  let { version } = envelope.data;
  let data = envelope.data.data;
  const latest = currentVersion[type];
  if (version > latest) throw new InvalidEventError(`${type} v${version} is newer than this build knows (v${latest})`);
  while (version < latest) {
    const up = upcasters[type]?.[version];
    if (!up) throw new InvalidEventError(`no upcaster for ${type} v${version}`);
    data = up(data);
    version += 1;
  }
  const parsed = eventSchemas[type].safeParse(data);
  if (!parsed.success) throw new InvalidEventError(`invalid ${type}: ${oneLine(parsed.error)}`);
  return { ...envelope.data, version, data: parsed.data } as DomainEvent;
}

/**
 * An event as the log gives it back. Characters no store can hold (storable.ts) are
 * replaced first: a log written before they were refused still projects everywhere.
 */
export function parseEvent(raw: unknown): DomainEvent {
  return validate(sanitizeStrings(raw));
}

/**
 * An event about to be appended: valid, of a type decisions may write, and holding
 * only what every store can keep (else an InvalidEventError naming the field).
 */
export function checkEvent(raw: unknown): DomainEvent {
  const event = validate(raw);
  if (READ_ONLY_TYPES.has(event.type)) throw new InvalidEventError(`${event.type} is never appended`);
  const bad = findUnstorable(event);
  if (bad) throw new InvalidEventError(`${event.type}: ${bad.path} ${bad.problem}, which no store can keep`);
  return event;
}

/**
 * Whether a draft built from what a BBB server said would pass checkEvent: a decision
 * drops such a draft instead of failing with the whole batch it belongs to.
 */
export function isAppendable(candidate: EventDraft): boolean {
  return eventSchemas[candidate.type].safeParse(candidate.data).success && findUnstorable(candidate.data) === null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The event at `offset`, whatever the record holds: what cannot be read becomes
 * EventUnreadable (with the reason), so it stops no reader. Used by the log adapters.
 */
export function readEvent(raw: unknown, offset: number): DomainEvent {
  try {
    return parseEvent(raw);
  } catch (err) {
    const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const id = typeof r.id === 'string' && UUID.test(r.id) ? r.id : `00000000-0000-4000-8000-${Math.max(0, offset).toString(16).padStart(12, '0').slice(-12)}`;
    const at = typeof r.at === 'string' && !Number.isNaN(Date.parse(r.at)) ? new Date(r.at).toISOString() : new Date(0).toISOString();
    const reason = err instanceof Error ? err.message : String(err);
    return {
      id,
      type: 'EventUnreadable',
      version: 1,
      at,
      actor: systemActor,
      data: { reason: sanitizeStrings(reason).slice(0, 2000), type: typeof r.type === 'string' ? sanitizeStrings(r.type).slice(0, 200) : null },
    };
  }
}

/** The subjects an event is about: used as the Kafka key and for the history indexes. */
export interface Subjects {
  serverId?: string;
  meetingId?: string;
  tenantId?: string;
  recordId?: string;
}

export function subjectsOf(event: EventDraft | DomainEvent): Subjects {
  const data = event.data as Record<string, unknown>;
  const subjects: Subjects = {};
  if (typeof data.serverId === 'string') subjects.serverId = data.serverId;
  if (typeof data.meetingId === 'string') subjects.meetingId = data.meetingId;
  if (typeof data.tenantId === 'string') subjects.tenantId = data.tenantId;
  if (typeof data.recordId === 'string') subjects.recordId = data.recordId;
  return subjects;
}

/** The key that orders an event with the others about the same thing. */
export function subjectKey(event: EventDraft | DomainEvent): string {
  const s = subjectsOf(event);
  if (s.recordId) return `recording:${s.recordId}`;
  if (s.meetingId) return `meeting:${s.meetingId}`;
  if (s.serverId) return `server:${s.serverId}`;
  if (s.tenantId) return `tenant:${s.tenantId}`;
  return 'pool';
}

export function stamp(drafts: EventDraft[], actor: Actor, now: Date, newId: () => string, correlationId?: string): DomainEvent[] {
  const at = now.toISOString();
  return drafts.map(
    (d) =>
      ({
        id: newId(),
        type: d.type,
        version: currentVersion[d.type],
        at,
        actor,
        ...(correlationId ? { correlationId } : {}),
        data: d.data,
      }) as DomainEvent,
  );
}
