import { DomainEvent, StoredEvent } from './catalog';

/**
 * The event log: the only source of truth. One total order; offsets start at 0.
 * Production: one Kafka partition. Embedded: a table in PGlite.
 */
export interface EventLog {
  /** Appends atomically and durably; resolves with the offset of each event, in order. */
  append(events: DomainEvent[]): Promise<number[]>;
  /** Events with offset >= fromOffset, at most `limit`, in order. */
  read(fromOffset: number, limit: number): Promise<StoredEvent[]>;
  /** Offset of the last event, -1 when the log is empty. */
  lastOffset(): Promise<number>;
  /**
   * Delivers every event from `from` on, in order, in batches, then follows the tail.
   * `from` may be a function: it is asked again whenever delivery (re)starts, e.g. when a
   * Kafka consumer group hands the partition to this process, so a projector resumes
   * from its own checkpoint.
   */
  subscribe(from: number | (() => Promise<number>), onBatch: (batch: StoredEvent[]) => Promise<void>, options?: SubscribeOptions): LogSubscription;
  /** Delivers the events from `fromOffset` up to the last one at the time of the call, then resolves. */
  replay(fromOffset: number, onBatch: (batch: StoredEvent[]) => Promise<void>, options?: { maxBatch?: number }): Promise<number>;
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * Told of a failed delivery. The same batch is delivered again after a backoff:
   * skipping an event would corrupt every projection after it.
   */
  onError?: (err: unknown, attempt: number) => void;
  maxBatch?: number;
  /**
   * Consumers sharing a group share the work: with one partition, one of them
   * receives the events and the others stand by (Kafka). Without a group every
   * subscriber receives everything.
   */
  group?: string;
}

export interface LogSubscription {
  close(): Promise<void>;
}

/** Retry delay after the n-th consecutive failure: 100 ms doubling up to 5 s. */
export const backoffMs = (attempt: number): number => Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 6));
