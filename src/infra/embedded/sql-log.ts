import { checkEvent, DomainEvent, readEvent, StoredEvent } from '../../events/catalog';
import { backoffMs, EventLog, LogSubscription, SubscribeOptions } from '../../events/log';
import { LocalDecisionLock } from '../../commands/write-side';
import { Sql } from '../sql/sql';

/**
 * The event log in a SQL table: the embedded default (PGlite). One process owns
 * the data directory, so appends are ordered by an in-process mutex and
 * subscribers are woken in process; a timer catches anything else.
 */
export class SqlEventLog implements EventLog {
  private readonly appendLock = new LocalDecisionLock();
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly idlePollMs = 1000,
  ) {}

  async append(events: DomainEvent[]): Promise<number[]> {
    if (this.closed) throw new Error('event log is closed');
    if (events.length === 0) return [];
    const valid = events.map((e) => checkEvent(e));
    const offsets = await this.appendLock.withLock(() =>
      this.sql.transaction(async (tx) => {
        const head = await tx.query<{ last: number }>('select coalesce(max(position), -1)::bigint as last from event_log');
        const first = Number(head.rows[0].last) + 1;
        // Many rows a statement: a migration appends a thousand events at once.
        for (let start = 0; start < valid.length; start += 1000) {
          const values: unknown[] = [];
          const rows = valid.slice(start, start + 1000).map((e, i) => {
            values.push(first + start + i, e.id, e.type, e.at, JSON.stringify(e));
            const n = values.length;
            return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
          });
          await tx.query(`insert into event_log (position, id, type, at, envelope) values ${rows.join(', ')}`, values);
        }
        return valid.map((_, i) => first + i);
      }),
    );
    for (const wake of this.wakers) wake();
    return offsets;
  }

  async read(fromOffset: number, limit: number): Promise<StoredEvent[]> {
    const result = await this.sql.query<{ position: number; envelope: unknown }>('select position, envelope from event_log where position >= $1 order by position limit $2', [
      Math.max(0, fromOffset),
      limit,
    ]);
    return result.rows.map((r) => {
      const offset = Number(r.position);
      return { offset, event: readEvent(typeof r.envelope === 'string' ? JSON.parse(r.envelope) : r.envelope, offset) };
    });
  }

  async lastOffset(): Promise<number> {
    const result = await this.sql.query<{ last: number }>('select coalesce(max(position), -1)::bigint as last from event_log');
    return Number(result.rows[0].last);
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
    const idle = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const limit = options.maxBatch ?? 1000;
    const loop = (async () => {
      let failures = 0;
      while (!stopped) {
        appended = false;
        try {
          if (cursor < 0 && typeof from === 'function') cursor = Math.max(0, await from());
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
        if (!appended && !stopped) await idle(this.idlePollMs);
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
