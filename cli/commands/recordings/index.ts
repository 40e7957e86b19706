import { Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import { table } from '../../format';
import type { RecordingJson } from '../../../src/api/views/recording';

export const when = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

export default class Recordings extends AdminCommand {
  static override summary = 'The recordings the balancer knows, newest first.';
  static override aliases = ['recordings:list'];
  static override examples = [
    '<%= config.bin %> recordings --meeting math-101',
    '<%= config.bin %> recordings --state unpublished --limit 20',
    '<%= config.bin %> recordings --record 3b6f --json',
  ];
  static override flags = {
    meeting: Flags.string({ description: 'only these meetingIDs (comma-separated)' }),
    record: Flags.string({ description: 'only record ids starting with these (comma-separated)' }),
    state: Flags.string({ description: 'only these states (comma-separated: published, unpublished, deleted, …); default any' }),
    tenant: Flags.string({ description: 'only recordings of this tenant id' }),
    limit: Flags.integer({ description: 'how many', default: 50, min: 1, max: 10000 }),
    offset: Flags.integer({ description: 'skip this many', default: 0, min: 0 }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Recordings);
    const params: Record<string, string> = { limit: String(flags.limit), offset: String(flags.offset) };
    if (flags.meeting) params.meeting = flags.meeting;
    if (flags.record) params.record = flags.record;
    if (flags.state) params.state = flags.state;
    if (flags.tenant) params.tenant = flags.tenant;
    const result = await this.client(flags.balancer).call<{ recordings: RecordingJson[]; total: number }>('getRecordingList', 'GET', params);
    if (result.recordings.length === 0) {
      this.logToStderr('No recordings found');
      return result;
    }
    this.log(
      table(
        ['RECORD ID', 'MEETING ID', 'NAME', 'STATE', 'PUBLISHED', 'PROTECTED', 'START', 'FORMATS'],
        result.recordings.map((r) => [
          r.record_id,
          r.meeting_id,
          r.name,
          r.state ?? '',
          r.published ? 'yes' : 'no',
          r.protected ? 'yes' : 'no',
          when(r.start_time),
          r.formats.map((f) => f.format).join(','),
        ]),
      ),
    );
    const shown = flags.offset + result.recordings.length;
    if (result.total > result.recordings.length) this.log(`\n${flags.offset + 1}-${shown} of ${result.total}`);
    return result;
  }
}
