import { StoredEvent } from '../events/catalog';
import { Projection } from '../projections/projector';
import { MeetingCallbacks } from '../projections/recordings';
import { Recording } from './model';

/** getRecordings filters, already parsed; every present filter narrows the result (AND). */
export interface RecordingQuery {
  meetingIds?: string[];
  /** case-sensitive prefixes of the record id */
  recordIdPrefixes?: string[];
  /** null: any state */
  states: string[] | null;
  /** OR across entries: (key = k1 and value in v1) or (key = k2 and value in v2) … */
  metadata?: Array<{ key: string; values: string[] }>;
  /** undefined: no tenant filter; null: only recordings of no tenant; a string: that tenant's only */
  tenantId?: string | null;
  /** epoch ms: only recordings that started before (or, without a start time, were imported before) */
  startedBefore?: number;
  /** keyset paging: only recordings after this one in the listing order (newest first) */
  after?: { startTime: number | null; recordId: string };
  offset?: number;
  limit?: number;
}

/** Callback URLs a create left for the meeting's recordings: part of the recordings read model. */
export type { MeetingCallbacks } from '../projections/recordings';

/** What the API, the importer and the decisions read. */
export interface RecordingReader {
  checkpoint(): Promise<number>;
  /** Resolves once the event at `offset` is applied (read-your-writes). */
  waitFor(offset: number, timeoutMs?: number): Promise<void>;
  recording(recordId: string): Promise<Recording | null>;
  /** exact ids, in the order of the query's sort (newest first) */
  recordings(recordIds: string[]): Promise<Recording[]>;
  query(q: RecordingQuery): Promise<Recording[]>;
  count(q: RecordingQuery): Promise<number>;
  callbacks(meetingId: string): Promise<MeetingCallbacks | null>;
}

/** A recording whose meeting's recording-ready callback was never answered. */
export interface OwedReadyCallback {
  recordId: string;
  meetingId: string;
}

/** Delivers the log's events, batch by batch, to `apply` (other events are skipped by the store). */
export type RebuildFeed = (apply: (batch: StoredEvent[]) => Promise<void>) => Promise<void>;

export interface RebuildOutcome {
  events: number;
  checkpoint: number;
  recordings: number;
  /** record ids whose row differed from what the log says (or existed on one side only), at most 1,000 */
  differences: string[];
}

export interface RecordingStore extends RecordingReader {
  apply(batch: StoredEvent[]): Promise<void>;
  /** Move the checkpoint over a parked event, changing nothing else. */
  skip(stored: StoredEvent): Promise<void>;
  /** Forget every recording and the checkpoint (the tables held another log's state). */
  clear(): Promise<void>;
  /** Replace the whole model, atomically, by the recording events of the log up to `checkpoint`. */
  /** Replace the tables with what `feed` delivers (the log from its start), in one transaction. */
  rebuild(feed: RebuildFeed, checkpoint: number): Promise<RebuildOutcome>;
  /** Recordings imported in [since, before) whose meeting's recording-ready callback is still owed, oldest first. */
  readyCallbacksOwed(importedSince: Date, importedBefore: Date, limit?: number): Promise<OwedReadyCallback[]>;
  close(): Promise<void>;
}

/** The recordings index as a projection the projector feeds. */
export const recordingsProjection = (store: RecordingStore): Projection => ({
  name: 'recordings',
  checkpoint: () => store.checkpoint(),
  apply: (batch) => store.apply(batch),
  skip: (stored) => store.skip(stored),
  clear: () => store.clear(),
});
