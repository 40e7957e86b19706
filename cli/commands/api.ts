import { Command } from '@oclif/core';
import { serve } from '../serve';

export default class Api extends Command {
  static override summary = 'Run the API role: BBB API, admin API, health. Stateless; run as many as you like.';
  static override description = 'Needs the production backends: KAFKA_BROKERS, REDIS_URL and DATABASE_URL.';

  async run(): Promise<void> {
    await this.parse(Api);
    await serve(this, { api: true, poller: false, projector: false, importer: false });
  }
}
