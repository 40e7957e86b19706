import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { Actor } from '../events/envelope';
import { describeUnstorable } from '../events/storable';
import { checksumParam, verifyChecksum } from '../infra/bbb/checksum';
import { el } from '../infra/bbb/xml';
import { Tenant } from '../projections/pool';
import type { AppSettings } from './app';
import { refuse, send } from './http';
import { MeetingApi } from './meetings';
import { noRecordingsXml, RecordingApi, recordingsNotFound } from './recordings';
import { Params, mergeParams, presentParam } from './params';
import {
  contentTypeAllowed,
  ContentRule,
  correlationOf,
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
import { noteResponse } from './access';

/*
 * The BBB API under /bigbluebutton/api: each action's methods, content rule and
 * checksum, checked in Scalelite's order before the action runs. The express
 * route and the join fast path (app.ts) run the same code.
 */

export type BbbSettings = Pick<AppSettings, 'secrets' | 'checksumAlgorithms' | 'buildNumber' | 'getMeetingsApiDisabled' | 'recordingDisabled' | 'multitenancy'>;

export interface BbbRoutesDeps {
  settings: BbbSettings;
  meetings: MeetingApi;
  recordings: RecordingApi;
  /** the tenant a request is for (tenancy.ts) */
  tenantOf: (req: IncomingMessage) => Promise<Tenant | null | 'unknown'>;
  logger: Logger;
}

export interface BbbCall {
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

const versionXml = (build?: string) => `${XML_DECLARATION}<response><returncode>SUCCESS</returncode><version>2.0</version>${build ? el('build', build) : ''}</response>`;

/** Where the client called us, as Rails' request.base_url: the proxy's view when a trusted proxy says so. */
function originOf(req: IncomingMessage): string {
  const r = req as Partial<Request>;
  const proto = typeof r.protocol === 'string' ? r.protocol : 'http';
  const host = typeof r.host === 'string' && r.host !== '' ? r.host : (req.headers.host ?? 'localhost');
  return `${proto}://${host}`;
}

const actorOf = (req: IncomingMessage): Actor => ({ kind: 'api', name: `bbb-api@${req.socket.remoteAddress ?? 'unknown'}` });

const requireMeetingId = (fn: (call: BbbCall, meetingId: string) => Promise<ApiOutcome>): Handler => {
  return async (call) => {
    const meetingId = presentParam(call.params, 'meetingID');
    return meetingId === undefined ? errors.missingMeetingId() : fn(call, meetingId);
  };
};

/** The path of a join, the call the fast path answers without express's routing. */
export function isJoinPath(url: string): boolean {
  const end = url.indexOf('?');
  const path = end < 0 ? url : url.slice(0, end);
  return path === '/bigbluebutton/api/join' || path === '/bigbluebutton/api/join/';
}

/** Each BBB API action: its methods, content rule, whether it is signed, and what answers it. */
function bbbActions({ settings, meetings, recordings }: BbbRoutesDeps): Record<string, ActionDef> {
  /** Without multitenancy every recording is in scope; with it, the tenant's (on the bare host: those of no tenant). */
  const recordingScope = (call: BbbCall): string | null | undefined => (settings.multitenancy ? call.tenantId : undefined);
  return {
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
    join: { methods: ['GET'], content: 'none', checksum: true, handler: requireMeetingId((call, meetingId) => meetings.join(call, meetingId)) },
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
}

export interface BbbRoutes {
  /** `/bigbluebutton/api`: the version document */
  version: (req: Request, res: Response) => void;
  /** one action by name: the express route and the join fast path both call it */
  run: (action: string, req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export function bbbRoutes(deps: BbbRoutesDeps): BbbRoutes {
  const { settings, tenantOf, logger } = deps;
  const actions = bbbActions(deps);

  const version = (req: Request, res: Response): void => {
    if (req.method !== 'GET' && req.method !== 'POST') return send(res, errors.unsupportedRequest());
    res.status(200).type('application/xml').send(versionXml(settings.buildNumber));
  };

  /**
   * Content-Type, checksum, then the action: Scalelite's order of checks. The checksum covers
   * the query string only, so it is checked before a body is read: a caller without the
   * secret cannot make this process read (or hold) megabytes. Only a form body that must
   * carry the checksum itself is read first, and forms are small.
   */
  const run = async (action: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const def = Object.prototype.hasOwnProperty.call(actions, action) ? actions[action] : undefined;
    if (!def || !(def.methods as readonly string[]).includes(req.method ?? '')) return refuse(req, res, errors.unsupportedRequest());
    noteResponse(res, { call: action });
    if (!contentTypeAllowed(def.content, req)) return refuse(req, res, errors.unsupportedContentType());
    const withBody = req.method === 'POST' && hasBody(req);
    const query = rawQuery(req);
    // Parsed once: the checksum and the params read the same entries.
    const queryParams = [...new URLSearchParams(query)];
    // Without multitenancy there is no tenant to look up (and no await on the join path).
    const tenant = def.checksum && settings.multitenancy ? await tenantOf(req) : null;
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
      let checksum = checksumParam(queryParams, {});
      if (checksum === null && withBody && FORM_TYPES.has(mediaType(req))) {
        await readRequest(MAX_FORM_BYTES);
        checksum = checksumParam(queryParams, Object.fromEntries(form));
      }
      if (!verifyChecksum({ secrets: tenant ? tenant.secrets : settings.secrets, allowed: settings.checksumAlgorithms }, action, query, checksum)) {
        return refuse(req, res, errors.checksum());
      }
    }
    if (!read) await readRequest(MAX_BODY_BYTES);
    const isXml = body.length > 0 && XML_TYPES.has(mediaType(req));
    const params = mergeParams(form, queryParams);
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
      // always set (undefined without one): one shape for every call
      xmlBody: isXml ? body.toString('utf8') : undefined,
    });
    send(res, outcome, logger);
  };

  return { version, run };
}
