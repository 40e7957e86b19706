// Public types of the BigBlueButton simulator. Kept free of runtime code so that
// tests, the control plane and the CLI can share them without import cycles.

export type ChecksumAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const ALL_CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];

export type FailureKind = 'http500' | 'reset' | 'failed-xml' | 'garbage';

export type SimMode =
  | { kind: 'ok' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'failing'; how: FailureKind }
  /** Headers at once, then the real answer one byte every intervalMs: every gap inside a client's idle timeouts, the whole far past them. */
  | { kind: 'drip'; intervalMs: number }
  /** The real answer padded to `bytes` with an XML comment (still a valid document), streamed; content-length when declareLength, else chunked. */
  | { kind: 'huge'; bytes: number; declareLength?: boolean }
  | { kind: 'down' };

export interface SimulatorOptions {
  /** Number of simulated BigBlueButton servers. */
  servers: number;
  /** 0 (default) = ephemeral ports; P = ports P, P+1, ..., P+N-1. */
  port?: number;
  /** Interface the API listeners bind to (default 127.0.0.1). */
  host?: string;
  /** Port of the JSON control listener (default 0 = ephemeral). Always bound to loopback. */
  controlPort?: number;
  /** Shared secrets per server index; missing entries are generated. */
  secrets?: string[];
  /** Version revealed as bbbVersion (default '3.0.4'). */
  bbbVersion?: string;
  /** Checksum algorithms accepted (BBB's supportedChecksumAlgorithms; default all four). */
  checksumAlgorithms?: ChecksumAlgorithm[];
  /** End a meeting that has had no participants for this long (BBB's meetingExpire* timers). Off by default. */
  emptyMeetingTimeoutMs?: number;
  /** Reveal bbbVersion on the unsigned root call, like allowRevealOfBBBVersion=true (default true). */
  revealVersion?: boolean;
  /** Call meta_endCallbackUrl / meetingEndedURL when a meeting ends, as BBB does (default true). */
  endCallbacks?: boolean;
  /**
   * Balancer spool dir to deliver recordings into, as BBB's post_publish hook
   * does: a meeting created with record=true leaves `<record_id>.tar` there
   * when it ends, and the control API can produce recordings on demand. Off
   * when absent.
   */
  recordingSpoolDir?: string;
}

export interface AddParticipantsOptions {
  /** How many of the new participants are moderators (default 0; `true` = all). */
  moderators?: number | boolean;
  /** How many share a webcam (default 0; `true` = all). */
  withVideo?: number | boolean;
  /** How many joined audio listen-only instead of with a microphone (default 0; `true` = all). */
  listenOnly?: number | boolean;
}

export interface SimAttendeeSnapshot {
  userID: string;
  internalUserID: string;
  fullName: string;
  role: 'MODERATOR' | 'VIEWER';
  isPresenter: boolean;
  isListeningOnly: boolean;
  hasJoinedVoice: boolean;
  hasVideo: boolean;
}

export interface SimMeetingSnapshot {
  meetingID: string;
  internalMeetingID: string;
  name: string;
  createTime: number;
  running: boolean;
  participants: number;
  moderators: number;
  videos: number;
  listeners: number;
  voiceParticipants: number;
  isBreakout: boolean;
  parentMeetingID?: string;
  breakoutRooms: string[];
  record: boolean;
  metadata: Record<string, string>;
  documents: number;
  attendees: SimAttendeeSnapshot[];
}

export interface SimRequestRecord {
  at: number;
  method: string;
  path: string;
  action: string;
  query: string;
  /** HTTP status sent, or 0 when the connection was reset / closed without an answer. */
  status: number;
}

export interface SimulatedServer {
  readonly index: number;
  readonly url: string;
  readonly secret: string;
  readonly port: number;
  readonly mode: SimMode;
  /** Most recent API requests, oldest first (bounded). */
  readonly lastRequests: readonly SimRequestRecord[];
  setMode(mode: SimMode): Promise<void>;
  addParticipants(meetingID: string, count: number, opts?: AddParticipantsOptions): void;
  removeParticipants(meetingID: string, count?: number): void;
  endMeeting(meetingID: string): void;
  meetings(): SimMeetingSnapshot[];
  requestCounts(): Record<string, number>;
  resetRequestCounts(): void;
}

export interface Simulator {
  servers: SimulatedServer[];
  controlUrl: string;
  /** Set when recordings are delivered (SimulatorOptions.recordingSpoolDir). */
  recordingSpoolDir?: string;
  /** Resolves once every recording under way is in the spool dir (at once when recordings are off). */
  recordingsSettled(): Promise<void>;
  close(): Promise<void>;
}

export interface SimulatorDescription {
  controlUrl: string;
  servers: Array<{ index: number; url: string; secret: string }>;
}
