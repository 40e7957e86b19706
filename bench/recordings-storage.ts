import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pino from 'pino';
import { Pool } from 'undici';
import { loadConfig } from '../src/infra/config';
import { s3Client } from '../src/infra/s3/s3-storage';
import { ALL_ROLES, RunningBalancer, startBalancer } from '../src/runtime';
import { generateRecording } from '../src/sim/recordings';
import { fmt } from './support';

/*
 * bench:recordings-storage: what keeping recordings in an S3-compatible bucket
 * costs against the publish dirs, measured in the same run on the same machine.
 * The real balancer runs in this process (all roles, embedded backends, no
 * polling), once per storage; the bucket is on the S3Proxy of scripts/s3proxy.sh
 * (filesystem backend, V4 signatures, loopback), started by the npm script.
 *
 *  - import: BENCH_IMPORTS tarballs (the simulator's presentation + video, plus a
 *    BENCH_MEDIA_MB webcams.mp4 each) dropped in the spool at once; the time
 *    until the last is listed, as recordings/s and MB/s.
 *  - playback: BENCH_FETCHES GETs of that media file and BENCH_SMALL_FETCHES of
 *    metadata.xml through the balancer (streamed from the bucket for S3), one
 *    keep-alive connection, after a warm-up.
 *
 * Each line ends with the ratio S3 / filesystem (time: higher is slower).
 * Env: BENCH_S3_ENDPOINT (default http://127.0.0.1:8333), BENCH_S3_ACCESS_KEY /
 * BENCH_S3_SECRET_KEY (S3Proxy's test identity by default).
 */

const SECRET = 'bench-secret';
const IMPORTS = Number(process.env.BENCH_IMPORTS ?? 40);
const MEDIA_MB = Number(process.env.BENCH_MEDIA_MB ?? 8);
const FETCHES = Number(process.env.BENCH_FETCHES ?? 40);
const SMALL_FETCHES = Number(process.env.BENCH_SMALL_FETCHES ?? 500);
const ENDPOINT = process.env.BENCH_S3_ENDPOINT ?? 'http://127.0.0.1:8333';
const ACCESS_KEY = process.env.BENCH_S3_ACCESS_KEY ?? 'scalelite-test';
const SECRET_KEY = process.env.BENCH_S3_SECRET_KEY ?? 'scalelite-test-secret';

interface Measured {
  importMs: number;
  mediaMs: number;
  smallMs: number;
}

/** Tarballs made once, copied into each run's spool: `<id>.tar` with a media file of MEDIA_MB. */
async function makeTarballs(dir: string): Promise<{ ids: string[]; bytes: number }> {
  const media = randomBytes(MEDIA_MB * 1024 * 1024);
  const made = join(dir, 'made');
  const ids: string[] = [];
  let bytes = 0;
  for (let i = 0; i < IMPORTS; i++) {
    const { recordId, tarPath } = await generateRecording({ spoolDir: made, meetingId: `bench-room-${i}`, startTime: Date.UTC(2026, 0, 1) + i * 60_000 });
    const tree = join(dir, `tree-${i}`);
    mkdirSync(tree);
    execFileSync('tar', ['--extract', '--file', tarPath, '--directory', tree]);
    writeFileSync(join(tree, 'presentation', recordId, 'video', 'webcams.mp4'), media);
    execFileSync('tar', ['--create', '--file', join(dir, `${recordId}.tar`), '--directory', tree, ...readdirSync(tree)]);
    rmSync(tree, { recursive: true, force: true });
    rmSync(tarPath);
    ids.push(recordId);
    bytes += media.length;
  }
  return { ids, bytes };
}

async function timeFetches(pool: Pool, path: string, count: number, expectBytes: number | null): Promise<number> {
  const once = async () => {
    const res = await pool.request({ path, method: 'GET' });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200 || (expectBytes !== null && body.length !== expectBytes)) throw new Error(`GET ${path}: ${res.statusCode}, ${body.length} bytes`);
  };
  for (let i = 0; i < Math.min(10, count); i++) await once();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await once();
  return Number(process.hrtime.bigint() - started) / 1e6 / count;
}

async function run(storage: 'filesystem' | 's3', tarballs: string, ids: string[]): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-storage-${storage}-`));
  const bucket = `bench-${process.pid}-${Date.now()}`;
  const client = s3Client({ bucket, region: 'us-east-1', endpoint: ENDPOINT, forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } });
  if (storage === 's3') await client.send(new CreateBucketCommand({ Bucket: bucket }));
  let running: RunningBalancer | null = null;
  try {
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOADBALANCER_SECRET: SECRET,
      PORT: '0',
      BIND: '127.0.0.1',
      POLL_INTERVAL: '3600',
      RECORDING_IMPORT_POLL_INTERVAL: '3600',
      LOG_LEVEL: 'silent',
      ...(storage === 's3'
        ? { S3_RECORDING: 'true', S3_BUCKET_NAME: bucket, AWS_ENDPOINT_URL: ENDPOINT, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_REGION: 'us-east-1' }
        : {}),
    });
    running = await startBalancer(config, pino({ level: 'silent' }), { roles: ALL_ROLES, poll: false });
    const importer = running.importer!;
    const spool = config.recordings.spoolDir;
    // Copied next to the spool first (same filesystem), then renamed in together: the import clock starts at the drop.
    const staging = join(dataDir, 'staging');
    mkdirSync(staging);
    for (const id of ids) execFileSync('cp', [join(tarballs, `${id}.tar`), staging]);
    const started = Date.now();
    for (const id of ids) renameSync(join(staging, `${id}.tar`), join(spool, `${id}.tar`));
    for (;;) {
      const status = await importer.status();
      if (status.imported >= ids.length) break;
      if (status.failed > 0) throw new Error(`an import failed: ${JSON.stringify(status.lastFailure)}`);
      await importer.scan();
    }
    const importMs = Date.now() - started;
    const pool = new Pool(running.url, { connections: 1 });
    try {
      const mediaMs = await timeFetches(pool, `/presentation/${ids[0]}/video/webcams.mp4`, FETCHES, MEDIA_MB * 1024 * 1024);
      const smallMs = await timeFetches(pool, `/presentation/${ids[1 % ids.length]}/metadata.xml`, SMALL_FETCHES, null);
      return { importMs, mediaMs, smallMs };
    } finally {
      await pool.close();
    }
  } finally {
    await running?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (storage === 's3') {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (page.Contents ?? [])
          .map((o) => o.Key!)
          .sort()
          .reverse();
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      }
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
    client.destroy();
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-storage-tars-'));
  try {
    console.log(`bench:recordings-storage  ${IMPORTS} recordings of ${MEDIA_MB} MiB media each; filesystem vs S3Proxy at ${ENDPOINT}`);
    const { ids, bytes } = await makeTarballs(work);
    const fsRun = await run('filesystem', work, ids);
    const s3Run = await run('s3', work, ids);
    const mb = bytes / 1024 / 1024;
    const line = (what: string, f: string, s: string, ratio: number) => console.log(`${what.padEnd(34)} ${f.padStart(18)} ${s.padStart(18)}   ratio ${fmt(ratio, 2)}`);
    console.log(`${''.padEnd(34)} ${'filesystem'.padStart(18)} ${'S3 (S3Proxy)'.padStart(18)}`);
    line('import (whole batch)', `${fmt(fsRun.importMs)} ms`, `${fmt(s3Run.importMs)} ms`, s3Run.importMs / fsRun.importMs);
    line('  recordings/s', fmt((IMPORTS * 1000) / fsRun.importMs, 1), fmt((IMPORTS * 1000) / s3Run.importMs, 1), fsRun.importMs / s3Run.importMs);
    line('  media MiB/s', fmt((mb * 1000) / fsRun.importMs, 1), fmt((mb * 1000) / s3Run.importMs, 1), fsRun.importMs / s3Run.importMs);
    line(`playback: ${MEDIA_MB} MiB media GET`, `${fmt(fsRun.mediaMs, 1)} ms`, `${fmt(s3Run.mediaMs, 1)} ms`, s3Run.mediaMs / fsRun.mediaMs);
    line('playback: metadata.xml GET', `${fmt(fsRun.smallMs, 2)} ms`, `${fmt(s3Run.smallMs, 2)} ms`, s3Run.smallMs / fsRun.smallMs);
    console.log('time ratios are S3 / filesystem (above 1: S3 slower); rate ratios are S3 / filesystem (below 1: S3 slower)');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
