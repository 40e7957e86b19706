import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { buildSortedQuery, verifyChecksum } from './checksum';
import { isRunning, randomAlnum, type Meeting, type MeetingRegistry, type PresentationDocument, type Role } from './meetings';
import type { ChecksumAlgorithm } from './types';
import {
  renderCreate,
  renderEnd,
  renderError,
  renderErrors,
  renderInsertDocument,
  renderIsMeetingRunning,
  renderJoin,
  renderMeetingInfo,
  renderMeetings,
  renderNoRecordings,
  renderVersion,
} from './xml';

// The API of one simulated server, as a function from request to response so it
// can be exercised without sockets. Validation order and messages follow
// bbb-web's ValidationService constraints and ApiController.

export interface ApiRequest {
  method: string;
  /** Path segment after /bigbluebutton/api/ ('' for the root version call). */
  action: string;
  /** Query string exactly as received, without the leading '?'. */
  rawQuery: string;
  body: Buffer;
  contentType?: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface JoinSession {
  sessionToken: string;
  meetingID: string;
  internalUserID: string;
  fullName: string;
}

export interface ApiContext {
  registry: MeetingRegistry;
  secret: string;
  allowedAlgorithms: readonly ChecksumAlgorithm[];
  bbbVersion: string;
  revealVersion: boolean;
  /** http://host:port (no trailing slash); used to build client and logout URLs. */
  baseUrl: string;
  sessions: Map<string, JoinSession>;
}

export const API_VERSION = '2.0';
export const XML_CONTENT_TYPE = 'text/xml;charset=utf-8';

/** Actions the simulator implements; anything else gets the unsupported answer. */
export const SUPPORTED_ACTIONS = ['index', 'create', 'join', 'isMeetingRunning', 'getMeetingInfo', 'getMeetings', 'end', 'insertDocument', 'getRecordings'] as const;

type Params = Map<string, string[]>;

interface ApiError {
  key: string;
  message: string;
}

function xml(body: string, status = 200): ApiResponse {
  return { status, headers: { 'content-type': XML_CONTENT_TYPE, 'cache-control': 'no-cache' }, body };
}

function failed(e: ApiError): ApiResponse {
  return xml(renderError(e.key, e.message));
}

export function parseParams(query: string, into: Params = new Map()): Params {
  for (const [k, v] of new URLSearchParams(query)) {
    const list = into.get(k);
    if (list) list.push(v);
    else into.set(k, [v]);
  }
  return into;
}

function first(params: Params, name: string): string | undefined {
  return params.get(name)?.[0];
}

/** Boolean.parseBoolean: only a case-insensitive "true" is true. */
function javaBoolean(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === 'true';
}

function isBooleanLiteral(value: string | undefined): boolean {
  return value === undefined || value === '' || /^(true|false)$/i.test(value);
}

function isIntegral(value: string | undefined): boolean {
  return value === undefined || value === '' || /^-?\d+$/.test(value);
}

function toInt(value: string | undefined, fallback: number): number {
  return value !== undefined && /^-?\d+$/.test(value) ? Number.parseInt(value, 10) : fallback;
}

const CONTROL_CHARS = /[\u0000-\u001F\u007F]/;

/** MeetingIDConstraint: NotEmpty, Size(2..256), no commas; plus ApiController's sanitize check. */
export function meetingIdError(meetingID: string | undefined): ApiError | undefined {
  if (meetingID === undefined || meetingID === '') return { key: 'missingParamMeetingID', message: 'You must provide a meeting ID' };
  if (meetingID.length < 2 || meetingID.length > 256) return { key: 'sizeError', message: 'Meeting ID must be between 2 and 256 characters' };
  if (meetingID.includes(',')) return { key: 'validationError', message: "Meeting ID cannot contain ','" };
  if (CONTROL_CHARS.test(meetingID)) return { key: 'validationError', message: 'Invalid meeting ID' };
  return undefined;
}

function checksumError(ctx: ApiContext, action: string, req: ApiRequest, params: Params): ApiError | undefined {
  // bbb-web rebuilds a sorted query from the parameters when none was sent (POST form bodies).
  const hashedQuery = req.rawQuery === '' ? buildSortedQuery(params) : req.rawQuery;
  const verdict = verifyChecksum({
    action,
    rawQuery: hashedQuery,
    checksum: first(params, 'checksum'),
    secret: ctx.secret,
    allowed: ctx.allowedAlgorithms,
  });
  if (verdict.ok) return undefined;
  return {
    key: 'checksumError',
    message: verdict.reason === 'missing' ? 'You must provide the checksum' : 'Checksums do not match',
  };
}

/** Parses the <modules><module name="presentation"><document …/> payload of create/insertDocument. */
export function parseDocuments(body: string): PresentationDocument[] | undefined {
  if (XMLValidator.validate(body) !== true) return undefined;
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    isArray: (name) => name === 'module' || name === 'document',
  });
  const doc = parser.parse(body) as { modules?: { module?: Array<Record<string, unknown>> } };
  if (!doc.modules || typeof doc.modules !== 'object') return undefined;
  const documents: PresentationDocument[] = [];
  for (const module of doc.modules.module ?? []) {
    if (module['@_name'] !== 'presentation') continue;
    for (const d of (module['document'] as unknown[] | undefined) ?? []) {
      const attrs = typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : {};
      const str = (k: string) => (typeof attrs[k] === 'string' ? (attrs[k] as string) : undefined);
      const entry: PresentationDocument = { current: javaBoolean(str('@_current')) };
      const name = str('@_name');
      const url = str('@_url');
      const filename = str('@_filename');
      if (name !== undefined) entry.name = name;
      if (url !== undefined) entry.url = url;
      if (filename !== undefined) entry.filename = filename;
      documents.push(entry);
    }
  }
  return documents;
}

function isFormBody(req: ApiRequest): boolean {
  return req.method === 'POST' && (req.contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

function isXmlBody(req: ApiRequest): boolean {
  return req.method === 'POST' && req.body.length > 0 && !isFormBody(req);
}

export function handleApiCall(ctx: ApiContext, req: ApiRequest): ApiResponse {
  const params = parseParams(req.rawQuery);
  if (isFormBody(req)) parseParams(req.body.toString('utf8'), params);

  switch (req.action) {
    case '':
    case 'index':
      return versionCall(ctx, req, params);
    case 'create':
      return createCall(ctx, req, params);
    case 'join':
      return joinCall(ctx, req, params);
    case 'isMeetingRunning':
      return isMeetingRunningCall(ctx, req, params);
    case 'getMeetingInfo':
      return getMeetingInfoCall(ctx, req, params);
    case 'getMeetings':
      return getMeetingsCall(ctx, req, params);
    case 'end':
      return endCall(ctx, req, params);
    case 'insertDocument':
      return insertDocumentCall(ctx, req, params);
    case 'getRecordings':
      return getRecordingsCall(ctx, req, params);
    default:
      // Real bbb-web has no route for unknown actions and answers 404; the body
      // is the FAILED document load balancers give for unsupported calls.
      return xml(renderError('unsupportedRequest', 'This request is not supported.'), 404);
  }
}

function versionCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  // The root call needs no checksum; a valid one for the empty action proves
  // knowledge of the secret, which is when the simulator always reveals bbbVersion.
  const signed = first(params, 'checksum') !== undefined && checksumError(ctx, '', req, params) === undefined;
  const reveal = signed || ctx.revealVersion;
  const major = Number.parseInt(ctx.bbbVersion, 10);
  const wsBase = ctx.baseUrl.replace(/^http/, 'ws');
  return xml(
    renderVersion({
      apiVersion: API_VERSION,
      bbbVersion: reveal ? ctx.bbbVersion : '',
      ...(major >= 3 ? { graphqlWebsocketUrl: `${wsBase}/graphql`, graphqlApiUrl: `${ctx.baseUrl}/api/rest` } : {}),
    }),
  );
}

function createCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'create', req, params) ?? createParamsError(params);
  if (invalid) return failed(invalid);

  const meetingID = first(params, 'meetingID')!;
  const isBreakout = javaBoolean(first(params, 'isBreakout'));
  const parentMeetingID = first(params, 'parentMeetingID');
  if (isBreakout && !parentMeetingID) {
    return failed({ key: 'parentMeetingIdMissing', message: 'No parent meeting ID was provided for the breakout room' });
  }

  // Pre-uploaded slides only count on the first create; bbb-web ignores them on duplicates.
  const documents = isXmlBody(req) ? (parseDocuments(req.body.toString('utf8')) ?? []) : [];
  const metadata: Array<[string, string]> = [];
  for (const [k, values] of params) {
    if (k.startsWith('meta_') && k.length > 5) metadata.push([k.slice(5).toLowerCase(), values[0] ?? '']);
  }
  const sequence = first(params, 'sequence');
  const meetingEndedURL = first(params, 'meetingEndedURL');
  const attendeePW = first(params, 'attendeePW');
  const moderatorPW = first(params, 'moderatorPW');
  const voiceBridge = first(params, 'voiceBridge');

  const outcome = ctx.registry.create({
    meetingID,
    name: first(params, 'name')!,
    ...(attendeePW ? { attendeePW } : {}),
    ...(moderatorPW ? { moderatorPW } : {}),
    ...(voiceBridge ? { voiceBridge } : {}),
    record: javaBoolean(first(params, 'record')),
    duration: toInt(first(params, 'duration'), 0),
    maxUsers: toInt(first(params, 'maxParticipants'), 0),
    metadata,
    isBreakout,
    ...(parentMeetingID ? { parentMeetingID } : {}),
    ...(sequence !== undefined && /^\d+$/.test(sequence) ? { sequence: Number(sequence) } : {}),
    freeJoin: javaBoolean(first(params, 'freeJoin')),
    ...(meetingEndedURL ? { meetingEndedURL } : {}),
    documents,
  });
  switch (outcome.kind) {
    case 'created':
      return xml(renderCreate(outcome.meeting));
    case 'duplicate':
      return xml(renderCreate(outcome.meeting, 'duplicateWarning', 'This conference was already in existence and may currently be in progress.'));
    case 'idNotUnique':
      return failed({ key: 'idNotUnique', message: 'A meeting already exists with that meeting ID.  Please use a different meeting ID.' });
    case 'voiceBridgeInUse':
      return xml(renderErrors([{ key: 'nonUniqueVoiceBridge', message: 'The selected voice bridge is already in use.' }]));
  }
}

/** CreateMeeting request constraints (name, meetingID, passwords, voiceBridge, booleans). */
function createParamsError(params: Params): ApiError | undefined {
  const name = first(params, 'name');
  if (name === undefined) return { key: 'nullError', message: 'You must provide a meeting name' };
  if (name === '') return { key: 'emptyError', message: 'You must provide a meeting name' };
  if (name.length < 2 || name.length > 256) return { key: 'sizeError', message: 'Meeting name must be between 2 and 256 characters' };
  const idError = meetingIdError(first(params, 'meetingID'));
  if (idError) return idError;
  for (const pw of [first(params, 'attendeePW'), first(params, 'moderatorPW')]) {
    if (pw !== undefined && pw !== '' && (pw.length < 2 || pw.length > 64)) return { key: 'invalidPassword', message: 'Invalid password' };
  }
  if (!isIntegral(first(params, 'voiceBridge'))) return { key: 'validationError', message: 'Voice bridge must be an integral value' };
  if (!isBooleanLiteral(first(params, 'isBreakout'))) {
    return { key: 'validationError', message: 'You must provide a boolean value (true or false) for the breakout room' };
  }
  if (!isBooleanLiteral(first(params, 'record'))) return { key: 'validationError', message: 'Record must be a boolean value (true or false)' };
  return undefined;
}

function joinCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const redirectParam = first(params, 'redirect');
  // bbb-web: an absent/empty redirect means redirect; otherwise Boolean.parseBoolean.
  const redirect = redirectParam === undefined || redirectParam === '' ? true : javaBoolean(redirectParam);
  const fail = (e: ApiError) => (redirect ? joinErrorRedirect(ctx, params, e) : failed(e));

  const invalid = checksumError(ctx, 'join', req, params) ?? meetingIdError(first(params, 'meetingID'));
  if (invalid) return fail(invalid);
  const fullName = (first(params, 'fullName') ?? '').replace(new RegExp(CONTROL_CHARS.source, 'g'), '').trim();
  if (fullName === '') return fail({ key: 'missingParamFullName', message: 'You must provide your name' });
  const meeting = ctx.registry.find(first(params, 'meetingID')!);
  if (!meeting) return fail({ key: 'invalidMeetingIdentifier', message: 'A meeting with that ID does not exist' });

  const createTime = first(params, 'createTime');
  if (createTime !== undefined) {
    if (!isIntegral(createTime)) return fail({ key: 'validationError', message: 'Value must be an integral number' });
    if (Number(createTime) !== meeting.createTime) {
      return fail({ key: 'mismatchCreateTimeParam', message: 'The createTime parameter submitted mismatches with the current meeting.' });
    }
  }

  const role = joinRole(meeting, first(params, 'role'), first(params, 'password'));
  if ('key' in role) return fail(role);

  if (meeting.maxUsers > 0 && meeting.attendees.length >= meeting.maxUsers) {
    return fail({ key: 'maxParticipantsReached', message: 'The number of participants allowed for this meeting has been reached.' });
  }

  const customData: Array<[string, string]> = [];
  for (const [k, values] of params) if (k.startsWith('userdata-') && k.length > 9) customData.push([k.slice(9), values[0] ?? '']);
  const userID = first(params, 'userID');
  const attendee = ctx.registry.addAttendee(meeting, { fullName, role: role.role, ...(userID ? { userID } : {}), customData });

  const sessionToken = randomAlnum(16, true);
  const authToken = randomAlnum(12, true);
  ctx.sessions.set(sessionToken, { sessionToken, meetingID: meeting.meetingID, internalUserID: attendee.internalUserID, fullName });
  const url = `${ctx.baseUrl}/html5client/join?sessionToken=${sessionToken}`;
  if (redirect) return { status: 302, headers: { location: url, 'cache-control': 'no-cache' }, body: '' };
  return xml(
    renderJoin({
      internalMeetingID: meeting.internalMeetingID,
      internalUserID: attendee.internalUserID,
      authToken,
      sessionToken,
      guestStatus: 'ALLOW',
      url,
    }),
  );
}

/** role=moderator|viewer wins (BBB 2.4+); otherwise the password decides. */
function joinRole(meeting: Meeting, role: string | undefined, password: string | undefined): { role: Role } | ApiError {
  const r = role?.toLowerCase();
  if (r === 'moderator') return { role: 'MODERATOR' };
  if (r === 'viewer') return { role: 'VIEWER' };
  if (password === undefined || password === '') {
    return { key: 'invalidPassword', message: 'You must either send the valid role of the user, or the password, should the meeting has one.' };
  }
  if (password === meeting.moderatorPW) return { role: 'MODERATOR' };
  if (password === meeting.attendeePW) return { role: 'VIEWER' };
  return { key: 'invalidPassword', message: 'The provided password is neither a moderator or attendee password' };
}

/**
 * bbb-web answers join errors with a redirect to the logout URL carrying
 * errors=[{"key":…,"message":…}] (errorRedirectUrl takes precedence since 3.0),
 * because the caller is a browser, not an API client.
 */
function joinErrorRedirect(ctx: ApiContext, params: Params, e: ApiError): ApiResponse {
  const fallback = `${ctx.baseUrl}/`;
  let target: URL;
  try {
    target = new URL(first(params, 'errorRedirectUrl') || first(params, 'logoutURL') || fallback);
  } catch {
    target = new URL(fallback);
  }
  target.searchParams.append('errors', JSON.stringify([{ key: e.key, message: e.message }]));
  return { status: 302, headers: { location: target.toString(), 'cache-control': 'no-cache' }, body: '' };
}

function isMeetingRunningCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'isMeetingRunning', req, params) ?? meetingIdError(first(params, 'meetingID'));
  if (invalid) return failed(invalid);
  const meeting = ctx.registry.find(first(params, 'meetingID')!);
  return xml(renderIsMeetingRunning(meeting !== undefined && isRunning(meeting)));
}

function getMeetingInfoCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'getMeetingInfo', req, params) ?? meetingIdError(first(params, 'meetingID'));
  if (invalid) return failed(invalid);
  const meeting = ctx.registry.find(first(params, 'meetingID')!);
  if (!meeting) return failed({ key: 'notFound', message: 'A meeting with that ID does not exist' });
  return xml(renderMeetingInfo(meeting));
}

function getMeetingsCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'getMeetings', req, params);
  if (invalid) return failed(invalid);
  return xml(renderMeetings(ctx.registry.all()));
}

function endCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'end', req, params) ?? meetingIdError(first(params, 'meetingID'));
  if (invalid) return failed(invalid);
  const meeting = ctx.registry.find(first(params, 'meetingID')!);
  if (!meeting) return failed({ key: 'notFound', message: 'A meeting with that ID does not exist' });
  // The password is optional since BBB 2.4, but a wrong one is still rejected.
  const password = first(params, 'password');
  if (password !== undefined && password !== '' && password !== meeting.moderatorPW) {
    return failed({ key: 'invalidPassword', message: 'The supplied moderator password is incorrect' });
  }
  ctx.registry.end(meeting.meetingID, 'api');
  return xml(renderEnd());
}

function insertDocumentCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'insertDocument', req, params) ?? meetingIdError(first(params, 'meetingID'));
  if (invalid) return failed(invalid);
  const meetingID = first(params, 'meetingID')!;
  const meeting = ctx.registry.find(meetingID);
  if (!meeting) return xml(renderInsertDocument('FAILED', `Meeting with id [${meetingID}] not found.`));
  if (!isXmlBody(req)) return xml(renderInsertDocument('FAILED', 'Insert Document API called without a payload'));
  const documents = parseDocuments(req.body.toString('utf8'));
  if (!documents) return xml(renderInsertDocument('FAILED', 'The document payload is not valid XML'));
  meeting.documents.push(...documents);
  return xml(renderInsertDocument('SUCCESS', 'Presentation is being uploaded'));
}

function getRecordingsCall(ctx: ApiContext, req: ApiRequest, params: Params): ApiResponse {
  const invalid = checksumError(ctx, 'getRecordings', req, params);
  if (invalid) return failed(invalid);
  return xml(renderNoRecordings());
}
