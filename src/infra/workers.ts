import cluster, { Worker } from 'node:cluster';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';

/*
 * WEB_CONCURRENCY for the api role, as puma's workers are for Scalelite: this
 * process forks that many workers, each a whole api process, sharing the listening
 * port (node:cluster hands out the connections). The api role keeps nothing between
 * requests, so the workers need nothing from each other: they read the same Redis and
 * decide under the same lock, as separate api processes do. This process only keeps
 * them running and, on METRICS_PORT, serves all their metrics at once (each series
 * labelled with its worker).
 */

export interface SupervisedWorkers {
  /** METRICS_PORT's address, when it is served */
  metricsUrl?: string;
  /** Stop every worker (SIGTERM, as the process was asked) and the metrics listener. */
  close(): Promise<void>;
}

export interface WorkerSettings {
  count: number;
  metricsPort: number;
  host: string;
  logger: Logger;
  /** how long a worker that died waits before it is replaced (doubling while they keep dying fast) */
  restartDelayMs?: number;
}

/** A worker that lived this long before dying is replaced without the growing delay. */
const HEALTHY_LIFETIME_MS = 30_000;

export async function superviseWorkers(settings: WorkerSettings): Promise<SupervisedWorkers> {
  const { count, logger } = settings;
  const baseDelay = settings.restartDelayMs ?? 1_000;
  let closing = false;
  let delay = baseDelay;
  const started = new Map<Worker, number>();

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker, Date.now());
    worker.once('exit', (code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? Date.now());
      started.delete(worker);
      if (closing) return;
      delay = lived > HEALTHY_LIFETIME_MS ? baseDelay : Math.min(delay * 2, 60_000);
      logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delay }, 'an api worker died: starting another');
      setTimeout(() => {
        if (!closing) fork();
      }, delay).unref();
    });
  };
  for (let i = 0; i < count; i += 1) fork();
  logger.info({ workers: count }, 'api workers started');

  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (settings.metricsPort > 0) {
    const aggregator = new AggregatorRegistry();
    metricsServer = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
      aggregator.clusterMetrics().then(
        (text) => res.writeHead(200, { 'Content-Type': aggregator.contentType }).end(text),
        (err: unknown) => {
          logger.warn({ err }, 'worker metrics could not be collected');
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics could not be collected\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('error', reject);
      metricsServer!.listen(settings.metricsPort, settings.host, () => resolve());
    });
    const { port } = metricsServer.address() as AddressInfo;
    metricsUrl = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}/metrics`;
  }

  return {
    metricsUrl,
    close: async () => {
      closing = true;
      const exits = [...started.keys()].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
      for (const w of started.keys()) w.process.kill('SIGTERM');
      await Promise.all(exits);
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
    },
  };
}
