import { Args } from '@oclif/core';
import { resolve } from 'node:path';
import { AdminCommand } from '../../base';

interface Imported {
  imported?: { recordId: string; formats: string[]; published: boolean };
  queued?: { file: string; spool_dir: string };
}

export default class RecordingsImport extends AdminCommand {
  static override summary = "Import a recording tarball (<record_id>.tar, as BBB's post-publish script sends) now.";
  static override description =
    'The path is read by the balancer, so it must be a file it can see (e.g. on the shared recordings volume). The file is left where it is. When the balancer runs no importer in its process, the file is copied into the spool dir for the importer role.';
  static override args = { file: Args.string({ description: 'path of the tarball', required: true }) };

  async run(): Promise<Imported> {
    const { args, flags } = await this.parse(RecordingsImport);
    const result = await this.client(flags.balancer).call<Imported>('importRecording', 'POST', { path: resolve(args.file) });
    if (result.imported) {
      const r = result.imported;
      this.log(`Imported recording ${r.recordId} (${r.formats.join(', ')}), ${r.published ? 'published' : 'unpublished'}`);
    } else if (result.queued) this.log(`Queued ${result.queued.file} in ${result.queued.spool_dir} for the importer`);
    return result;
  }
}
