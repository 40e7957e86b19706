import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { request } from 'undici';
import { draft, EventDraft, stamp } from '../src/events/catalog';
import { openEmbeddedSql } from '../src/infra/embedded/data-dir';
import { SqlEventLog } from '../src/infra/embedded/sql-log';
import { migrate } from '../src/infra/sql/migrations';
import { BIN, fmt, freePort, ROOT, stop, readModelsCaughtUp } from './support';

/*
 * bench:rss: what 10,000 routed meetings cost in memory. A data dir is seeded with a log of
 * N meetings placed on 100 servers (none ended, each with its ten considered servers and,
 * for half of them, the recording-ready and analytics callbacks an LMS registers), the balancer
 * starts on it and, once every read model holds the whole log, its resident set is read
 * from /proc. The baseline is the same balancer started on the same pool with no meeting,
 * in the same run. On the embedded default the routes live in the process; with a Redis
 * read model (REDIS_URL) they live in Redis, so its used_memory is read as well.
 * Env: BENCH_MEETINGS (comma list, default 10000,50000,100000), BENCH_REDIS_URL.
 */

const SECRET = 'bench-secret';
const SERVERS = 100;
const actor = { kind: 'api' as const, name: 'bench' };

function seed(meetings: number): EventDraft[] {
  const servers = Array.from({ length: SERVERS }, (_, i) => `bbb-${i}`);
  const drafts: EventDraft[] = [];
  for (const serverId of servers) {
    drafts.push(draft('ServerAdded', { serverId, url: `https://${serverId}.example.com/bigbluebutton/api`, secret: 's', loadMultiplier: 1, tag: null }));
    drafts.push(draft('ServerWentOnline', { serverId }), draft('ServerEnabled', { serverId }));
  }
  for (let i = 0; i < meetings; i++) {
    const serverId = servers[i % SERVERS];
    const meetingId = `course-${i}-${randomUUID()}`;
    const considered = Array.from({ length: 10 }, (_, k) => ({ serverId: servers[(i + k) % SERVERS], load: (i * 7 + k) % 300 }));
    drafts.push(
      draft('MeetingPlaced', { meetingId, serverId, tenantId: null, voiceBridge: String(10_000 + i), moderatorPassword: `mp-${i}`, loadEstimate: 15, tag: null, considered }),
    );
    if (i % 2 === 0) {
      drafts.push(
        draft('MeetingCallbacksRegistered', {
          meetingId,
          tenantId: null,
          recordingReadyUrl: `https://moodle.example.edu/mod/bigbluebuttonbn/bbb_broker.php?action=recording_ready&bigbluebuttonbn=${i}`,
          analyticsCallbackUrl: `https://moodle.example.edu/mod/bigbluebuttonbn/bbb_broker.php?action=meeting_events&bigbluebuttonbn=${i}`,
        }),
      );
    }
  }
  return drafts;
}

async function seededDataDir(meetings: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-rss-'));
  const embedded = await openEmbeddedSql(dataDir);
  await migrate(embedded.sql);
  const log = new SqlEventLog(embedded.sql);
  const events = stamp(seed(meetings), actor, new Date(), randomUUID);
  for (let i = 0; i < events.length; i += 5_000) await log.append(events.slice(i, i + 5_000));
  await log.close();
  await embedded.sql.close();
  await embedded.release();
  return dataDir;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line!.replace(/\D+/g, '')) * 1024;
}

/** Start the balancer, wait until no read model lags the log, let it settle, and read its RSS. */
async function settledRss(dataDir: string, env: Record<string, string>): Promise<{ rss: number; heap: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('node', [BIN, 'start'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOADBALANCER_SECRET: SECRET, POLL_INTERVAL: '3600', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await readModelsCaughtUp(port, child, 100);
  await new Promise((r) => setTimeout(r, 3_000));
  // The V8 heap in use apart from the RSS: PGlite's WebAssembly memory grows with what it
  // stored and never shrinks, so the RSS alone would charge the log's writes to the routes.
  const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
  const heap = Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
  return { rss: rssBytes(child.pid!), heap, child };
}

async function redisUsed(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_MEETINGS ?? '10000,50000,100000').split(',').map(Number);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  const targets = [
    { name: 'embedded (memory)', redis: false },
    { name: 'redis read model', redis: true },
  ];
  console.log(`bench:rss  ${SERVERS} servers; RSS once every read model holds the log, against the same balancer with no meeting`);
  try {
    for (const target of targets) {
      let baseline = 0;
      let baselineRedis = 0;
      let baselineHeap = 0;
      for (const meetings of [0, ...sizes]) {
        const dataDir = await seededDataDir(meetings);
        const namespace = `bench-rss-${process.pid}-${meetings}`;
        const before = target.redis ? await redisUsed(redis) : 0;
        const env: Record<string, string> = target.redis ? { REDIS_URL: redisUrl, REDIS_NAMESPACE: namespace } : {};
        let child: ChildProcess | undefined;
        try {
          const started = await settledRss(dataDir, env);
          child = started.child;
          const redisDelta = target.redis ? (await redisUsed(redis)) - before : 0;
          if (meetings === 0) {
            baseline = started.rss;
            baselineRedis = redisDelta;
            baselineHeap = started.heap;
            console.log(
              `${target.name.padEnd(20)} ${'no meetings'.padStart(16)}  RSS ${fmt(started.rss / MB, 1).padStart(7)} MB  heap ${fmt(started.heap / MB, 1)} MB${target.redis ? `   redis +${fmt(redisDelta / MB, 1)} MB` : ''}`,
            );
          } else {
            const per10k = ((started.rss - baseline) / meetings) * 10_000;
            const heapPer10k = ((started.heap - baselineHeap) / meetings) * 10_000;
            const redisPer10k = ((redisDelta - baselineRedis) / meetings) * 10_000;
            console.log(
              `${target.name.padEnd(20)} ${`${fmt(meetings)} meetings`.padStart(16)}  RSS ${fmt(started.rss / MB, 1).padStart(7)} MB  ` +
                `ratio to no meetings ${fmt(started.rss / baseline, 2)}x   per 10k routed meetings: RSS +${fmt(per10k / MB, 1)} MB, heap +${fmt(heapPer10k / MB, 1)} MB` +
                (target.redis ? `   redis +${fmt(redisPer10k / MB, 1)} MB per 10k` : ''),
            );
          }
        } finally {
          await stop(child);
          rmSync(dataDir, { recursive: true, force: true });
          if (target.redis) {
            const keys = await redis.keys(`${namespace}:*`);
            for (let i = 0; i < keys.length; i += 1_000) await redis.del(...keys.slice(i, i + 1_000));
          }
        }
      }
    }
  } finally {
    redis.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
