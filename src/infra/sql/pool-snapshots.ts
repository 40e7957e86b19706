import { PoolSnapshot, PoolSnapshots } from '../../projections/snapshots';
import { Sql } from './sql';

/** Pool snapshots in PostgreSQL or PGlite. */
export class SqlPoolSnapshots implements PoolSnapshots {
  constructor(private readonly sql: Sql) {}

  async latest(): Promise<PoolSnapshot | null> {
    const r = await this.sql.query<{ position: string | number; event_id: string; version: number; taken_at: string | Date; state: unknown }>(
      'select position, event_id, version, taken_at, state from pool_snapshots order by position desc limit 1',
    );
    const row = r.rows[0];
    if (!row) return null;
    const state = typeof row.state === 'string' ? JSON.parse(row.state) : row.state;
    return { position: Number(row.position), eventId: row.event_id, version: row.version, takenAt: new Date(row.taken_at).toISOString(), state };
  }

  async save(s: PoolSnapshot): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(
        `insert into pool_snapshots (position, event_id, version, taken_at, state) values ($1, $2, $3, $4, $5)
         on conflict (position) do update set event_id = excluded.event_id, version = excluded.version, taken_at = excluded.taken_at, state = excluded.state`,
        [s.position, s.eventId, s.version, s.takenAt, JSON.stringify(s.state)],
      );
      // Only the newest is ever read.
      await tx.query(`delete from pool_snapshots where position <> $1`, [s.position]);
    });
  }
}
