import { ParkedEvent, ParkedEvents } from '../../projections/projector';
import { Sql } from './sql';

/** Parked events in PostgreSQL (or PGlite): one row per projection and offset, parking twice is a no-op. */
export class SqlParkedEvents implements ParkedEvents {
  constructor(private readonly sql: Sql) {}

  async park(e: ParkedEvent): Promise<void> {
    await this.sql.query(
      `insert into parked_events (projection, position, event_id, type, reason, parked_at) values ($1, $2, $3, $4, $5, $6)
       on conflict (projection, position) do update set reason = excluded.reason, parked_at = excluded.parked_at`,
      [e.projection, e.offset, e.eventId, e.type, e.reason, e.parkedAt],
    );
  }

  async list(limit: number): Promise<ParkedEvent[]> {
    const r = await this.sql.query<{ projection: string; position: number; event_id: string; type: string; reason: string; parked_at: string | Date }>(
      'select projection, position, event_id, type, reason, parked_at from parked_events order by parked_at desc, position desc limit $1',
      [Math.max(1, Math.min(limit, 1000))],
    );
    return r.rows.map((row) => ({
      projection: row.projection,
      offset: Number(row.position),
      eventId: row.event_id,
      type: row.type,
      reason: row.reason,
      parkedAt: new Date(row.parked_at).toISOString(),
    }));
  }

  async count(): Promise<number> {
    const r = await this.sql.query<{ n: string | number }>('select count(*) as n from parked_events');
    return Number(r.rows[0].n);
  }
}
