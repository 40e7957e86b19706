import { Command } from '@oclif/core';
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { Config, ConfigError, loadConfig } from '../src/infra/config';
import { superviseWorkers } from '../src/infra/workers';
import { createLogger } from '../src/infra/logging';
import { Roles, startBalancer } from '../src/runtime';

const isApiOnly = (roles: Roles): boolean => roles.api && !roles.poller && !roles.projector && !roles.importer;

/** WEB_CONCURRENCY: keep that many api workers running until SIGINT/SIGTERM. */
async function superviseUntilSignal(command: Command, config: Config, logger: Logger): Promise<void> {
  let workers;
  try {
    workers = await superviseWorkers({ count: config.webConcurrency, metricsPort: config.metricsPort, host: config.host, logger });
  } catch (err) {
    command.error(`could not start: ${err instanceof Error ? err.message : String(err)}`, { exit: 1 });
  }
  logger.info({ port: config.port, workers: config.webConcurrency, metrics: workers.metricsUrl }, 'scalelite api workers running');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down the api workers');
      workers.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  logger.flush();
}

/** Run roles of the balancer in this process until SIGINT/SIGTERM. */
export async function serve(command: Command, roles: Roles): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, { generateSecret: roles.api && roles.poller && roles.projector && roles.importer });
  } catch (err) {
    if (err instanceof ConfigError) command.error(err.message, { exit: 1 });
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  if (config.webConcurrency > 1) {
    if (!isApiOnly(roles)) {
      logger.warn({ webConcurrency: config.webConcurrency }, 'WEB_CONCURRENCY applies to `scalelite api` (the api role alone): this process runs as one');
    } else if (cluster.isPrimary) {
      return superviseUntilSignal(command, config, logger);
    } else {
      // A worker: the primary serves METRICS_PORT for all of them.
      config = { ...config, metricsPort: 0 };
    }
  }
  let balancer;
  try {
    balancer = await startBalancer(config, logger, { roles });
  } catch (err) {
    logger.flush();
    if (err instanceof ConfigError) command.error(err.message, { exit: 1 });
    command.error(`could not start: ${err instanceof Error ? err.message : String(err)}`, { exit: 1 });
  }
  if (config.generatedSecretFile && balancer.url) {
    process.stderr.write(
      `\nscalelite is listening on ${balancer.url}\n` +
        `LOADBALANCER_SECRET was not set: using the generated secret in ${config.generatedSecretFile}\n` +
        `(the CLI finds it there when run from this directory; LMSs need it to sign their calls)\n\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      balancer.close().then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  logger.flush();
}
