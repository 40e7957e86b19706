import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { benchMeeting, BIN, fmt, freePort, joinRedirect, load, LoadResult, ROOT, spawnFirstLine, stop, waitHealthy } from './support';

/*
 * bench:join: join throughput and p99 latency through the balancer, on the
 * embedded read model (memory) and on Redis, against a bare Node http server
 * answering the same redirect, all measured in the same run.
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_PROFILE (a
 * directory: each balancer writes a CPU profile there).
 */

const SECRET = 'bench-secret';

interface Target {
  name: string;
  env: Record<string, string>;
  cleanup?: () => Promise<void>;
}

/** Start a balancer with one simulated server and a meeting; resolve with a signed join URL and its redirect. */
async function balancerJoinUrl(target: Target, bbb: { url: string; secret: string }, children: ChildProcess[], dataDir: string): Promise<{ joinUrl: string; location: string }> {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const balancer = spawn('node', [...profile, BIN, 'start'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOADBALANCER_SECRET: SECRET, POLL_INTERVAL: '3600', LOG_LEVEL: 'warn', ...target.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(balancer);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url);
  const joinUrl = `${url}/bigbluebutton/api/join?${await benchMeeting(url, bbb, SECRET)}`;
  return { joinUrl, location: await joinRedirect(joinUrl) };
}

async function main(): Promise<void> {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const namespace = `bench-join-${process.pid}`;
  const targets: Target[] = [
    { name: 'embedded (memory)', env: {} },
    {
      name: 'redis read model',
      env: { REDIS_URL: redisUrl, REDIS_NAMESPACE: namespace },
      cleanup: async () => {
        const redis = new Redis(redisUrl);
        const found = await redis.keys(`${namespace}:*`);
        if (found.length > 0) await redis.del(...found);
        await redis.quit();
      },
    },
  ];
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  try {
    const sim = await spawnFirstLine('node', [BIN, 'sim', '--servers', '1', '--json']);
    children.push(sim.child);
    const bbb = JSON.parse(sim.line).servers[0] as { url: string; secret: string };
    const measured: Array<{ name: string; result: LoadResult }> = [];
    let location = '';
    let query = '';
    for (const target of targets) {
      const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-bench-'));
      dirs.push(dataDir);
      const { joinUrl, location: loc } = await balancerJoinUrl(target, bbb, children, dataDir);
      location = loc;
      query = joinUrl.split('?')[1];
      await load(joinUrl, Math.min(3, duration), connections); // warm-up: JIT, keep-alive sockets
      measured.push({ name: `join, ${target.name}`, result: await load(joinUrl, duration, connections) });
      await stop(children.pop());
    }
    const basePort = await freePort();
    const baseline = await spawnFirstLine('node', [join(ROOT, 'dist', 'bench', 'redirect-server.js'), String(basePort), location]);
    children.push(baseline.child);
    const baseUrl = `http://127.0.0.1:${basePort}/bigbluebutton/api/join?${query}`;
    await load(baseUrl, Math.min(3, duration), connections);
    const base = await load(baseUrl, duration, connections);
    console.log(`bench:join  ${duration}s per target, ${connections} connections`);
    report(measured, base);
  } finally {
    for (const c of children.reverse()) await stop(c);
    for (const t of targets) await t.cleanup?.().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

function report(measured: Array<{ name: string; result: LoadResult }>, base: LoadResult): void {
  const row = (name: string, r: LoadResult) =>
    `${name.padEnd(30)} ${fmt(r.rps).padStart(10)} req/s   p50 ${fmt(r.p50, 2).padStart(7)} ms   p99 ${fmt(r.p99, 2).padStart(7)} ms   errors ${r.non2xx3xx}`;
  for (const m of measured) console.log(row(m.name, m.result));
  console.log(row('bare node redirect (baseline)', base));
  for (const m of measured) {
    console.log(`ratio ${m.name} / baseline: throughput ${fmt(m.result.rps / base.rps, 2)}x, p99 latency ${fmt(m.result.p99 / Math.max(base.p99, 0.001), 2)}x`);
    if (m.result.non2xx3xx > 0) process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
