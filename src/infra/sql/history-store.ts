import { StoredEvent } from '../../events/catalog';
import { HistoryEntry, historyEntry, HistoryQuery, HistoryStore } from '../../projections/history';
import { PolledCheckpoint } from '../../projections/waiters';
import { Sql } from '../sql/sql';

/** The history table in PostgreSQL or PGlite: applying an event twice is a no-op (keyed by offset). */
export class SqlHistoryStore implements HistoryStore {
  private readonly position: PolledCheckpoint;
  /** The last offset this store inserted; -2: none yet (an empty table's checkpoint is -1). */
  private lastWritten = -2;

  constructor(
    private readonly sql: Sql,
    defaultTimeoutMs = 10_000,
  ) {
    this.position = new PolledCheckpoint(async () => {
      const r = await this.sql.query<{ last: number }>('select coalesce(max(position), -1)::bigint as last from history');
      return Number(r.rows[0].last);
    }, defaultTimeoutMs);
  }

  checkpoint(): Promise<number> {
    return this.position.current();
  }

  waitFor(offset: number, timeoutMs?: number): Promise<void> {
    return this.position.waitFor(offset, timeoutMs);
  }

  async apply(batch: StoredEvent[]): Promise<void> {
    if (batch.length === 0) return;
    // A batch that follows what this store last wrote holds nothing the table has skipped over:
    // written whole, with no query for the checkpoint (its insert ignores rows already there).
    // Any other batch, as a restart's replay from the lowest checkpoint, skips what the table holds.
    const known = batch[0].offset === this.lastWritten + 1 ? this.lastWritten : await this.position.current();
    const fresh = batch.filter((e) => e.offset > known);
    if (fresh.length === 0) return;
    await this.insert(fresh.map(historyEntry));
    this.wrote(fresh[fresh.length - 1].offset);
  }

  private wrote(offset: number): void {
    this.lastWritten = offset;
    this.position.advance(offset);
  }

  async skip(stored: StoredEvent, reason: string): Promise<void> {
    const { event } = stored;
    // The entry keeps its place and says why its data is missing: the audit trail has no silent hole.
    const entry = historyEntry({ offset: stored.offset, event: { ...event, data: {} } as typeof event });
    await this.insert([{ ...entry, data: { parked: reason } }]);
    this.wrote(stored.offset);
  }

  async clear(): Promise<void> {
    await this.sql.query('delete from history');
    this.lastWritten = -2;
    this.position.reset(-1);
  }

  private async insert(entries: HistoryEntry[]): Promise<void> {
    const cols = 11;
    // At most ~5,000 rows a statement: PostgreSQL takes at most 65,535 parameters.
    for (let start = 0; start < entries.length; start += 5000) {
      const values: unknown[] = [];
      const rows = entries.slice(start, start + 5000).map((e, i) => {
        values.push(e.offset, e.id, e.type, e.at, e.actor.kind, e.actor.name, e.serverId, e.meetingId, e.tenantId, e.correlationId, JSON.stringify(e.data));
        return `(${Array.from({ length: cols }, (_, c) => `$${i * cols + c + 1}`).join(', ')})`;
      });
      await this.sql.query(
        `insert into history (position, id, type, at, actor_kind, actor_name, server_id, meeting_id, tenant_id, correlation_id, data)
         values ${rows.join(', ')} on conflict (position) do nothing`,
        values,
      );
    }
  }

  async query(q: HistoryQuery): Promise<HistoryEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (q.serverId) add('server_id = ?', q.serverId);
    if (q.meetingId) add('meeting_id = ?', q.meetingId);
    if (q.tenantId) add('tenant_id = ?', q.tenantId);
    if (q.recordId) add(`data->>'recordId' = ?`, q.recordId);
    if (q.types && q.types.length > 0) add('type = any(?)', q.types);
    if (q.actor) add('actor_name = ?', q.actor);
    if (q.actorKind) add('actor_kind = ?', q.actorKind);
    if (q.since) add('at >= ?', q.since);
    if (q.until) add('at <= ?', q.until);
    if (q.afterOffset !== undefined) add('position > ?', q.afterOffset);
    params.push(Math.min(Math.max(1, q.limit), 10_000));
    const order = q.order === 'asc' ? 'asc' : 'desc';
    const r = await this.sql.query<Record<string, unknown>>(
      `select position, id, type, at, actor_kind, actor_name, server_id, meeting_id, tenant_id, correlation_id, data from history
       ${where.length ? `where ${where.join(' and ')}` : ''} order by position ${order} limit $${params.length}`,
      params,
    );
    return r.rows.map((row) => ({
      offset: Number(row.position),
      id: String(row.id),
      type: String(row.type),
      at: new Date(row.at as string).toISOString(),
      actor: { kind: String(row.actor_kind), name: String(row.actor_name) },
      serverId: (row.server_id as string | null) ?? null,
      meetingId: (row.meeting_id as string | null) ?? null,
      tenantId: (row.tenant_id as string | null) ?? null,
      correlationId: (row.correlation_id as string | null) ?? null,
      data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    }));
  }
}
