import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import express, { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { Actor } from '../events/envelope';
import { describeUnstorable, findUnstorable } from '../events/storable';
import { ChecksumAlgorithm, checksumParam, verifyChecksum } from '../infra/bbb/checksum';
import { el } from '../infra/bbb/xml';
import { PoolReader } from '../projections/ports';
import { Tenant } from '../projections/pool';
import { AdminApi } from './admin';
import { AdminOutcome, AdminRequest } from './admin-kit';
import { SIGNATURE_PARAMS, SignaturePolicy, signatureProblem } from './admin-signature';
import { RecordingAdmin } from './admin-recordings';
import { ServerSyncAdmin } from './admin-sync';
import { MigrationAdmin } from './admin-migration';
import { blockedHost, refuseHost } from './host-authorization';
import { TenantAdmin } from './admin-tenants';
import { AnalyticsDeps, relayAnalytics } from './analytics';
import { fsapiHandler } from './fsapi';
import { MeetingApi } from './meetings';
import { noRecordingsXml, RecordingApi, recordingsNotFound } from './recordings';
import { Params, mergeParams, presentParam } from './params';
import {
  contentTypeAllowed,
  ContentRule,
  FORM_TYPES,
  hasBody,
  MAX_BODY_BYTES,
  MAX_FORM_BYTES,
  mediaType,
  rawQuery,
  readBody,
  readFormFields,
  XML_TYPES,
} from './request';
import { ApiOutcome, errors, failed, noMeetingsXml, XML_DECLARATION } from './responses';
import { refuse, send } from './http';
import { faultAnswers } from './fault-answers';
import { AccessObserver, noteResponse, observeRequests } from './access';

export interface AppSettings {
  secrets: string[];
  checksumAlgorithms: Set<ChecksumAlgorithm>;
  buildNumber?: string;
  getMeetingsApiDisabled: boolean;
  /** RECORDING_DISABLED: recording calls answer as if there were none, playback is not mounted */
  recordingDisabled: boolean;
  /** MULTITENANCY_ENABLED: the host's first label names the tenant */
  multitenancy: boolean;
  urlHost?: string;
  fsapi: { password: string; maxDurationMinutes: number; voiceBridgeMin: number; voiceBridgeMax: number };
  /** the admin API's signed timestamp and body digest (admin-signature.ts) */
  adminSignatures: SignaturePolicy;
  /** ACCESS_LOG: a line per request */
  accessLog: boolean;
}

/** Admin calls carry small JSON documents. */
const MAX_ADMIN_BODY_BYTES = 1024 * 1024;
/** A migration batch carries a Scalelite's servers, tenants and routes, or a batch of recordings. */
export const MAX_MIGRATION_BODY_BYTES = 32 * 1024 * 1024;

export interface AppDeps {
  settings: AppSettings;
  meetings: MeetingApi;
  admin: AdminApi;
  recordings: RecordingApi;
  recordingAdmin: RecordingAdmin;
  tenantAdmin: TenantAdmin;
  pool: PoolReader;
  analytics: AnalyticsDeps;
  serverSync: ServerSyncAdmin;
  /** `scalelite migrate:scalelite` */
  migration: MigrationAdmin;
  /** the playback routes (none when recordings are disabled) */
  playback: Router | null;
  /** throws with a reason when a backend is unhealthy */
  healthCheck: () => Promise<void>;
  /** the Prometheus metrics document and its content type */
  metrics: () => Promise<{ contentType: string; text: string }>;
  /** told of each request answered (the metrics) */
  observer?: AccessObserver;
  logger: Logger;
}

interface BbbCall {
  params: Params;
  tenantId: string | null;
  tenant: Tenant | null;
  actor: Actor;
  correlationId: string;
  /** the raw XML body of create/insertDocument */
  xmlBody?: string;
  /** scheme://host[:port] the client called */
  origin: string;
  /** told which BBB server the call goes to, for the access log */
  note: (facts: { upstream: string }) => void;
}

type Handler = (call: BbbCall) => Promise<ApiOutcome>;

interface ActionDef {
  methods: ReadonlyArray<'GET' | 'POST'>;
  content: ContentRule;
  checksum: boolean;
  handler: Handler;
}

const GET_POST = ['GET', 'POST'] as const;


export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** BBB refuses a meetingID with control characters (its MeetingIDConstraint); they would reach its logs and ours. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * A parameter holding what no store can keep (a NUL, a lone surrogate) is refused before
 * any decision: written into an event, it once stopped every projection of a cluster.
 */
function unstorableParam(params: Params): ApiOutcome | null {
  for (const [name, value] of params) {
    const problem = describeUnstorable(name) ?? describeUnstorable(value);
    if (problem) return failed('validationError', `Parameter ${name.replace(/[\u0000-\u001f]/g, '?').slice(0, 64)} holds ${problem}, which is not allowed`);
  }
  return null;
}

const versionXml = (build?: string) =>
  `${XML_DECLARATION}<response><returncode>SUCCESS</returncode><version>2.0</version>${build ? el('build', build) : ''}</response>`;


/** The host the client called, without its port, lowercased (a trusted proxy's X-Forwarded-Host first). */
export function hostOf(req: IncomingMessage): string {
  const r = req as Partial<Request>;
  const host = typeof r.hostname === 'string' && r.hostname !== '' ? r.hostname : (req.headers.host ?? '').replace(/:\d+$/, '');
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * The tenant label of a host: its first DNS label, or null for the bare URL_HOST,
 * an IP address or a single-label name (localhost). Scalelite leaves the bare
 * host unusable with multitenancy (issue #968); here it keeps the LB secrets.
 */
export function tenantLabel(host: string, urlHost: string | undefined): string | null {
  if (host === '' || (urlHost && host === urlHost.toLowerCase())) return null;
  if (isIP(host) || !host.includes('.')) return null;
  return host.split('.')[0];
}

/**
 * The tenant a request is for: null without multitenancy or on the bare host,
 * 'unknown' for a label no tenant has. The BBB API, the analytics callback and
 * playback all resolve it here.
 */
export async function requestTenant(
  req: IncomingMessage,
  pool: Pick<PoolReader, 'tenantByName'>,
  settings: Pick<AppSettings, 'multitenancy' | 'urlHost'>,
): Promise<Tenant | null | 'unknown'> {
  if (!settings.multitenancy) return null;
  const label = tenantLabel(hostOf(req), settings.urlHost);
  if (label === null) return null;
  return (await pool.tenantByName(label)) ?? 'unknown';
}

/** Where the client called us, as Rails' request.base_url: the proxy's view when a trusted proxy says so. */
function originOf(req: IncomingMessage): string {
  const r = req as Partial<Request>;
  const proto = typeof r.protocol === 'string' ? r.protocol : 'http';
  const host = typeof r.host === 'string' && r.host !== '' ? r.host : (req.headers.host ?? 'localhost');
  return `${proto}://${host}`;
}

/**
 * The HTTP request listener: join, the call an LMS makes for every user, is
 * answered straight from the read model without express's routing; everything
 * else goes through the express app. Both run the same action code.
 */
export function buildApp(deps: AppDeps): RequestListener {
  const { settings, meetings, admin, recordings, logger } = deps;
  const { answerFault, warnClient } = faultAnswers(logger);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // The proxies Rails trusts by default: a fronting nginx on this host or the private network.
  app.set('trust proxy', ['loopback', 'uniquelocal']);

  const requireMeetingId = (fn: (call: BbbCall, meetingId: string) => Promise<ApiOutcome>): Handler => {
    return async (call) => {
      const meetingId = presentParam(call.params, 'meetingID');
      return meetingId === undefined ? errors.missingMeetingId() : fn(call, meetingId);
    };
  };

  /** Without multitenancy every recording is in scope; with it, the tenant's (on the bare host: those of no tenant). */
  const recordingScope = (call: BbbCall): string | null | undefined => (settings.multitenancy ? call.tenantId : undefined);

  const tenantOfRequest = (req: IncomingMessage) => requestTenant(req, deps.pool, settings);

  const actions: Record<string, ActionDef> = {
    create: {
      methods: GET_POST,
      content: 'formOrXml',
      checksum: true,
      handler: requireMeetingId((call, meetingId) =>
        // BBB's own limit, checked before a route is placed for a meeting BBB would refuse
        meetingId.length < 2 || meetingId.length > 256
          ? Promise.resolve(failed('sizeError', 'Meeting ID must be between 2 and 256 characters'))
          : CONTROL_CHARACTERS.test(meetingId)
            ? Promise.resolve(failed('validationError', 'Invalid meeting ID'))
            : meetings.create({ ...call, meetingId }),
      ),
    },
    join: { methods: ['GET'], content: 'none', checksum: true, handler: requireMeetingId((call, meetingId) => meetings.join({ ...call, meetingId })) },
    end: { methods: GET_POST, content: 'form', checksum: true, handler: requireMeetingId((call, meetingId) => meetings.end({ ...call, meetingId })) },
    isMeetingRunning: {
      methods: GET_POST,
      content: 'form',
      checksum: true,
      handler: requireMeetingId((call, meetingId) => meetings.isMeetingRunning({ ...call, meetingId })),
    },
    getMeetingInfo: {
      methods: GET_POST,
      content: 'form',
      checksum: true,
      handler: requireMeetingId((call, meetingId) => meetings.getMeetingInfo({ ...call, meetingId })),
    },
    getMeetings: settings.getMeetingsApiDisabled
      ? { methods: GET_POST, content: 'form', checksum: false, handler: async () => ({ kind: 'xml', body: noMeetingsXml() }) }
      : { methods: GET_POST, content: 'form', checksum: true, handler: (call) => meetings.getMeetings(call) },
    insertDocument: {
      methods: ['POST'],
      content: 'xml',
      checksum: true,
      handler: requireMeetingId((call, meetingId) => meetings.insertDocument({ ...call, meetingId, xmlBody: call.xmlBody ?? '' })),
    },
    ...(settings.recordingDisabled
      ? {
          // Scalelite with RECORDING_DISABLED: no checksum, nothing found.
          getRecordings: { methods: GET_POST, content: 'form', checksum: false, handler: async () => ({ kind: 'xml', body: noRecordingsXml() }) },
          publishRecordings: { methods: ['GET'], content: 'none', checksum: false, handler: async () => recordingsNotFound() },
          updateRecordings: { methods: GET_POST, content: 'form', checksum: false, handler: async () => recordingsNotFound() },
          deleteRecordings: { methods: ['GET'], content: 'none', checksum: false, handler: async () => recordingsNotFound() },
        }
      : {
          getRecordings: { methods: GET_POST, content: 'form', checksum: true, handler: (call) => recordings.getRecordings({ ...call, scope: recordingScope(call) }) },
          publishRecordings: { methods: ['GET'], content: 'none', checksum: true, handler: (call) => recordings.publishRecordings({ ...call, scope: recordingScope(call) }) },
          updateRecordings: { methods: GET_POST, content: 'form', checksum: true, handler: (call) => recordings.updateRecordings({ ...call, scope: recordingScope(call) }) },
          deleteRecordings: { methods: ['GET'], content: 'none', checksum: true, handler: (call) => recordings.deleteRecordings({ ...call, scope: recordingScope(call) }) },
        }),
  } satisfies Record<string, ActionDef>;

  const actorOf = (req: IncomingMessage): Actor => ({ kind: 'api', name: `bbb-api@${req.socket.remoteAddress ?? 'unknown'}` });
  const correlationOf = (req: IncomingMessage): string => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
  };

  app.all(['/bigbluebutton/api', '/bigbluebutton/api/'], (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') return send(res, errors.unsupportedRequest());
    res.status(200).type('application/xml').send(versionXml(settings.buildNumber));
  });

  /**
   * Content-Type, checksum, then the action: Scalelite's order of checks. The checksum covers
   * the query string only, so it is checked before a body is read: a caller without the
   * secret cannot make this process read (or hold) megabytes. Only a form body that must
   * carry the checksum itself is read first, and forms are small.
   */
  const runAction = async (action: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const def = Object.prototype.hasOwnProperty.call(actions, action) ? actions[action] : undefined;
    if (!def || !(def.methods as readonly string[]).includes(req.method ?? '')) return refuse(req, res, errors.unsupportedRequest());
    noteResponse(res, { call: action });
    if (!contentTypeAllowed(def.content, req)) return refuse(req, res, errors.unsupportedContentType());
    const withBody = req.method === 'POST' && hasBody(req);
    const query = rawQuery(req);
    const tenant = def.checksum ? await tenantOfRequest(req) : null;
    let body: Buffer = Buffer.alloc(0);
    let form: Array<[string, string]> = [];
    let read = !withBody;
    const readRequest = async (limit: number) => {
      body = await readBody(req, limit);
      form = XML_TYPES.has(mediaType(req)) ? [] : await readFormFields(req, body);
      read = true;
    };
    if (def.checksum) {
      // A tenant host signs with the tenant's secrets; an unknown tenant cannot sign at all.
      if (tenant === 'unknown') return refuse(req, res, errors.checksum());
      let checksum = checksumParam(query, {});
      if (checksum === null && withBody && FORM_TYPES.has(mediaType(req))) {
        await readRequest(MAX_FORM_BYTES);
        checksum = checksumParam(query, Object.fromEntries(form));
      }
      if (!verifyChecksum({ secrets: tenant ? tenant.secrets : settings.secrets, allowed: settings.checksumAlgorithms }, action, query, checksum)) {
        return refuse(req, res, errors.checksum());
      }
    }
    if (!read) await readRequest(MAX_BODY_BYTES);
    const isXml = XML_TYPES.has(mediaType(req)) && body.length > 0;
    const params = mergeParams(form, new URLSearchParams(query));
    const unstorable = unstorableParam(params);
    if (unstorable) return send(res, unstorable);
    const known = tenant === 'unknown' ? null : tenant;
    noteResponse(res, { meetingId: presentParam(params, 'meetingID'), tenant: known?.name });
    const outcome = await def.handler({
      params,
      tenantId: known?.id ?? null,
      tenant: known,
      actor: actorOf(req),
      correlationId: correlationOf(req),
      origin: originOf(req),
      note: (facts) => noteResponse(res, facts),
      ...(isXml ? { xmlBody: body.toString('utf8') } : {}),
    });
    send(res, outcome, logger);
  };

  // BBB sends a meeting's analytics here (the URL create gave it); no checksum: a Bearer JWT.
  app.post('/bigbluebutton/api/analytics_callback', async (req, res, next) => {
    try {
      const tenant = await tenantOfRequest(req);
      if (tenant === 'unknown') return send(res, errors.checksum());
      const body = hasBody(req) ? await readBody(req, 4 * 1024 * 1024) : Buffer.alloc(0);
      let params: Record<string, unknown> = Object.fromEntries(new URLSearchParams(rawQuery(req)));
      if (mediaType(req) === 'application/json' && body.length > 0) {
        try {
          const parsed: unknown = JSON.parse(body.toString('utf8'));
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) params = { ...(parsed as Record<string, unknown>), ...params };
        } catch {
          // not JSON: nothing to pass on
        }
      } else params = { ...Object.fromEntries(await readFormFields(req, body)), ...params };
      await relayAnalytics(deps.analytics, { authorization: req.headers.authorization, params, tenant }).catch((err: unknown) =>
        logger.warn({ err }, 'analytics callback failed'),
      );
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  app.post(
    '/fsapi',
    fsapiHandler({
      ...settings.fsapi,
      realm: settings.urlHost ?? 'scalelite',
      lookupPin: async (pin) => {
        const meetingId = await deps.pool.voiceBridge(pin);
        const meeting = meetingId ? await deps.pool.meeting(meetingId) : null;
        const server = meeting ? await deps.pool.server(meeting.serverId) : null;
        return meeting && server ? { meetingId: meeting.meetingId, serverUrl: server.url } : null;
      },
    }),
  );

  app.all('/bigbluebutton/api/:action', async (req, res, next) => {
    try {
      await runAction(req.params.action as string, req, res);
    } catch (err) {
      next(err);
    }
  });

  const adminActions: Record<string, { method: 'GET' | 'POST'; run: (r: AdminRequest) => Promise<AdminOutcome>; maxBody?: number }> = {
    getServers: { method: 'GET', run: (r) => admin.getServers(r) },
    getServerInfo: { method: 'GET', run: (r) => admin.getServerInfo(r) },
    addServer: { method: 'POST', run: (r) => admin.addServer(r) },
    updateServer: { method: 'POST', run: (r) => admin.updateServer(r) },
    deleteServer: { method: 'POST', run: (r) => admin.deleteServer(r) },
    panicServer: { method: 'POST', run: (r) => admin.panicServer(r) },
    disableServer: { method: 'POST', run: (r) => admin.disableServer(r) },
    pollAll: { method: 'POST', run: () => admin.pollAll() },
    getStatus: { method: 'GET', run: (r) => admin.getStatus(r) },
    rebuildProjections: { method: 'POST', run: async () => admin.rebuildProjections() },
    getEvents: { method: 'GET', run: (r) => admin.getEvents(r) },
    getMeetingRoutes: { method: 'GET', run: (r) => admin.getMeetingRoutes(r) },
    getMeetingRoute: { method: 'GET', run: (r) => admin.getMeetingRoute(r) },
    endMeetings: { method: 'POST', run: (r) => admin.endMeetings(r) },
    getRecordingList: { method: 'GET', run: (r) => deps.recordingAdmin.getRecordingList(r) },
    importRecording: { method: 'POST', run: (r) => deps.recordingAdmin.importRecording(r) },
    getImporterStatus: { method: 'GET', run: () => deps.recordingAdmin.getImporterStatus() },
    addRecordingsToTenant: { method: 'POST', run: (r) => deps.recordingAdmin.addRecordingsToTenant(r) },
    purgeRecordings: { method: 'POST', run: (r) => deps.recordingAdmin.purgeRecordings(r) },
    repairRecordingFiles: { method: 'POST', run: async (r) => deps.recordingAdmin.repairRecordingFiles(r) },
    syncServers: { method: 'POST', run: async (r) => deps.serverSync.syncServers(r) },
    getServersYaml: { method: 'GET', run: (r) => deps.serverSync.serversYaml(r) },
    getTenants: { method: 'GET', run: (r) => deps.tenantAdmin.getTenants(r) },
    getTenantInfo: { method: 'GET', run: (r) => deps.tenantAdmin.getTenantInfo(r) },
    addTenant: { method: 'POST', run: (r) => deps.tenantAdmin.addTenant(r) },
    updateTenant: { method: 'POST', run: (r) => deps.tenantAdmin.updateTenant(r) },
    deleteTenant: { method: 'POST', run: (r) => deps.tenantAdmin.deleteTenant(r) },
    getTenantSettings: { method: 'GET', run: (r) => deps.tenantAdmin.getTenantSettings(r) },
    addTenantSetting: { method: 'POST', run: (r) => deps.tenantAdmin.addTenantSetting(r) },
    deleteTenantSetting: { method: 'POST', run: (r) => deps.tenantAdmin.deleteTenantSetting(r) },
    // Scalelite's whole Redis state is one decision; recordings come in batches.
    migrateScalelitePool: { method: 'POST', run: (r) => deps.migration.migratePool(r), maxBody: MAX_MIGRATION_BODY_BYTES },
    migrateScaleliteRecordings: { method: 'POST', run: (r) => deps.migration.migrateRecordings(r), maxBody: MAX_MIGRATION_BODY_BYTES },
  };

  app.all('/scalelite/api/:action', async (req, res, next) => {
    try {
      const action = req.params.action as string;
      const def = Object.prototype.hasOwnProperty.call(adminActions, action) ? adminActions[action] : undefined;
      if (!def || def.method !== req.method) return send(res, errors.unsupportedRequest());
      noteResponse(res, { call: action });
      const withBody = req.method === 'POST' && hasBody(req);
      if (withBody && mediaType(req) !== 'application/json') return send(res, errors.unsupportedContentType());
      const query = rawQuery(req);
      // The admin API always uses the load balancer secrets, checked before the body is read.
      if (!verifyChecksum({ secrets: settings.secrets, allowed: settings.checksumAlgorithms }, action, query, checksumParam(query, {}))) {
        return refuse(req, res, errors.checksum());
      }
      const raw = withBody ? await readBody(req, def.maxBody ?? MAX_ADMIN_BODY_BYTES) : null;
      const searchParams = new URLSearchParams(query);
      // The timestamp and body digest, when given, are under the checksum (admin-signature.ts).
      const problem = signatureProblem(searchParams, raw, settings.adminSignatures, Date.now());
      if (problem) {
        warnClient('adminSignature', req, problem);
        return send(res, failed('checksumError', `You did not pass the checksum security check: ${problem}`));
      }
      let body: Record<string, unknown> = {};
      if (raw) {
        try {
          const parsed: unknown = JSON.parse(raw.toString('utf8'));
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch {
          res.status(400).json({ error: 'The request body must be a JSON object' });
          return;
        }
      }
      const queryParams = Object.fromEntries(searchParams);
      for (const name of ['checksum', ...SIGNATURE_PARAMS]) delete queryParams[name];
      // What no store can keep is refused here, naming the field, before any decision sees it.
      const unstorable = findUnstorable({ ...body, ...queryParams });
      if (unstorable) {
        res.status(400).json({ error: `${unstorable.path} ${unstorable.problem}, which is not allowed` });
        return;
      }
      const actorHeader = req.headers['x-scalelite-actor'];
      const name = typeof actorHeader === 'string' && actorHeader.trim() !== '' ? actorHeader.trim().slice(0, 200) : `admin-api@${req.ip ?? 'unknown'}`;
      const outcome = await def.run({ params: { ...body, ...queryParams }, actor: { kind: 'admin', name }, correlationId: correlationOf(req) });
      if ('xmlError' in outcome) return send(res, { kind: 'failed', ...outcome.xmlError });
      if ('stream' in outcome) {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
        try {
          line({ result: await outcome.stream(line) });
        } catch (e) {
          logger.error({ err: e, action }, 'admin operation failed');
          line({ error: e instanceof Error ? e.message : String(e) });
        }
        res.end();
        return;
      }
      res.status(outcome.status).json(outcome.json);
    } catch (err) {
      next(err);
    }
  });

  const health = async (_req: Request, res: Response) => {
    try {
      await deps.healthCheck();
      res.status(200).type('text/plain').send('success');
    } catch (err) {
      res.status(200).type('text/plain').send(`Health Check Failure: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (deps.playback) app.use(deps.playback);
  app.get('/health_check', health);
  app.get('/metrics', async (_req, res, next) => {
    try {
      const metrics = await deps.metrics();
      res.status(200).type(metrics.contentType).send(metrics.text);
    } catch (err) {
      next(err);
    }
  });
  app.all('/', health);

  app.all('/{*any}', (_req, res) => send(res, errors.unsupportedRequest()));

  // Nothing reaches a client as an HTML stack trace: BBB clients get BBB XML.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => answerFault(err, req, res));

  const joinPath = (url: string): boolean => {
    const end = url.indexOf('?');
    const path = end < 0 ? url : url.slice(0, end);
    return path === '/bigbluebutton/api/join' || path === '/bigbluebutton/api/join/';
  };
  const handle: RequestListener = (req, res) => {
    const blocked = blockedHost(req, settings.urlHost, settings.multitenancy);
    if (blocked !== null) return refuseHost(res, blocked);
    if (req.method === 'GET' && req.url !== undefined && joinPath(req.url)) {
      runAction('join', req, res).catch((err: unknown) => answerFault(err, req, res));
      return;
    }
    app(req, res);
  };
  return observeRequests(handle, logger, { enabled: settings.accessLog }, deps.observer);
}
