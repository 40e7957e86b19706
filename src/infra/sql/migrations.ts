import { Sql } from './sql';

/*
 * Schema migrations, run at start. Append only: a released migration is never
 * edited, a change is a new entry. The same statements run on PostgreSQL and PGlite.
 */
const migrations: Array<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: 'event log',
    sql: `
      create table if not exists event_log (
        position bigint primary key,
        id uuid not null unique,
        type text not null,
        at timestamptz not null,
        envelope jsonb not null
      );`,
  },
  {
    id: 2,
    name: 'history',
    sql: `
      create table if not exists history (
        position bigint primary key,
        id uuid not null,
        type text not null,
        at timestamptz not null,
        actor_kind text not null,
        actor_name text not null,
        server_id text,
        meeting_id text,
        tenant_id text,
        correlation_id text,
        data jsonb not null
      );
      create index if not exists history_at on history (at);
      create index if not exists history_type on history (type, position);
      create index if not exists history_server on history (server_id, position);
      create index if not exists history_meeting on history (meeting_id, position);
      create index if not exists history_actor on history (actor_name, position);`,
  },
];

export async function migrate(sql: Sql): Promise<void> {
  await sql.query(`create table if not exists schema_migrations (id integer primary key, name text not null, applied_at timestamptz not null default now())`);
  for (const m of migrations) {
    await sql.transaction(async (tx) => {
      // Two processes may start at once against one database: one migrates, the other waits then skips.
      await tx.query('lock table schema_migrations in exclusive mode');
      const done = await tx.query('select 1 from schema_migrations where id = $1', [m.id]);
      if (done.rows.length > 0) return;
      for (const statement of m.sql.split(';').map((s) => s.trim()).filter(Boolean)) await tx.query(statement);
      await tx.query('insert into schema_migrations (id, name) values ($1, $2)', [m.id, m.name]);
    });
  }
}

export const latestMigration = (): number => migrations[migrations.length - 1].id;
