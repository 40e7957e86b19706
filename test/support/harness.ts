import pino from 'pino';
import { AdminClient } from '../../src/infra/admin-client';
import { Config, loadConfig } from '../../src/infra/config';
import { RunningBalancer, startBalancer } from '../../src/runtime';
import { startSimulator, Simulator } from '../../src/sim';
import { freshDataDir, removeDataDir } from './data-dir';
import { LmsClient } from './bbb-client';
import { isolatedProductionEnv } from './production';

export const TEST_SECRET = 'test-lb-secret';

export interface Harness {
  sim: Simulator;
  balancer: RunningBalancer;
  config: Config;
  lms: LmsClient;
  admin: AdminClient;
  dataDir: string;
  /** server ids in the order of sim.servers */
  serverIds: string[];
  restart(): Promise<void>;
  /** rebuild the read model from the log; `equal` says whether the live one matched */
  rebuild(): Promise<{ equal: boolean; differences: string[]; events: number }>;
  close(): Promise<void>;
}

export type Backend = 'embedded' | 'production';
export const BACKENDS: Backend[] = ['embedded', 'production'];

export interface HarnessOptions {
  /** embedded: PGlite + memory; production: Kafka + Redis + PostgreSQL, isolated per harness */
  backend?: Backend;
  servers?: number;
  env?: Record<string, string>;
  /** add the simulated servers, enable them and poll once */
  enable?: boolean;
  addServers?: boolean;
  simOptions?: Partial<Parameters<typeof startSimulator>[0]>;
  /** every log line of the balancer is pushed here (at debug level and above) */
  logLines?: Array<Record<string, unknown>>;
}

/** A pino logger that keeps its lines in an array, for tests that check what is logged and at which level. */
export function collectingLogger(lines: Array<Record<string, unknown>>, level = 'debug'): pino.Logger {
  return pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
}

/** The balancer on the embedded backends, on a random port, in front of simulated BBB servers. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSimulator({ servers: options.servers ?? 2, ...options.simOptions });
  const dataDir = await freshDataDir();
  const production = options.backend === 'production' ? await isolatedProductionEnv() : null;
  const config = loadConfig({
    ...production?.env,
    LOADBALANCER_SECRET: TEST_SECRET,
    DATA_DIR: dataDir,
    PORT: '0',
    BIND: '127.0.0.1',
    POLL_INTERVAL: '3600',
    CONNECT_TIMEOUT: '1',
    RESPONSE_TIMEOUT: '2',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const logger = options.logLines ? collectingLogger(options.logLines) : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let balancer = await startBalancer(config, logger, { poll: false });
  const h: Harness = {
    sim,
    balancer,
    config,
    dataDir,
    lms: new LmsClient(balancer.url, TEST_SECRET),
    admin: new AdminClient({ baseUrl: balancer.url, secret: TEST_SECRET, actor: 'test-admin' }),
    serverIds: [],
    restart: async () => {
      await balancer.close();
      balancer = await startBalancer({ ...config, port: balancer.port }, logger, { poll: false });
      h.balancer = balancer;
    },
    rebuild: () => h.admin.stream<{ equal: boolean; differences: string[]; events: number }>('rebuildProjections', {}, () => undefined),
    close: async () => {
      await balancer.close();
      await sim.close();
      removeDataDir(dataDir);
      await production?.cleanup();
    },
  };
  if (options.addServers !== false && options.enable !== false) {
    for (const s of sim.servers) {
      const added = await h.admin.call<{ id: string }>('addServer', 'POST', {}, { server: { url: s.url, secret: s.secret } });
      h.serverIds.push(added.id);
      await h.admin.call('updateServer', 'POST', {}, { id: added.id, server: { state: 'enable' } });
    }
    await balancer.poller.pollAll();
  }
  return h;
}

/** Which simulated server holds a meeting (by the simulator's own state). */
export function serverHolding(h: Harness, meetingId: string): number[] {
  return h.sim.servers.filter((s) => s.meetings().some((m) => m.meetingID === meetingId)).map((s) => s.index);
}
