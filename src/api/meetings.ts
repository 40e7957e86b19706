import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { decidePlacement, joinTarget, routeDecides, voiceBridgeCandidates } from '../commands/placement';
import { Created, CreateCallbacks, decideCreate, decideEndMeeting } from '../commands/meetings';
import { Actor } from '../events/envelope';
import { Committed, Projected, WriteSide } from '../commands/write-side';
import { isDomainError } from '../commands/errors';
import { PoolReader } from '../projections/ports';
import { byAddition, Meeting, Server, Tenant } from '../projections/pool';
import { BbbGateway, BbbReply } from '../poller/ports';
import { childNamed, childText, outerXml } from '../infra/bbb/xml-scan';
import { applyParamPolicy, capDuration, ParamPolicy, resolveServerTag, SERVER_TAG_PARAM } from '../commands/param-policy';
import { encryptLrsPayloadAsync, lrsPayload } from '../tenants/lrs';
import { ApiOutcome, errors, failed, fromReply, noMeetingsXml, notRunningXml, xml, XML_DECLARATION } from './responses';
import { getParam, Params, presentParam, RESERVED_PARAMS, setParam, withoutParams } from './params';

export interface MeetingApiSettings {
  loadMinUserCount: number;
  voiceBridgeLength: number;
  useExternalVoiceBridge: boolean;
  maxMeetingDuration: number;
  createPolicy: ParamPolicy;
  joinPolicy: ParamPolicy;
  /** URL_HOST: the analytics callback BBB is told to call is on it */
  urlHost?: string;
}

export interface MeetingApiDeps {
  pool: PoolReader;
  /** where callback URLs are read back (the recordings model): a create returns once it has them */
  callbackStore?: Projected;
  writeSide: WriteSide;
  bbb: BbbGateway;
  settings: MeetingApiSettings;
  logger: Logger;
}

export interface CallContext {
  params: Params;
  /** null without multitenancy */
  tenantId: string | null;
  /** the tenant itself, when there is one */
  tenant?: Tenant | null;
  /** scheme://host[:port] the client called */
  origin?: string;
  actor: Actor;
  correlationId: string;
  /** told which BBB server the call goes to (by its URL), for the access log */
  note?: (facts: { upstream: string }) => void;
}

export const ANALYTICS_PARAM = 'meta_analytics-callback-url';

/** In the order Scalelite looks for them. */
export const READY_URL_PARAMS = ['meta_bn-recording-ready-url', 'meta_bbb-recording-ready-url', 'meta_canvas-recording-ready-url'];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const randomPassword = (): string => Array.from({ length: 8 }, () => ALNUM[randomInt(ALNUM.length)]).join('');

/** A route is visible to a caller only within its tenant. */
const visible = (meeting: Meeting | null, tenantId: string | null): meeting is Meeting => meeting !== null && meeting.tenantId === tenantId;

/**
 * The BBB API calls about meetings. Reads answer from the pool projection;
 * a create that needs a placement goes through the write side.
 */
export class MeetingApi {
  constructor(private readonly deps: MeetingApiDeps) {}

  /** The BBB gateway for one call: the server it goes to is noted for the access log. */
  private bbbFor(ctx: CallContext): BbbGateway {
    const { bbb } = this.deps;
    const note = ctx.note;
    if (!note) return bbb;
    return {
      call: (server, action, params, options) => {
        note({ upstream: server.url });
        return bbb.call(server, action, params, options);
      },
      read: (server, action, params, read, options) => {
        note({ upstream: server.url });
        return bbb.read(server, action, params, read, options);
      },
      signedUrl: (server, action, params) => {
        note({ upstream: server.url });
        return bbb.signedUrl(server, action, params);
      },
    };
  }

  async create(ctx: CallContext & { meetingId: string; xmlBody?: string }): Promise<ApiOutcome> {
    const { settings, logger } = this.deps;
    const bbb = this.bbbFor(ctx);
    const tenantSettings = await this.settingsOf(ctx);
    // Tenant and operator policy pick the server pool (tenant server pools are built with tags).
    const tag = resolveServerTag(presentParam(ctx.params, SERVER_TAG_PARAM), settings.createPolicy, tenantSettings) ?? null;
    const analyticsUrl = presentParam(ctx.params, ANALYTICS_PARAM);
    const callbacks = {
      recordingReadyUrl: READY_URL_PARAMS.map((name) => presentParam(ctx.params, name)).find((v) => v !== undefined) ?? null,
      analyticsCallbackUrl: analyticsUrl ?? null,
    };
    const placement = await this.place({ ...ctx, tag }, callbacks);
    if (isDomainError(placement)) {
      switch (placement.error) {
        case 'serverTagUnavailable':
          return failed('serverTagUnavailable', placement.message);
        default:
          return errors.internal(placement.message);
      }
    }
    const { server, meeting } = placement;
    // Operator and tenant policy first; then what the balancer itself decides, which no policy may override.
    let params = applyParamPolicy(withoutParams(ctx.params, [...RESERVED_PARAMS, ...READY_URL_PARAMS]), settings.createPolicy, tenantSettings);
    if (placement.kind === 'placed') params = setParam(params, 'moderatorPW', meeting.moderatorPassword ?? '');
    params = setParam(params, 'voiceBridge', meeting.voiceBridge);
    params = server.tag ? setParam(params, SERVER_TAG_PARAM, server.tag) : withoutParams(params, [SERVER_TAG_PARAM]);
    const duration = capDuration(getParam(params, 'duration'), settings.maxMeetingDuration);
    if (duration !== undefined) params = setParam(params, 'duration', duration);
    if (ctx.tenant) {
      params = setParam(params, 'meta_tenant-id', ctx.tenant.id);
      params = setParam(params, 'meta_tenant-name', ctx.tenant.name);
    }
    if (analyticsUrl !== undefined) params = setParam(params, ANALYTICS_PARAM, this.analyticsCallbackUrl(ctx));
    if (ctx.tenant?.lrsEndpoint) {
      const payload = await lrsPayload(ctx.tenant);
      if (payload) params = setParam(params, 'meta_secret-lrs-payload', await encryptLrsPayloadAsync(payload, server.secret));
      else logger.warn({ tenantId: ctx.tenant.id, meetingId: ctx.meetingId }, "no LRS payload: the tenant's LRS credentials could not be used");
    }
    const reply = await bbb.call(server, 'create', params, { body: ctx.xmlBody, short: !server.online });
    if (reply.kind === 'unreachable') logger.warn({ serverId: server.id, meetingId: ctx.meetingId, error: reply.error }, 'create failed on server');
    return fromReply(reply, 'Unable to create meeting on server.');
  }

  /**
   * The recording-ready URL is kept until the meeting's recordings are imported; BBB
   * never sees it (the balancer calls it, signed with its own secret). The canvas
   * variant is honoured too: Scalelite drops it by mistake. A create returns once
   * the recordings model has the URLs.
   */
  private async callbacksKept(ctx: CallContext & { meetingId: string }, created: Committed<Created>): Promise<void> {
    const { callbacks } = created.result;
    if (callbacks.kept === 'notKept') this.deps.logger.warn({ meetingId: ctx.meetingId, error: callbacks.why }, 'callback URLs not kept');
    if (callbacks.kept !== 'registered') return;
    const offset = created.events.find((e) => e.event.type === 'MeetingCallbacksRegistered')?.offset;
    if (offset !== undefined) {
      await this.deps.callbackStore?.waitFor(offset).catch((err: unknown) => this.deps.logger.warn({ err, meetingId: ctx.meetingId }, 'callback URLs not yet readable'));
    }
  }

  /** The caller's tenant settings (none without a tenant). */
  private settingsOf(ctx: Pick<CallContext, 'tenantId'>) {
    return ctx.tenantId ? this.deps.pool.tenantSettings(ctx.tenantId) : Promise.resolve([]);
  }

  /** Where BBB sends the meeting's analytics: to us, on the tenant's host, and we pass them on. */
  private analyticsCallbackUrl(ctx: CallContext): string {
    const host = this.deps.settings.urlHost;
    if (!host) return `${ctx.origin ?? 'http://localhost'}/bigbluebutton/api/analytics_callback`;
    return `https://${ctx.tenant ? `${ctx.tenant.name}.` : ''}${host}/bigbluebutton/api/analytics_callback`;
  }

  /**
   * Reuse a live route without taking the decision lock; otherwise decide a placement under it.
   * Callback URLs are decided with the placement: one hold of the lock, one append.
   */
  private async place(ctx: CallContext & { meetingId: string; tag: string | null }, callbacks: CreateCallbacks) {
    const { pool, writeSide, settings } = this.deps;
    const bbb = this.bbbFor(ctx);
    const requestedVoiceBridge = presentParam(ctx.params, 'voiceBridge') ?? null;
    const request = {
      meetingId: ctx.meetingId,
      tenantId: ctx.tenantId,
      tag: ctx.tag,
      moderatorPassword: presentParam(ctx.params, 'moderatorPW') ?? null,
      generatedPassword: randomPassword(),
      requestedVoiceBridge,
    };
    const placementSettings = { loadMinUserCount: settings.loadMinUserCount };
    const existing = await pool.meeting(ctx.meetingId);
    const existingServer = existing ? await pool.server(existing.serverId) : null;
    let existingRunning: boolean | undefined;
    if (existing && existingServer?.state === 'cordoned' && existingServer.online) {
      const reply = await bbb.call(existingServer, 'isMeetingRunning', [['meetingID', ctx.meetingId]]);
      existingRunning = reply.kind === 'success' && String((reply.doc.response as Record<string, unknown>).running) === 'true';
    }
    // With no servers to choose from, the decision can only reuse the route; anything else, or callbacks to keep, is decided under the lock.
    const keepsCallbacks = callbacks.recordingReadyUrl !== null || callbacks.analyticsCallbackUrl !== null;
    if (!keepsCallbacks) {
      const reuse = decidePlacement(
        request,
        { existing, existingServer, existingRunning, servers: [], voiceBridgeCandidates: [], voiceBridgesTaken: new Set() },
        placementSettings,
      );
      if (!isDomainError(reuse) && reuse.result.kind === 'existing') return reuse.result;
    }
    const candidates = voiceBridgeCandidates(ctx.meetingId, requestedVoiceBridge, {
      length: settings.voiceBridgeLength,
      useExternal: settings.useExternalVoiceBridge,
    });
    const outcome = await writeSide.decide(
      ctx.actor,
      async (view) => {
        const current = await view.meeting(ctx.meetingId);
        const route = {
          existing: current,
          existingServer: current ? await view.server(current.serverId) : null,
          // the answer we got about the route we saw; a different route since then is judged afresh
          existingRunning: current && existing && current.serverId === existing.serverId ? existingRunning : undefined,
        };
        // A route reused as it is reads no other server: the pool is read only for a choice.
        const choosing = !routeDecides(route);
        return decideCreate(
          { ...request, callbacks },
          {
            ...route,
            servers: choosing ? await view.servers() : [],
            voiceBridgeCandidates: candidates,
            voiceBridgesTaken: choosing ? await view.voiceBridgesTaken(candidates) : new Set(),
          },
          placementSettings,
        );
      },
      ctx.correlationId,
      // Placements queued meanwhile are decided together, in one hold of the lock and one append.
      { batch: true },
    );
    if (isDomainError(outcome)) return outcome;
    await this.callbacksKept(ctx, outcome);
    return outcome.result.placement;
  }

  /** The meetingID apart from the call: a copy of the call per join (a spread) was a tenth of its cost. */
  async join(ctx: CallContext, meetingId: string): Promise<ApiOutcome> {
    // The call an LMS makes for every user: no gateway wrapper, and the tenant's settings read only for a tenant.
    const { pool, settings, bbb } = this.deps;
    const meeting = await pool.meeting(meetingId);
    if (!visible(meeting, ctx.tenantId)) return errors.notFound();
    const target = joinTarget(await pool.server(meeting.serverId));
    if (!target.ok) return errors.serverUnavailable();
    const params = applyParamPolicy(withoutParams(ctx.params, RESERVED_PARAMS), settings.joinPolicy, ctx.tenantId ? await this.settingsOf(ctx) : []);
    ctx.note?.({ upstream: target.server.url });
    return { kind: 'redirect', location: bbb.signedUrl(target.server, 'join', params) };
  }

  async end(ctx: CallContext & { meetingId: string }): Promise<ApiOutcome> {
    const { pool, writeSide, logger } = this.deps;
    const bbb = this.bbbFor(ctx);
    const meeting = await pool.meeting(ctx.meetingId);
    if (!visible(meeting, ctx.tenantId)) return errors.notFound();
    const server = await pool.server(meeting.serverId);
    const password = getParam(ctx.params, 'password');
    const reply: Awaited<ReturnType<BbbGateway['call']>> = server
      ? await bbb.call(server, 'end', [['meetingID', ctx.meetingId], ...(password !== undefined ? ([['password', password]] as Params) : [])], {
          short: !server.online,
        })
      : { kind: 'failed', messageKey: 'notFound', message: 'We could not find a meeting with that meeting ID' };
    // The route goes once BBB confirms the meeting is over (or never knew it). A refused end
    // (wrong password) or an unreachable server keeps it: the meeting may still be running.
    const over = reply.kind === 'success' || (reply.kind === 'failed' && reply.messageKey === 'notFound');
    if (over) {
      const ended = await writeSide.decide(
        ctx.actor,
        async (view) => decideEndMeeting({ meetingId: ctx.meetingId, serverId: meeting.serverId }, { route: await view.meeting(ctx.meetingId) }),
        ctx.correlationId,
      );
      if (isDomainError(ended)) logger.error({ meetingId: ctx.meetingId, error: ended }, 'could not record the end of a meeting');
    }
    return fromReply(reply, 'Unable to access meeting on server.');
  }

  async isMeetingRunning(ctx: CallContext & { meetingId: string }): Promise<ApiOutcome> {
    const { pool } = this.deps;
    const bbb = this.bbbFor(ctx);
    const meeting = await pool.meeting(ctx.meetingId);
    if (!visible(meeting, ctx.tenantId)) return xml(notRunningXml());
    const server = await pool.server(meeting.serverId);
    if (!server) return xml(notRunningXml());
    return fromReply(await bbb.call(server, 'isMeetingRunning', [['meetingID', ctx.meetingId]], { short: !server.online }), 'Unable to access meeting on server.');
  }

  async getMeetingInfo(ctx: CallContext & { meetingId: string }): Promise<ApiOutcome> {
    const { pool } = this.deps;
    const bbb = this.bbbFor(ctx);
    const meeting = await pool.meeting(ctx.meetingId);
    if (!visible(meeting, ctx.tenantId)) return errors.notFound();
    const server = await pool.server(meeting.serverId);
    if (!server) return errors.notFound();
    return fromReply(await bbb.call(server, 'getMeetingInfo', [['meetingID', ctx.meetingId]], { short: !server.online }), 'Unable to access meeting on server.');
  }

  async insertDocument(ctx: CallContext & { meetingId: string; xmlBody: string }): Promise<ApiOutcome> {
    const { pool } = this.deps;
    const bbb = this.bbbFor(ctx);
    const meeting = await pool.meeting(ctx.meetingId);
    if (!visible(meeting, ctx.tenantId)) return errors.notFound();
    const server = await pool.server(meeting.serverId);
    if (!server) return errors.notFound();
    const reply = await bbb.call(server, 'insertDocument', [['meetingID', ctx.meetingId]], { body: ctx.xmlBody, short: !server.online });
    return fromReply(reply, 'Unable to insert document on server.');
  }

  /**
   * All meetings of every online, not disabled server. One unreachable server
   * does not fail the whole call (Scalelite #498): it is logged and left out.
   */
  async getMeetings(ctx: Pick<CallContext, 'tenantId'>): Promise<ApiOutcome> {
    const { pool, bbb, logger } = this.deps;
    const tenantId = ctx.tenantId ?? '';
    const servers = (await pool.servers()).filter((s) => s.online && s.state !== 'disabled').sort(byAddition);
    // Each reply is read as it arrives (its <meeting> elements copied as the server wrote them), so the
    // work is spread between the replies instead of running at the end in one block. Only the copied
    // bytes are kept, not each reply's text and elements until the slowest server has answered.
    // (BbbGateway.read says why that matters.)
    const replies = await Promise.all(
      servers.map((server) =>
        bbb.read(server, 'getMeetings', [], (reply) => {
          if (reply.kind === 'success') return { answered: true as const, meetings: tenantMeetings(reply, tenantId) };
          logger.warn({ serverId: server.id, reply: reply.kind === 'failed' ? `${reply.messageKey}: ${reply.message}` : reply.error }, 'getMeetings: server left out');
          return { answered: false as const, failure: fromReply(reply, 'Unable to access server.') };
        }),
      ),
    );
    const collected: Buffer[] = [];
    let answered = 0;
    let lastFailure: ApiOutcome | null = null;
    for (const r of replies) {
      if (!r.answered) {
        lastFailure = r.failure;
        continue;
      }
      answered += 1;
      if (r.meetings) collected.push(r.meetings);
    }
    if (answered === 0 && lastFailure) return lastFailure;
    if (collected.length === 0) return xml(noMeetingsXml());
    return { kind: 'xmlStream', chunks: meetingsDocument(collected) };
  }

  /** Best-effort BBB end for a meeting the pool already let go (panic, offline, admin). */
  async endOnServer(server: Server, meeting: Meeting): Promise<boolean> {
    const params: Params = [['meetingID', meeting.meetingId]];
    if (meeting.moderatorPassword) params.push(['password', meeting.moderatorPassword]);
    const reply = await this.deps.bbb.call(server, 'end', params, { short: !server.online });
    return reply.kind === 'success' || (reply.kind === 'failed' && reply.messageKey === 'notFound');
  }
}

/**
 * The aggregated getMeetings document, a server's meetings at a time: a large pool's
 * answer is megabytes, and one string of it (built, measured and written at once)
 * held the event loop for tens of milliseconds. The writer waits for the client,
 * and every few servers the loop gets a turn, so joins are answered meanwhile.
 */
async function* meetingsDocument(perServer: Buffer[]): AsyncGenerator<string | Buffer> {
  yield `${XML_DECLARATION}<response><returncode>SUCCESS</returncode><meetings>`;
  for (let i = 0; i < perServer.length; i += 1) {
    if (i > 0 && i % 8 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    yield perServer[i]!;
  }
  yield '</meetings></response>';
}

/**
 * The <meeting> elements of a getMeetings reply that belong to the tenant, as the
 * server wrote them, in one buffer (null when there are none). An ASCII reply (the
 * usual case) is taken as bytes, with no string to build and encode again; meetings
 * that follow one another (whitespace between) are one slice of the reply, not a copy,
 * so the usual reply (every meeting listed) costs no new buffer at all.
 */
export function tenantMeetings(reply: Extract<BbbReply, { kind: 'success' }>, tenantId: string): Buffer | null {
  const { scanned, asciiBytes } = reply;
  const meetings = childNamed(scanned.root, 'meetings');
  if (!meetings) return null;
  const found: Buffer[] = [];
  let run: { start: number; end: number } | null = null;
  for (const meeting of meetings.children) {
    if (meeting.name !== 'meeting') continue;
    const metadata = childNamed(meeting, 'metadata');
    const owner = (metadata && childText(scanned, metadata, 'tenant-id')) || '';
    if (owner !== tenantId) continue;
    if (!asciiBytes) {
      found.push(Buffer.from(outerXml(scanned, meeting), 'utf8'));
      continue;
    }
    if (run && onlyWhitespace(asciiBytes, run.end, meeting.start)) run.end = meeting.end;
    else {
      if (run) found.push(asciiBytes.subarray(run.start, run.end));
      run = { start: meeting.start, end: meeting.end };
    }
  }
  if (run && asciiBytes) found.push(asciiBytes.subarray(run.start, run.end));
  return found.length === 0 ? null : found.length === 1 ? found[0]! : Buffer.concat(found);
}

function onlyWhitespace(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i += 1) {
    const c = bytes[i];
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false;
  }
  return true;
}
