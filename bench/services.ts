import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Private Redis and PostgreSQL servers, started from the machine's own binaries on a
 * port of their own, for tests and fault drills that stop, restart or flush them:
 * doing that to the shared services would pull them from under every other test.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** kill -9 and start again: everything it held is gone (it keeps nothing on disk) */
  restart(): Promise<void>;
  /** kill -9; `start` brings it back, empty */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** kill it and remove its directory */
  close(): Promise<void>;
}

/** A redis-server that keeps nothing on disk, as the machine's own does. */
export async function startPrivateRedis(port: number): Promise<PrivateRedis> {
  let child: ChildProcess | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'scalelite-redis-'));
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await until(`redis on port ${port}`, () => listening(port));
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    await until(`redis on port ${port} to stop`, async () => !(await listening(port)));
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill: stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivatePostgres {
  /** a database named `test` on it */
  url: string;
  port: number;
  /** pg_ctl stop -m immediate (as a crash), then start again */
  restart(): Promise<void>;
  stopImmediately(): Promise<void>;
  start(): Promise<void>;
  /** stop it and remove its directory */
  close(): Promise<void>;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (Debian package postgresql)');
}

/** PostgreSQL refuses to run as root: as root, its commands run as the postgres user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[]): void {
  const [c, a] = asPostgres(cmd, args);
  execFileSync(c, a, { stdio: 'pipe' });
}

/** A PostgreSQL cluster of its own in a temporary directory (initdb takes a few seconds). */
export async function startPrivatePostgres(port: number): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const base = mkdtempSync(join(tmpdir(), 'scalelite-pg-'));
  const data = join(base, 'data');
  const socketDir = join(base, 'run');
  mkdirSync(socketDir);
  if (process.getuid?.() === 0) {
    const ids = execFileSync('id', ['-u', 'postgres']).toString().trim();
    const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
    chownSync(base, Number(ids), Number(gid));
    chownSync(socketDir, Number(ids), Number(gid));
  }
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const ctl = (...args: string[]) => run(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    ctl('-o', options, '-l', join(base, 'log'), '-w', '-t', '60', 'start');
    await until(`postgres on port ${port}`, () => listening(port));
  };
  const stopImmediately = async () => {
    ctl('-m', 'immediate', '-w', 'stop');
    await until(`postgres on port ${port} to stop`, async () => !(await listening(port)));
  };
  await start();
  run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'test']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    port,
    start,
    stopImmediately,
    restart: async () => {
      await stopImmediately();
      await start();
    },
    close: async () => {
      try {
        ctl('-m', 'immediate', '-w', 'stop');
      } catch {
        // already stopped
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
