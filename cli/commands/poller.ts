import { Command } from '@oclif/core';
import { serve } from '../serve';

export default class Poller extends Command {
  static override summary = 'Run the poller role: one active poller (a Redis lease), the others stand by and take over.';
  static override description = 'Needs the production backends: KAFKA_BROKERS, REDIS_URL and DATABASE_URL.';

  async run(): Promise<void> {
    await this.parse(Poller);
    await serve(this, { api: false, poller: true, projector: false, importer: false });
  }
}
