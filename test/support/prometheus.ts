import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { freePort, ROOT } from './processes';

/*
 * Debian's prometheus package, run for real: promtool for the checks and a Prometheus
 * server with its own config, data dir and port. scripts/test.sh installs the package when
 * promtool is missing; a test never skips for want of it, it fails naming the package.
 */

export const DEPLOY = join(ROOT, 'deploy');

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

function missing(tool: string): Error {
  return new Error(`${tool} is not installed: it comes with Debian's prometheus package (apt-get install prometheus), which npm test installs`);
}

/** Runs promtool with `args`, `stdin` piped in. */
export function promtool(args: string[], stdin?: string, cwd = ROOT): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', args, { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(missing('promtool'));
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  url: string;
  /** an instant query through the HTTP API; throws on an error answer */
  query(expr: string): Promise<PrometheusSample[]>;
  api<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

export interface PrometheusOptions {
  /** scrape targets (host:port) of one job */
  job: string;
  targets: string[];
  scrapeIntervalSeconds?: number;
  /** rule files (absolute paths), evaluated every scrape interval */
  ruleFiles?: string[];
}

/** Starts Debian's prometheus binary on a free loopback port with a temp config and data dir. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'scalelite-prometheus-'));
  const every = `${options.scrapeIntervalSeconds ?? 1}s`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: every, evaluation_interval: every, scrape_timeout: every },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [{ job_name: options.job, metrics_path: '/metrics', static_configs: [{ targets: options.targets }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? missing('prometheus') : err));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test runner that dies leaves no Prometheus behind.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const close = async () => {
    process.off('exit', orphaned);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await spawned;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log}`);
      try {
        const res = await request(`${url}/-/ready`);
        await res.body.text();
        if (res.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await close();
    throw err;
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await request(`${url}${path}`);
    const body = (await res.body.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path.slice(0, 300)}: ${body.error ?? res.statusCode}`);
    return body.data;
  };
  return {
    url,
    api,
    query: async (expr) => {
      const data = await api<{ resultType: string; result: PrometheusSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (data.resultType !== 'vector') throw new Error(`expected a vector from ${expr}, got ${data.resultType}`);
      return data.result;
    },
    close,
  };
}

export interface DashboardTarget {
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: Array<{ refId?: string; expr?: string }>;
  panels?: Panel[];
}

/** Every query of every panel of a Grafana dashboard (rows' nested panels included). */
export function dashboardTargets(dashboard: { panels?: Panel[] }): DashboardTarget[] {
  const out: DashboardTarget[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '', refId: t.refId ?? '', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** A dashboard query as Grafana sends it: its variables replaced. */
export function substitute(expr: string, variables: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (!(name in variables)) throw new Error(`no value for the dashboard variable ${whole} in ${expr}`);
    return variables[name];
  });
}
