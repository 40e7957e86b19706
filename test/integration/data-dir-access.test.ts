import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { eventually } from '../support/eventually';
import { TEST_SECRET } from '../support/harness';

jest.setTimeout(120_000);

/*
 * A DATA_DIR the process cannot write stops `scalelite start` with one line naming the dir,
 * the uid and the fix, never a bare `EACCES … mkdir data`: the image run with another uid
 * (`docker run --user 1234`) over a dir or a volume someone else owns.
 *
 * Run as root (as CI and containers often are), a read-only dir stops nobody: root writes
 * anyway. So, as root, the balancer is started as uid 1234, as docker would; as another user,
 * the dir is made read-only for it. Either way, the refusal is the kernel's, for real. And
 * the image's own data dir (sticky, world-writable) lets that other uid start.
 */

const BIN = join(__dirname, '..', '..', 'bin', 'run.js');
const asRoot = process.getuid?.() === 0;
const OTHER_UID = 1234;
const runUid = asRoot ? OTHER_UID : process.getuid!();

interface Run {
  code: number;
  /** stderr with oclif's wrapping (a › at each line's start) undone */
  said: string;
  stderr: string;
}

function start(dataDir: string, env: Record<string, string>, as?: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'start'],
      {
        // SHELL as the image sets it: uid 1234 has no passwd entry oclif could read it from.
        env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), SHELL: '/bin/sh', NODE_OPTIONS: '', DATA_DIR: dataDir, PORT: '0', BIND: '127.0.0.1', ...env },
        timeout: 90_000,
        ...(as === undefined ? {} : { uid: as, gid: as }),
      },
      (err, _stdout, stderr) =>
        resolve({
          code: err ? Number(err.code ?? -1) : 0,
          said: stderr
            .replace(/\s*›\s*/g, ' ')
            .replace(/\s+/g, ' ')
            .trim(),
          stderr,
        }),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const fix = `mount a volume there this user can write (or chown ${runUid} it), or set DATA_DIR to a writable directory`;

describe('a DATA_DIR this user cannot write', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'scalelite-data-access-'));
    // the other uid must be able to reach the dirs inside
    chmodSync(root, 0o755);
  });
  afterEach(() => {
    chmodSync(root, 0o755);
    rmSync(root, { recursive: true, force: true });
  });

  test.each([
    ['with LOADBALANCER_SECRET', { LOADBALANCER_SECRET: TEST_SECRET }, 'owner.lock'],
    ['without it (the generated secret is written there first)', { LOADBALANCER_SECRET: '' }, 'loadbalancer-secret'],
  ])('owned by someone else: one line naming the dir, the uid and the fix, %s', async (_case, env, file) => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, asRoot ? 0o755 : 0o555); // as root: owned by root, and the balancer runs as OTHER_UID
    const r = await start(dataDir, env, asRoot ? OTHER_UID : undefined);
    expect(r.code).not.toBe(0);
    expect(r.said).toContain(`DATA_DIR ${dataDir} is not writable by uid ${runUid} (EACCES on open ${join(dataDir, file)}): ${fix}`);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  test('a sticky, world-writable dir, as the image makes its volume: another uid starts there and answers its health check', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o1777);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'start'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/', SHELL: '/bin/sh', NODE_OPTIONS: '', DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: 'ignore',
      ...(asRoot ? { uid: OTHER_UID, gid: OTHER_UID } : {}),
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(
        'the balancer answers success',
        async () =>
          (await fetch(`http://127.0.0.1:${port}/health_check`).then(
            (r) => r.text(),
            () => null,
          )) === 'success',
        100_000,
      );
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    // its files are its own: the generated secret readable by it alone
    expect(statSync(join(dataDir, 'loadbalancer-secret'))).toMatchObject({ uid: runUid, mode: 0o100600 });
  });

  test('under a file, so it cannot be made (a refusal root gets too): the same line, for mkdir', async () => {
    const blocker = join(root, 'not-a-dir');
    writeFileSync(blocker, '');
    const dataDir = join(blocker, 'data');
    for (const env of [{ LOADBALANCER_SECRET: TEST_SECRET }, { LOADBALANCER_SECRET: '' }]) {
      const r = await start(dataDir, env);
      const uid = process.getuid!();
      expect(r.code).not.toBe(0);
      expect(r.said).toContain(`DATA_DIR ${dataDir} is not writable by uid ${uid} (ENOTDIR on mkdir ${dataDir}): mount a volume there this user can write (or chown ${uid} it)`);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
  });

  test("a writable dir holding a database another uid made (the image's sticky volume, a new --user): named as such, not as a damaged database", async () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o1777); // as the image makes /var/lib/scalelite
    const made = await freshDataDir();
    try {
      cpSync(join(made, 'pglite'), join(dataDir, 'pglite'), { recursive: true });
    } finally {
      removeDataDir(made);
    }
    if (asRoot) chownSync(join(dataDir, 'pglite'), 0, 0);
    chmodSync(join(dataDir, 'pglite'), asRoot ? 0o700 : 0o500);
    try {
      const r = await start(dataDir, { LOADBALANCER_SECRET: TEST_SECRET }, asRoot ? OTHER_UID : undefined);
      expect(r.code).not.toBe(0);
      expect(r.said).toContain(`DATA_DIR ${dataDir} is not writable by uid ${runUid} (EACCES on access ${join(dataDir, 'pglite')}): ${fix}`);
      expect(r.said).not.toContain('damaged');
    } finally {
      chmodSync(join(dataDir, 'pglite'), 0o700);
    }
  });
});
