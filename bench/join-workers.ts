import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { benchMeeting, BIN, fmt, freePort, joinRedirect, load, LoadResult, ROOT, spawnFirstLine, stop, waitHealthy, dropProductionData } from './support';

/*
 * bench:join-workers: how join throughput scales with WEB_CONCURRENCY, the api role's
 * worker processes (production backends: Kafka, Redis, PostgreSQL). Each worker count is
 * set beside a bare Node server answering the same 302 with the same number of
 * node:cluster workers, in the same run: the scaling of the balancer is read against the
 * scaling the machine allows at all (on 2 cores the load generator takes one of them).
 * Env: BENCH_DURATION (s, 10), BENCH_CONNECTIONS (50), BENCH_WORKERS (comma list, 1,2),
 * BENCH_KAFKA_BROKERS, BENCH_REDIS_URL, BENCH_PG_URL.
 */

const SECRET = 'bench-secret';

function startRole(role: string, env: NodeJS.ProcessEnv, children: ChildProcess[]): ChildProcess {
  const child = spawn('node', [BIN, role], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function main(): Promise<void> {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const counts = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
  const kafka = process.env.BENCH_KAFKA_BROKERS ?? '127.0.0.1:9092';
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const id = `bench_join_workers_${process.pid}`;
  const children: ChildProcess[] = [];
  const pg = new Client({ connectionString: pgUrl });
  await pg.connect();
  const rows: Array<{ workers: number; ours: LoadResult; bare: LoadResult }> = [];
  try {
    const sim = await spawnFirstLine('node', [BIN, 'sim', '--servers', '1', '--json']);
    children.push(sim.child);
    const bbb = JSON.parse(sim.line).servers[0] as { url: string; secret: string };

    await pg.query(`create database ${id}`);
    const dbUrl = new URL(pgUrl);
    dbUrl.pathname = `/${id}`;
    const prod = {
      ...process.env,
      LOADBALANCER_SECRET: SECRET,
      BIND: '127.0.0.1',
      POLL_INTERVAL: '3600',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: kafka,
      KAFKA_TOPIC_PREFIX: `${id}.`,
      REDIS_URL: redisUrl,
      REDIS_NAMESPACE: id,
      DATABASE_URL: dbUrl.toString(),
    };
    startRole('projector', prod, children);
    const poller = startRole('poller', prod, children);

    let joinQuery = '';
    let location = '';
    for (const workers of counts) {
      const port = await freePort();
      const api = startRole('api', { ...prod, PORT: String(port), WEB_CONCURRENCY: String(workers) }, children);
      const url = `http://127.0.0.1:${port}`;
      await waitHealthy(url);
      joinQuery ||= await benchMeeting(url, bbb, SECRET);
      const joinUrl = `${url}/bigbluebutton/api/join?${joinQuery}`;
      location = await joinRedirect(joinUrl);
      await load(joinUrl, Math.min(3, duration), connections); // warm-up: JIT, keep-alive sockets
      const ours = await load(joinUrl, duration, connections);
      await stop(api);
      children.splice(children.indexOf(api), 1);

      const basePort = await freePort();
      const bare = await spawnFirstLine('node', [join(ROOT, 'dist', 'bench', 'redirect-server.js'), String(basePort), location, String(workers)]);
      const baseUrl = `http://127.0.0.1:${basePort}/bigbluebutton/api/join?${joinQuery}`;
      await load(baseUrl, Math.min(3, duration), connections);
      const base = await load(baseUrl, duration, connections);
      await stop(bare.child);
      rows.push({ workers, ours, bare: base });
    }
    await stop(poller);

    console.log(`bench:join-workers  production backends, ${duration}s per target, ${connections} connections`);
    const row = (name: string, r: LoadResult) =>
      `${name.padEnd(34)} ${fmt(r.rps).padStart(10)} req/s   p50 ${fmt(r.p50, 2).padStart(7)} ms   p99 ${fmt(r.p99, 2).padStart(7)} ms   errors ${r.non2xx3xx}`;
    for (const r of rows) {
      console.log(row(`join, WEB_CONCURRENCY=${r.workers}`, r.ours));
      console.log(row(`bare node redirect, ${r.workers} worker(s)`, r.bare));
    }
    const first = rows[0]!;
    for (const r of rows) {
      console.log(
        `WEB_CONCURRENCY=${r.workers}: ${fmt(r.ours.rps / r.bare.rps, 2)}x the bare server with as many workers; ` +
          `scaling from ${first.workers}: balancer ${fmt(r.ours.rps / first.ours.rps, 2)}x, bare server ${fmt(r.bare.rps / first.bare.rps, 2)}x`,
      );
      if (r.ours.non2xx3xx > 0) process.exitCode = 1;
    }
  } finally {
    for (const c of children.reverse()) await stop(c);
    await dropProductionData(pg, redisUrl, id);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
