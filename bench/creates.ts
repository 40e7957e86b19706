import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Agent, request } from 'undici';
import { apiBase } from '../src/infra/bbb/client';
import { signedQuery } from '../src/infra/bbb/checksum';
import { addServers, BIN, fmt, freePort, ROOT, spawnFirstLine, stop, waitHealthy, dropProductionData } from './support';

/*
 * bench:creates: meeting creates per second (each a new meetingID, so each a placement:
 * read the pool, take the decision lock, append, wait for the projection) through the
 * balancer, on the embedded default and on the production backends (Kafka, Redis,
 * PostgreSQL) with one and with two api processes, against creates sent straight to one
 * simulated BBB server in the same run (the baseline). Servers answer at once.
 * Env: BENCH_DURATION (s, 10), BENCH_CONCURRENCY (100), BENCH_KAFKA_BROKERS (127.0.0.1:9092),
 * BENCH_REDIS_URL, BENCH_PG_URL (the local services npm test uses), BENCH_PROFILE (a directory:
 * each balancer process writes a CPU profile there), BENCH_NEW_CONNECTIONS=1 (each create on a
 * connection of its own, closed after it, as an LMS's curl per page request; default keep-alive).
 */

const SECRET = 'bench-secret';
const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
const newConnections = process.env.BENCH_NEW_CONNECTIONS === '1';

interface Rate {
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
}

/** `concurrency` loops, each creating new meetings on its target for `seconds`. */
async function creates(targets: Array<{ url: string; secret: string }>, seconds: number, concurrency: number, label: string): Promise<Rate> {
  const until = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let failed = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const target = targets[worker % targets.length]!;
      while (performance.now() < until) {
        const meetingID = `${label}-${worker}-${n++}`;
        const t0 = performance.now();
        const res = await request(
          `${apiBase(target.url)}create?${signedQuery(
            'sha256',
            'create',
            [
              ['meetingID', meetingID],
              ['name', 'Bench'],
            ],
            target.secret,
          )}`,
          // reset: the connection is closed after the answer, and the next create opens one.
          { dispatcher: agent, reset: newConnections },
        );
        const body = await res.body.text();
        latencies.push(performance.now() - t0);
        if (!body.includes('<returncode>SUCCESS</returncode>')) failed += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSecond: latencies.length / seconds, p50: at(0.5), p99: at(0.99), failed };
}

function startRole(role: string, env: NodeJS.ProcessEnv, children: ChildProcess[]): ChildProcess {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn('node', [...profile, BIN, role], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_DURATION ?? 10);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 100);
  const kafka = process.env.BENCH_KAFKA_BROKERS ?? '127.0.0.1:9092';
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const id = `bench_creates_${process.pid}`;
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-bench-'));
  const base = { ...process.env, LOADBALANCER_SECRET: SECRET, BIND: '127.0.0.1', POLL_INTERVAL: '3600', LOG_LEVEL: 'warn' };
  const rows: Array<[string, Rate]> = [];
  const pg = new Client({ connectionString: pgUrl });
  await pg.connect();
  try {
    const simStarted = await spawnFirstLine('node', [join(ROOT, 'dist', 'src', 'sim', 'main.js'), '--servers', '10']);
    children.push(simStarted.child);
    const sim = JSON.parse(simStarted.line) as { servers: Array<{ url: string; secret: string }> };
    rows.push(['one BBB server, directly (baseline)', await creates([sim.servers[0]!], seconds, concurrency, 'direct')]);

    const port = await freePort();
    startRole('start', { ...base, DATA_DIR: dataDir, PORT: String(port) }, children);
    const embedded = `http://127.0.0.1:${port}`;
    await waitHealthy(embedded);
    await addServers(embedded, SECRET, sim.servers);
    rows.push(['embedded default', await creates([{ url: `${embedded}/bigbluebutton/api`, secret: SECRET }], seconds, concurrency, 'embedded')]);
    await stop(children.pop());

    await pg.query(`create database ${id}`);
    const dbUrl = new URL(pgUrl);
    dbUrl.pathname = `/${id}`;
    const prod = { ...base, KAFKA_BROKERS: kafka, KAFKA_TOPIC_PREFIX: `${id}.`, REDIS_URL: redisUrl, REDIS_NAMESPACE: id, DATABASE_URL: dbUrl.toString() };
    startRole('projector', prod, children);
    const apis: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const p = await freePort();
      startRole('api', { ...prod, PORT: String(p) }, children);
      apis.push(`http://127.0.0.1:${p}`);
    }
    for (const a of apis) await waitHealthy(a);
    const poller = startRole('poller', prod, children);
    await addServers(apis[0]!, SECRET, sim.servers);
    await stop(poller);
    rows.push(['production, 1 api process', await creates([{ url: `${apis[0]}/bigbluebutton/api`, secret: SECRET }], seconds, concurrency, 'prod1')]);
    rows.push([
      'production, 2 api processes',
      await creates(
        apis.map((a) => ({ url: `${a}/bigbluebutton/api`, secret: SECRET })),
        seconds,
        concurrency,
        'prod2',
      ),
    ]);

    const connections = newConnections ? 'a new connection per create' : 'keep-alive connections';
    console.log(`bench:creates  ${seconds}s each, ${concurrency} concurrent creates (${connections}), 10 servers answering at once, each create a new meeting`);
    for (const [name, r] of rows)
      console.log(`${name.padEnd(38)} ${fmt(r.perSecond).padStart(7)} creates/s   p50 ${fmt(r.p50, 1).padStart(7)} ms   p99 ${fmt(r.p99, 1).padStart(7)} ms   failed ${r.failed}`);
    const direct = rows[0]![1].perSecond;
    for (const [name, r] of rows.slice(1)) console.log(`ratio ${name} / one BBB server directly: ${fmt(r.perSecond / direct, 2)}x`);
    if (rows.some(([, r]) => r.failed > 0)) process.exitCode = 1;
  } finally {
    for (const c of children.reverse()) await stop(c);
    await dropProductionData(pg, redisUrl, id);
    await agent.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
