import Redis from 'ioredis';
import { Client } from 'pg';

/*
 * A Scalelite's stores, for the migration's tests and benchmark, in its own layout: the PostgreSQL tables of its
 * db/schema.rb after its last migration (20230627141045: tenants dropped,
 * recordings.published/protected not null default false) and the Redis keys
 * of its models (docs/scalelite-behaviour.md §8), under a namespace.
 */

export const SCALELITE_SCHEMA = `
  create table schema_migrations (version varchar primary key);
  create table ar_internal_metadata (key varchar primary key, value varchar, created_at timestamp(6) not null, updated_at timestamp(6) not null);
  create table callback_data (id bigserial primary key, meeting_id varchar, recording_id integer, callback_attributes text,
    created_at timestamp(6) not null, updated_at timestamp(6) not null);
  create index index_callback_data_on_meeting_id on callback_data (meeting_id);
  create table metadata (id bigserial primary key, recording_id bigint, key varchar, value varchar);
  create unique index index_metadata_on_recording_id_and_key on metadata (recording_id, key);
  create table playback_formats (id bigserial primary key, recording_id bigint, format varchar, url varchar, length integer, processing_time integer);
  create unique index index_playback_formats_on_recording_id_and_format on playback_formats (recording_id, format);
  create table recordings (id bigserial primary key, record_id varchar, meeting_id varchar, name varchar, published boolean not null default false,
    participants integer, state varchar, starttime timestamp, endtime timestamp, deleted_at timestamp, publish_updated boolean not null default false,
    protected boolean not null default false);
  create index index_recordings_on_meeting_id on recordings (meeting_id);
  create unique index index_recordings_on_record_id on recordings (record_id);
  create table tenant_settings (id bigserial primary key, tenant_id bigint, name varchar, value varchar);
  create table thumbnails (id bigserial primary key, playback_format_id bigint, width integer, height integer, alt varchar, url varchar, sequence integer);
  create index index_thumbnails_on_playback_format_id on thumbnails (playback_format_id);
  insert into schema_migrations (version) values ('20181123180008'), ('20210630205630'), ('20210725200414'), ('20230418211340'), ('20230627141045');
`;

/** The tenant ids the generated recordings carry (`tenant-id` metadata), by i % 3: none, the first, the second. */
export interface RecordingSeed {
  count: number;
  tenantIds: [string, string];
}

/** What state recording i is in: six in ten published, then one each unpublished, processing, processed, deleted. */
export const stateOf = (i: number): 'published' | 'unpublished' | 'processing' | 'processed' | 'deleted' =>
  i % 10 < 6 ? 'published' : (['unpublished', 'processing', 'processed', 'deleted'] as const)[(i % 10) - 6];

/**
 * `count` recordings as Scalelite's importer and API leave them, generated in SQL (100k in seconds):
 * every state, protected ones, several tenants, presentation (with three thumbnails) and video formats,
 * an empty metadatum, and deleted ones without metadata or formats (Scalelite destroys them).
 */
export async function seedRecordings(pg: Client, seed: RecordingSeed): Promise<void> {
  await pg.query(
    `insert into recordings (id, record_id, meeting_id, name, published, participants, state, starttime, endtime, publish_updated, protected)
     select i, md5(i::text) || '-' || (1700000000000 + i::bigint * 60000)::text, 'meeting-' || (i % 400), 'Recording ' || i,
            (i % 10 < 6) or (i % 10 = 8), i % 50,
            case when i % 10 < 6 then 'published' when i % 10 = 6 then 'unpublished' when i % 10 = 7 then 'processing' when i % 10 = 8 then 'processed' else 'deleted' end,
            timestamp '2023-11-14 22:13:20' + i * interval '1 minute', timestamp '2023-11-14 22:43:20' + i * interval '1 minute',
            i % 10 = 6, i % 7 = 0
       from generate_series(1, $1::int) as i`,
    [seed.count],
  );
  await pg.query(`select setval('recordings_id_seq', $1::int)`, [seed.count]);
  const live = `from recordings r where r.state <> 'deleted'`;
  await pg.query(`insert into metadata (recording_id, key, value) select r.id, 'bbb-context', 'Course ' || (r.id % 20) ${live}`);
  await pg.query(`insert into metadata (recording_id, key, value) select r.id, 'bbb-origin', 'Moodle' ${live}`);
  await pg.query(`insert into metadata (recording_id, key, value) select r.id, 'gl-listed', '' ${live} and r.id % 11 = 0`);
  await pg.query(`insert into metadata (recording_id, key, value) select r.id, 'tenant-id', case when r.id % 3 = 1 then $1 else $2 end ${live} and r.id % 3 <> 0`, seed.tenantIds);
  await pg.query(
    `insert into playback_formats (recording_id, format, url, length, processing_time)
     select r.id, 'presentation', '/playback/presentation/2.3/' || r.record_id, (r.id % 90)::int, case when r.id % 5 = 0 then null else (r.id * 13 % 5000)::int end
     ${live} and r.state <> 'processing'`,
  );
  await pg.query(
    `insert into playback_formats (recording_id, format, url, length, processing_time)
     select r.id, 'video', '/playback/video/' || r.record_id || '/', (r.id % 90)::int, null ${live} and r.state <> 'processing' and r.id % 4 = 0`,
  );
  await pg.query(
    `insert into thumbnails (playback_format_id, width, height, alt, url, sequence)
     select f.id, 176, 136, 'Slide ' || (s + 1), '/presentation/' || r.record_id || '/presentation/slide-' || (s + 1) || '.png', s
       from playback_formats f join recordings r on r.id = f.recording_id cross join generate_series(0, 2) as s
      where f.format = 'presentation'`,
  );
}

export async function createScaleliteDatabase(databaseUrl: string): Promise<Client> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  await pg.query(SCALELITE_SCHEMA);
  return pg;
}

/** Scalelite's Redis, through redis-namespace: every key under `<namespace>:`. */
export function scaleliteRedis(url: string, namespace: string): Redis {
  return new Redis(url, { keyPrefix: `${namespace}:` });
}

export interface ServerSeed {
  id: string;
  url: string;
  secret: string;
  /** undefined: a server never transitioned (legacy), enabled by membership of server_enabled */
  state?: 'enabled' | 'cordoned' | 'disabled';
  legacyEnabled?: boolean;
  online: boolean;
  tag?: string;
  loadMultiplier?: string;
  load?: number;
  stats?: { meetings: number; users: number; largest: number; videos: number };
}

/** A server as Scalelite's Server#save leaves it, with its place in the load sets (§2.2). */
export async function seedServer(redis: Redis, s: ServerSeed): Promise<void> {
  const hash: Record<string, string> = { url: s.url, secret: s.secret, online: String(s.online) };
  if (s.tag) hash.tag = s.tag;
  if (s.loadMultiplier !== undefined) hash.load_multiplier = s.loadMultiplier;
  if (s.state) hash.state = s.state;
  if (s.stats)
    Object.assign(hash, {
      meetings: String(s.stats.meetings),
      users: String(s.stats.users),
      largest_meeting: String(s.stats.largest),
      videos: String(s.stats.videos),
      bbb_version: '2.7.3',
    });
  const enabled = s.state === 'enabled' || (s.state === undefined && s.legacyEnabled);
  const m = redis.multi().hset(`server:${s.id}`, hash).sadd('servers', s.id).hset(s.id, 'healthy_counter', '0', 'unhealthy_counter', '0');
  if (enabled) m.sadd('server_enabled', s.id);
  if (s.load !== undefined && s.online && enabled) m.zadd('server_load', s.load, s.id);
  if (s.load !== undefined && s.online && s.state === 'cordoned') m.zadd('cordoned_server_load', s.load, s.id);
  await m.exec();
}

/** A routed meeting as Meeting.find_or_create_with_server leaves it (hash with a TTL, set, voice bridge index). */
export async function seedMeeting(redis: Redis, m: { id: string; serverId: string; voiceBridge: string; moderatorPw: string; tenantId?: string }): Promise<void> {
  await redis
    .multi()
    .hset(`meeting:${m.id}`, { server_id: m.serverId, moderator_pw: m.moderatorPw, voice_bridge: m.voiceBridge, tenant_id: m.tenantId ?? '' })
    .expire(`meeting:${m.id}`, 86_400)
    .sadd('meetings', m.id)
    .hset('voice_bridges', m.voiceBridge, m.id)
    .exec();
}

export async function seedTenant(redis: Redis, t: { id: string; name: string; secrets: string; fields?: Record<string, string>; holdsName?: boolean }): Promise<void> {
  const m = redis
    .multi()
    .hset(`tenant:${t.id}`, { name: t.name, secrets: t.secrets, ...t.fields })
    .sadd('tenants', t.id);
  if (t.holdsName !== false) m.hset(`tenant_name:${t.name}`, 'id', t.id);
  await m.exec();
}

export async function seedTenantSetting(redis: Redis, s: { id: string; tenantId: string; param: string; value: string; override: boolean }): Promise<void> {
  await redis
    .multi()
    .hset(`tenant_setting:${s.id}`, { param: s.param, value: s.value, override: String(s.override), tenant_id: s.tenantId })
    .sadd(`tenant_settings:${s.tenantId}`, s.id)
    .exec();
}

/** Every key of the namespace, gone (the test's own namespace only). */
export async function dropNamespace(url: string, namespace: string): Promise<void> {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
    if (found.length > 0) await redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
