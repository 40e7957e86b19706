import { Command } from '@oclif/core';
import { serve } from '../serve';
import { ALL_ROLES } from '../../src/runtime';

export default class Start extends Command {
  static override summary = 'Run the balancer: BBB API, admin API, poller and projector in one process.';
  static override description = `With KAFKA_BROKERS, REDIS_URL and DATABASE_URL unset it runs on the embedded default:
the event log and history in PGlite under DATA_DIR (default ./data), the read model in memory.
Without LOADBALANCER_SECRET a secret is generated once and kept in DATA_DIR/loadbalancer-secret.
With the production backends several \`start\` processes share the work: one polls, one projects, all serve.`;

  async run(): Promise<void> {
    await this.parse(Start);
    await serve(this, ALL_ROLES);
  }
}
