import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { signedQuery } from '../src/infra/bbb/checksum';
import { startSimulator, Simulator } from '../src/sim';
import { startPrivatePostgres, startPrivateRedis } from './services';
import { addServers, freePort, waitHealthy } from './support';

/*
 * A fault drill a person can run (`npm run faults`): the production roles as separate
 * processes (two api, a projector, a poller) on a private Kafka broker, Redis and
 * PostgreSQL, in front of simulated BBB servers. For each fault, a bounded burst of
 * creates through both api processes; the fault is injected during the burst and undone
 * (a role kill -9'd and started again, a backend restarted). Then every acknowledged
 * meeting must be routable (a join through each api process answers 302 to the server it
 * runs on), none lost, none running twice. Prints a row per fault and exits non-zero if
 * anything acknowledged was lost or placed twice.
 *
 * Environment: FAULT_BURST_S (burst length, default 8), FAULT_CONCURRENCY (default 8),
 * FAULTS (comma-separated subset of the names below).
 */

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'run.js');
const SECRET = 'fault-drill-secret';
const BURST_S = Number(process.env.FAULT_BURST_S ?? 8);
const CONCURRENCY = Number(process.env.FAULT_CONCURRENCY ?? 8);
const SETTLE_MS = 90_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Role {
  child: ChildProcess | null = null;
  log = '';
  constructor(
    readonly name: string,
    readonly role: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}
  start(): void {
    this.child = spawn('node', [BIN, this.role], { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.log = (this.log + d).slice(-20_000)));
    this.child.stderr!.on('data', (d) => (this.log = (this.log + d).slice(-20_000)));
  }
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
    await exited;
  }
  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }
}

function kafka(port: number, runDir: string, command: string): void {
  execFileSync(join(ROOT, 'scripts', 'kafka-broker.sh'), [command], {
    env: { ...process.env, KAFKA_PORT: String(port), KAFKA_RUN_DIR: runDir, KAFKA_FRESH: command === 'start' && !kafkaStarted ? '1' : '0' },
    stdio: 'ignore',
  });
  if (command === 'start') kafkaStarted = true;
}
let kafkaStarted = false;

function kafkaKill9(runDir: string): void {
  const pid = Number(readFileSync(join(runDir, 'broker.pid'), 'utf8').trim());
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

interface Outcome {
  fault: string;
  attempted: number;
  acknowledged: number;
  routable: number;
  lost: number;
  duplicated: number;
  /** from the fault undone to the next acknowledged create (null: none came before the burst ended) */
  createsBackMs: number | null;
  /** from the burst's end until every acknowledged meeting was routable through both api processes */
  settledMs: number;
  failedAnswers: number;
}

async function main(): Promise<void> {
  const kafkaPort = await freePort();
  const kafkaDir = mkdtempSync(join(tmpdir(), 'scalelite-faults-kafka-'));
  say(`starting a private Kafka (port ${kafkaPort}), Redis and PostgreSQL ...`);
  kafka(kafkaPort, kafkaDir, 'start');
  const redis = await startPrivateRedis(await freePort());
  const pg = await startPrivatePostgres(await freePort());
  const sim: Simulator = await startSimulator({ servers: 4 });
  const [p1, p2] = [await freePort(), await freePort()];
  const api = [`http://127.0.0.1:${p1}`, `http://127.0.0.1:${p2}`];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOADBALANCER_SECRET: SECRET,
    KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    REDIS_URL: redis.url,
    DATABASE_URL: pg.url,
    BIND: '127.0.0.1',
    POLL_INTERVAL: '5',
    PROJECTION_TIMEOUT: '10',
    NEW_MEETING_GRACE_PERIOD: '600',
    LOG_LEVEL: 'warn',
  };
  const roles = {
    'api-1': new Role('api-1', 'api', { ...env, PORT: String(p1) }),
    'api-2': new Role('api-2', 'api', { ...env, PORT: String(p2) }),
    projector: new Role('projector', 'projector', env),
    poller: new Role('poller', 'poller', env),
  };
  const outcomes: Outcome[] = [];
  try {
    for (const r of Object.values(roles)) r.start();
    await Promise.all(api.map((u) => waitHealthy(u, 120_000)));
    await addServers(api[0], SECRET, sim.servers, 'fault-drill');

    const restartRole = (name: keyof typeof roles) => async () => {
      await roles[name].kill9();
      await sleep(1500);
      roles[name].start();
    };
    const faults: Array<{ name: string; inject: () => Promise<void> }> = [
      { name: 'none (baseline)', inject: async () => undefined },
      { name: 'kill -9 api-1', inject: restartRole('api-1') },
      { name: 'kill -9 projector', inject: restartRole('projector') },
      { name: 'kill -9 poller', inject: restartRole('poller') },
      {
        name: 'Kafka kill -9 + start',
        inject: async () => {
          kafkaKill9(kafkaDir);
          await sleep(1500);
          kafka(kafkaPort, kafkaDir, 'start');
        },
      },
      { name: 'Redis restart (empty)', inject: () => redis.restart() },
      { name: 'PostgreSQL stop -m immediate + start', inject: () => pg.restart() },
    ];
    const chosen = process.env.FAULTS ? faults.filter((f) => process.env.FAULTS!.split(',').some((n) => f.name.startsWith(n.trim()))) : faults;
    let round = 0;
    for (const fault of chosen) {
      round += 1;
      say(`${fault.name}: a ${BURST_S} s burst of creates, the fault after ${Math.round(BURST_S / 4)} s ...`);
      outcomes.push(await drill(fault.name, fault.inject, round, api, sim, roles));
    }
  } finally {
    for (const r of Object.values(roles)) await r.stop();
    await sim.close();
    await redis.close();
    await pg.close();
    try {
      kafka(kafkaPort, kafkaDir, 'stop');
    } catch {
      kafkaKill9(kafkaDir);
    }
    rmSync(kafkaDir, { recursive: true, force: true });
  }
  print(outcomes);
  const bad = outcomes.filter((o) => o.lost > 0 || o.duplicated > 0);
  process.exitCode = bad.length > 0 ? 1 : 0;
}

async function drill(name: string, inject: () => Promise<void>, round: number, api: string[], sim: Simulator, roles: Record<string, Role>): Promise<Outcome> {
  const acknowledged: string[] = [];
  let undoneAt: number | null = null;
  let backAt: number | null = null;
  let attempted = 0;
  let failedAnswers = 0;
  let n = 0;
  const until = Date.now() + BURST_S * 1000;
  const worker = async (w: number) => {
    while (Date.now() < until) {
      const id = `r${round}-w${w}-${n++}`;
      attempted += 1;
      const reply = await call(api[n % 2], 'create', [
        ['meetingID', id],
        ['name', id],
      ]).catch(() => null);
      if (reply && reply.status === 200 && reply.body.includes('<returncode>SUCCESS</returncode>')) {
        acknowledged.push(id);
        if (undoneAt !== null && backAt === null) backAt = Date.now();
      } else failedAnswers += 1;
    }
  };
  const faultAt = sleep((BURST_S * 1000) / 4)
    .then(inject)
    .then(() => void (undoneAt = Date.now()));
  await Promise.all([...Array.from({ length: CONCURRENCY }, (_, w) => worker(w)), faultAt]);
  const recovered = Date.now();
  // Recovery: every role up, and every acknowledged meeting routable through both api processes.
  for (const r of Object.values(roles)) if (!r.alive) throw new Error(`${r.name} is not running after "${name}":\n${r.log.slice(-3000)}`);
  await Promise.all(api.map((u) => waitHealthy(u, SETTLE_MS)));
  const deadline = Date.now() + SETTLE_MS;
  let missing = acknowledged;
  while (missing.length > 0 && Date.now() < deadline) {
    const routable = await Promise.all(missing.map(async (id) => ((await routedTo(api[0], id)) && (await routedTo(api[1], id)) ? null : id)));
    missing = routable.filter((id): id is string => id !== null);
    if (missing.length > 0) await sleep(500);
  }
  const settledMs = Date.now() - recovered;
  const createsBackMs = undoneAt !== null && backAt !== null ? backAt - undoneAt : null;
  const running = new Map<string, number>();
  for (const s of sim.servers) for (const m of s.meetings()) running.set(m.meetingID, (running.get(m.meetingID) ?? 0) + 1);
  const duplicated = acknowledged.filter((id) => (running.get(id) ?? 0) > 1).length;
  return {
    fault: name,
    attempted,
    acknowledged: acknowledged.length,
    routable: acknowledged.length - missing.length,
    lost: missing.length,
    duplicated,
    createsBackMs,
    settledMs,
    failedAnswers,
  };
}

/** Whether a join through this api process is sent to a server running the meeting. */
async function routedTo(base: string, meetingId: string): Promise<boolean> {
  const reply = await call(base, 'join', [
    ['meetingID', meetingId],
    ['fullName', 'drill'],
    ['role', 'viewer'],
  ]).catch(() => null);
  return reply !== null && reply.status === 302 && /\/bigbluebutton\/api\/join\?/.test(String(reply.location));
}

async function call(base: string, action: string, params: Array<[string, string]>): Promise<{ status: number; body: string; location?: string }> {
  const res = await request(`${base}/bigbluebutton/api/${action}?${signedQuery('sha256', action, params, SECRET)}`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  const body = await res.body.text();
  return { status: res.statusCode, body, location: res.headers.location as string | undefined };
}

function say(line: string): void {
  process.stderr.write(`faults: ${line}\n`);
}

function print(outcomes: Outcome[]): void {
  const head = ['fault', 'attempted', 'acknowledged', 'routable', 'lost', 'duplicated', 'refused', 'creates back s', 'routes settled s'];
  const seconds = (ms: number | null) => (ms === null ? '-' : (ms / 1000).toFixed(1));
  const rows = outcomes.map((o) =>
    [o.fault, o.attempted, o.acknowledged, o.routable, o.lost, o.duplicated, o.failedAnswers, seconds(o.createsBackMs), seconds(o.settledMs)].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(`${line(head)}\n${rows.map(line).join('\n')}\n`);
  process.stdout.write('lost and duplicated must be 0; refused are creates answered FAILED (or not at all) while a fault lasted: the LMS was told, nothing was acknowledged.\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`faults: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 2;
});
