import { Command } from '@oclif/core';
import { serve } from '../serve';

export default class Importer extends Command {
  static override summary = 'Run the recording importer role: watch RECORDING_SPOOL_DIR and import recording tarballs.';
  static override description =
    'Needs the production backends (KAFKA_BROKERS, REDIS_URL, DATABASE_URL) and the recording dirs shared with the api processes. One importer is active at a time; others stand by.';

  async run(): Promise<void> {
    await this.parse(Importer);
    await serve(this, { api: false, poller: false, projector: false, importer: true });
  }
}
