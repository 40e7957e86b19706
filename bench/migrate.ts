import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { AdminClient } from '../src/infra/admin-client';
import { loadConfig } from '../src/infra/config';
import { runMigration } from '../src/infra/scalelite/migrate-run';
import { ScaleliteSource } from '../src/infra/scalelite/source';
import { ALL_ROLES, RunningBalancer, startBalancer } from '../src/runtime';
import { createScaleliteDatabase, dropNamespace, seedMeeting, seedRecordings, seedServer } from '../src/sim/scalelite-stores';
import { fmt } from './support';

/*
 * bench:migrate: `scalelite migrate:scalelite` throughput over a Scalelite with
 * 100k recordings (BENCH_RECORDINGS), in Scalelite's own PostgreSQL tables and
 * Redis keys. The baseline is a plain bulk read of the same four tables
 * (`select *` of recordings, metadata, playback_formats, thumbnails) from the
 * same database in the same run, so the ratio says what reading them whole,
 * deciding each recording against the index, appending the events and
 * projecting them costs over merely reading the rows. A second run (everything
 * in place: it appends nothing) is measured too.
 *
 * The balancer runs in this process on the embedded default (PGlite under a temp
 * DATA_DIR), or on a PostgreSQL database with --postgres. Scalelite's stores are
 * a fresh database on BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and a namespace on BENCH_REDIS_URL (default redis://127.0.0.1:6379), both removed at the end.
 */

const SECRET = 'bench-secret';

async function main(): Promise<void> {
  const total = Number(process.env.BENCH_RECORDINGS ?? 100_000);
  const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? 1000);
  const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const balancerOnPostgres = process.argv.includes('--postgres');
  const id = `${process.pid}_${Date.now()}`;
  const namespace = `bench:${id}:scalelite`;
  const names = { source: `bench_scalelite_${id}`, target: `bench_balancer_${id}` };
  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-bench-migrate-'));
  const dbUrl = (name: string) => {
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  let running: RunningBalancer | null = null;
  let pg: Client | null = null;
  try {
    await admin.query(`create database ${names.source}`);
    if (balancerOnPostgres) await admin.query(`create database ${names.target}`);
    pg = await createScaleliteDatabase(dbUrl(names.source));
    console.log(
      `bench:migrate  ${fmt(total)} recordings in Scalelite's tables (database ${names.source}), balancer on ${balancerOnPostgres ? 'PostgreSQL' : 'PGlite (embedded default)'}`,
    );
    const seedStarted = Date.now();
    await seedRecordings(pg, { count: total, tenantIds: ['tenant-a', 'tenant-b'] });
    await pg.query('analyze');
    const redis = new Redis(redisUrl, { keyPrefix: `${namespace}:` });
    for (let i = 0; i < 10; i++) {
      await seedServer(redis, {
        id: `bbb-${i}`,
        url: `https://bbb-${i}.example.com/bigbluebutton/api/`,
        secret: `secret-${i}`,
        state: 'enabled',
        online: true,
        load: i,
        loadMultiplier: '1.0',
      });
    }
    for (let i = 0; i < 500; i++) await seedMeeting(redis, { id: `meeting-${i}`, serverId: `bbb-${i % 10}`, voiceBridge: String(100_000_000 + i), moderatorPw: 'mp' });
    redis.disconnect();
    const rows = await pg.query<{ t: string; n: string }>(
      `select 'recordings' as t, count(*) as n from recordings union all select 'metadata', count(*) from metadata
       union all select 'playback_formats', count(*) from playback_formats union all select 'thumbnails', count(*) from thumbnails`,
    );
    console.log(`seeded in ${fmt((Date.now() - seedStarted) / 1000, 1)} s: ${rows.rows.map((r) => `${r.t} ${fmt(Number(r.n))}`).join(', ')}; 10 servers and 500 meetings in Redis`);

    const config = loadConfig({
      DATA_DIR: dataDir,
      LOADBALANCER_SECRET: SECRET,
      PORT: '0',
      BIND: '127.0.0.1',
      POLL_INTERVAL: '3600',
      RECORDING_IMPORT_POLL_INTERVAL: '3600',
      PROJECTION_TIMEOUT: '120',
      LOG_LEVEL: 'warn',
      ...(balancerOnPostgres ? { DATABASE_URL: dbUrl(names.target) } : {}),
    });
    running = await startBalancer(config, pino({ level: 'warn' }, pino.destination(2)), { roles: ALL_ROLES, poll: false });
    const client = new AdminClient({ baseUrl: running.url, secret: SECRET, actor: 'bench' });
    const source = new ScaleliteSource(redisUrl, namespace, dbUrl(names.source));
    await source.connect();
    try {
      // Baseline: the best of three plain bulk reads of the same tables.
      let baselineMs = Infinity;
      let baselineRows = 0;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        baselineRows = await source.bulkRead();
        baselineMs = Math.min(baselineMs, performance.now() - t);
      }
      const tty = process.stderr.isTTY;
      const t1 = performance.now();
      const first = await runMigration({
        source,
        client,
        dryRun: false,
        skipRecordings: false,
        batchSize,
        onProgress: (done, of) => {
          if (tty) process.stderr.write(`\r  migrating: ${fmt(done)} / ${fmt(of)}   `);
        },
      });
      const firstMs = performance.now() - t1;
      if (tty) process.stderr.write('\n');
      const t2 = performance.now();
      const second = await runMigration({ source, client, dryRun: false, skipRecordings: false, batchSize });
      const secondMs = performance.now() - t2;
      if (first.counts.recording.imported !== total || second.appended !== 0) {
        throw new Error(`unexpected outcome: ${first.counts.recording.imported} imported, second run appended ${second.appended}`);
      }
      console.log('');
      console.log(`${'run'.padEnd(44)} ${'ms'.padStart(10)} ${'rec/s'.padStart(10)} ${'x bulk read'.padStart(12)}`);
      const line = (label: string, ms: number) =>
        console.log(`${label.padEnd(44)} ${fmt(ms).padStart(10)} ${fmt((total * 1000) / ms).padStart(10)} ${fmt(ms / baselineMs, 1).padStart(12)}`);
      line(`baseline: bulk read (${fmt(baselineRows)} rows)`, baselineMs);
      line(`migrate:scalelite (${fmt(first.appended)} events)`, firstMs);
      line('migrate:scalelite again (nothing to append)', secondMs);
      console.log(`${fmt(batchSize)} recordings read at a time, sent in requests of at most 600 kB; ratios are against the bulk read of the same tables in the same run`);
    } finally {
      await source.close();
    }
  } finally {
    await running?.close();
    await pg?.end().catch(() => undefined);
    for (const name of [names.source, names.target]) await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end();
    await dropNamespace(redisUrl, namespace).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
