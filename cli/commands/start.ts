import { Command } from '@oclif/core';
import { ConfigError, loadConfig } from '../../src/infra/config';
import { createLogger } from '../../src/infra/logging';
import { startBalancer } from '../../src/runtime';

export default class Start extends Command {
  static override summary = 'Run the balancer: BBB API, admin API, poller and projector in one process.';
  static override description = `With KAFKA_BROKERS, REDIS_URL and DATABASE_URL unset it runs on the embedded default:
the event log and history in PGlite under DATA_DIR (default ./data), the read model in memory.
Without LOADBALANCER_SECRET a secret is generated once and kept in DATA_DIR/loadbalancer-secret.`;

  async run(): Promise<void> {
    await this.parse(Start);
    let config;
    try {
      config = loadConfig(process.env, { generateSecret: true });
    } catch (err) {
      if (err instanceof ConfigError) this.error(err.message, { exit: 1 });
      throw err;
    }
    const logger = createLogger(config.logLevel);
    const balancer = await startBalancer(config, logger);
    if (config.generatedSecretFile) {
      process.stderr.write(
        `\nscalelite is listening on ${balancer.url}\n` +
          `LOADBALANCER_SECRET was not set: using the generated secret in ${config.generatedSecretFile}\n` +
          `(the CLI finds it there when run from this directory; LMSs need it to sign their calls)\n\n`,
      );
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        balancer.close().then(resolve, (err) => {
          logger.error({ err }, 'shutdown failed');
          resolve();
        });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    logger.flush();
  }
}
