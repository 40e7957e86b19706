import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';

/* Running `scalelite` as real processes, as an admin would. */

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

// One way to find a free port, shared with the benchmarks.
export { freePort } from '../../bench/support';

/** A clean environment for child processes: nothing from the test runner's own config leaks in. */
export function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['LOADBALANCER_SECRET', 'LOADBALANCER_SECRETS', 'SCALELITE_URL', 'NODE_OPTIONS', 'KAFKA_BROKERS', 'REDIS_URL', 'DATABASE_URL', 'PORT', 'DATA_DIR']) delete env[k];
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { env, cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function cliJson<T>(env: NodeJS.ProcessEnv, ...args: string[]): Promise<T> {
  const r = await cli(env, ...args, '--json');
  if (r.code !== 0) throw new Error(`scalelite ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export class ScaleliteProcess {
  log = '';
  readonly child: ChildProcess;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn('node', [BIN, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log)) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before logging ${pattern}:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not log ${pattern} within ${timeoutMs} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async waitHealthy(url: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.log}`);
      try {
        const res = await request(`${url}/health_check`);
        if ((await res.body.text()) === 'success') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not healthy after ${timeoutMs} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(signal);
      setTimeout(() => this.child.kill('SIGKILL'), 20_000).unref();
    });
  }
}

/** The simulator as its own process; resolves with its servers once they listen. */
export async function startSimProcess(
  servers: number,
  env: NodeJS.ProcessEnv,
): Promise<{ proc: ChildProcess; servers: Array<{ url: string; secret: string }>; controlUrl: string }> {
  const proc = spawn('node', [BIN, 'sim', '--servers', String(servers), '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`sim exited ${code}`)));
  });
  const described = JSON.parse(line) as { controlUrl: string; servers: Array<{ url: string; secret: string }> };
  return { proc, servers: described.servers, controlUrl: described.controlUrl };
}
