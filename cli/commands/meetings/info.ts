import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { serverOut } from '../../format';
import type { MeetingRouteJson } from '../../../src/api/views/meeting';

export type InfoValue = string | number | boolean | null | InfoValue[] | { [name: string]: InfoValue };

/*
 * BBB's getMeetingInfo reply is XML, so every value arrives as text and an
 * element's shape depends on how many children it has (one attendee is an
 * object, two a list, none an empty string). For --json each field gets one
 * type, by BBB's own types (get-meeting-info.ftlx).
 */
const NUMBERS = new Set([
  'createTime',
  'duration',
  'startTime',
  'endTime',
  'participantCount',
  'listenerCount',
  'voiceParticipantCount',
  'videoCount',
  'maxUsers',
  'moderatorCount',
  'sequence',
]);
const BOOLEANS = new Set([
  'running',
  'hasUserJoined',
  'recording',
  'hasBeenForciblyEnded',
  'isBreakout',
  'freeJoin',
  'isPresenter',
  'isListeningOnly',
  'hasJoinedVoice',
  'hasVideo',
]);
/** element → the child it lists: always a list, empty or not */
const LISTS: Record<string, string> = { attendees: 'attendee', breakoutRooms: 'breakout' };
/** name → text maps: always an object, empty or not */
const MAPS = new Set(['metadata', 'customdata']);

/** An element's text (a repeated element: its last, as BBB reads a repeated param). */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length > 0 ? textOf(value[value.length - 1]) : '';
  if (value && typeof value === 'object') return textOf((value as Record<string, unknown>)['#text']);
  return value === undefined || value === null ? '' : String(value);
}

function infoValue(name: string, value: unknown): InfoValue {
  const child = LISTS[name];
  if (child !== undefined) {
    const items = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[child] : undefined;
    return (items === undefined ? [] : Array.isArray(items) ? items : [items]).map((item) => infoValue(child, item));
  }
  if (MAPS.has(name)) {
    const entries = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value as Record<string, unknown>) : [];
    return Object.fromEntries(entries.map(([k, v]) => [k, textOf(v)]));
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && !('#text' in value)) return meetingInfoOut(value as Record<string, unknown>);
  const text = textOf(value);
  if (NUMBERS.has(name)) return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : null;
  if (BOOLEANS.has(name)) return text === 'true' ? true : text === 'false' ? false : null;
  return text;
}

/** BBB's getMeetingInfo document with one type per field: numbers, booleans, lists and maps as such, the rest text. */
export function meetingInfoOut(info: Record<string, unknown>): { [name: string]: InfoValue } {
  return Object.fromEntries(Object.entries(info).map(([k, v]) => [k, infoValue(k, v)]));
}

export default class MeetingsInfo extends AdminCommand {
  static override summary = 'What BBB says of one meeting, and where the balancer routes it.';
  static override args = { meetingID: Args.string({ description: 'the meetingID' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MeetingsInfo);
    if (!args.meetingID) this.error('Please input a meetingID!', { exit: 1 });
    const result = await this.client(flags.balancer).call<MeetingRouteJson>('getMeetingRoute', 'GET', { meetingID: args.meetingID });
    const info = result.info ?? {};
    const text = (k: string) => (info[k] === undefined || info[k] === null ? '' : String(info[k]));
    this.log(`Meeting ID: ${result.meeting.meeting_id}`);
    this.log(`\tMeeting Name: ${text('meetingName')}`);
    this.log(`\tInternal MeetingID: ${text('internalMeetingID')}`);
    this.log(`\tCreated Date: ${text('createDate')}`);
    this.log(`\tRecording Enabled: ${text('recording')}`);
    this.log(`\tParticipants: ${text('participantCount')}`);
    this.log(`\tVoice Bridge: ${result.meeting.voice_bridge}`);
    this.log(`\tServer id: ${result.server?.id ?? '(removed)'}`);
    this.log(`\tServer url: ${result.server?.url ?? ''}`);
    const metadata = info.metadata;
    if (metadata && typeof metadata === 'object') {
      this.log('\tMetaData:');
      for (const [k, v] of Object.entries(metadata as Record<string, unknown>)) this.log(`\t\t${k}: ${v === null || typeof v === 'object' ? '' : String(v)}`);
    }
    if (result.info_error) this.logToStderr(`WARNING: Could not get info for meeting id=${args.meetingID}: ${result.info_error}`);
    return { ...result, server: result.server ? serverOut(result.server) : null, info: result.info ? meetingInfoOut(result.info) : null };
  }
}
