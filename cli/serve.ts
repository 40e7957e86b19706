import { Command } from '@oclif/core';
import { ConfigError, loadConfig } from '../src/infra/config';
import { createLogger } from '../src/infra/logging';
import { Roles, startBalancer } from '../src/runtime';

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
