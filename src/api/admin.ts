import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { decideServer, ServerCommand, ServerStateChange } from '../commands/servers';
import { isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { decideEndMeetings } from '../commands/meetings';
import { historyCaughtUp, HistoryStore } from '../projections/history';
import { ParkedEvents } from '../projections/projector';
import { PoolReader } from '../projections/ports';
import { byAddition, Meeting, PoolState, Server } from '../projections/pool';
import { PollSummary } from '../poller/poller';
import { RebuildProgress, RebuildResult } from '../projections/rebuild';
import { ProjectionTimeoutError } from '../projections/waiters';
import { BbbGateway } from '../poller/ports';
import { parseXml, XmlNode } from '../infra/bbb/xml';
import type { IgnoredVariable } from '../infra/scalelite-env';
import { AdminOutcome, AdminRequest, err, missingParam, ok, statusOf, str, truthy } from './admin-kit';
import { historyJson } from './views/history';
import { meetingJson, MeetingRouteJson } from './views/meeting';
import { serverJson } from './views/server';
import { parkedJson, rebuiltJson, StatusJson } from './views/status';

/*
 * The admin API behind /scalelite/api: Scalelite's server endpoints with their
 * JSON shapes and statuses, plus what the CLI needs (poll now, status, events,
 * meetings). Every change is read-your-writes: the answer comes after the
 * projection includes it.
 */

export interface AdminDeps {
  pool: PoolReader;
  writeSide: WriteSide;
  history: HistoryStore;
  /** the offset of the log's last event: the history answers only once it holds it */
  logHead: () => Promise<number>;
  bbb: BbbGateway;
  pollAll: () => Promise<PollSummary>;
  endOnServer: (server: Server, meeting: Meeting) => Promise<boolean>;
  serverIdIsHostname: boolean;
  /** Scalelite variables set but not used here (shown by `status`) */
  ignoredVariables?: IgnoredVariable[];
  logger: Logger;
  rebuild: (onProgress: (p: RebuildProgress) => void) => Promise<RebuildResult>;
  poolAt: (at: Date) => Promise<{ state: PoolState; checkpoint: number }>;
  /** events a projection could not apply */
  parked: ParkedEvents;
}

/** `status` lists this many parked events, and the read models rebuilt by themselves in the last day. */
const STATUS_PARKED_SHOWN = 5;
const REBUILDS_SHOWN_MS = 24 * 3600_000;

function parseMultiplier(v: unknown): number | 'invalid' | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(String(v));
  return Number.isFinite(n) ? n : 'invalid';
}

const STATE_CHANGES: Record<string, ServerStateChange> = { enable: 'enable', cordon: 'cordon', disable: 'disable' };

export class AdminApi {
  constructor(private readonly deps: AdminDeps) {}

  private async command(req: AdminRequest, command: ServerCommand) {
    return this.deps.writeSide.decide(
      req.actor,
      async (view) => {
        const server = await view.server(command.serverId);
        const meetingsOnServer = server ? await view.meetingsOnServer(server.id) : [];
        const decided = decideServer(command, { server, meetingsOnServer });
        return isDomainError(decided) ? decided : { events: decided.events, result: meetingsOnServer };
      },
      req.correlationId,
    );
  }

  async getServers(req: AdminRequest): Promise<AdminOutcome> {
    const servers = (await this.deps.pool.servers()).sort(byAddition);
    if (servers.length === 0) return err(404, 'No servers are configured');
    const show = truthy(req.params.show_secrets);
    return ok(servers.map((s) => serverJson(s, show)));
  }

  async getServerInfo(req: AdminRequest): Promise<AdminOutcome> {
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const server = await this.deps.pool.server(id);
    if (!server) return err(404, `Couldn't find server with id=${id}`);
    return ok(serverJson(server, truthy(req.params.show_secrets)));
  }

  async addServer(req: AdminRequest): Promise<AdminOutcome> {
    const body = req.params.server;
    if (!body || typeof body !== 'object') return missingParam('server');
    const s = body as Record<string, unknown>;
    const url = str(s.url)?.trim();
    const secret = str(s.secret)?.trim();
    if (!url || !secret) return err(400, 'Server needs a URL and a secret');
    const multiplier = parseMultiplier(s.load_multiplier);
    let serverId: string = randomUUID();
    if (this.deps.serverIdIsHostname) {
      try {
        serverId = new URL(url).hostname.toLowerCase();
      } catch {
        return err(400, 'Server URL must start with http:// or https://');
      }
    }
    const outcome = await this.command(req, {
      type: 'AddServer',
      serverId,
      url,
      secret,
      // Scalelite: a multiplier of 0 or one it cannot read becomes 1.0
      loadMultiplier: multiplier === undefined || multiplier === 'invalid' || multiplier === 0 ? 1 : multiplier,
      tag: str(s.tag) ?? null,
    });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    const server = await this.deps.pool.server(serverId);
    return ok(serverJson(server!, false), 201);
  }

  async updateServer(req: AdminRequest): Promise<AdminOutcome> {
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const body = req.params.server;
    if (!body || typeof body !== 'object') return missingParam('server');
    const s = body as Record<string, unknown>;
    const state = str(s.state);
    const multiplier = parseMultiplier(s.load_multiplier);
    const invalid =
      state !== undefined && !STATE_CHANGES[state]
        ? `Invalid state parameter: ${state}`
        : multiplier === 'invalid' || multiplier === 0
          ? 'Load-multiplier must be a non-zero number'
          : null;
    // An unknown server is a 404 even when the request is also malformed.
    if (invalid) return (await this.deps.pool.server(id)) ? err(400, invalid) : err(404, `Couldn't find server with id=${id}`);
    const outcome = await this.command(req, {
      type: 'UpdateServer',
      serverId: id,
      ...(str(s.url) !== undefined ? { url: str(s.url)!.trim() } : {}),
      ...(str(s.secret) !== undefined ? { secret: str(s.secret)!.trim() } : {}),
      ...(typeof multiplier === 'number' ? { loadMultiplier: multiplier } : {}),
      ...('tag' in s ? { tag: s.tag === null ? null : (str(s.tag) ?? null) } : {}),
      ...(state ? { state: STATE_CHANGES[state] } : {}),
    });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    return ok(serverJson((await this.deps.pool.server(id))!, false));
  }

  async deleteServer(req: AdminRequest): Promise<AdminOutcome> {
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const outcome = await this.command(req, { type: 'RemoveServer', serverId: id });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    return ok({ success: `Server id=${id} was destroyed` });
  }

  async panicServer(req: AdminRequest): Promise<AdminOutcome> {
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const nested = (req.params.server ?? {}) as Record<string, unknown>;
    // Scalelite reads keep_state at the top level while its docs put it under "server": accept both.
    const keepState = truthy(req.params.keep_state) || truthy(nested.keep_state);
    const endCalls = !(truthy(req.params.skip_end_calls) || truthy(nested.skip_end_calls));
    const outcome = await this.command(req, { type: 'PanicServer', serverId: id, keepState, endCalls });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    const cleared = outcome.result;
    const failedEnds = endCalls ? await this.endOnBbb(cleared) : [];
    return ok({
      success: `Server id=${id} has been disabled and the meetings have been destroyed`,
      meetings_cleared: cleared.map((m) => m.meetingId),
      ...(failedEnds.length > 0 ? { end_failed: failedEnds } : {}),
    });
  }

  /** Disable a server; with end_meetings, its meetings are cleared and ended first (rake servers:disable, answered yes). */
  async disableServer(req: AdminRequest): Promise<AdminOutcome> {
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const endMeetings = truthy(req.params.end_meetings);
    const outcome = await this.command(req, { type: 'DisableServer', serverId: id, endMeetings });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    const cleared = endMeetings ? outcome.result : [];
    const failedEnds = await this.endOnBbb(cleared);
    return ok({ server: serverJson((await this.deps.pool.server(id))!, false), meetings_cleared: cleared.map((m) => m.meetingId), end_failed: failedEnds });
  }

  /** Tell BBB to end meetings whose routes are gone; the meetingIDs BBB could not be told about. */
  private async endOnBbb(meetings: Meeting[]): Promise<string[]> {
    const servers = new Map<string, Server | null>();
    const failedEnds: string[] = [];
    for (const m of meetings) {
      if (!servers.has(m.serverId)) servers.set(m.serverId, await this.deps.pool.server(m.serverId));
      const server = servers.get(m.serverId);
      const ended = server ? await this.deps.endOnServer(server, m).catch(() => false) : false;
      if (!ended) failedEnds.push(m.meetingId);
    }
    return failedEnds;
  }

  async pollAll(): Promise<AdminOutcome> {
    let summary: PollSummary;
    try {
      summary = await this.deps.pollAll();
    } catch (e) {
      return err(503, e instanceof Error ? e.message : String(e));
    }
    return ok({ summary, servers: (await this.deps.pool.servers()).sort(byAddition).map((s) => serverJson(s, false)) });
  }

  /** The status table now, or as it was at `at` (the log replayed up to then). */
  async getStatus(req: AdminRequest): Promise<AdminOutcome> {
    const at = str(req.params.at);
    if (at) {
      const t = Date.parse(at);
      if (Number.isNaN(t)) return err(400, 'at must be a time, e.g. 2026-11-25T10:00:00Z');
      const past = await this.deps.poolAt(new Date(t));
      const servers = Object.values(past.state.servers).sort(byAddition);
      return ok({
        at: new Date(t).toISOString(),
        servers: servers.map((s) => serverJson(s, false)),
        meetings: Object.keys(past.state.meetings).length,
        checkpoint: past.checkpoint,
      } satisfies StatusJson);
    }
    const servers = (await this.deps.pool.servers()).sort(byAddition);
    const [checkpoint, parkedCount, parked, rebuilt] = await Promise.all([
      this.deps.pool.checkpoint(),
      this.deps.parked.count(),
      this.deps.parked.list(STATUS_PARKED_SHOWN),
      // The history may be behind (another process projects it): what it holds is enough here.
      this.deps.history.query({ types: ['ReadModelRebuilt'], since: new Date(Date.now() - REBUILDS_SHOWN_MS).toISOString(), limit: 10 }),
    ]);
    return ok({
      servers: servers.map((s) => serverJson(s, false)),
      checkpoint,
      parked: { count: parkedCount, latest: parked.map(parkedJson) },
      rebuilds: rebuilt.map(rebuiltJson),
      ignored_variables: this.deps.ignoredVariables ?? [],
    } satisfies StatusJson);
  }

  /** Rebuild the read model from the log, reporting progress, and say whether the live one was right. */
  rebuildProjections(): AdminOutcome {
    return {
      stream: async (progress) => {
        let last = 0;
        const result = await this.deps.rebuild((p) => {
          // a line per percent is plenty for a progress bar
          if (p.applied === p.total || p.applied - last >= Math.max(1, Math.floor(p.total / 100))) {
            last = p.applied;
            progress({ progress: p });
          }
        });
        if (!result.equal) this.deps.logger.warn({ differences: result.differences }, 'the live read model differed from the log; replaced by the rebuilt one');
        return result;
      },
    };
  }

  async getEvents(req: AdminRequest): Promise<AdminOutcome> {
    const p = req.params;
    const limit = Number(str(p.limit) ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return err(400, 'limit must be a whole number from 1 to 10000');
    const time = (name: string): string | undefined | 'invalid' => {
      const v = str(p[name]);
      if (v === undefined || v === '') return undefined;
      const t = Date.parse(v);
      return Number.isNaN(t) ? 'invalid' : new Date(t).toISOString();
    };
    const since = time('since');
    const until = time('until');
    if (since === 'invalid') return err(400, 'since must be a time, e.g. 2026-11-25T10:00:00Z');
    if (until === 'invalid') return err(400, 'until must be a time, e.g. 2026-11-25T10:00:00Z');
    const after = str(p.after);
    try {
      await historyCaughtUp(this.deps.history, this.deps.logHead);
    } catch (e) {
      if (e instanceof ProjectionTimeoutError) return err(503, `the event history is behind the log: ${e.message}; is a projector running?`);
      throw e;
    }
    const entries = await this.deps.history.query({
      serverId: str(p.server) || undefined,
      meetingId: str(p.meeting) || undefined,
      tenantId: str(p.tenant) || undefined,
      recordId: str(p.record) || undefined,
      types: str(p.type)
        ?.split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      actor: str(p.actor) || undefined,
      actorKind: str(p.actor_kind) || undefined,
      since,
      until,
      afterOffset: after !== undefined && after !== '' ? Number(after) : undefined,
      limit,
      order: str(p.order) === 'asc' ? 'asc' : 'desc',
    });
    return ok({ events: entries.map(historyJson) });
  }

  async getMeetingRoutes(req: AdminRequest): Promise<AdminOutcome> {
    const serverId = str(req.params.server);
    const meetings = serverId ? await this.deps.pool.meetingsOnServer(serverId) : await this.deps.pool.meetings();
    meetings.sort((a, b) => (a.placedAt < b.placedAt ? -1 : a.placedAt > b.placedAt ? 1 : a.meetingId < b.meetingId ? -1 : 1));
    return ok({ meetings: meetings.map(meetingJson) });
  }

  /** A meeting's route, its server and what BBB says of it (getMeetingInfo). */
  async getMeetingRoute(req: AdminRequest): Promise<AdminOutcome> {
    const meetingId = str(req.params.meetingID);
    if (!meetingId) return missingParam('meetingID');
    const meeting = await this.deps.pool.meeting(meetingId);
    if (!meeting) return err(404, `Couldn't find meeting with id=${meetingId}`);
    const server = await this.deps.pool.server(meeting.serverId);
    let info: XmlNode | null = null;
    let infoError: string | null = null;
    if (server) {
      const reply = await this.deps.bbb.call(server, 'getMeetingInfo', [['meetingID', meetingId]], { short: !server.online });
      if (reply.kind === 'success') info = (parseXml(reply.body)?.response as XmlNode) ?? null;
      else infoError = reply.kind === 'failed' ? `${reply.messageKey}: ${reply.message}` : reply.error;
    }
    return ok({ meeting: meetingJson(meeting), server: server ? serverJson(server, false) : null, info, info_error: infoError } satisfies MeetingRouteJson);
  }

  /** End meetings (all when none are named): the route goes and BBB is told to end them. */
  async endMeetings(req: AdminRequest): Promise<AdminOutcome> {
    const ids = req.params.meetingIDs;
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string'))) return err(400, 'meetingIDs must be a list of meeting IDs');
    const meetingIds = ids as string[] | undefined;
    const outcome = await this.deps.writeSide.decide(
      req.actor,
      async (view) => {
        const routes = meetingIds === undefined ? await view.meetings() : (await Promise.all(meetingIds.map((id) => view.meeting(id)))).filter((m): m is Meeting => m !== null);
        return decideEndMeetings({ meetingIds }, { routes });
      },
      req.correlationId,
    );
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    const failedEnds = await this.endOnBbb(outcome.result.ended);
    return ok({ ended: outcome.result.ended.map((m) => m.meetingId), unknown: outcome.result.unknown, end_failed: failedEnds });
  }
}
