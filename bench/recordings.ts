import { createHash, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { Pool } from 'undici';
import { loadConfig } from '../src/infra/config';
import { Sql } from '../src/infra/sql/sql';
import { ALL_ROLES, RunningBalancer, startBalancer } from '../src/runtime';
import { fmt } from './support';

/*
 * bench:recordings: getRecordings latency over a large recordings read model.
 * The real balancer runs in this process (all roles, no polling) on the
 * embedded default (PGlite under a temp DATA_DIR), or with --postgres /
 * BENCH_DATABASE_URL on a fresh database of a PostgreSQL server. The SQL tables
 * are seeded directly with set-based inserts: seeding bypasses the event log on
 * purpose, as this measures the read path (query + XML), not the import.
 *
 * Each scenario is a sequence of signed HTTP GETs over one keep-alive
 * connection, after a warm-up; the baseline is the same balancer answering
 * /bigbluebutton/api (the version document, no database) over the same client,
 * so a ratio says what the query and the XML cost over the HTTP floor.
 *
 * Env: BENCH_RECORDINGS (default 1000000), BENCH_REQUESTS (default 2000),
 * BENCH_WARMUP (default 200), BENCH_DEEP_REQUESTS (default 20),
 * BENCH_DATABASE_URL (a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres:
 * a fresh database is created on it and dropped). Flags: --postgres (that server
 * at its default address), --explain (print EXPLAIN ANALYZE of the page queries).
 */

const SECRET = 'bench-secret';
const DAY_MS = 86_400_000;
const THREE_YEARS_MS = 3 * 365 * DAY_MS;
/** recordings seeded per statement (children: 2-3 metadata rows, 1 format, 2 thumbnails per recording) */
const CHUNK = 100_000;
/** the states getRecordings lists without a state param */
const LISTED = `('published', 'unpublished')`;

interface Shape {
  recordings: number;
  meetings: number;
  /** a multiplier coprime with `recordings`: i -> i*P mod N is a permutation, spreading a meeting's recordings over time */
  spread: number;
  base: number;
  spacing: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function shape(recordings: number): Shape {
  let spread = 7919;
  while (gcd(spread, recordings) !== 1) spread += 2;
  const spacing = Math.max(1, Math.floor(THREE_YEARS_MS / recordings));
  return { recordings, meetings: Math.max(1, Math.round(recordings / 5)), spread, base: Date.UTC(2022, 0, 1), spacing };
}

/*
 * Recording i (0-based) starts at base + i*spacing (+ a jitter below the
 * spacing): the heap is in start-time order, as an archive imported over
 * three years is. Its meeting is (i*P mod N) mod M: five recordings per
 * meeting, months apart. Record ids are BBB's `<sha1 of the meeting>-<13-digit
 * start ms>` (hex of a sha256 cut to 40), unique as start times are.
 */
const cols = (s: Shape) => {
  const meeting = `((i::bigint * ${s.spread} % ${s.recordings}) % ${s.meetings})`;
  const meetingId = `substr(encode(sha256(convert_to('greenlight-room-' || ${meeting}, 'UTF8')), 'hex'), 1, 40)`;
  const start = `(${s.base}::bigint + i::bigint * ${s.spacing} + (i * 7 % ${Math.min(997, s.spacing)}))`;
  return { meeting, meetingId, start };
};

/**
 * Recordings in start-time order, CHUNK per statement; then their children,
 * read back from recordings one record-id range at a time (in key order, so
 * the children's primary keys grow at their right edge). Bulk-load practice,
 * for setup speed only: the secondary indexes are dropped first and built again
 * afterwards from their own definitions (pg_indexes), and foreign keys are not
 * checked row by row (session_replication_role, when the role may set it): the
 * children are selected from recordings, so they reference rows that exist.
 */
async function seed(sql: Sql, s: Shape, progress: (phase: string, done: number, of: number) => void): Promise<void> {
  const c = cols(s);
  const tables = ['recordings', 'recording_metadata', 'playback_formats', 'thumbnails'];
  const secondary = await sql.query<{ indexname: string; indexdef: string }>(
    `select quote_ident(indexname) as indexname, indexdef from pg_indexes i where schemaname = current_schema() and tablename = any($1)
     and not exists (select 1 from pg_constraint k where k.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)`,
    [tables],
  );
  for (const { indexname } of secondary.rows) await sql.query(`drop index ${indexname}`);
  const superuser = (await sql.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user')).rows[0]?.rolsuper === true;
  const bulk = async (statements: string[]) =>
    sql.transaction(async (tx) => {
      if (superuser) await tx.query('set local session_replication_role = replica');
      for (const statement of statements) await tx.query(statement);
    });

  for (let lo = 0; lo < s.recordings; lo += CHUNK) {
    const hi = Math.min(s.recordings, lo + CHUNK) - 1;
    // 90% published, 8% unpublished, 2% deleted (not listed by default); 10 to 120 minutes long.
    await bulk([
      `insert into recordings (record_id, meeting_id, name, published, protected, state, start_time, end_time, participants, publish_updated, tenant_id, imported_at, updated_at)
       select record_id, meeting_id, 'Weekly seminar ' || m, st = 'published', false, st, start_time, start_time + dur, 2 + i % 48, false, null,
              to_timestamp((start_time + dur) / 1000.0) + interval '20 minutes', to_timestamp((start_time + dur) / 1000.0) + interval '20 minutes'
       from (select i, m, meeting_id, substr(encode(sha256(convert_to(meeting_id, 'UTF8')), 'hex'), 1, 40) || '-' || start_time as record_id, start_time, dur, st
             from (select i, ${c.meeting} as m, ${c.meetingId} as meeting_id, ${c.start} as start_time,
                          (600000 + (i % 111) * 60000)::bigint as dur,
                          case when i % 50 = 7 then 'deleted' when i % 50 < 5 then 'unpublished' else 'published' end as st
                   from generate_series(${lo}, ${hi}) as i) g) h`,
    ]);
    progress('recordings', hi + 1, s.recordings);
  }
  // Record-id ranges split on hex prefixes: they partition the ids in any collation, about CHUNK recordings each.
  const digits = Math.max(1, Math.ceil(Math.log(s.recordings / CHUNK) / Math.log(16)));
  const bounds = Array.from({ length: 16 ** digits - 1 }, (_, k) => (k + 1).toString(16).padStart(digits, '0'));
  const ranges = [...bounds, null].map((hi, k) => [k === 0 ? null : bounds[k - 1], hi] as const);
  for (const [k, [lo, hi]] of ranges.entries()) {
    const range = [lo === null ? '' : `record_id >= '${lo}'`, hi === null ? '' : `record_id < '${hi}'`].filter(Boolean).join(' and ');
    const of = `(select record_id, name, start_time, end_time from recordings where ${range} order by record_id) r`;
    await bulk([
      `insert into recording_metadata (record_id, key, value)
       select record_id, k, v from ${of}
       cross join lateral (values ('bbb-origin', 'Greenlight'), ('gl-listed', case when start_time % 2 = 0 then 'true' end), ('meetingName', name)) kv(k, v)
       where v is not null`,
      `insert into playback_formats (record_id, format, url, length, processing_time)
       select record_id, 'presentation', '/playback/presentation/2.3/' || record_id, ((end_time - start_time) / 60000)::int, (30000 + start_time % 90000)::int from ${of}`,
      `insert into thumbnails (record_id, format, sequence, url, width, height, alt)
       select record_id, 'presentation', n, '/presentation/' || record_id || '/presentation/d2d9a672040fbde2a47a10bf6c37b6a4b5ae187f-' || start_time || '/thumbnails/thumb-' || (n + 1) || '.png',
              176, 136, case when n = 0 then 'Welcome to BigBlueButton' else 'Slide ' || (n + 1) end
       from ${of} cross join generate_series(0, 1) as n`,
    ]);
    progress('metadata, formats, thumbnails', k + 1, ranges.length);
  }
  for (const [k, { indexdef }] of secondary.rows.entries()) {
    await sql.query(indexdef);
    progress('indexes', k + 1, secondary.rows.length);
  }
  await sql.query('analyze');
}

interface Sample {
  ms: number[];
  bytes: number;
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
  bytes: number;
}

function stats(s: Sample): Stats {
  const sorted = [...s.ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, bytes: Math.round(s.bytes / sorted.length) };
}

const signed = (action: string, params: Array<[string, string]>): string => {
  const qs = new URLSearchParams(params).toString();
  const checksum = createHash('sha256')
    .update(action + qs + SECRET)
    .digest('hex');
  return `/bigbluebutton/api/${action}?${qs ? `${qs}&` : ''}checksum=${checksum}`;
};

/** One request: its latency, or a thrown error when the answer is not what the scenario expects. */
async function timedGet(client: Pool, path: string, check: (body: string) => string | null): Promise<{ ms: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const res = await client.request({ path, method: 'GET' });
  const body = await res.body.text();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const problem = res.statusCode !== 200 ? `HTTP ${res.statusCode}` : check(body);
  if (problem) throw new Error(`${path}: ${problem}\n${body.slice(0, 500)}`);
  return { ms, bytes: Buffer.byteLength(body) };
}

async function run(client: Pool, warmup: number, count: number, next: () => string, check: (body: string) => string | null): Promise<Stats> {
  // Paths are signed before the clock starts: the client's hashing is not the server's latency.
  const paths = Array.from({ length: warmup + count }, next);
  const sample: Sample = { ms: [], bytes: 0 };
  for (let i = 0; i < paths.length; i++) {
    const r = await timedGet(client, paths[i], check);
    if (i < warmup) continue;
    sample.ms.push(r.ms);
    sample.bytes += r.bytes;
  }
  return stats(sample);
}

const recordingsIn = (body: string) => body.split('<recording>').length - 1;
const expectRecordings = (n: number) => (body: string) => {
  if (!body.includes('<returncode>SUCCESS</returncode>')) return 'not SUCCESS';
  const found = recordingsIn(body);
  return found === n ? null : `expected ${n} <recording> elements, got ${found}`;
};

async function explain(sql: Sql, label: string, text: string, params: unknown[]): Promise<void> {
  const plan = await sql.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, params);
  console.log(`\n-- EXPLAIN ANALYZE: ${label}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
}

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_RECORDINGS ?? 1_000_000);
  const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
  const warmup = Number(process.env.BENCH_WARMUP ?? 200);
  const deepRequests = Number(process.env.BENCH_DEEP_REQUESTS ?? 20);
  const serverUrl = process.env.BENCH_DATABASE_URL ?? (process.argv.includes('--postgres') ? 'postgres://postgres@127.0.0.1:5432/postgres' : undefined);
  const s = shape(total);

  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-bench-recordings-'));
  let database: { admin: string; name: string } | null = null;
  let running: RunningBalancer | null = null;
  let client: Pool | null = null;
  try {
    let databaseUrl: string | undefined;
    if (serverUrl) {
      const name = `bench_recordings_${process.pid}`;
      const admin = new Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      database = { admin: serverUrl, name };
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      databaseUrl = url.toString();
    }
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOADBALANCER_SECRET: SECRET,
      PORT: '0',
      BIND: '127.0.0.1',
      POLL_INTERVAL: '3600',
      RECORDING_IMPORT_POLL_INTERVAL: '3600',
      LOG_LEVEL: 'warn',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    });
    const logger = pino({ level: 'warn' }, pino.destination(2));
    running = await startBalancer(config, logger, { roles: ALL_ROLES, poll: false });
    const sql = running.backends.sql;
    const where = databaseUrl ? `PostgreSQL (${new URL(databaseUrl).host}, database ${database!.name})` : 'PGlite (embedded default)';

    console.log(`bench:recordings  ${fmt(total)} recordings across ${fmt(s.meetings)} meetingIDs on ${where}`);
    console.log('seeding the SQL tables directly (set-based inserts; the event log is bypassed on purpose: this measures the read path, not the import)');
    const seedStarted = Date.now();
    const tty = process.stderr.isTTY;
    await seed(sql, s, (phase, done, of) => {
      if (tty) process.stderr.write(`\r  ${phase}: ${fmt(done)} / ${fmt(of)}        `);
      else if (done === of) process.stderr.write(`  ${phase}: ${fmt(done)} / ${fmt(of)} (${fmt((Date.now() - seedStarted) / 1000, 1)} s)\n`);
    });
    if (tty) process.stderr.write('\n');
    const counts = await sql.query<{ t: string; n: string | number }>(
      `select 'recordings' as t, count(*) as n from recordings union all select 'recording_metadata', count(*) from recording_metadata
       union all select 'playback_formats', count(*) from playback_formats union all select 'thumbnails', count(*) from thumbnails`,
    );
    console.log(`seeded in ${fmt((Date.now() - seedStarted) / 1000, 1)} s (then ANALYZE): ${counts.rows.map((r) => `${r.t} ${fmt(Number(r.n))}`).join(', ')}`);

    // One meeting, at random, and how many of its recordings getRecordings lists (5 seeded, a few may be 'deleted').
    const c = cols(s);
    const meetingRow = await sql.query<{ meeting_id: string }>(`select ${c.meetingId} as meeting_id from (select ${randomInt(s.meetings)} as i) x`);
    const meetingId = meetingRow.rows[0].meeting_id;
    const listedOf = async (extra: string, params: unknown[] = []) =>
      Number((await sql.query<{ n: string | number }>(`select count(*) as n from recordings where state in ${LISTED}${extra}`, params)).rows[0].n);
    const meetingCount = await listedOf(' and meeting_id = $1', [meetingId]);
    const listed = await listedOf('');
    const deep = Math.min(500_000, Math.max(0, listed - 50));
    const shallowMax = Math.min(10_000, Math.max(0, listed - 50));
    if (meetingCount === 0) throw new Error(`meeting ${meetingId} has no listed recording`);

    if (process.argv.includes('--explain')) {
      const page = `select r.record_id from recordings r where r.state = any($1) order by r.start_time desc nulls last, r.record_id desc limit 50 offset $2`;
      await explain(
        sql,
        'meetingID',
        `select r.record_id from recordings r where r.state = any($1) and r.meeting_id = any($2) order by r.start_time desc nulls last, r.record_id desc`,
        [['published', 'unpublished'], [meetingId]],
      );
      await explain(sql, 'page, offset 5000', page, [['published', 'unpublished'], 5000]);
      await explain(sql, `page, offset ${deep}`, page, [['published', 'unpublished'], deep]);
      console.log('');
    }

    client = new Pool(running.url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
    const versionCheck = (body: string) => (body.includes('<returncode>SUCCESS</returncode>') && body.includes('<version>') ? null : 'not the version document');
    const rows: Array<{ name: string; st: Stats }> = [];
    const measure = async (name: string, w: number, n: number, next: () => string, check: (body: string) => string | null) => {
      process.stderr.write(`  measuring ${name} ...\n`);
      rows.push({ name, st: await run(client!, w, n, next, check) });
    };
    await measure('baseline: GET /bigbluebutton/api', warmup, requests, () => '/bigbluebutton/api', versionCheck);
    await measure(`meetingID (${meetingCount} recordings)`, warmup, requests, () => signed('getRecordings', [['meetingID', meetingId]]), expectRecordings(meetingCount));
    await measure(
      `limit=50, offset 0..${fmt(shallowMax)}`,
      warmup,
      requests,
      () =>
        signed('getRecordings', [
          ['limit', '50'],
          ['offset', String(randomInt(shallowMax + 1))],
        ]),
      expectRecordings(50),
    );
    await measure(
      `limit=50, offset ${fmt(deep)}`,
      Math.min(2, warmup),
      deepRequests,
      () =>
        signed('getRecordings', [
          ['limit', '50'],
          ['offset', String(deep)],
        ]),
      expectRecordings(50),
    );

    const base = rows[0].st;
    console.log(
      `\nsequential signed GETs over one keep-alive connection; ${fmt(warmup)} warm-up + ${fmt(requests)} measured per scenario (deep page: ${Math.min(2, warmup)} + ${deepRequests})`,
    );
    console.log(
      `${'scenario'.padEnd(36)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'mean ms'.padStart(8)} ${'p50 x'.padStart(8)} ${'p99 x'.padStart(8)} ${'bytes'.padStart(8)}`,
    );
    for (const { name, st } of rows) {
      console.log(
        `${name.padEnd(36)} ${fmt(st.p50, 2).padStart(8)} ${fmt(st.p99, 2).padStart(8)} ${fmt(st.mean, 2).padStart(8)} ${fmt(st.p50 / base.p50, 1).padStart(8)} ${fmt(st.p99 / base.p99, 1).padStart(8)} ${fmt(st.bytes).padStart(8)}`,
      );
    }
    console.log('ratios are against the baseline (same balancer, same client, same run): the DB query + XML over the HTTP floor');
  } finally {
    await client?.close().catch(() => undefined);
    await running?.close().catch((err: unknown) => console.error('closing the balancer failed', err));
    if (database) {
      const admin = new Client({ connectionString: database.admin });
      await admin.connect();
      await admin.query(`drop database if exists ${database.name} with (force)`).catch((err: unknown) => console.error(`dropping ${database!.name} failed`, err));
      await admin.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
