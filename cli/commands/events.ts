import { Flags } from '@oclif/core';
import { EVENT_TYPES } from '../../src/events/catalog';
import { ActorSchema } from '../../src/events/envelope';
import { AdminCommand } from '../base';
import { table } from '../format';
import type { HistoryJson } from '../../src/api/views/history';

/** A short account of what an event says, beyond its type and subject. */
export function detail(e: HistoryJson): string {
  const d = e.data ?? {};
  // A parked event keeps its place in the history with the reason instead of its data.
  if (typeof d.parked === 'string') return `parked (not applied): ${d.parked}`;
  switch (e.type) {
    case 'MeetingPlaced':
      return `on ${d.serverId} (load estimate ${d.loadEstimate}${d.previousServerId ? `, moved from ${d.previousServerId}` : ''}${d.tag ? `, tag ${d.tag}` : ''})`;
    case 'MeetingEnded':
      return `reason ${d.reason}`;
    case 'MeetingAdopted':
      return `on ${d.serverId}: found running there without a route`;
    case 'ServerPolled':
      return `load ${d.load}, ${d.meetings} meetings, ${d.users} users${d.bbbVersion ? `, bbb ${d.bbbVersion}` : ''}`;
    case 'ServerWentOffline':
      return String(d.error ?? '');
    case 'ServerDisabled':
      return `reason ${d.reason}`;
    case 'ServerAdded':
      return `${d.url} (multiplier ${d.loadMultiplier}${d.tag ? `, tag ${d.tag}` : ''})`;
    case 'ServerUpdated':
      return Object.keys(d)
        .filter((k) => k !== 'serverId')
        .map((k) => `${k}=${k === 'secret' ? '[redacted]' : String(d[k])}`)
        .join(' ');
    case 'ServerPanicked':
      return `${d.meetingsCleared} meetings cleared${d.keepState ? ', state kept' : ''}`;
    case 'RecordingImported':
      return `${d.recordId} of ${d.meetingId} (${((d.formats as Array<{ format: string }>) ?? []).map((f) => f.format).join(', ')}), ${d.published ? 'published' : 'unpublished'}, from ${d.source}`;
    case 'RecordingMigrated':
      return `${d.recordId} of ${d.meetingId}, ${String(d.state ?? 'no state')}${d.protected ? ', protected' : ''}, from ${d.source}`;
    case 'RecordingImportFailed':
      return `${d.source}: ${d.reason}`;
    case 'RecordingPublished':
    case 'RecordingUnpublished':
      return String(d.recordId);
    case 'RecordingDeleted':
      return d.reason ? `${d.recordId} (${d.reason})` : String(d.recordId);
    case 'RecordingUpdated':
      return `${d.recordId}: ${[
        ...Object.keys((d.set as Record<string, string>) ?? {}).map((k) => `${k} set`),
        ...((d.removed as string[]) ?? []).map((k) => `${k} removed`),
        ...(d.protected === undefined ? [] : [d.protected ? 'protected' : 'unprotected']),
      ].join(', ')}`;
    case 'RecordingsAssignedToTenant':
      return `tenant ${d.tenantId}`;
    case 'RecordingReadyNotified':
      return `${d.recordId} → ${d.url}: ${d.outcome}${d.status ? ` (HTTP ${d.status})` : ''}, ${d.attempts} request(s)`;
    case 'MeetingCallbacksRegistered':
      return [d.recordingReadyUrl ? `recording ready → ${d.recordingReadyUrl}` : '', d.analyticsCallbackUrl ? `analytics → ${d.analyticsCallbackUrl}` : '']
        .filter(Boolean)
        .join(', ');
    case 'ReadModelRebuilt':
      return d.reason === 'lost'
        ? `the ${d.projection} read model held event ${d.found} of ${d.expected}: rebuilt from the log`
        : `the ${d.projection} read model held another log (event ${d.found}, log at ${d.head}): cleared and rebuilt`;
    case 'EventUnreadable':
      return `${d.type ?? 'a record'} this version cannot read: ${d.reason}`;
    default:
      return '';
  }
}

const FOLLOW_EVERY_MS = 1_000;

const ACTOR_KINDS: readonly string[] = ActorSchema.shape.kind.options;

/**
 * --type: the names as the catalogue spells them, matched in any case; or the
 * names it does not know (an unknown type would only ever match nothing).
 */
export function eventTypes(flag: string): { types: string[] } | { unknown: string[] } {
  const byLowerCase = new Map<string, string>(EVENT_TYPES.map((t) => [t.toLowerCase(), t]));
  const given = flag
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = given.filter((t) => !byLowerCase.has(t.toLowerCase()));
  return unknown.length > 0 ? { unknown } : { types: [...new Set(given.map((t) => byLowerCase.get(t.toLowerCase())!))] };
}

/**
 * --actor as the ACTOR column shows it (`admin:alice@host`) or the bare name
 * (`alice@host`). Only a known kind is split off: API actors' names hold colons
 * of their own (`bbb-api@::1`).
 */
export function actorFilter(flag: string): { kind: string | null; name: string } {
  const colon = flag.indexOf(':');
  const kind = flag.slice(0, colon);
  return colon > 0 && ACTOR_KINDS.includes(kind) ? { kind, name: flag.slice(colon + 1) } : { kind: null, name: flag };
}

const subject = (e: HistoryJson): string => (e.meeting_id ? `meeting ${e.meeting_id}` : e.server_id ? `server ${e.server_id}` : e.tenant_id ? `tenant ${e.tenant_id}` : '');
const columns = (e: HistoryJson): string[] => [e.at, `${e.actor.kind}:${e.actor.name}`, e.type, subject(e), detail(e)];
/** One event on one line, for --follow (a table cannot grow). */
const line = (e: HistoryJson): string => columns(e).filter(Boolean).join('  ');

export default class Events extends AdminCommand {
  static override summary = 'The audit history: who did what, when, to which server or meeting.';
  static override examples = [
    '<%= config.bin %> events --server bbb1 --since 2026-11-25T08:00:00Z',
    '<%= config.bin %> events --meeting math-101 --json',
    '<%= config.bin %> events --record 3b6f1c0e2d9a-1764000000000',
    '<%= config.bin %> events --type ServerWentOffline,ServerWentOnline --limit 20',
    '<%= config.bin %> events --actor admin:alice@lb1',
    '<%= config.bin %> events --follow --server bbb1',
  ];
  static override flags = {
    server: Flags.string({ description: 'only events about this server id' }),
    meeting: Flags.string({ description: 'only events about this meetingID' }),
    record: Flags.string({ description: 'only events about this recording (record id)' }),
    type: Flags.string({ description: 'only these event types, comma-separated, in any case (an unknown one is refused with the list)' }),
    actor: Flags.string({ description: 'only events by this actor, as the ACTOR column shows it (admin:alice@host) or by name alone' }),
    since: Flags.string({ description: 'from this time (ISO 8601)' }),
    until: Flags.string({ description: 'up to this time (ISO 8601)' }),
    limit: Flags.integer({ description: 'how many (newest first)', default: 50, min: 1, max: 10000 }),
    oldest: Flags.boolean({ description: 'oldest first' }),
    follow: Flags.boolean({ char: 'f', description: 'print the latest events, oldest first, then each new one as it happens, until interrupted' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Events);
    for (const name of ['since', 'until'] as const) {
      if (flags[name] !== undefined && Number.isNaN(Date.parse(flags[name]!))) this.error(`--${name} must be a time, e.g. 2026-11-25T10:00:00Z`, { exit: 1 });
    }
    let types: string | undefined;
    if (flags.type !== undefined) {
      const known = eventTypes(flags.type);
      if ('unknown' in known) {
        const names = known.unknown.map((t) => `'${t}'`).join(', ');
        this.error(`Unknown event type${known.unknown.length === 1 ? '' : 's'} ${names}. The event types are: ${[...EVENT_TYPES].sort().join(', ')}`, { exit: 1 });
      }
      types = known.types.join(',') || undefined;
    }
    const actor = flags.actor === undefined ? undefined : actorFilter(flags.actor);
    if (actor && actor.name === '') this.error(`--actor ${flags.actor} names no actor: give the name too, as the ACTOR column shows it (e.g. admin:alice@host)`, { exit: 1 });
    const filters = {
      server: flags.server,
      meeting: flags.meeting,
      record: flags.record,
      type: types,
      actor: actor?.name,
      actor_kind: actor?.kind ?? undefined,
      since: flags.since,
      until: flags.until,
    };
    const client = this.client(flags.balancer);
    if (flags.follow) {
      if (this.jsonEnabled()) this.error('--follow prints lines as events happen; it has no --json form (use `events --json --oldest` repeatedly with --since)', { exit: 1 });
      const latest = (await client.call<{ events: HistoryJson[] }>('getEvents', 'GET', { ...filters, limit: String(flags.limit), order: 'desc' })).events.reverse();
      let after = latest.length > 0 ? latest[latest.length - 1].offset : -1;
      for (const e of latest) this.log(line(e));
      for (;;) {
        await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
        const fresh = (await client.call<{ events: HistoryJson[] }>('getEvents', 'GET', { ...filters, after: String(after), limit: '1000', order: 'asc' })).events;
        for (const e of fresh) this.log(line(e));
        if (fresh.length > 0) after = fresh[fresh.length - 1].offset;
      }
    }
    const result = await client.call<{ events: HistoryJson[] }>('getEvents', 'GET', { ...filters, limit: String(flags.limit), order: flags.oldest ? 'asc' : 'desc' });
    if (result.events.length === 0) this.logToStderr('No events match.');
    else this.log(table(['TIME', 'ACTOR', 'TYPE', 'SUBJECT', 'DETAIL'], result.events.map(columns)));
    return result;
  }
}
