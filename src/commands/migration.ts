import { z } from 'zod';
import { draft, EventDraft, eventSchemas, LIMITS, LRS_FIELDS } from '../events/catalog';
import { Meeting, Server, ServerState, Tenant, TenantSetting, tenantNameKey } from '../projections/pool';
import { Recording, TENANT_METADATUM } from '../recordings/model';
import { MAX_INT4 } from '../events/storable';
import { Decided } from './decision';
import { splitSecrets } from './tenants';

/*
 * `scalelite migrate:scalelite`: the decisions. The CLI reads a live Scalelite
 * (its Redis and PostgreSQL, docs/scalelite-behaviour.md §8), turns what it finds
 * into the batches below and sends them to the admin API; each batch is decided
 * here against the read model as it is now, so a second run finds everything in
 * place and appends nothing, and a run killed half way resumes where it stopped.
 *
 * Nothing here is refused as a whole: what this balancer cannot hold is skipped
 * with the reason, and what an operator must look at is marked `attention`.
 */

const text = z.string().max(100_000);
const nullableText = text.nullable();
const int = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A server as Scalelite keeps it (`server:<id>` and the load sets), read without judging. */
export const ScaleliteServerSchema = z.object({
  id: text,
  url: text,
  secret: text,
  tag: nullableText,
  /** as stored (a decimal string), null when unset */
  loadMultiplier: nullableText,
  /** the `state` field, or enabled/disabled from `server_enabled` for servers never transitioned */
  state: z.enum(['enabled', 'cordoned', 'disabled']),
  online: z.boolean(),
  /** the score in server_load or cordoned_server_load */
  load: z.number().finite().nullable(),
  meetings: int,
  users: int,
  largestMeeting: int,
  videos: int,
  bbbVersion: text,
});

/** A routed meeting (`meeting:<id>`); serverId null when the id is in `meetings` but its hash expired. */
export const ScaleliteMeetingSchema = z.object({
  meetingId: text,
  serverId: nullableText,
  voiceBridge: nullableText,
  moderatorPassword: nullableText,
  tenantId: nullableText,
});

export const ScaleliteTenantSchema = z.object({
  id: text,
  name: text,
  /** `a:b:c` */
  secrets: text,
  /** whether `tenant_name:<name>` points at this tenant (Scalelite lets a later tenant take a name) */
  holdsName: z.boolean(),
  lrs: z.record(z.enum(LRS_FIELDS as [string, ...string[]]), nullableText),
});

export const ScaleliteTenantSettingSchema = z.object({ id: text, tenantId: text, param: text, value: text, override: z.boolean() });

const ThumbnailWire = z.object({ url: text, width: z.number().int().nullable(), height: z.number().int().nullable(), alt: nullableText });
const FormatWire = z.object({ format: text, url: text, length: z.number().int().nullable(), processingTime: z.number().int().nullable(), thumbnails: z.array(ThumbnailWire) });

/** A row of `recordings` with its metadata, playback formats and thumbnails (in sequence order). */
export const ScaleliteRecordingSchema = z.object({
  recordId: text,
  meetingId: nullableText,
  name: nullableText,
  published: z.boolean(),
  protected: z.boolean(),
  publishUpdated: z.boolean(),
  state: nullableText,
  startTime: z.number().int().nullable(),
  endTime: z.number().int().nullable(),
  participants: z.number().int().nullable(),
  metadata: z.record(z.string(), text),
  formats: z.array(FormatWire),
});

export type ScaleliteServer = z.infer<typeof ScaleliteServerSchema>;
export type ScaleliteMeeting = z.infer<typeof ScaleliteMeetingSchema>;
export type ScaleliteTenant = z.infer<typeof ScaleliteTenantSchema>;
export type ScaleliteTenantSetting = z.infer<typeof ScaleliteTenantSettingSchema>;
export type ScaleliteRecording = z.infer<typeof ScaleliteRecordingSchema>;

/** One request's worth of Scalelite's Redis state; any part may be empty. */
export const PoolBatchSchema = z.object({
  servers: z.array(ScaleliteServerSchema).max(10_000).default([]),
  tenants: z.array(ScaleliteTenantSchema).max(10_000).default([]),
  tenantSettings: z.array(ScaleliteTenantSettingSchema).max(50_000).default([]),
  meetings: z.array(ScaleliteMeetingSchema).max(200_000).default([]),
  /**
   * A dry run's later batches: the servers and tenants its first batch would have brought,
   * taken as present (a real run finds them in the read model).
   */
  assume: z.object({ servers: z.array(text).max(10_000), tenants: z.array(text).max(10_000) }).optional(),
});
export type PoolBatch = z.infer<typeof PoolBatchSchema>;
export const RecordingBatchSchema = z.array(ScaleliteRecordingSchema).max(5_000);

export type MigratedKind = 'server' | 'tenant' | 'tenantSetting' | 'meeting' | 'recording';
/**
 * imported: new here; updated: here already, changed to match; unchanged: here as it is there;
 * skipped: left out, with why; attention: left out or changed, and an operator must look.
 */
export type MigrationOutcome = 'imported' | 'updated' | 'unchanged' | 'skipped' | 'attention';
export interface MigrationItem {
  kind: MigratedKind;
  id: string;
  outcome: MigrationOutcome;
  reason?: string;
}
/** What a batch decided, item by item. */
export interface MigrationReport {
  items: MigrationItem[];
}

export interface PoolMigrationReport extends MigrationReport {
  /** the servers and tenants present once the batch's events are applied */
  present: { servers: string[]; tenants: string[] };
}

/** A batch being decided: the events so far, and what became of each item. */
interface Migrating {
  events: EventDraft[];
  items: MigrationItem[];
}

/** The pool as the decisions read it. */
export interface PoolMigrationView {
  servers: Map<string, Server>;
  meetings: Map<string, Meeting>;
  tenants: Map<string, Tenant>;
  tenantSettings: Map<string, TenantSetting>;
}

const shortId = (id: string) => (id.length > 80 ? `${id.slice(0, 77)}...` : id);
const isHttpUrl = (u: string): boolean => {
  try {
    const url = new URL(u);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

/** Scalelite keeps a multiplier as a decimal string; null means 1.0 (§2.1). */
function multiplierOf(raw: string | null): { value: number; problem?: string } {
  if (raw === null || raw.trim() === '') return { value: 1 };
  const n = Number(raw.trim());
  if (Number.isFinite(n) && n > 0) return { value: n };
  return { value: 1, problem: `load_multiplier=${raw.slice(0, 40)} is not a number greater than 0 here: imported as 1.0, set it with servers:loadMultiplier` };
}

function stateEvent(serverId: string, state: ServerState): EventDraft {
  if (state === 'enabled') return draft('ServerEnabled', { serverId });
  if (state === 'cordoned') return draft('ServerCordoned', { serverId });
  return draft('ServerDisabled', { serverId, reason: 'admin' });
}

function decideServerMigration(s: ScaleliteServer, current: Server | undefined, out: Migrating): boolean {
  const item = (outcome: MigrationOutcome, reason?: string) => out.items.push({ kind: 'server', id: shortId(s.id), outcome, ...(reason ? { reason } : {}) });
  if (s.id === '' || s.id.length > 255) return (item('skipped', 'the id must be 1 to 255 characters'), false);
  if (!isHttpUrl(s.url) || s.url.length > LIMITS.url)
    return (item('attention', `url ${s.url.slice(0, 80)} is not an http(s) URL of at most ${LIMITS.url} characters: add it by hand`), false);
  if (s.secret === '' || s.secret.length > LIMITS.secret) return (item('attention', `the secret must be 1 to ${LIMITS.secret} characters: add it by hand`), false);
  const tag = s.tag === null || s.tag === '' ? null : s.tag;
  if (tag !== null && tag.length > LIMITS.tag) return (item('attention', `the tag is longer than ${LIMITS.tag} characters: add it by hand`), false);
  const multiplier = multiplierOf(s.loadMultiplier);
  if (!current) {
    out.events.push(draft('ServerAdded', { serverId: s.id, url: s.url, secret: s.secret, loadMultiplier: multiplier.value, tag }));
    if (s.state !== 'disabled') out.events.push(stateEvent(s.id, s.state));
    // What Scalelite's poller saw last; ours measures again at its first pass.
    if (s.online) {
      out.events.push(draft('ServerWentOnline', { serverId: s.id }));
      out.events.push(
        draft('ServerPolled', {
          serverId: s.id,
          load: s.load !== null && Number.isFinite(s.load) && s.load >= 0 ? s.load : 0,
          meetings: Math.min(s.meetings, MAX_INT4),
          users: Math.min(s.users, MAX_INT4),
          largestMeeting: Math.min(s.largestMeeting, MAX_INT4),
          videos: Math.min(s.videos, MAX_INT4),
          bbbVersion: s.bbbVersion.slice(0, 100),
        }),
      );
    }
    item(multiplier.problem ? 'attention' : 'imported', multiplier.problem);
    return true;
  }
  // Here already: what an admin sets is made the same; what polls observe is this balancer's own now.
  const changes = {
    ...(current.url !== s.url ? { url: s.url } : {}),
    ...(current.secret !== s.secret ? { secret: s.secret } : {}),
    ...(current.loadMultiplier !== multiplier.value ? { loadMultiplier: multiplier.value } : {}),
    ...(current.tag !== tag ? { tag } : {}),
  };
  const changed = Object.keys(changes).length > 0 || current.state !== s.state;
  if (Object.keys(changes).length > 0) out.events.push(draft('ServerUpdated', { serverId: s.id, ...changes }));
  if (current.state !== s.state) out.events.push(stateEvent(s.id, s.state));
  // Scalelite's multiplier is not this one's until an admin sets it: said on every run.
  if (multiplier.problem) item('attention', multiplier.problem);
  else item(changed ? 'updated' : 'unchanged');
  return true;
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function lrsOf(t: ScaleliteTenant): Record<string, string | null> {
  return Object.fromEntries(LRS_FIELDS.map((f) => [f, t.lrs[f] === undefined || t.lrs[f] === '' ? null : t.lrs[f]]));
}

function decideTenantMigration(t: ScaleliteTenant, view: PoolMigrationView, names: Map<string, string>, out: Migrating): boolean {
  const item = (outcome: MigrationOutcome, reason?: string) => out.items.push({ kind: 'tenant', id: shortId(t.id), outcome, ...(reason ? { reason } : {}) });
  if (t.id === '' || t.id.length > 255) return (item('skipped', 'the id must be 1 to 255 characters'), false);
  if (!DNS_LABEL.test(t.name)) {
    return (item('attention', `name '${t.name.slice(0, 80)}' is not a DNS label (here a tenant's name is the first label of its host): add it by hand under a valid name`), false);
  }
  if (!t.holdsName) return (item('attention', `name ${t.name} resolves to another tenant in Scalelite, so no host reaches this one: not imported`), false);
  const holder = names.get(tenantNameKey(t.name));
  if (holder !== undefined && holder !== t.id) return (item('attention', `another tenant here (id=${holder}) is named ${t.name}: not imported`), false);
  const secrets = splitSecrets(t.secrets);
  if (secrets.length === 0 || secrets.length > 20 || secrets.some((s) => s.length > LIMITS.secret)) {
    return (item('attention', `its secrets must be 1 to 20 of at most ${LIMITS.secret} characters: add it by hand`), false);
  }
  const lrs = lrsOf(t);
  const badLrs = LRS_FIELDS.find(
    (f) => (lrs[f]?.length ?? 0) > (f.endsWith('Url') || f === 'lrsEndpoint' ? LIMITS.url : f.endsWith('Password') || f.endsWith('Secret') ? LIMITS.secret : 255),
  );
  if (badLrs) return (item('attention', `${badLrs} is too long for this balancer: add the tenant by hand`), false);
  const current = view.tenants.get(t.id);
  names.set(tenantNameKey(t.name), t.id);
  if (!current) {
    out.events.push(draft('TenantAdded', { tenantId: t.id, name: t.name, secrets, ...lrs }));
    item('imported');
    return true;
  }
  const changes: Record<string, unknown> = {};
  if (current.name !== t.name) changes.name = t.name;
  if (current.secrets.join(':') !== secrets.join(':')) changes.secrets = secrets;
  for (const f of LRS_FIELDS) if (current[f] !== lrs[f]) changes[f] = lrs[f];
  if (Object.keys(changes).length === 0) return (item('unchanged'), true);
  out.events.push(draft('TenantUpdated', { tenantId: t.id, ...changes } as never));
  item('updated');
  return true;
}

function decideSettingMigration(s: ScaleliteTenantSetting, view: PoolMigrationView, tenants: Set<string>, out: Migrating): void {
  const item = (outcome: MigrationOutcome, reason?: string): void => void out.items.push({ kind: 'tenantSetting', id: shortId(s.id), outcome, ...(reason ? { reason } : {}) });
  if (s.id === '' || s.id.length > 255) return item('skipped', 'the id must be 1 to 255 characters');
  // Scalelite never checked that the tenant exists (§6 tenantSettings:add): such a setting applied to nothing.
  if (!tenants.has(s.tenantId)) return item('skipped', `its tenant (id=${shortId(s.tenantId)}) is not here (not in Scalelite, or not imported: see the tenants)`);
  if (s.param === '' || s.param.length > 255) return item('attention', 'the param must be 1 to 255 characters: add it by hand');
  if (s.value.length > LIMITS.metadataValue) return item('attention', `the value is longer than ${LIMITS.metadataValue} characters: add it by hand`);
  const current = view.tenantSettings.get(s.id);
  if (current && current.tenantId === s.tenantId && current.param === s.param && current.value === s.value && current.override === s.override) return item('unchanged');
  if (current) out.events.push(draft('TenantSettingRemoved', { settingId: s.id, tenantId: current.tenantId }));
  out.events.push(draft('TenantSettingAdded', { settingId: s.id, tenantId: s.tenantId, param: s.param, value: s.value, override: s.override }));
  item(current ? 'updated' : 'imported');
}

function decideMeetingMigration(m: ScaleliteMeeting, servers: Set<string>, view: PoolMigrationView, bridges: Map<string, string>, out: Migrating): void {
  const item = (outcome: MigrationOutcome, reason?: string): void => void out.items.push({ kind: 'meeting', id: shortId(m.meetingId), outcome, ...(reason ? { reason } : {}) });
  if (m.meetingId === '' || m.meetingId.length > LIMITS.meetingId) return item('skipped', `the meetingID must be 1 to ${LIMITS.meetingId} characters`);
  if (m.serverId === null) return item('skipped', 'listed in `meetings` but its meeting hash expired (DEFAULT_MEETING_TTL): not running any more');
  if (!servers.has(m.serverId)) return item('skipped', `its server (id=${shortId(m.serverId)}) is not in the pool: a stale route`);
  if (m.voiceBridge === null || !/^\d{1,20}$/.test(m.voiceBridge))
    return item('attention', `voice bridge '${String(m.voiceBridge).slice(0, 30)}' is not a number: the meeting keeps running, re-create it to route it here`);
  if ((m.moderatorPassword?.length ?? 0) > LIMITS.moderatorPassword) return item('attention', 'the moderator password is too long for this balancer');
  const holder = bridges.get(m.voiceBridge);
  if (holder !== undefined && holder !== m.meetingId) return item('attention', `voice bridge ${m.voiceBridge} is held here by meeting ${shortId(holder)}: not routed`);
  const tenantId = m.tenantId === null || m.tenantId === '' ? null : m.tenantId;
  const current = view.meetings.get(m.meetingId);
  if (current && current.serverId === m.serverId && current.voiceBridge === m.voiceBridge && current.tenantId === tenantId) return item('unchanged');
  out.events.push(
    draft('MeetingPlaced', {
      meetingId: m.meetingId,
      serverId: m.serverId,
      tenantId,
      voiceBridge: m.voiceBridge,
      moderatorPassword: m.moderatorPassword === '' ? null : m.moderatorPassword,
      // Already counted by the load Scalelite measured (and by our first poll).
      loadEstimate: 0,
      tag: null,
      ...(current && current.serverId !== m.serverId ? { previousServerId: current.serverId } : {}),
      considered: [],
    }),
  );
  if (current && current.voiceBridge !== m.voiceBridge) bridges.delete(current.voiceBridge);
  bridges.set(m.voiceBridge, m.meetingId);
  item(current ? 'updated' : 'imported');
}

/**
 * One batch of Scalelite's Redis state against the pool: servers first, then tenants
 * (the name holders first), their settings, and the meeting routes, which need both.
 */
export function decidePoolMigration(batch: PoolBatch, view: PoolMigrationView): Decided<PoolMigrationReport> {
  const out: Migrating = { events: [], items: [] };
  const servers = new Set([...view.servers.keys(), ...(batch.assume?.servers ?? [])]);
  for (const s of batch.servers) if (decideServerMigration(s, view.servers.get(s.id), out)) servers.add(s.id);

  const names = new Map([...view.tenants.values()].map((t) => [tenantNameKey(t.name), t.id]));
  const tenants = new Set([...view.tenants.keys(), ...(batch.assume?.tenants ?? [])]);
  const ordered = [...batch.tenants].sort((a, b) => Number(b.holdsName) - Number(a.holdsName));
  for (const t of ordered) if (decideTenantMigration(t, view, names, out)) tenants.add(t.id);
  for (const s of batch.tenantSettings) decideSettingMigration(s, view, tenants, out);

  const bridges = new Map([...view.meetings.values()].map((m) => [m.voiceBridge, m.meetingId]));
  for (const m of batch.meetings) decideMeetingMigration(m, servers, view, bridges, out);
  return { events: out.events, result: { items: out.items, present: { servers: [...servers], tenants: [...tenants] } } };
}

/** A value with its object keys sorted: two recordings compare equal whatever order their maps were built in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

type MigratedData = z.infer<(typeof eventSchemas)['RecordingMigrated']>;

/** The fields of a recording both sides keep, in one shape. */
function comparable(r: Omit<MigratedData, 'tenantId' | 'source'> | Recording): string {
  return JSON.stringify(
    canonical({
      meetingId: r.meetingId,
      name: r.name,
      published: r.published,
      protected: r.protected,
      state: r.state,
      startTime: r.startTime,
      endTime: r.endTime,
      participants: r.participants,
      publishUpdated: r.publishUpdated,
      metadata: r.metadata,
      formats: [...r.formats].sort((a, b) => (a.format < b.format ? -1 : a.format > b.format ? 1 : 0)),
    }),
  );
}

/** The one line of a zod refusal an operator can act on. */
const firstProblem = (error: z.ZodError): string => {
  const issue = error.issues[0];
  return `${issue.path.join('.') || 'recording'}: ${issue.message}`;
};

/**
 * A batch of Scalelite's recordings index against ours: each recording is made what
 * Scalelite says it is, in one RecordingMigrated, unless it is that already.
 */
export interface MigrateRecordings {
  recordings: ScaleliteRecording[];
  /** where they come from (`scalelite <host>`), kept in each event */
  source: string;
}

/** `existing`: ours, of the recordings the batch names. */
export function decideRecordingsMigration(command: MigrateRecordings, existing: Map<string, Recording>): Decided<MigrationReport> {
  const { recordings: batch, source } = command;
  const out: Migrating = { events: [], items: [] };
  const seen = new Set<string>();
  for (const r of batch) {
    const item = (outcome: MigrationOutcome, reason?: string) => out.items.push({ kind: 'recording', id: shortId(r.recordId), outcome, ...(reason ? { reason } : {}) });
    if (seen.has(r.recordId)) {
      item('skipped', 'listed twice in this batch');
      continue;
    }
    seen.add(r.recordId);
    if (!r.meetingId) {
      item('skipped', 'it has no meeting_id: no API call can find it');
      continue;
    }
    const data = {
      recordId: r.recordId,
      meetingId: r.meetingId,
      tenantId: r.metadata[TENANT_METADATUM] || null,
      name: r.name ?? '',
      published: r.published,
      protected: r.protected,
      state: r.state === '' ? null : r.state,
      startTime: r.startTime !== null && r.startTime >= 0 ? r.startTime : null,
      endTime: r.endTime !== null && r.endTime >= 0 ? r.endTime : null,
      participants: r.participants !== null && r.participants >= 0 ? r.participants : null,
      publishUpdated: r.publishUpdated,
      metadata: r.metadata,
      formats: r.formats.map((f) => ({
        format: f.format,
        url: f.url,
        length: f.length !== null && f.length >= 0 ? f.length : 0,
        processingTime: f.processingTime !== null && f.processingTime >= 0 ? f.processingTime : null,
        thumbnails: f.thumbnails.map((t) => ({
          url: t.url,
          width: t.width !== null && t.width >= 0 ? t.width : null,
          height: t.height !== null && t.height >= 0 ? t.height : null,
          alt: t.alt,
        })),
      })),
      source: source.slice(0, 1024),
    };
    const checked = eventSchemas.RecordingMigrated.safeParse(data);
    if (!checked.success) {
      item('attention', `this balancer cannot hold it (${firstProblem(checked.error)}): fix the row in Scalelite and run again`);
      continue;
    }
    const current = existing.get(r.recordId);
    if (current && comparable(current) === comparable(checked.data)) {
      item('unchanged');
      continue;
    }
    out.events.push(draft('RecordingMigrated', checked.data));
    item(current ? 'updated' : 'imported');
  }
  return { events: out.events, result: { items: out.items } };
}

export type MigrationCounts = Record<MigratedKind, Record<MigrationOutcome, number>>;

export const emptyCounts = (): MigrationCounts =>
  Object.fromEntries(
    (['server', 'tenant', 'tenantSetting', 'meeting', 'recording'] as const).map((k) => [k, { imported: 0, updated: 0, unchanged: 0, skipped: 0, attention: 0 }]),
  ) as MigrationCounts;

export function countItems(items: MigrationItem[], into: MigrationCounts = emptyCounts()): MigrationCounts {
  for (const i of items) into[i.kind][i.outcome] += 1;
  return into;
}
