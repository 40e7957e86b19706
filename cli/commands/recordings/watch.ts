import { Flags } from '@oclif/core';
import { AdminCommand } from '../../base';

interface WatchStatus {
  disabled: boolean;
  dirs: { spool: string; work: string; published: string; unpublished: string };
  /** where imported files are: the two dirs, or a bucket (S3_RECORDING) */
  storage?: { kind: 'filesystem' | 's3'; bucket?: string; endpoint?: string };
  queued: string[];
  failed: string[];
  importer: { running: boolean; leading: boolean; current: string | null; lastScanAt: string | null; imported: number; failed: number } | null;
  recent: Array<{ at: string; type: string; data: Record<string, unknown> }>;
  retention_days: number;
}

function line(e: WatchStatus['recent'][number]): string {
  const d = e.data;
  switch (e.type) {
    case 'RecordingImported':
      return `${e.at}  imported  ${d.recordId} (${(d.formats as Array<{ format: string }>).map((f) => f.format).join(', ')}) from ${d.source}`;
    case 'RecordingImportFailed':
      return `${e.at}  FAILED    ${d.source}: ${d.reason}`;
    case 'RecordingReadyNotified':
      return `${e.at}  callback  ${d.recordId}: ${d.outcome}${d.status ? ` (HTTP ${d.status})` : ''} after ${d.attempts} request(s)`;
    case 'RecordingDeleted':
      return `${e.at}  deleted   ${d.recordId}${d.reason ? ` (${d.reason})` : ''}`;
    default:
      return `${e.at}  ${e.type}`;
  }
}

export default class RecordingsWatch extends AdminCommand {
  static override summary = 'The recording importer: its dirs, the tarballs waiting or failed, and the latest imports.';
  static override description =
    'The importer itself runs inside `scalelite start` or as `scalelite importer`; this shows what it is doing. Failed tarballs are in <spool>/failed with a .reason.txt; move one back into the spool dir to retry it.';
  static override flags = { follow: Flags.boolean({ char: 'f', description: 'refresh every 2 seconds until interrupted' }) };

  async run(): Promise<WatchStatus> {
    const { flags } = await this.parse(RecordingsWatch);
    const client = this.client(flags.balancer);
    for (;;) {
      const s = await client.call<WatchStatus>('getImporterStatus', 'GET');
      if (flags.follow && !this.jsonEnabled()) process.stdout.write('\x1b[2J\x1b[H');
      if (!this.jsonEnabled()) this.show(s);
      if (!flags.follow || this.jsonEnabled()) return s;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  private show(s: WatchStatus): void {
    if (s.disabled) this.log('Recordings are disabled (RECORDING_DISABLED=true).');
    this.log(`Spool dir:       ${s.dirs.spool}`);
    if (s.storage?.kind === 's3') {
      this.log(`Bucket:          s3://${s.storage.bucket}/{published,unpublished}/${s.storage.endpoint ? ` at ${s.storage.endpoint}` : ''}`);
    } else {
      this.log(`Published dir:   ${s.dirs.published}`);
      this.log(`Unpublished dir: ${s.dirs.unpublished}`);
    }
    if (s.importer) {
      const i = s.importer;
      this.log(
        `Importer:        ${i.running ? (i.leading ? 'active' : 'standby') : 'stopped'}${i.current ? `, importing ${i.current}` : ''}; last scan ${i.lastScanAt ?? 'never'}`,
      );
    } else this.log('Importer:        not in the process answering (run `scalelite importer` or `scalelite start`)');
    this.log(`Waiting:         ${s.queued.length}${s.queued.length ? ` (${s.queued.slice(0, 5).join(', ')}${s.queued.length > 5 ? ', …' : ''})` : ''}`);
    this.log(`Failed:          ${s.failed.length}${s.failed.length ? ` (in ${s.dirs.spool}/failed)` : ''}`);
    this.log(`Retention:       ${s.retention_days > 0 ? `${s.retention_days} days (RECORDING_RETENTION_DAYS)` : 'kept forever (RECORDING_RETENTION_DAYS unset)'}`);
    if (s.recent.length > 0) {
      this.log('\nLatest:');
      for (const e of s.recent) this.log(`  ${line(e)}`);
    }
  }
}
