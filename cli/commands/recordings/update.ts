import { AdminCommand } from '../../base';

interface RepairResult {
  checked: number;
  moved: number;
  removed: number;
  missing: number;
  moved_ids: string[];
  removed_ids: string[];
  missing_formats: Array<{ record_id: string; formats: string[] }>;
}

export default class RecordingsUpdate extends AdminCommand {
  static override summary = "Put every recording's files where its state says (Scalelite's recordings:update, for every recording).";
  static override description =
    'Files of an unpublished recording still in the published dir (or the other way round) are moved; ' +
    "a deleted recording's leftover files are removed; recordings whose files are gone are listed. " +
    'Run it after copying recordings from another Scalelite, or restoring the dirs from a backup.';
  static override aliases = ['recordings:repair'];

  async run(): Promise<RepairResult> {
    const { flags } = await this.parse(RecordingsUpdate);
    const tty = process.stderr.isTTY && !this.jsonEnabled();
    const result = await this.client(flags.balancer).stream<RepairResult>('repairRecordingFiles', {}, (line) => {
      const p = line.progress as { checked: number; total: number } | undefined;
      if (p && tty) process.stderr.write(`\rchecked ${p.checked}/${p.total} recordings`);
    });
    if (tty) process.stderr.write('\n');
    this.log(`Checked ${result.checked} recordings.`);
    for (const id of result.moved_ids) this.log(`Moved the files of ${id} to match its published state`);
    if (result.moved > result.moved_ids.length) this.log(`… and ${result.moved - result.moved_ids.length} more moved`);
    for (const id of result.removed_ids) this.log(`Removed the files left by deleted recording ${id}`);
    if (result.removed > result.removed_ids.length) this.log(`… and ${result.removed - result.removed_ids.length} more removed`);
    for (const m of result.missing_formats) this.logToStderr(`Missing files: ${m.record_id} (${m.formats.join(', ')})`);
    if (result.missing > result.missing_formats.length) this.logToStderr(`… and ${result.missing - result.missing_formats.length} more with missing files`);
    if (result.moved + result.removed + result.missing === 0) this.log("Every recording's files are where its state says.");
    return result;
  }
}
