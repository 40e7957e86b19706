import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { Actor } from '../events/envelope';
import { ChecksumAlgorithm, checksumParam, verifyChecksum } from '../infra/bbb/checksum';
import { el } from '../infra/bbb/xml';
import { AdminApi, AdminOutcome, AdminRequest } from './admin';
import { MeetingApi } from './meetings';
import { Params, mergeParams, presentParam } from './params';
import { BodyTooLargeError, contentTypeAllowed, ContentRule, hasBody, mediaType, rawQuery, readBody, readFormFields, XML_TYPES } from './request';
import { ApiOutcome, errors, failed, failedXml, noMeetingsXml, XML_DECLARATION } from './responses';

export interface AppSettings {
  secrets: string[];
  checksumAlgorithms: Set<ChecksumAlgorithm>;
  buildNumber?: string;
  getMeetingsApiDisabled: boolean;
}

export interface AppDeps {
  settings: AppSettings;
  meetings: MeetingApi;
  admin: AdminApi;
  /** throws with a reason when a backend is unhealthy */
  healthCheck: () => Promise<void>;
  logger: Logger;
}

interface BbbCall {
  params: Params;
  tenantId: string | null;
  actor: Actor;
  correlationId: string;
  /** the raw XML body of create/insertDocument */
  xmlBody?: string;
}

type Handler = (call: BbbCall) => Promise<ApiOutcome>;

interface ActionDef {
  methods: ReadonlyArray<'GET' | 'POST'>;
  content: ContentRule;
  checksum: boolean;
  handler: Handler;
}

const GET_POST = ['GET', 'POST'] as const;

const XML_TYPE = 'application/xml; charset=utf-8';

/** Plain node http, so the express routes and the join fast path answer alike. */
function send(res: ServerResponse, outcome: ApiOutcome): void {
  switch (outcome.kind) {
    case 'redirect':
      res.writeHead(302, { Location: outcome.location, 'Content-Length': '0' }).end();
      return;
    case 'xml':
    case 'failed': {
      const body = outcome.kind === 'xml' ? outcome.body : failedXml(outcome.messageKey, outcome.message);
      res.writeHead(200, { 'Content-Type': XML_TYPE, 'Content-Length': String(Buffer.byteLength(body)) }).end(body);
      return;
    }
  }
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const versionXml = (build?: string) =>
  `${XML_DECLARATION}<response><returncode>SUCCESS</returncode><version>2.0</version>${build ? el('build', build) : ''}</response>`;

const noRecordingsXml = () =>
  `<response><returncode>SUCCESS</returncode><recordings></recordings><messageKey>noRecordings</messageKey><message>There are not recordings for the meetings</message></response>`;

/**
 * The HTTP request listener: join, the call an LMS makes for every user, is
 * answered straight from the read model without express's routing; everything
 * else goes through the express app. Both run the same action code.
 */
export function buildApp(deps: AppDeps): RequestListener {
  const { settings, meetings, admin, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', 'loopback');

  const requireMeetingId = (fn: (call: BbbCall, meetingId: string) => Promise<ApiOutcome>): Handler => {
    return async (call) => {
      const meetingId = presentParam(call.params, 'meetingID');
      return meetingId === undefined ? errors.missingMeetingId() : fn(call, meetingId);
    };
  };

  const actions: Record<string, ActionDef> = {
    create: {
      methods: GET_POST,
      content: 'formOrXml',
      checksum: true,
      handler: requireMeetingId((call, meetingId) =>
        // BBB's own limit, checked before a route is placed for a meeting BBB would refuse
        meetingId.length < 2 || meetingId.length > 256
          ? Promise.resolve(failed('sizeError', 'Meeting ID must be between 2 and 256 characters'))
          : meetings.create({ ...call, meetingId, tag: presentParam(call.params, 'meta_server-tag') ?? null }),
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
    // Recordings are not kept yet: answered as Scalelite does with RECORDING_DISABLED.
    getRecordings: { methods: GET_POST, content: 'form', checksum: false, handler: async () => ({ kind: 'xml', body: noRecordingsXml() }) },
    publishRecordings: { methods: ['GET'], content: 'none', checksum: false, handler: async () => ({ kind: 'failed', messageKey: 'notFound', message: 'We could not find recordings' }) },
    updateRecordings: { methods: GET_POST, content: 'form', checksum: false, handler: async () => ({ kind: 'failed', messageKey: 'notFound', message: 'We could not find recordings' }) },
    deleteRecordings: { methods: ['GET'], content: 'none', checksum: false, handler: async () => ({ kind: 'failed', messageKey: 'notFound', message: 'We could not find recordings' }) },
  };

  const actorOf = (req: IncomingMessage): Actor => ({ kind: 'api', name: `bbb-api@${req.socket.remoteAddress ?? 'unknown'}` });
  const correlationOf = (req: IncomingMessage): string => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
  };

  app.all(['/bigbluebutton/api', '/bigbluebutton/api/'], (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') return send(res, errors.unsupportedRequest());
    res.status(200).type('application/xml').send(versionXml(settings.buildNumber));
  });

  /** Content-Type, checksum, then the action: Scalelite's order of checks. */
  const runAction = async (action: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const def = Object.prototype.hasOwnProperty.call(actions, action) ? actions[action] : undefined;
    if (!def || !(def.methods as readonly string[]).includes(req.method ?? '')) return send(res, errors.unsupportedRequest());
    if (!contentTypeAllowed(def.content, req)) return send(res, errors.unsupportedContentType());
    const body = req.method === 'POST' && hasBody(req) ? await readBody(req) : Buffer.alloc(0);
    const isXml = XML_TYPES.has(mediaType(req)) && body.length > 0;
    const form = isXml ? [] : await readFormFields(req, body);
    const query = rawQuery(req);
    if (def.checksum) {
      const checksum = checksumParam(query, Object.fromEntries(form));
      if (!verifyChecksum({ secrets: settings.secrets, allowed: settings.checksumAlgorithms }, action, query, checksum)) {
        return send(res, errors.checksum());
      }
    }
    const params = mergeParams(form, new URLSearchParams(query));
    const outcome = await def.handler({
      params,
      tenantId: null,
      actor: actorOf(req),
      correlationId: correlationOf(req),
      ...(isXml ? { xmlBody: body.toString('utf8') } : {}),
    });
    send(res, outcome);
  };

  app.all('/bigbluebutton/api/:action', async (req, res, next) => {
    try {
      await runAction(req.params.action as string, req, res);
    } catch (err) {
      next(err);
    }
  });

  const adminActions: Record<string, { method: 'GET' | 'POST'; run: (r: AdminRequest) => Promise<AdminOutcome> }> = {
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
  };

  app.all('/scalelite/api/:action', async (req, res, next) => {
    try {
      const action = req.params.action as string;
      const def = Object.prototype.hasOwnProperty.call(adminActions, action) ? adminActions[action] : undefined;
      if (!def || def.method !== req.method) return send(res, errors.unsupportedRequest());
      const withBody = req.method === 'POST' && hasBody(req);
      if (withBody && mediaType(req) !== 'application/json') return send(res, errors.unsupportedContentType());
      const query = rawQuery(req);
      // The admin API always uses the load balancer secrets; the JSON body is not signed (Scalelite's scheme).
      if (!verifyChecksum({ secrets: settings.secrets, allowed: settings.checksumAlgorithms }, action, query, checksumParam(query, {}))) {
        return send(res, errors.checksum());
      }
      let body: Record<string, unknown> = {};
      if (withBody) {
        try {
          const parsed: unknown = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8'));
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch (e) {
          if (e instanceof BodyTooLargeError) throw e;
          res.status(400).json({ error: 'The request body must be a JSON object' });
          return;
        }
      }
      const queryParams = Object.fromEntries(new URLSearchParams(query));
      delete queryParams.checksum;
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
  app.get('/health_check', health);
  app.all('/', health);

  app.all('/{*any}', (_req, res) => send(res, errors.unsupportedRequest()));

  // Nothing reaches a client as an HTML stack trace: BBB clients get BBB XML.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BodyTooLargeError) {
      res.status(413).type('application/xml').send(failedXml('internalError', 'Request body too large'));
      return;
    }
    logger.error({ err, path: req.path }, 'request failed');
    if (res.headersSent) return;
    res.status(200).type('application/xml').send(failedXml('internalError', 'An internal error occurred.'));
  });

  const joinPath = (url: string): boolean => {
    const end = url.indexOf('?');
    const path = end < 0 ? url : url.slice(0, end);
    return path === '/bigbluebutton/api/join' || path === '/bigbluebutton/api/join/';
  };
  return (req, res) => {
    if (req.method === 'GET' && req.url !== undefined && joinPath(req.url)) {
      runAction('join', req, res).catch((err: unknown) => {
        logger.error({ err }, 'join failed');
        if (!res.headersSent) send(res, errors.internal('An internal error occurred.'));
      });
      return;
    }
    app(req, res);
  };
}
