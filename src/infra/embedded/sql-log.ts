import { checkEvent, DomainEvent, readEvent, StoredEvent } from '../../events/catalog';
import { backoffMs, EventLog, LogSubscription, SubscribeOptions } from '../../events/log';
import { LocalDecisionLock } from '../../commands/write-side';
import { Sql, SqlRunner } from '../sql/sql';

/** How many of the last appended events are kept for subscribers to read without a query. */
export const TAIL_EVENTS = 4096;

/**
 * The event log in a SQL table: the embedded default (PGlite). One process owns
 * the data directory (data-dir.ts) and every append goes through this object, so
 * appends are ordered by an in-process mutex, subscribers are woken in process,
 * and the log's head and its last events are known here without asking the table.
 * A subscriber left idle for idlePollMs asks the table's head again, so rows written
 * past this object are still delivered.
 */
export class SqlEventLog implements EventLog {
  private readonly appendLock = new LocalDecisionLock();
  private readonly wakers = new Set<() => void>();
  private closed = false;
  /** The last event's offset, once read or appended; null: ask the table (at start, and after a failed append). */
  private head: number | null = null;
  /**
   * The events appended since the head was known, the last TAIL_EVENTS (to twice that), each as the
   * table returned it (jsonb orders an object's keys), so a read of the tail gives what a
   * query would. Every decision's events were read back by each subscriber (three on the
   * embedded default) and its head asked twice: half of the queries a create cost.
   */
  private tail: Array<{ offset: number; envelope: string }> = [];

  constructor(
    private readonly sql: Sql,
    private readonly idlePollMs = 1000,
    private readonly tailEvents = TAIL_EVENTS,
  ) {}

  async append(events: DomainEvent[]): Promise<number[]> {
    if (this.closed) throw new Error('event log is closed');
    if (events.length === 0) return [];
    const valid = events.map((e) => checkEvent(e));
    const offsets = await this.appendLock.withLock(async () => {
      const attempt = () =>
        this.insert(valid).catch((err: unknown) => {
          // Whether it committed is not known here: the table says, at the next read.
          this.forgetHead();
          throw err;
        });
      const knew = this.head !== null;
      return attempt().catch((err: unknown) => {
        // A position taken: the table was written past the head known here (by hand, or a test). Once more, after the table's head.
        if (knew && (err as { code?: unknown }).code === UNIQUE_VIOLATION) return attempt();
        throw err;
      });
    });
    for (const wake of this.wakers) wake();
    return offsets;
  }

  /** One transaction after the head; the head and the tail then hold what it wrote. */
  private async insert(valid: DomainEvent[]): Promise<number[]> {
    const { offsets, kept } = await this.sql.transaction(async (tx) => {
      const first = (this.head ?? (await headOf(tx))) + 1;
      const keptRows: Array<{ offset: number; envelope: string }> = [];
      // Many rows a statement: a migration appends a thousand events at once.
      for (let start = 0; start < valid.length; start += 1000) {
        const chunk = valid.slice(start, start + 1000);
        const values: unknown[] = [];
        const placeholders = chunk.map((e, i) => {
          values.push(first + start + i, e.id, e.type, e.at, JSON.stringify(e));
          const n = values.length;
          return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
        });
        // The stored envelopes come back only for rows the tail keeps.
        const returning = start + chunk.length > valid.length - this.tailEvents ? ' returning position, envelope' : '';
        const inserted = await tx.query<{ position: number; envelope: unknown }>(
          `insert into event_log (position, id, type, at, envelope) values ${placeholders.join(', ')}${returning}`,
          values,
        );
        for (const r of inserted.rows) keptRows.push({ offset: Number(r.position), envelope: envelopeText(r.envelope) });
      }
      return { offsets: valid.map((_, i) => first + i), kept: keptRows.sort((a, b) => a.offset - b.offset).slice(-this.tailEvents) };
    });
    this.head = offsets[offsets.length - 1];
    // The tail is contiguous: after an append longer than it keeps, it holds that append's last events alone.
    if (kept.length < offsets.length) this.tail = [];
    for (const row of kept) this.tail.push(row);
    // Trimmed once it holds twice the events kept: not a copy of the tail at every append.
    if (this.tail.length > 2 * this.tailEvents) this.tail = this.tail.slice(-this.tailEvents);
    return offsets;
  }

  async read(fromOffset: number, limit: number): Promise<StoredEvent[]> {
    const from = Math.max(0, fromOffset);
    const known = this.fromTail(from, limit);
    if (known) return known;
    const result = await this.sql.query<{ position: number; envelope: unknown }>('select position, envelope from event_log where position >= $1 order by position limit $2', [
      from,
      limit,
    ]);
    return result.rows.map((r) => {
      const offset = Number(r.position);
      return { offset, event: readEvent(typeof r.envelope === 'string' ? JSON.parse(r.envelope) : r.envelope, offset) };
    });
  }

  async lastOffset(): Promise<number> {
    return this.head ?? this.readHead();
  }

  /** The events from `from` when the tail holds them all (or `from` is past the head), else null. */
  private fromTail(from: number, limit: number): StoredEvent[] | null {
    if (this.head === null) return null;
    if (from > this.head) return [];
    const start = this.tail.length > 0 ? this.tail[0].offset : this.head + 1;
    if (from < start) return null;
    const rows = this.tail.slice(from - start, from - start + limit);
    // A gap would skip events for every subscriber: should the tail ever hold one, the table answers.
    if (rows.length === 0 || rows[0].offset !== from || rows[rows.length - 1].offset !== from + rows.length - 1) return null;
    // Each read parses its own copy, as a query's rows are: a subscriber may keep what it is given.
    return rows.map((r) => ({ offset: r.offset, event: readEvent(JSON.parse(r.envelope), r.offset) }));
  }

  /**
   * The table's head, kept. Read under the append lock: one read while an append commits would be
   * stale. Rows written to the table past this object (by hand, or by a test writing as an older
   * version would) are then read from the table, as before the head was kept.
   */
  private async readHead(): Promise<number> {
    return this.appendLock.withLock(async () => {
      const head = await headOf(this.sql);
      if (head !== this.head) {
        this.tail = [];
        this.head = head;
      }
      return head;
    });
  }

  private forgetHead(): void {
    this.head = null;
    this.tail = [];
  }

  async replay(fromOffset: number, onBatch: (batch: StoredEvent[]) => Promise<void>, options: { maxBatch?: number } = {}): Promise<number> {
    const last = await this.lastOffset();
    let cursor = Math.max(0, fromOffset);
    let delivered = 0;
    while (cursor <= last) {
      const batch = (await this.read(cursor, options.maxBatch ?? 1000)).filter((s) => s.offset <= last);
      if (batch.length === 0) break;
      await onBatch(batch);
      delivered += batch.length;
      cursor = batch[batch.length - 1].offset + 1;
    }
    return delivered;
  }

  subscribe(from: number | (() => Promise<number>), onBatch: (batch: StoredEvent[]) => Promise<void>, options: SubscribeOptions = {}): LogSubscription {
    let cursor = typeof from === 'number' ? Math.max(0, from) : -1;
    let stopped = false;
    // Set by an append; checked before sleeping so an append during a read is not missed.
    let appended = false;
    let wake: () => void = () => undefined;
    const waker = () => {
      appended = true;
      wake();
    };
    this.wakers.add(waker);
    /** Resolves true when `ms` passed, false when woken. */
    const idle = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), ms);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
    // Nothing woke the subscriber for idlePollMs: the table's own head is read before the next read.
    let quiet = false;
    const limit = options.maxBatch ?? 1000;
    const loop = (async () => {
      let failures = 0;
      while (!stopped) {
        appended = false;
        try {
          if (cursor < 0 && typeof from === 'function') cursor = Math.max(0, await from());
          if (quiet) await this.readHead();
          quiet = false;
          // A turn of the event loop first. Woken by an append, a subscriber would otherwise read
          // and project inside the appender's own microtasks, before the process reads the
          // requests that came meanwhile: a burst of creates was then decided one per append, and
          // new connections (Node accepts one each turn of the loop) waited seconds for a turn.
          await new Promise((resolve) => setImmediate(resolve));
          const batch = await this.read(cursor, limit);
          if (batch.length > 0 && !stopped) {
            await onBatch(batch);
            cursor = batch[batch.length - 1].offset + 1;
          }
          failures = 0;
          // A short batch was the whole log at the read: only an append since (below) sends the
          // subscriber back to read; another read now would find nothing (it was half the reads
          // of every create on this log).
          if (batch.length === limit) continue;
        } catch (err) {
          failures += 1;
          options.onError?.(err, failures);
          await idle(backoffMs(failures));
          continue;
        }
        if (!appended && !stopped) quiet = await idle(this.idlePollMs);
      }
    })();
    return {
      close: async () => {
        stopped = true;
        this.wakers.delete(waker);
        wake();
        await loop;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.wakers) wake();
  }
}

/** PostgreSQL's unique_violation: here, a position already taken. */
const UNIQUE_VIOLATION = '23505';

const headOf = async (sql: SqlRunner): Promise<number> => {
  const result = await sql.query<{ last: number }>('select coalesce(max(position), -1)::bigint as last from event_log');
  return Number(result.rows[0].last);
};

/** jsonb comes back parsed (PGlite) or as text: kept as text, so each read parses a copy of its own. */
const envelopeText = (envelope: unknown): string => (typeof envelope === 'string' ? envelope : JSON.stringify(envelope));
