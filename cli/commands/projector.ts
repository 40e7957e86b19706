import { Command } from '@oclif/core';
import { serve } from '../serve';

export default class Projector extends Command {
  static override summary = 'Run the projector role: applies the event log to the Redis read model and the PostgreSQL history.';
  static override description = 'Needs the production backends: KAFKA_BROKERS, REDIS_URL and DATABASE_URL.';

  async run(): Promise<void> {
    await this.parse(Projector);
    await serve(this, { api: false, poller: false, projector: true, importer: false });
  }
}
