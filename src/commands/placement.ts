import { createHash } from 'node:crypto';
import { draft, LIMITS } from '../events/catalog';
import { isJoinable, isSelectable, Meeting, Server } from '../projections/pool';
import { Decision } from './decision';
import { DomainError, domainError } from './errors';

/*
 * Where a meeting goes. Scalelite's rules (least loaded enabled+online server,
 * server tags, idempotent re-create) with our fixes: a meeting whose server is
 * offline, disabled or removed is placed again, and a new meeting counts as
 * LOAD_MIN_USER_COUNT × multiplier until the next poll measures it.
 */

export interface TagRequest {
  tags: string[];
  required: boolean;
  /** the tag parameter as given, without the trailing '!', for error messages */
  display: string;
}

/** Parse `meta_server-tag`: `a;b` tries tagged servers then untagged ones; `a!` insists; `none` means untagged. */
export function parseTag(param: string | null | undefined): TagRequest {
  const raw = (param ?? '').trim();
  if (raw === '') return { tags: [], required: false, display: '' };
  const required = raw.endsWith('!');
  const body = (required ? raw.slice(0, -1) : raw).trim();
  const tags = body
    .split(';')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  // A lone '!' asks for nothing.
  return { tags, required: required && tags.length > 0, display: body };
}

export function byLoad(a: Server, b: Server): number {
  const la = a.load ?? 0;
  const lb = b.load ?? 0;
  if (la !== lb) return la - lb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Choose the least loaded selectable server for a tag request. */
export function chooseServer(servers: Server[], tag: TagRequest): { server: Server; considered: Server[] } | DomainError {
  const pool = servers.filter(isSelectable).sort(byLoad);
  if (pool.length === 0) return domainError('noServerAvailable', 'Could not find any available servers.');
  let candidates: Server[] = [];
  if (tag.tags.length > 0) {
    candidates = pool.filter((s) => tag.tags.some((t) => (t === 'none' ? s.tag === null : s.tag === t)));
  }
  if (candidates.length === 0) {
    if (tag.required) return domainError('serverTagUnavailable', `There is no available server with the required tag=${tag.display}.`);
    // Scalelite never puts an untagged request on a tagged server.
    candidates = pool.filter((s) => s.tag === null);
  }
  if (candidates.length === 0) return domainError('noServerAvailable', 'Could not find any available servers.');
  return { server: candidates[0], considered: candidates.slice(0, 10) };
}

export interface VoiceBridgeSettings {
  length: number;
  useExternal: boolean;
}

const VOICE_BRIDGE_TRIES = 10;

/**
 * The voice bridge numbers a meeting may get, in order of preference: the
 * client's own (when allowed), then numbers derived from the meetingID so that
 * the same meeting asks for the same numbers on every replica.
 */
export function voiceBridgeCandidates(meetingId: string, requested: string | null, settings: VoiceBridgeSettings): string[] {
  const derived: string[] = [];
  for (let i = 0; derived.length < VOICE_BRIDGE_TRIES && i < 4 * VOICE_BRIDGE_TRIES; i++) {
    const digest = createHash('sha256').update(`${meetingId}\u0000${i}`).digest();
    let n = String((digest[0] % 9) + 1);
    for (let d = 1; n.length < settings.length; d++) n += String(digest[d % digest.length] % 10);
    // 99999 is reserved by BBB's FreeSWITCH dial plan (echo test).
    if (n !== '99999' && !derived.includes(n)) derived.push(n);
  }
  const external = settings.useExternal && requested && /^\d{1,20}$/.test(requested) && requested !== '99999' ? [requested] : [];
  return [...external, ...derived.filter((n) => !external.includes(n))];
}

export interface PlacementRequest {
  meetingId: string;
  tenantId: string | null;
  /** the effective meta_server-tag */
  tag: string | null;
  /** the request's moderatorPW, if it gave one */
  moderatorPassword: string | null;
  /** used when neither the request nor an earlier placement has a moderator password */
  generatedPassword: string;
  /** the client's voiceBridge param */
  requestedVoiceBridge: string | null;
}

export interface PlacementView {
  existing: Meeting | null;
  /** the existing meeting's server, null when it was removed */
  existingServer: Server | null;
  /**
   * For an existing meeting on a cordoned server: whether BBB still runs it.
   * A cordoned server's meeting that ended is placed anew (Scalelite #1260).
   */
  existingRunning?: boolean;
  servers: Server[];
  voiceBridgeCandidates: string[];
  voiceBridgesTaken: Set<string>;
}

export interface PlacementSettings {
  loadMinUserCount: number;
}

/** Where the meeting runs: on its route, reused, or where it was just placed (MeetingPlaced). */
export type Placement = { kind: 'existing'; meeting: Meeting; server: Server } | { kind: 'placed'; meeting: Omit<Meeting, 'placedAt'>; server: Server };

/** Why an existing route cannot be reused, or null when it can. */
export function staleRouteReason(view: Pick<PlacementView, 'existing' | 'existingServer' | 'existingRunning'>): string | null {
  if (!view.existing) return null;
  const server = view.existingServer;
  if (!server) return 'server removed';
  if (!server.online) return 'server offline';
  if (server.state === 'disabled') return 'server disabled';
  if (server.state === 'cordoned' && view.existingRunning === false) return 'meeting ended on cordoned server';
  return null;
}

/**
 * Whether the meeting's route is reused as it is (or refused, for another tenant's meeting):
 * then the decision reads no server of the pool, and the caller need not load them.
 */
export function routeDecides(view: Pick<PlacementView, 'existing' | 'existingServer' | 'existingRunning'>): boolean {
  return view.existing !== null && view.existingServer !== null && staleRouteReason(view) === null;
}

export function decidePlacement(req: PlacementRequest, view: PlacementView, settings: PlacementSettings): Decision<Placement> {
  if (req.meetingId.length > LIMITS.meetingId) return domainError('invalidRequest', `meetingID is too long (at most ${LIMITS.meetingId} characters)`);
  if ((req.moderatorPassword ?? '').length > LIMITS.moderatorPassword) {
    return domainError('invalidRequest', `moderatorPW is too long (at most ${LIMITS.moderatorPassword} characters)`);
  }
  if ((req.tag ?? '').length > LIMITS.tagParam) return domainError('invalidRequest', `meta_server-tag is too long (at most ${LIMITS.tagParam} characters)`);
  const existing = view.existing;
  if (existing && existing.tenantId !== req.tenantId) {
    return domainError('meetingOfOtherTenant', `Couldn't find Meeting with id=${req.meetingId} and tenant_id=${req.tenantId ?? ''}`);
  }
  if (existing && view.existingServer && routeDecides(view)) {
    return { events: [], result: { kind: 'existing', meeting: existing, server: view.existingServer } };
  }
  const chosen = chooseServer(view.servers, parseTag(req.tag));
  if ('error' in chosen) return chosen;
  const { server, considered } = chosen;
  // A meeting placed again keeps its voice bridge: dial-in users already know the number.
  const voiceBridge = existing?.voiceBridge ?? view.voiceBridgeCandidates.find((n) => !view.voiceBridgesTaken.has(n));
  if (!voiceBridge) return domainError('voiceBridgeUnavailable', 'Could not allocate a voice bridge for the meeting.');
  const loadEstimate = settings.loadMinUserCount * server.loadMultiplier;
  const moderatorPassword = req.moderatorPassword ?? existing?.moderatorPassword ?? req.generatedPassword;
  const meeting = {
    meetingId: req.meetingId,
    serverId: server.id,
    tenantId: req.tenantId,
    voiceBridge,
    moderatorPassword,
    loadEstimate,
  };
  return {
    events: [
      draft('MeetingPlaced', {
        ...meeting,
        tag: req.tag,
        ...(existing ? { previousServerId: existing.serverId } : {}),
        considered: considered.map((s) => ({ serverId: s.id, load: s.load ?? 0 })),
      }),
    ],
    result: { kind: 'placed', meeting, server },
  };
}

/** Whether a join may go to this meeting's server, and if not, why. */
export function joinTarget(server: Server | null): { ok: true; server: Server } | { ok: false } {
  return server && isJoinable(server) ? { ok: true, server } : { ok: false };
}
