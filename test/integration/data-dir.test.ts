import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/infra/config';
import { MARKER_FILE, OWNER_FILE } from '../../src/infra/embedded/data-dir';
import { RunningBalancer, startBalancer } from '../../src/runtime';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { TEST_SECRET } from '../support/harness';

jest.setTimeout(120_000);

/*
 * One owner per embedded data dir: a second process is refused naming the first; a
 * dir that held a balancer and was emptied, or whose database is damaged, is refused
 * with a message naming it and the way to recover, never started empty in silence.
 */

const logger = pino({ level: 'silent' });
const configFor = (dataDir: string) => loadConfig({ LOADBALANCER_SECRET: TEST_SECRET, DATA_DIR: dataDir, PORT: '0', BIND: '127.0.0.1', POLL_INTERVAL: '3600' });

describe('the embedded data dir', () => {
  let dataDir: string;
  const running: RunningBalancer[] = [];
  const start = async () => {
    const b = await startBalancer(configFor(dataDir), logger, { poll: false });
    running.push(b);
    return b;
  };

  beforeEach(async () => {
    dataDir = await freshDataDir();
  });
  afterEach(async () => {
    for (const b of running.splice(0)) await b.close();
    removeDataDir(dataDir);
  });

  test('given a balancer running on it, a second one is refused, naming the first; after the first stops, it starts', async () => {
    await start();
    const owner = JSON.parse(readFileSync(join(dataDir, OWNER_FILE), 'utf8')) as { pid: number; host: string };
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(start()).rejects.toThrow(ConfigError);
    await expect(start()).rejects.toThrow(new RegExp(`DATA_DIR .* is in use by process ${process.pid} on ${hostname()}`));
    await running[0].close();
    running.splice(0);
    expect(existsSync(join(dataDir, OWNER_FILE))).toBe(false);
    await start();
  });

  test('a second process (the CLI, as an admin runs it) is refused with a clear message and a non-zero exit', async () => {
    await start();
    const bin = join(__dirname, '..', '..', 'bin', 'run.js');
    const r = spawnSync('node', [bin, 'start'], {
      env: { ...process.env, NODE_OPTIONS: '', LOADBALANCER_SECRET: TEST_SECRET, DATA_DIR: dataDir, PORT: '0', BIND: '127.0.0.1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).not.toBe(0);
    // oclif wraps the message at the terminal's width, each line behind a ›
    const said = r.stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');
    expect(said).toMatch(/DATA_DIR .* is in use by process \d+ on .* One balancer per data dir/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  test('a lock left by a process that died is taken over', async () => {
    writeFileSync(join(dataDir, OWNER_FILE), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), startedAt: '2026-01-01T00:00:00Z', token: 'gone' }));
    await start();
    expect(JSON.parse(readFileSync(join(dataDir, OWNER_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
  });

  test('given a dir that held a balancer, emptying its database is refused, naming the dir and how to recover', async () => {
    const b = await start();
    await b.close();
    running.splice(0);
    expect(existsSync(join(dataDir, MARKER_FILE))).toBe(true);
    rmSync(join(dataDir, 'pglite'), { recursive: true, force: true });
    await expect(start()).rejects.toThrow(/held a balancer .*\/pglite is missing or empty: its event log is gone\. Restore .* from a backup/);
    // the admin's way out, as the message says
    rmSync(join(dataDir, MARKER_FILE));
    await start();
  });

  test("a database replaced by another balancer's is refused: its log does not start with this dir's first event", async () => {
    const b = await start();
    await b.close();
    running.splice(0);
    writeFileSync(join(dataDir, MARKER_FILE), JSON.stringify({ createdAt: '2026-01-01T00:00:00Z', firstEventId: '00000000-0000-4000-8000-000000000001' }));
    await expect(start()).rejects.toThrow(/the event log in .*pglite is not the one DATA_DIR .* held/);
  });

  test('a damaged database is refused with a message naming the dir, never as "Aborted()" or "[object Object]"', async () => {
    writeFileSync(join(dataDir, 'pglite', 'global', 'pg_control'), Buffer.alloc(8192, 0));
    const failure = await start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect(String((failure as Error).message)).toMatch(new RegExp(`the embedded database in ${join(dataDir, 'pglite')} cannot be opened .* Restore the directory from a backup`));
    // nothing is held after the refusal: the dir's lock is released
    expect(existsSync(join(dataDir, OWNER_FILE))).toBe(false);
  });
});
