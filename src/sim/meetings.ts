import { createHash, randomBytes } from 'node:crypto';
import type { AddParticipantsOptions, SimAttendeeSnapshot, SimMeetingSnapshot } from './types';

// In-memory model of bbb-web's MeetingService for one simulated server.

export type Role = 'MODERATOR' | 'VIEWER';

export interface Attendee {
  /** bbb-web's internal user id ("w_" + 12 random chars), returned by join as user_id. */
  internalUserID: string;
  /** The join call's userID, or the internal id when none was given; shown as <userID>. */
  userID: string;
  fullName: string;
  role: Role;
  isPresenter: boolean;
  isListeningOnly: boolean;
  hasJoinedVoice: boolean;
  hasVideo: boolean;
  clientType: string;
  /** userdata-* join parameters, keyed without the prefix. */
  customData: Array<[string, string]>;
}

export interface PresentationDocument {
  name?: string;
  url?: string;
  filename?: string;
  current: boolean;
}

export interface Meeting {
  meetingID: string;
  internalMeetingID: string;
  name: string;
  createTime: number;
  startTime: number;
  endTime: number;
  voiceBridge: string;
  dialNumber: string;
  attendeePW: string;
  moderatorPW: string;
  record: boolean;
  duration: number;
  maxUsers: number;
  /** Insertion-ordered, keys lower-cased like bbb-web does. */
  metadata: Array<[string, string]>;
  isBreakout: boolean;
  /** Internal id of the parent, or BBB's "bbb-none" placeholder. */
  parentMeetingID: string;
  sequence: number;
  freeJoin: boolean;
  /** Internal ids of breakout rooms spawned from this meeting. */
  breakoutRooms: string[];
  hasUserJoined: boolean;
  /** Everyone who ever joined: BBB's recording metadata reports this as participants. */
  participantsJoined: number;
  attendees: Attendee[];
  documents: PresentationDocument[];
  /** create's meetingEndedURL parameter. */
  meetingEndedURL?: string;
}

export const NO_PARENT = 'bbb-none';
export const DEFAULT_DIAL_NUMBER = '613-555-1234';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomAlnum(length: number, lowerCaseOnly = false): string {
  const alphabet = lowerCaseOnly ? ALNUM.slice(0, 26) + ALNUM.slice(52) : ALNUM;
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

export function sha1Hex(value: string): string {
  return createHash('sha1').update(value, 'utf8').digest('hex');
}

/** ParamsProcessorUtil: internal id = sha1(external id) + "-" + createTime. */
export function internalMeetingIdFor(meetingID: string, createTime: number): string {
  return `${sha1Hex(meetingID)}-${createTime}`;
}

export function moderatorCount(m: Meeting): number {
  return m.attendees.filter((a) => a.role === 'MODERATOR').length;
}
export function listenerCount(m: Meeting): number {
  return m.attendees.filter((a) => a.isListeningOnly).length;
}
export function voiceParticipantCount(m: Meeting): number {
  return m.attendees.filter((a) => a.hasJoinedVoice).length;
}
export function videoCount(m: Meeting): number {
  return m.attendees.filter((a) => a.hasVideo).length;
}
/** Meeting.isRunning() in bbb-web: a meeting runs while it has users, not merely because it exists. */
export function isRunning(m: Meeting): boolean {
  return m.attendees.length > 0;
}

export function snapshotMeeting(m: Meeting): SimMeetingSnapshot {
  const attendees: SimAttendeeSnapshot[] = m.attendees.map((a) => ({
    userID: a.userID,
    internalUserID: a.internalUserID,
    fullName: a.fullName,
    role: a.role,
    isPresenter: a.isPresenter,
    isListeningOnly: a.isListeningOnly,
    hasJoinedVoice: a.hasJoinedVoice,
    hasVideo: a.hasVideo,
  }));
  return {
    meetingID: m.meetingID,
    internalMeetingID: m.internalMeetingID,
    name: m.name,
    createTime: m.createTime,
    running: isRunning(m),
    participants: m.attendees.length,
    moderators: moderatorCount(m),
    videos: videoCount(m),
    listeners: listenerCount(m),
    voiceParticipants: voiceParticipantCount(m),
    isBreakout: m.isBreakout,
    ...(m.isBreakout ? { parentMeetingID: m.parentMeetingID } : {}),
    breakoutRooms: [...m.breakoutRooms],
    record: m.record,
    metadata: Object.fromEntries(m.metadata),
    documents: m.documents.length,
    attendees,
  };
}

/** Resolves `true`/number options of addParticipants to a count within [0, total]. */
export function portion(value: number | boolean | undefined, total: number): number {
  if (value === true) return total;
  if (value === undefined || value === false) return 0;
  return Math.max(0, Math.min(total, Math.floor(value)));
}

export interface NewAttendee {
  fullName: string;
  role: Role;
  userID?: string;
  hasVideo?: boolean;
  hasJoinedVoice?: boolean;
  isListeningOnly?: boolean;
  customData?: Array<[string, string]>;
}

export interface CreateInput {
  meetingID: string;
  name: string;
  attendeePW?: string;
  moderatorPW?: string;
  voiceBridge?: string;
  record: boolean;
  duration: number;
  maxUsers: number;
  metadata: Array<[string, string]>;
  isBreakout: boolean;
  parentMeetingID?: string;
  sequence?: number;
  freeJoin: boolean;
  meetingEndedURL?: string;
  documents: PresentationDocument[];
}

export type CreateOutcome = { kind: 'created'; meeting: Meeting } | { kind: 'duplicate'; meeting: Meeting } | { kind: 'idNotUnique' } | { kind: 'voiceBridgeInUse' };

export type EndReason = 'api' | 'control' | 'empty' | 'duration' | 'parentEnded';

export interface RegistryOptions {
  emptyMeetingTimeoutMs?: number;
  onEnded?: (meeting: Meeting, reason: EndReason) => void;
  now?: () => number;
}

export class MeetingRegistry {
  private readonly byID = new Map<string, Meeting>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly durationTimers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(private readonly opts: RegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  all(): Meeting[] {
    return [...this.byID.values()];
  }

  find(meetingID: string): Meeting | undefined {
    return this.byID.get(meetingID);
  }

  /** Breakout creation may name the parent by its internal id (as BBB does) or, leniently, by its external id. */
  findByAnyId(id: string): Meeting | undefined {
    return this.all().find((m) => m.internalMeetingID === id) ?? this.byID.get(id);
  }

  create(input: CreateInput): CreateOutcome {
    const existing = this.byID.get(input.meetingID);
    if (existing) {
      // bbb-web: same passwords (or none given at all) => idempotent success.
      const samePasswords = existing.attendeePW === input.attendeePW && existing.moderatorPW === input.moderatorPW;
      const noPasswords = input.attendeePW === undefined && input.moderatorPW === undefined;
      return samePasswords || noPasswords ? { kind: 'duplicate', meeting: existing } : { kind: 'idNotUnique' };
    }
    if (input.voiceBridge !== undefined && this.all().some((m) => m.voiceBridge === input.voiceBridge)) {
      return { kind: 'voiceBridgeInUse' };
    }
    const createTime = this.uniqueCreateTime();
    const parent = input.isBreakout && input.parentMeetingID ? this.findByAnyId(input.parentMeetingID) : undefined;
    const meeting: Meeting = {
      meetingID: input.meetingID,
      // For breakouts bbb-web reuses the meetingID it was given as internal id, so
      // the parent can correlate its rooms.
      internalMeetingID: input.isBreakout ? input.meetingID : internalMeetingIdFor(input.meetingID, createTime),
      name: input.name,
      createTime,
      startTime: createTime,
      endTime: 0,
      voiceBridge: input.voiceBridge ?? this.freeVoiceBridge(),
      dialNumber: DEFAULT_DIAL_NUMBER,
      attendeePW: input.attendeePW ?? randomAlnum(8),
      moderatorPW: input.moderatorPW ?? randomAlnum(8),
      record: input.record,
      duration: input.duration,
      maxUsers: input.maxUsers,
      metadata: input.metadata,
      isBreakout: input.isBreakout,
      parentMeetingID: input.isBreakout ? (parent?.internalMeetingID ?? input.parentMeetingID ?? NO_PARENT) : NO_PARENT,
      sequence: input.sequence ?? (parent ? parent.breakoutRooms.length + 1 : 0),
      freeJoin: input.freeJoin,
      breakoutRooms: [],
      hasUserJoined: false,
      participantsJoined: 0,
      attendees: [],
      documents: input.documents,
      ...(input.meetingEndedURL ? { meetingEndedURL: input.meetingEndedURL } : {}),
    };
    this.byID.set(meeting.meetingID, meeting);
    if (parent) parent.breakoutRooms.push(meeting.internalMeetingID);
    this.refreshExpiry(meeting);
    if (meeting.duration > 0) {
      // create's duration (minutes) is a hard limit in BBB: the meeting ends when it runs out.
      const timer = setTimeout(() => {
        this.durationTimers.delete(meeting.meetingID);
        if (this.byID.get(meeting.meetingID) === meeting) this.end(meeting.meetingID, 'duration');
      }, meeting.duration * 60_000);
      timer.unref();
      this.durationTimers.set(meeting.meetingID, timer);
    }
    return { kind: 'created', meeting };
  }

  addAttendee(meeting: Meeting, a: NewAttendee): Attendee {
    const internalUserID = `w_${randomAlnum(12, true)}`;
    const attendee: Attendee = {
      internalUserID,
      userID: a.userID && a.userID.length > 0 ? a.userID : internalUserID,
      fullName: a.fullName,
      role: a.role,
      // Whoever arrives first in a presenter-less room gets the presenter role,
      // moderators taking precedence as in the HTML5 client.
      isPresenter: false,
      isListeningOnly: a.isListeningOnly ?? false,
      hasJoinedVoice: a.hasJoinedVoice ?? false,
      hasVideo: a.hasVideo ?? false,
      clientType: 'HTML5',
      customData: a.customData ?? [],
    };
    meeting.attendees.push(attendee);
    meeting.hasUserJoined = true;
    meeting.participantsJoined++;
    this.assignPresenter(meeting);
    this.refreshExpiry(meeting);
    return attendee;
  }

  addParticipants(meetingID: string, count: number, opts: AddParticipantsOptions = {}): Attendee[] {
    const meeting = this.requireMeeting(meetingID);
    const n = Math.max(0, Math.floor(count));
    const moderators = portion(opts.moderators, n);
    const videos = portion(opts.withVideo, n);
    const listenOnly = portion(opts.listenOnly, n);
    const added: Attendee[] = [];
    for (let i = 0; i < n; i++) {
      const seq = meeting.attendees.length + 1;
      const isListeningOnly = i < listenOnly;
      added.push(
        this.addAttendee(meeting, {
          fullName: `Simulated User ${seq}`,
          role: i < moderators ? 'MODERATOR' : 'VIEWER',
          hasVideo: i < videos,
          isListeningOnly,
          hasJoinedVoice: !isListeningOnly,
        }),
      );
    }
    return added;
  }

  /** Removes the most recently joined participants (all when count is omitted). */
  removeParticipants(meetingID: string, count?: number): number {
    const meeting = this.requireMeeting(meetingID);
    const n = count === undefined ? meeting.attendees.length : Math.max(0, Math.min(meeting.attendees.length, Math.floor(count)));
    meeting.attendees.splice(meeting.attendees.length - n, n);
    this.assignPresenter(meeting);
    this.refreshExpiry(meeting);
    return n;
  }

  /** Ends a meeting and, as BBB does, every breakout room it spawned. Returns the ended meetings. */
  end(meetingID: string, reason: EndReason): Meeting[] {
    const meeting = this.byID.get(meetingID);
    if (!meeting) return [];
    const ended: Meeting[] = [];
    for (const child of this.all().filter((m) => m.isBreakout && m.parentMeetingID === meeting.internalMeetingID)) {
      ended.push(...this.end(child.meetingID, 'parentEnded'));
    }
    this.clearExpiry(meetingID);
    clearTimeout(this.durationTimers.get(meetingID));
    this.durationTimers.delete(meetingID);
    this.byID.delete(meetingID);
    meeting.endTime = this.now();
    meeting.attendees = [];
    const parent = meeting.isBreakout ? this.findByAnyId(meeting.parentMeetingID) : undefined;
    if (parent) parent.breakoutRooms = parent.breakoutRooms.filter((id) => id !== meeting.internalMeetingID);
    ended.push(meeting);
    this.opts.onEnded?.(meeting, reason);
    return ended;
  }

  dispose(): void {
    for (const t of [...this.expiryTimers.values(), ...this.durationTimers.values()]) clearTimeout(t);
    this.expiryTimers.clear();
    this.durationTimers.clear();
  }

  private requireMeeting(meetingID: string): Meeting {
    const meeting = this.byID.get(meetingID);
    if (!meeting) throw new Error(`no meeting with meetingID "${meetingID}" on this simulated server`);
    return meeting;
  }

  private assignPresenter(meeting: Meeting): void {
    if (meeting.attendees.some((a) => a.isPresenter)) return;
    const next = meeting.attendees.find((a) => a.role === 'MODERATOR') ?? meeting.attendees[0];
    if (next) next.isPresenter = true;
  }

  // Two creates in the same millisecond would otherwise share an internal id suffix.
  private lastCreateTime = 0;
  private uniqueCreateTime(): number {
    this.lastCreateTime = Math.max(this.now(), this.lastCreateTime + 1);
    return this.lastCreateTime;
  }

  private freeVoiceBridge(): string {
    const used = new Set(this.all().map((m) => m.voiceBridge));
    for (;;) {
      const candidate = String(10000 + (randomBytes(4).readUInt32BE(0) % 90000));
      if (!used.has(candidate)) return candidate;
    }
  }

  private refreshExpiry(meeting: Meeting): void {
    const timeout = this.opts.emptyMeetingTimeoutMs;
    if (timeout === undefined || timeout <= 0) return;
    if (meeting.attendees.length > 0) {
      this.clearExpiry(meeting.meetingID);
      return;
    }
    if (this.expiryTimers.has(meeting.meetingID)) return;
    const timer = setTimeout(() => {
      this.expiryTimers.delete(meeting.meetingID);
      if (this.byID.get(meeting.meetingID) === meeting && meeting.attendees.length === 0) this.end(meeting.meetingID, 'empty');
    }, timeout);
    timer.unref();
    this.expiryTimers.set(meeting.meetingID, timer);
  }

  private clearExpiry(meetingID: string): void {
    const t = this.expiryTimers.get(meetingID);
    if (t) clearTimeout(t);
    this.expiryTimers.delete(meetingID);
  }
}
