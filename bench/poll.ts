import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { Agent, request } from 'undici';
import { LocalDecisionLock, WriteSide } from '../src/commands/write-side';
import { isDomainError } from '../src/commands/errors';
import { draft } from '../src/events/catalog';
import { BbbClient, signedUrl } from '../src/infra/bbb/client';
import { signedQuery } from '../src/infra/bbb/checksum';
import { MemoryPoolStore } from '../src/infra/embedded/memory-pool';
import { SqlEventLog } from '../src/infra/embedded/sql-log';
import { ParkedEvents } from '../src/projections/projector';
import { SqlParkedEvents } from '../src/infra/sql/parked-store';
import { migrate } from '../src/infra/sql/migrations';
import { openPglite } from '../src/infra/sql/pglite';
import { Poller } from '../src/poller/poller';
import { poolProjection } from '../src/projections/apply';
import { Projector } from '../src/projections/projector';
import { fmt, ROOT, spawnFirstLine, stop } from './support';

/*
 * bench:poll: one poll pass over pools of 100, 300 and 1,000 simulated servers
 * (10 meetings each), answering at once and after 50 ms, against the same GETs
 * (getMeetings and the version document of every server, as many at once as the
 * poller) with nothing parsed or decided, in the same run. The third pass of each
 * pool changes nothing: it shows what an ordinary pass costs, and that it writes no event.
 * Env: BENCH_POOLS (100,300,1000), BENCH_LATENCY_MS (0,50), POLLER_THREADS (21).
 */

interface SimInfo {
  controlUrl: string;
  servers: Array<{ index: number; url: string; secret: string }>;
}

const post = async (url: string, body: unknown) =>
  (await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).body.text();

async function pool(size: number, latencies: number[], concurrency: number): Promise<void> {
  // The simulator's own entry point: the CLI's `sim` stops at 500 servers.
  const started = await spawnFirstLine('node', [join(ROOT, 'dist', 'src', 'sim', 'main.js'), '--servers', String(size)]);
  const sim = JSON.parse(started.line) as SimInfo;
  const sql = await openPglite(null);
  const bbb = new BbbClient({ algorithm: 'sha256', connectTimeoutMs: 5_000, responseTimeoutMs: 10_000 });
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  let projector: Projector | undefined;
  try {
    // Ten meetings of 15 users on every server, made on the servers directly.
    await Promise.all(
      sim.servers.map(async (s) => {
        for (let m = 0; m < 10; m += 1) {
          const meetingID = `room-${s.index}-${m}`;
          await (
            await request(
              `${s.url.replace(/\/?$/, '/')}create?${signedQuery(
                'sha256',
                'create',
                [
                  ['meetingID', meetingID],
                  ['name', meetingID],
                ],
                s.secret,
              )}`,
            )
          ).body.text();
          await post(`${sim.controlUrl}/servers/${s.index}/meetings/${meetingID}/participants`, { count: 15, moderators: 2, withVideo: 3 });
        }
      }),
    );
    await migrate(sql);
    const log = new SqlEventLog(sql, 20);
    const store = new MemoryPoolStore(60_000);
    const parked: ParkedEvents = new SqlParkedEvents(sql);
    projector = new Projector({ log, projections: [poolProjection(store)], logger: pino({ level: 'silent' }), parked, isTransient: () => true });
    await projector.start();
    const writeSide = new WriteSide({ log, pool: store, lock: new LocalDecisionLock(), clock: () => new Date(), newId: randomUUID, projectionTimeoutMs: 60_000 });
    const actor = { kind: 'admin' as const, name: 'bench' };
    const added = await writeSide.decide(actor, async () => ({
      events: sim.servers.flatMap((s) => [
        draft('ServerAdded', { serverId: `s${s.index}`, url: s.url, secret: s.secret, loadMultiplier: 1, tag: null }),
        draft('ServerEnabled', { serverId: `s${s.index}` }),
      ]),
      result: null,
    }));
    if (isDomainError(added)) throw new Error(added.message);
    const poller = new Poller({
      pool: store,
      writeSide,
      bbb,
      logger: pino({ level: 'silent' }),
      clock: () => new Date(),
      endMeeting: async () => true,
      settings: {
        intervalMs: 60_000,
        concurrency,
        passTimeoutMs: 60_000,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
        loadMinUserCount: 15,
        loadJoinBufferMinutes: 15,
        newMeetingGraceMs: 60_000,
      },
    });
    const urls = sim.servers.flatMap((s) => [signedUrl('sha256', s, 'getMeetings', []), signedUrl('sha256', s, '', [])]);
    const raw = async () => {
      const queue = [...sim.servers.keys()];
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
            await Promise.all([urls[2 * i]!, urls[2 * i + 1]!].map(async (u) => (await request(u, { dispatcher: agent })).body.text()));
          }
        }),
      );
      return performance.now() - t0;
    };
    for (const latency of latencies) {
      await Promise.all(sim.servers.map((s) => post(`${sim.controlUrl}/servers/${s.index}/mode`, latency > 0 ? { kind: 'slow', delayMs: latency } : { kind: 'ok' })));
      await raw(); // warm: connections open
      const rawMs = await raw();
      const passes = [];
      for (let i = 0; i < 3; i += 1) {
        const headBefore = await log.lastOffset();
        const summary = await poller.pollAll();
        passes.push({ ms: summary.durationMs, polled: summary.polled, events: (await log.lastOffset()) - headBefore });
      }
      const last = passes[2]!;
      console.log(
        `${String(size).padStart(5)} servers, ${String(latency).padStart(2)} ms: passes ${passes.map((p) => `${fmt(p.ms)} ms (${p.polled} polled, ${p.events} events)`).join(', ')}; same GETs unparsed ${fmt(rawMs)} ms; ratio unchanged pass / GETs ${fmt(last.ms / Math.max(rawMs, 1), 2)}x`,
      );
      if (passes.some((p) => p.polled !== size) || last.events !== 0) process.exitCode = 1;
    }
  } finally {
    await projector?.stop();
    await bbb.close();
    await agent.close();
    await sql.close();
    await stop(started.child);
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_POOLS ?? '100,300,1000').split(',').map(Number);
  const latencies = (process.env.BENCH_LATENCY_MS ?? '0,50').split(',').map(Number);
  const concurrency = Math.max(1, Number(process.env.POLLER_THREADS ?? 21) - 1);
  console.log(`bench:poll  ${concurrency} polls at once, 10 meetings of 15 users per server`);
  for (const size of sizes) await pool(size, latencies, concurrency);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
