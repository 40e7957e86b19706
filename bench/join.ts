import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../src/infra/admin-client';
import { signedQuery } from '../src/infra/bbb/checksum';
import { BIN, fmt, freePort, load, LoadResult, ROOT, spawnFirstLine, stop, waitHealthy } from './support';

/*
 * bench:join: join throughput and p99 latency through the balancer, against a
 * bare Node http server answering the same redirect, measured in the same run.
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50).
 */

const SECRET = 'bench-secret';

async function main(): Promise<void> {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const dataDir = mkdtempSync(join(tmpdir(), 'scalelite-bench-'));
  const children: ChildProcess[] = [];
  try {
    const sim = await spawnFirstLine('node', [BIN, 'sim', '--servers', '1', '--json']);
    children.push(sim.child);
    const bbb = JSON.parse(sim.line).servers[0] as { url: string; secret: string };

    const port = await freePort();
    const balancer = spawn('node', [BIN, 'start'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOADBALANCER_SECRET: SECRET, POLL_INTERVAL: '3600', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(balancer);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url);
    const admin = new AdminClient({ baseUrl: url, secret: SECRET, actor: 'bench' });
    const { id } = await admin.call<{ id: string }>('addServer', 'POST', {}, { server: { url: bbb.url, secret: bbb.secret } });
    await admin.call('updateServer', 'POST', {}, { id, server: { state: 'enable' } });
    await admin.call('pollAll', 'POST');
    const createUrl = `${url}/bigbluebutton/api/create?${signedQuery('sha256', 'create', [['meetingID', 'bench'], ['name', 'Benchmark']], SECRET)}`;
    await fetch(createUrl);
    const joinUrl = `${url}/bigbluebutton/api/join?${signedQuery('sha256', 'join', [['meetingID', 'bench'], ['fullName', 'Load Tester'], ['role', 'VIEWER']], SECRET)}`;
    const probe = await fetch(joinUrl, { redirect: 'manual' });
    const location = probe.headers.get('location');
    if (probe.status !== 302 || !location) throw new Error(`join did not redirect: ${probe.status}`);

    const basePort = await freePort();
    const baseline = await spawnFirstLine('node', [join(ROOT, 'dist', 'bench', 'redirect-server.js'), String(basePort), location]);
    children.push(baseline.child);
    const baseUrl = `http://127.0.0.1:${basePort}/bigbluebutton/api/join?${joinUrl.split('?')[1]}`;

    console.log(`bench:join  ${duration}s per target, ${connections} connections, embedded backends`);
    await load(joinUrl, Math.min(3, duration), connections); // warm-up: JIT, keep-alive sockets
    await load(baseUrl, Math.min(3, duration), connections);
    const ours = await load(joinUrl, duration, connections);
    const base = await load(baseUrl, duration, connections);
    report(ours, base);
  } finally {
    for (const c of children.reverse()) await stop(c);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(ours: LoadResult, base: LoadResult): void {
  const row = (name: string, r: LoadResult) => `${name.padEnd(22)} ${fmt(r.rps).padStart(10)} req/s   p50 ${fmt(r.p50, 2).padStart(7)} ms   p99 ${fmt(r.p99, 2).padStart(7)} ms   errors ${r.non2xx3xx}`;
  console.log(row('balancer join', ours));
  console.log(row('bare node redirect', base));
  console.log(`ratio (balancer / baseline): throughput ${fmt(ours.rps / base.rps, 2)}x, p99 latency ${fmt(ours.p99 / Math.max(base.p99, 0.001), 2)}x`);
  if (ours.non2xx3xx > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
