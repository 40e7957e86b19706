import { Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import { table } from '../../format';
import { when } from './index';
import type { RecordingJson } from '../../../src/api/views/recording';

interface PurgeResult {
  dry_run: boolean;
  before: string;
  total: number;
  recordings: RecordingJson[];
}

export default class RecordingsPurge extends AdminCommand {
  static override summary = 'Delete old recordings (published and unpublished copies), each as an event that says why.';
  static override description =
    "Without --yes it only lists what would be deleted. Age is by the recording's start time. " +
    'For a standing policy, set RECORDING_RETENTION_DAYS instead: the active importer then purges by itself.';
  static override examples = [
    '<%= config.bin %> recordings:purge --older-than 365d',
    '<%= config.bin %> recordings:purge --older-than 365d --yes',
    '<%= config.bin %> recordings:purge --before 2025-09-01 --state unpublished --yes',
  ];
  static override flags = {
    'older-than': Flags.string({ description: 'an age: 48h, 365d, 12w, 2y (a bare number is days)', exactlyOne: ['older-than', 'before'] }),
    before: Flags.string({ description: 'a time: recordings that started before it (2025-09-01 or 2025-09-01T00:00:00Z)' }),
    state: Flags.string({ description: 'only these states (comma-separated: published, unpublished); default both' }),
    tenant: Flags.string({ description: 'only recordings of this tenant id' }),
    yes: Flags.boolean({ char: 'y', description: 'delete them (without it, a dry run)', default: false }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(RecordingsPurge);
    const params: Record<string, string> = { dry_run: String(!flags.yes) };
    if (flags['older-than']) params.older_than = flags['older-than'];
    if (flags.before) params.before = flags.before;
    if (flags.state) params.state = flags.state;
    if (flags.tenant) params.tenant = flags.tenant;
    const tty = process.stderr.isTTY && !this.jsonEnabled();
    const result = await this.client(flags.balancer).stream<PurgeResult>('purgeRecordings', params, (line) => {
      const p = line.progress as { deleted: number } | undefined;
      if (p && tty) process.stderr.write(`\rdeleted ${p.deleted} recordings`);
    });
    if (tty && !result.dry_run && result.total > 0) process.stderr.write('\n');
    const cutoff = result.before.replace(/\.\d{3}Z$/, 'Z');
    if (result.total === 0) {
      this.log(`No recordings started before ${cutoff}`);
      return result;
    }
    this.log(
      table(
        ['RECORD ID', 'MEETING ID', 'NAME', 'STATE', 'START'],
        result.recordings.map((r) => [r.record_id, r.meeting_id, r.name, r.state ?? '', when(r.start_time)]),
      ),
    );
    if (result.total > result.recordings.length) this.log(`… and ${result.total - result.recordings.length} more`);
    this.log(
      result.dry_run
        ? `\n${result.total} recordings started before ${cutoff} would be deleted. Run again with --yes to delete them.`
        : `\nDeleted ${result.total} recordings started before ${cutoff}.`,
    );
    return result;
  }
}
