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
  {
    id: 3,
    name: 'recordings',
    sql: `
      create table if not exists projection_checkpoints (
        name text primary key,
        position bigint not null
      );
      create table if not exists recordings (
        record_id text primary key,
        meeting_id text not null,
        name text not null,
        published boolean not null,
        protected boolean not null,
        state text,
        start_time bigint,
        end_time bigint,
        participants integer,
        publish_updated boolean not null default false,
        tenant_id text,
        imported_at timestamptz not null,
        updated_at timestamptz not null
      );
      create index if not exists recordings_meeting on recordings (meeting_id, start_time desc);
      create index if not exists recordings_newest on recordings (start_time desc nulls last, record_id desc);
      create index if not exists recordings_record_prefix on recordings (record_id text_pattern_ops);
      create index if not exists recordings_tenant on recordings (tenant_id, start_time desc);
      create table if not exists recording_metadata (
        record_id text not null references recordings (record_id) on delete cascade,
        key text not null,
        value text not null,
        primary key (record_id, key)
      );
      create index if not exists recording_metadata_key_value on recording_metadata (key, value);
      create table if not exists playback_formats (
        record_id text not null references recordings (record_id) on delete cascade,
        format text not null,
        url text not null,
        length integer not null,
        processing_time integer,
        primary key (record_id, format)
      );
      create table if not exists thumbnails (
        record_id text not null,
        format text not null,
        sequence integer not null,
        url text not null,
        width integer,
        height integer,
        alt text,
        primary key (record_id, format, sequence),
        foreign key (record_id, format) references playback_formats (record_id, format) on delete cascade
      );
      create table if not exists meeting_callbacks (
        meeting_id text primary key,
        tenant_id text,
        recording_ready_url text,
        analytics_callback_url text,
        registered_at timestamptz not null
      );`,
  },
  {
    id: 4,
    name: 'recording-ready callbacks owed',
    sql: `
      alter table recordings add column if not exists ready_pending boolean not null default false;
      create index if not exists recordings_ready_pending on recordings (imported_at) where ready_pending;`,
  },
  {
    id: 5,
    name: 'pool snapshots',
    sql: `
      create table if not exists pool_snapshots (
        position bigint primary key,
        event_id text not null,
        version integer not null,
        taken_at timestamptz not null,
        state jsonb not null
      );`,
  },
  {
    id: 6,
    name: 'history by recording',
    sql: `create index if not exists history_recording on history ((data->>'recordId'), position) where (data->>'recordId') is not null`,
  },
  {
    id: 7,
    name: 'parked events; metadata values indexed by digest',
    // A btree entry holds at most ~2.7 kB: a long incompressible metadata value (the API allows
    // 16 kB) made the recordings projection fail on that one event, for ever. The filter index
    // keys the value's md5 instead; the filter compares both.
    sql: `
      create table if not exists parked_events (
        projection text not null,
        position bigint not null,
        event_id text not null,
        type text not null,
        reason text not null,
        parked_at timestamptz not null,
        primary key (projection, position)
      );
      drop index if exists recording_metadata_key_value;
      create index if not exists recording_metadata_key_digest on recording_metadata (key, md5(value))`,
  },
];

/** Any fixed number: the advisory lock every migrating process takes. */
const MIGRATION_LOCK = 7_462_151;

export async function migrate(sql: Sql): Promise<void> {
  // Processes starting at once against a fresh database: concurrent CREATE TABLE IF NOT EXISTS
  // can still collide in PostgreSQL's catalog, so even the bookkeeping table is made under the lock.
  await sql.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`create table if not exists schema_migrations (id integer primary key, name text not null, applied_at timestamptz not null default now())`);
  });
  for (const m of migrations) {
    await sql.transaction(async (tx) => {
      // One migrates, the others wait, then skip.
      await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await tx.query('select 1 from schema_migrations where id = $1', [m.id]);
      if (done.rows.length > 0) return;
      for (const statement of m.sql
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.query(statement);
      await tx.query('insert into schema_migrations (id, name) values ($1, $2)', [m.id, m.name]);
    });
  }
}

export const latestMigration = (): number => migrations[migrations.length - 1].id;
