import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { request } from 'undici';
import { AdminClient } from '../src/infra/admin-client';
import { signedQuery } from '../src/infra/bbb/checksum';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

/** Whether something can listen on this loopback port now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A port free now, for a server started a moment later. It is taken below Linux's ephemeral
 * range (32768+), where the kernel never hands ports to the outgoing connections of tests
 * running alongside, so it is still free when the server starts.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Start a process and resolve with its first line of stdout. */
export function spawnFirstLine(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, line }));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

export async function waitHealthy(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await request(`${url}/health_check`);
      if ((await res.body.text()) === 'success') return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LoadResult {
  rps: number;
  /** requests answered */
  total: number;
  p50: number;
  p99: number;
  non2xx3xx: number;
  errors: number;
}

export async function load(url: string, durationS: number, connections: number): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: durationS, pipelining: 1 });
  const bad = result.errors + result.timeouts + (result.non2xx - (result['3xx'] ?? 0));
  return { rps: result.requests.average, total: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, non2xx3xx: Math.max(0, bad), errors: result.errors };
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Resolve once the balancer's /metrics says none of its three read models lags the log. */
export async function readModelsCaughtUp(port: number, child: ChildProcess, everyMs = 50): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the balancer exited (${child.exitCode})`);
    try {
      const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
      const lags = [...text.matchAll(/^scalelite_read_model_lag_events\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      if (lags.length === 3 && lags.every((l) => l === 0)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Drop what a production bench made under `id`: its PostgreSQL database and its Redis keys. */
export async function dropProductionData(pg: { query(sql: string): Promise<unknown>; end(): Promise<void> }, redisUrl: string, id: string): Promise<void> {
  await pg.query(`drop database if exists ${id} with (force)`).catch(() => undefined);
  await pg.end();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${id}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

/**
 * The servers added to the pool through the balancer at `url`, enabled and polled, by `actor`
 * (what the audit history names). The poll is asked again while a production poller is still
 * taking its lease.
 */
export async function addServers(url: string, secret: string, servers: ReadonlyArray<{ url: string; secret: string }>, actor = 'bench'): Promise<void> {
  const admin = new AdminClient({ baseUrl: url, secret, actor });
  for (const s of servers) {
    const { id } = await admin.call<{ id: string }>('addServer', 'POST', {}, { server: { url: s.url, secret: s.secret } });
    await admin.call('updateServer', 'POST', {}, { id, server: { state: 'enable' } });
  }
  for (let attempt = 0; ; attempt += 1) {
    try {
      await admin.call('pollAll', 'POST');
      return;
    } catch (err) {
      if (attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * A pool of one BBB server with meeting `bench` on it, through the balancer at `url`:
 * the server added, enabled and polled (addServers), the meeting created. Resolves with
 * the signed query of a join to it.
 */
export async function benchMeeting(url: string, bbb: { url: string; secret: string }, secret: string): Promise<string> {
  await addServers(url, secret, [bbb]);
  const create = signedQuery(
    'sha256',
    'create',
    [
      ['meetingID', 'bench'],
      ['name', 'Benchmark'],
    ],
    secret,
  );
  await (await fetch(`${url}/bigbluebutton/api/create?${create}`)).text();
  return signedQuery(
    'sha256',
    'join',
    [
      ['meetingID', 'bench'],
      ['fullName', 'Load Tester'],
      ['role', 'VIEWER'],
    ],
    secret,
  );
}

/** Where a join URL redirects (the same Location the bare baseline server must give); throws when it does not redirect. */
export async function joinRedirect(joinUrl: string): Promise<string> {
  const probe = await fetch(joinUrl, { redirect: 'manual' });
  const location = probe.headers.get('location');
  if (probe.status !== 302 || !location) throw new Error(`join did not redirect: ${probe.status}`);
  return location;
}
