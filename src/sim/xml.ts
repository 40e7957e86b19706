import { isRunning, listenerCount, moderatorCount, videoCount, voiceParticipantCount, type Meeting } from './meetings';

// Renders the documents of bbb-web's FreeMarker templates (WEB-INF/freemarker/*.ftlx).
// Element names and order follow those templates; <#compress> output puts one
// element per line without indentation and no XML declaration, and so do we.

// XML 1.0 forbids most control characters even when escaped; bbb-web strips them from params.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** FreeMarker's XML auto-escaping (auto_esc=true, output_format="XML"). */
export function escapeXml(value: string | number | boolean): string {
  return String(value).replace(INVALID_XML_CHARS, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Metadata and customdata keys become element names, so they must be valid XML names. */
export function isXmlName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) && !/^xml/i.test(name);
}

function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function response(lines: string[]): string {
  return ['<response>', ...lines, '</response>'].join('\n');
}

/** Java's Date.toString() in UTC, e.g. "Thu May 09 13:35:28 UTC 2024", as used for createDate. */
export function javaDateString(epochMs: number): string {
  const d = new Date(epochMs);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** api-error.ftlx: the single-error FAILED document used by most calls. */
export function renderError(messageKey: string, message: string): string {
  return response([el('returncode', 'FAILED'), el('messageKey', messageKey), el('message', message)]);
}

/** api-errors.ftlx: the multi-error document (e.g. nonUniqueVoiceBridge on create). */
export function renderErrors(errors: Array<{ key: string; message: string }>): string {
  return response([el('returncode', 'FAILED'), '<errors>', ...errors.flatMap((e) => ['<error>', el('key', e.key), el('message', e.message), '</error>']), '</errors>']);
}

export interface VersionInfo {
  apiVersion: string;
  /** Empty string when not revealed, as bbb-web renders it. */
  bbbVersion: string;
  /** BBB 3.x advertises its GraphQL endpoints; 2.x does not have them. */
  graphqlWebsocketUrl?: string;
  graphqlApiUrl?: string;
}

/** api-version.ftlx: answer of the root call /bigbluebutton/api. */
export function renderVersion(v: VersionInfo): string {
  const lines = [el('returncode', 'SUCCESS'), el('version', v.apiVersion), el('apiVersion', v.apiVersion), el('bbbVersion', v.bbbVersion)];
  if (v.graphqlWebsocketUrl !== undefined) lines.push(el('graphqlWebsocketUrl', v.graphqlWebsocketUrl));
  if (v.graphqlApiUrl !== undefined) lines.push(el('graphqlApiUrl', v.graphqlApiUrl));
  return response(lines);
}

/** create-meeting.ftlx; messageKey/message are always present (empty unless duplicateWarning). */
export function renderCreate(m: Meeting, messageKey = '', message = ''): string {
  return response([
    el('returncode', 'SUCCESS'),
    el('meetingID', m.meetingID),
    el('internalMeetingID', m.internalMeetingID),
    el('parentMeetingID', m.parentMeetingID),
    el('attendeePW', m.attendeePW),
    el('moderatorPW', m.moderatorPW),
    el('createTime', m.createTime),
    el('voiceBridge', m.voiceBridge),
    el('dialNumber', m.dialNumber),
    el('createDate', javaDateString(m.createTime)),
    el('hasUserJoined', m.hasUserJoined),
    el('duration', m.duration),
    el('hasBeenForciblyEnded', false),
    el('messageKey', messageKey),
    el('message', message),
  ]);
}

export interface JoinInfo {
  internalMeetingID: string;
  internalUserID: string;
  authToken: string;
  sessionToken: string;
  guestStatus: string;
  url: string;
}

/** join-meeting.ftlx, only sent when join is called with redirect=false. */
export function renderJoin(j: JoinInfo): string {
  return response([
    el('returncode', 'SUCCESS'),
    el('messageKey', 'successfullyJoined'),
    el('message', 'You have joined successfully.'),
    el('meeting_id', j.internalMeetingID),
    el('user_id', j.internalUserID),
    el('auth_token', j.authToken),
    el('session_token', j.sessionToken),
    el('guestStatus', j.guestStatus),
    el('url', j.url),
  ]);
}

/** is-meeting-running.ftlx */
export function renderIsMeetingRunning(running: boolean): string {
  return response([el('returncode', 'SUCCESS'), el('running', running)]);
}

/** The end call's sentEndMeetingRequest answer. */
export function renderEnd(): string {
  return response([
    el('returncode', 'SUCCESS'),
    el('messageKey', 'sentEndMeetingRequest'),
    el('message', 'A request to end the meeting was sent.  Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.'),
  ]);
}

/** insert-document.ftlx: only returncode and message, also when it fails. */
export function renderInsertDocument(returncode: 'SUCCESS' | 'FAILED', message: string): string {
  return response([el('returncode', returncode), el('message', message)]);
}

/** bbb-web's getRecordings answer when it has none; the simulator never records. */
export function renderNoRecordings(): string {
  return response([el('returncode', 'SUCCESS'), '<recordings>', '</recordings>', el('messageKey', 'noRecordings'), el('message', 'There are no recordings for the meeting(s).')]);
}

/**
 * The meeting body shared by get-meeting-info.ftlx and get-meetings.ftlx.
 * Breakout details are flat siblings of <isBreakout> as the templates render
 * them (the API docs show a <breakout> wrapper that bbb-web does not emit).
 */
export function meetingLines(m: Meeting): string[] {
  const lines = [
    el('meetingName', m.name),
    el('meetingID', m.meetingID),
    el('internalMeetingID', m.internalMeetingID),
    el('createTime', m.createTime),
    el('createDate', javaDateString(m.createTime)),
    el('voiceBridge', m.voiceBridge),
    el('dialNumber', m.dialNumber),
    el('attendeePW', m.attendeePW),
    el('moderatorPW', m.moderatorPW),
    el('running', isRunning(m)),
    el('duration', m.duration),
    el('hasUserJoined', m.hasUserJoined),
    el('recording', m.record),
    el('hasBeenForciblyEnded', false),
    el('startTime', m.startTime),
    el('endTime', m.endTime),
    el('participantCount', m.attendees.length),
    el('listenerCount', listenerCount(m)),
    el('voiceParticipantCount', voiceParticipantCount(m)),
    el('videoCount', videoCount(m)),
    el('maxUsers', m.maxUsers),
    el('moderatorCount', moderatorCount(m)),
    '<attendees>',
  ];
  for (const a of m.attendees) {
    lines.push(
      '<attendee>',
      el('userID', a.userID),
      el('fullName', a.fullName),
      el('role', a.role),
      el('isPresenter', a.isPresenter),
      el('isListeningOnly', a.isListeningOnly),
      el('hasJoinedVoice', a.hasJoinedVoice),
      el('hasVideo', a.hasVideo),
      el('clientType', a.clientType),
      '<customdata>',
      ...a.customData.filter(([k]) => isXmlName(k)).map(([k, v]) => el(k, v)),
      '</customdata>',
      '</attendee>',
    );
  }
  lines.push('</attendees>', '<metadata>');
  for (const [k, v] of m.metadata) if (isXmlName(k)) lines.push(el(k, v));
  lines.push('</metadata>', el('isBreakout', m.isBreakout));
  if (m.isBreakout) lines.push(el('parentMeetingID', m.parentMeetingID), el('sequence', m.sequence), el('freeJoin', m.freeJoin));
  if (m.breakoutRooms.length > 0) lines.push('<breakoutRooms>', ...m.breakoutRooms.map((id) => el('breakout', id)), '</breakoutRooms>');
  return lines;
}

/** get-meeting-info.ftlx */
export function renderMeetingInfo(m: Meeting): string {
  return response([el('returncode', 'SUCCESS'), ...meetingLines(m)]);
}

/** get-meetings.ftlx, including its noMeetings variant (still SUCCESS). */
export function renderMeetings(meetings: readonly Meeting[]): string {
  if (meetings.length === 0) {
    return response([el('returncode', 'SUCCESS'), '<meetings/>', el('messageKey', 'noMeetings'), el('message', 'no meetings were found on this server')]);
  }
  return response([el('returncode', 'SUCCESS'), '<meetings>', ...meetings.flatMap((m) => ['<meeting>', ...meetingLines(m), '</meeting>']), '</meetings>']);
}
