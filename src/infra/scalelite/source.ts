import Redis from 'ioredis';
import { Client } from 'pg';
import { LRS_FIELDS } from '../../events/catalog';
import type { PoolBatch, ScaleliteMeeting, ScaleliteRecording, ScaleliteServer, ScaleliteTenant, ScaleliteTenantSetting } from '../../commands/migration';

/*
 * Reads a live Scalelite: its Redis (every key under `<namespace>:`) and its
 * PostgreSQL recordings index, in the layout of its models and db/schema.rb
 * (docs/scalelite-behaviour.md §8). Read only: nothing is written to either.
 */

/** Scalelite's snake_case hash fields of a tenant's xAPI/LRS settings, by our field name. */
const LRS_HASH_FIELDS: Record<(typeof LRS_FIELDS)[number], string> = {
  lrsEndpoint: 'lrs_endpoint',
  lrsUsername: 'lrs_username',
  lrsPassword: 'lrs_password',
  kcTokenUrl: 'kc_token_url',
  kcClientId: 'kc_client_id',
  kcClientSecret: 'kc_client_secret',
  kcUsername: 'kc_username',
  kcPassword: 'kc_password',
};

const intOf = (v: string | undefined): number => {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : 0;
};
const blankToNull = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);

/** A server hash as Scalelite's Server model reads it (§2.1, §2.2: no state means the legacy enabled flag). */
export function serverFromHash(
  id: string,
  hash: Record<string, string>,
  sets: { enabled: Set<string>; load: Map<string, number>; cordonedLoad: Map<string, number> },
): ScaleliteServer {
  const state = hash.state === 'enabled' || hash.state === 'cordoned' || hash.state === 'disabled' ? hash.state : sets.enabled.has(id) ? 'enabled' : 'disabled';
  return {
    id,
    url: hash.url ?? '',
    secret: hash.secret ?? '',
    tag: blankToNull(hash.tag),
    loadMultiplier: blankToNull(hash.load_multiplier),
    state,
    online: hash.online === 'true',
    load: sets.load.get(id) ?? sets.cordonedLoad.get(id) ?? null,
    meetings: intOf(hash.meetings),
    users: intOf(hash.users),
    largestMeeting: intOf(hash.largest_meeting),
    videos: intOf(hash.videos),
    bbbVersion: hash.bbb_version ?? '',
  };
}

export function meetingFromHash(meetingId: string, hash: Record<string, string>): ScaleliteMeeting {
  if (!hash.server_id) return { meetingId, serverId: null, voiceBridge: null, moderatorPassword: null, tenantId: null };
  return {
    meetingId,
    serverId: hash.server_id,
    voiceBridge: blankToNull(hash.voice_bridge),
    moderatorPassword: blankToNull(hash.moderator_pw),
    tenantId: blankToNull(hash.tenant_id),
  };
}

export function tenantFromHash(id: string, hash: Record<string, string>, nameHolder: string | null): ScaleliteTenant {
  return {
    id,
    name: hash.name ?? '',
    secrets: hash.secrets ?? '',
    holdsName: nameHolder === id,
    lrs: Object.fromEntries(LRS_FIELDS.map((f) => [f, blankToNull(hash[LRS_HASH_FIELDS[f]])])),
  };
}

/** How much a Scalelite holds, for the plan and the progress bar. */
export interface ScaleliteCounts {
  servers: number;
  meetings: number;
  tenants: number;
  tenantSettings: number;
  recordings: number;
}

export class ScaleliteSource {
  private readonly redis: Redis;
  private readonly pg: Client;
  private connected = false;

  constructor(
    readonly redisUrl: string,
    readonly namespace: string,
    readonly databaseUrl: string,
  ) {
    // redis-namespace, as Scalelite uses it: every key is `<namespace>:<key>`.
    this.redis = new Redis(redisUrl, { keyPrefix: namespace === '' ? '' : `${namespace}:`, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.redis.on('error', () => undefined);
    this.pg = new Client({ connectionString: databaseUrl, application_name: 'scalelite migrate:scalelite' });
    this.pg.on('error', () => undefined);
  }

  /** Both stores reachable, or an error naming the one that is not. */
  async connect(): Promise<void> {
    try {
      await this.redis.connect();
    } catch (err) {
      throw new Error(`Cannot reach Scalelite's Redis at ${redactUrl(this.redisUrl)}: ${(err as Error).message}`);
    }
    try {
      await this.pg.connect();
    } catch (err) {
      throw new Error(`Cannot reach Scalelite's PostgreSQL at ${redactUrl(this.databaseUrl)}: ${(err as Error).message}`);
    }
    this.connected = true;
    const tables = await this.pg.query<{ name: string }>(
      `select table_name as name from information_schema.tables where table_schema = current_schema() and table_name in ('recordings', 'metadata', 'playback_formats', 'thumbnails')`,
    );
    const missing = ['recordings', 'metadata', 'playback_formats', 'thumbnails'].filter((t) => !tables.rows.some((r) => r.name === t));
    if (missing.length > 0) throw new Error(`${redactUrl(this.databaseUrl)} is not a Scalelite database: no table ${missing.join(', ')}`);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    if (this.connected) await this.pg.end().catch(() => undefined);
  }

  /** Everything Scalelite keeps in Redis, read with pipelines (a few round trips, whatever the size). */
  async readPool(): Promise<PoolBatch> {
    const r = this.redis;
    const [serverIds, enabled, load, cordonedLoad, meetingIds, tenantIds] = await Promise.all([
      r.smembers('servers'),
      r.smembers('server_enabled'),
      r.zrange('server_load', 0, -1, 'WITHSCORES'),
      r.zrange('cordoned_server_load', 0, -1, 'WITHSCORES'),
      r.smembers('meetings'),
      r.smembers('tenants'),
    ]);
    const scores = (flat: string[]) => new Map(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, Number(flat[i + 1])] as [string, number]] : [])));
    const sets = { enabled: new Set(enabled), load: scores(load), cordonedLoad: scores(cordonedLoad) };
    const hashes = async (keys: string[]) => {
      const out: Array<Record<string, string>> = [];
      for (let i = 0; i < keys.length; i += 1000) {
        const res = await keys
          .slice(i, i + 1000)
          .reduce((p, k) => p.hgetall(k), r.pipeline())
          .exec();
        for (const [err, value] of res ?? []) {
          if (err) throw err;
          out.push(value as Record<string, string>);
        }
      }
      return out;
    };
    serverIds.sort();
    tenantIds.sort();
    meetingIds.sort();
    const servers = (await hashes(serverIds.map((id) => `server:${id}`))).map((h, i) => serverFromHash(serverIds[i], h, sets)).filter((_, i) => serverIds[i] !== '');
    const meetings = (await hashes(meetingIds.map((id) => `meeting:${id}`))).map((h, i) => meetingFromHash(meetingIds[i], h));
    const tenantHashes = await hashes(tenantIds.map((id) => `tenant:${id}`));
    const nameHolders = await hashes(tenantHashes.map((h) => `tenant_name:${h.name ?? ''}`));
    const tenants = tenantHashes.flatMap((h, i) => (Object.keys(h).length === 0 ? [] : [tenantFromHash(tenantIds[i], h, nameHolders[i].id ?? null)]));
    const tenantSettings: ScaleliteTenantSetting[] = [];
    for (const tenantId of tenantIds) {
      const ids = (await r.smembers(`tenant_settings:${tenantId}`)).sort();
      const hs = await hashes(ids.map((id) => `tenant_setting:${id}`));
      hs.forEach((h, i) => {
        if (Object.keys(h).length === 0) return;
        tenantSettings.push({ id: ids[i], tenantId: h.tenant_id || tenantId, param: h.param ?? '', value: h.value ?? '', override: h.override === 'true' });
      });
    }
    return { servers, tenants, tenantSettings, meetings };
  }

  async countRecordings(): Promise<number> {
    const res = await this.pg.query<{ n: string }>('select count(*) as n from recordings');
    return Number(res.rows[0].n);
  }

  /**
   * The next `limit` recordings after row id `afterId`, whole (metadata, formats, thumbnails),
   * in four queries: keyset paging on the primary key, so a resumed run starts anywhere cheaply.
   */
  async readRecordings(afterId: number, limit: number): Promise<{ recordings: ScaleliteRecording[]; lastId: number }> {
    const rows = await this.pg.query<{
      id: string;
      record_id: string;
      meeting_id: string | null;
      name: string | null;
      published: boolean | null;
      participants: number | null;
      state: string | null;
      start_ms: string | null;
      end_ms: string | null;
      publish_updated: boolean | null;
      protected: boolean | null;
    }>(
      `select id, record_id, meeting_id, name, published, participants, state,
              floor(extract(epoch from starttime) * 1000)::bigint as start_ms, floor(extract(epoch from endtime) * 1000)::bigint as end_ms,
              publish_updated, protected
         from recordings where id > $1 order by id limit $2`,
      [afterId, limit],
    );
    if (rows.rows.length === 0) return { recordings: [], lastId: afterId };
    const ids = rows.rows.map((r) => r.id);
    const [meta, formats] = await Promise.all([
      this.pg.query<{ recording_id: string; key: string | null; value: string | null }>('select recording_id, key, value from metadata where recording_id = any($1::bigint[])', [
        ids,
      ]),
      this.pg.query<{ id: string; recording_id: string; format: string | null; url: string | null; length: number | null; processing_time: number | null }>(
        'select id, recording_id, format, url, length, processing_time from playback_formats where recording_id = any($1::bigint[]) order by format',
        [ids],
      ),
    ]);
    const thumbs = await this.pg.query<{ playback_format_id: string; url: string | null; width: number | null; height: number | null; alt: string | null }>(
      'select playback_format_id, url, width, height, alt from thumbnails where playback_format_id = any($1::bigint[]) order by sequence, id',
      [formats.rows.map((f) => f.id)],
    );
    const thumbsOf = groupBy(thumbs.rows, (t) => t.playback_format_id);
    const metaOf = groupBy(meta.rows, (m) => m.recording_id);
    const formatsOf = groupBy(formats.rows, (f) => f.recording_id);
    const recordings = rows.rows.map((r): ScaleliteRecording => ({
      recordId: r.record_id,
      meetingId: r.meeting_id,
      name: r.name,
      published: r.published === true,
      protected: r.protected === true,
      publishUpdated: r.publish_updated === true,
      state: r.state,
      startTime: r.start_ms === null ? null : Number(r.start_ms),
      endTime: r.end_ms === null ? null : Number(r.end_ms),
      participants: r.participants,
      metadata: Object.fromEntries((metaOf.get(r.id) ?? []).filter((m) => m.key).map((m) => [m.key as string, m.value ?? ''])),
      formats: (formatsOf.get(r.id) ?? [])
        .filter((f) => f.format && f.url)
        .map((f) => ({
          format: f.format as string,
          url: f.url as string,
          length: f.length,
          processingTime: f.processing_time,
          thumbnails: (thumbsOf.get(f.id) ?? []).filter((t) => t.url).map((t) => ({ url: t.url as string, width: t.width, height: t.height, alt: t.alt })),
        })),
    }));
    return { recordings, lastId: Number(ids[ids.length - 1]) };
  }

  /** The plain bulk read of the same tables (the bench's baseline): every row, nothing built. */
  async bulkRead(): Promise<number> {
    let rows = 0;
    for (const table of ['recordings', 'metadata', 'playback_formats', 'thumbnails']) rows += (await this.pg.query(`select * from ${table}`)).rowCount ?? 0;
    return rows;
  }
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/** A connection URL without its password, for messages and the audit trail. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '*****';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
