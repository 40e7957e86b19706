import { watch, FSWatcher } from 'node:fs';
import { mkdir, rm, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { decideImport, decideImportFailed, ImportSettings } from '../commands/recordings';
import { isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { Lease, soleLease } from '../coordination/lease';
import { cleanStaleWork, extractTarball, findFormatDirs, listSpool, moveToFailed, RecordingDirs, TarballError } from './files';
import { FilesystemRecordingStorage } from './fs-storage';
import { combineFormats, parseMetadataXml } from './metadata';
import { Recording } from './model';
import { RecordingReader } from './ports';
import { RecordingStorage, StagedFormat } from './storage';
import { DEFAULT_TARBALL_LIMITS, TarballLimits } from './tar-scan';

export type ImportResult =
  | { file: string; kind: 'imported'; recordId: string; formats: string[]; published: boolean }
  | { file: string; kind: 'failed'; reason: string; movedTo: string | null }
  | { file: string; kind: 'deferred'; reason: string };

export interface ImporterSettings extends ImportSettings {
  pollIntervalMs: number;
  /** a file failing this many times for reasons other than its content is given up (moved to failed/) */
  maxAttempts: number;
  /** what one tarball may extract to; DEFAULT_TARBALL_LIMITS when not given */
  tarballLimits?: TarballLimits;
}

export interface ImporterStatus {
  running: boolean;
  leading: boolean;
  spoolDir: string;
  queued: number;
  current: string | null;
  lastScanAt: string | null;
  imported: number;
  failed: number;
  lastImport: { file: string; recordId: string; at: string } | null;
  lastFailure: { file: string; reason: string; at: string } | null;
}

export interface ImporterDeps {
  dirs: RecordingDirs;
  /** where imported files go; the publish and unpublish dirs when not given */
  storage?: RecordingStorage;
  writeSide: WriteSide<RecordingReader>;
  settings: ImporterSettings;
  logger: Logger;
  /** one active importer across processes */
  lease?: Lease;
  /** after a recording is imported (the recording-ready callback) */
  onImported?: (recordId: string, meetingId: string) => void;
}

const actor: Actor = { kind: 'importer', name: 'recording-importer' };

class NotAnImport extends Error {}

/**
 * Watches the spool dir and imports `<record_id>.tar` files: extract into the
 * work dir, parse every metadata.xml, stage the files (an upload, for a bucket:
 * outside the decision lock, which placements share), put them in place, then
 * append RecordingImported, the commit point. The tarball and the extracted
 * copy are deleted only after that, so a crash at any step means the same file
 * is imported again, whole and idempotently, at the next start. A tarball that
 * cannot be imported goes to `failed/` with its reason, and is never retried by
 * itself.
 */
export class RecordingImporter {
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private scanning: Promise<ImportResult[]> | null = null;
  private rescan = false;
  private stopped = true;
  private leading = false;
  private readonly attempts = new Map<string, number>();
  private readonly state: Omit<ImporterStatus, 'running' | 'leading' | 'spoolDir' | 'queued'> = {
    current: null,
    lastScanAt: null,
    imported: 0,
    failed: 0,
    lastImport: null,
    lastFailure: null,
  };

  private readonly storage: RecordingStorage;

  constructor(private readonly deps: ImporterDeps) {
    this.storage = deps.storage ?? new FilesystemRecordingStorage(deps.dirs);
  }

  async start(): Promise<void> {
    const { dirs, logger, settings } = this.deps;
    this.stopped = false;
    const local = this.storage.kind === 'filesystem' ? [dirs.publishDir, dirs.unpublishDir] : [];
    for (const dir of [dirs.spoolDir, dirs.workDir, ...local]) await mkdir(dir, { recursive: true });
    await cleanStaleWork(dirs.workDir);
    try {
      // New tarballs are picked up at once; the timer is the safety net (NFS does not always notify).
      this.watcher = watch(dirs.spoolDir, { persistent: false }, (_e, name) => {
        if (typeof name === 'string' && name.endsWith('.tar') && !name.startsWith('.')) this.kick();
      });
      this.watcher.on('error', (err) => logger.warn({ err }, 'spool dir watch failed; polling only'));
    } catch (err) {
      logger.warn({ err }, 'cannot watch the spool dir; polling only');
    }
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.kick();
        loop();
      }, settings.pollIntervalMs);
      this.timer.unref();
    };
    loop();
    this.kick();
    logger.info({ spoolDir: dirs.spoolDir, intervalMs: settings.pollIntervalMs }, 'recording importer watching the spool dir');
  }

  /** Scan soon; a scan under way scans again when it ends. */
  private kick(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    void this.scan().catch((err: unknown) => this.deps.logger.error({ err }, 'Failed to import recording'));
  }

  /** Import every tarball in the spool dir now (if this process holds the importer lease). */
  async scan(): Promise<ImportResult[]> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      const results: ImportResult[] = [];
      try {
        do {
          this.rescan = false;
          this.leading = await (this.deps.lease ?? soleLease).acquire().catch(() => false);
          if (!this.leading) break;
          this.state.lastScanAt = new Date().toISOString();
          for (const file of await listSpool(this.deps.dirs.spoolDir)) {
            if (this.stopped && results.length > 0) break;
            results.push(await this.importFile(file));
            await (this.deps.lease ?? soleLease).acquire().catch(() => false);
          }
        } while (this.rescan && !this.stopped);
      } finally {
        this.scanning = null;
      }
      return results;
    })();
    return this.scanning;
  }

  /**
   * Import one tarball; never throws for a bad file. A file named by an admin
   * (`fromSpool` false) is left where it is, imported or not.
   */
  async importFile(file: string, options: { fromSpool: boolean } = { fromSpool: true }): Promise<ImportResult> {
    const { dirs, writeSide, settings, logger } = this.deps;
    const name = basename(file);
    this.state.current = name;
    let extracted: string | null = null;
    let forget: (() => Promise<void>) | null = null;
    try {
      extracted = await extractTarball(file, dirs.workDir, settings.tarballLimits ?? DEFAULT_TARBALL_LIMITS);
      const found = await findFormatDirs(extracted);
      if (found.length === 0) throw new NotAnImport('no <format>/<record_id>/metadata.xml in the tarball');
      const parsed = [];
      for (const f of found) {
        const one = parseMetadataXml(f.metadataXml);
        if ('error' in one) throw new NotAnImport(`${f.format}/${f.recordId}/metadata.xml: ${one.error}`);
        if (one.recordId !== f.recordId || one.format.format !== f.format) {
          throw new NotAnImport(`${f.format}/${f.recordId}/metadata.xml describes ${one.format.format}/${one.recordId}`);
        }
        parsed.push(one);
      }
      const combined = combineFormats(parsed);
      if ('error' in combined) throw new NotAnImport(combined.error);
      const imported = { ...combined.recording, formats: combined.formats };
      const decideEvent = (current: Recording | null) => decideImport({ recording: imported, source: name }, { current }, settings);
      // A first look, to refuse before uploading anything and to upload to the side the import will most likely take.
      const planned = await writeSide.decide(actor, async (store) => {
        const look = decideEvent(await store.recording(imported.recordId));
        return isDomainError(look) ? look : { events: [], result: look.result };
      });
      if (isDomainError(planned)) throw new NotAnImport(planned.message);
      const plan = planned.result;
      // A recording the index does not know keeps nothing of a failed import (a known one keeps its earlier files).
      if (!plan.known)
        forget = () =>
          this.storage.deleteRecording(
            imported.recordId,
            found.map((f) => f.format),
          );
      const staged: StagedFormat[] = [];
      for (const f of found) staged.push(await this.storage.stageFormat(f.format, f.recordId, f.dir, plan.published));
      const committed = await writeSide.decide(actor, async (store) => {
        const decided = decideEvent(await store.recording(imported.recordId));
        if (isDomainError(decided)) return decided;
        for (const s of staged) await this.storage.placeFormat(s, decided.result.published);
        // From here the event may be in the log even if the append seems to fail: its files stay.
        forget = null;
        return { events: decided.events, result: decided.result.published };
      });
      if (isDomainError(committed)) throw new NotAnImport(committed.message);
      if (options.fromSpool) await unlink(file).catch(() => undefined);
      this.attempts.delete(file);
      this.state.imported += 1;
      this.state.lastImport = { file: name, recordId: imported.recordId, at: new Date().toISOString() };
      logger.info({ file: name, recordId: imported.recordId, formats: found.map((f) => f.format), published: committed.result }, 'recording imported');
      this.deps.onImported?.(imported.recordId, imported.meetingId);
      return { file: name, kind: 'imported', recordId: imported.recordId, formats: found.map((f) => f.format), published: committed.result };
    } catch (err) {
      await forget?.().catch((cleanupErr: unknown) => logger.warn({ err: cleanupErr, file: name }, 'could not remove the files of a failed import'));
      const content = err instanceof TarballError || err instanceof NotAnImport;
      const reason = err instanceof Error ? err.message : String(err);
      if (!options.fromSpool) {
        // A refused tarball is the sender's mistake (or attack), not a fault of ours: a warning.
        logger[content ? 'warn' : 'error']({ file, reason }, 'Failed to import recording');
        return { file: name, kind: 'failed', reason, movedTo: null };
      }
      const attempts = (this.attempts.get(file) ?? 0) + 1;
      this.attempts.set(file, attempts);
      if (!content && attempts < settings.maxAttempts) {
        // The file may be fine and the backends down: try again at the next scan.
        logger.warn({ err, file: name, attempts }, 'Failed to import recording; will retry');
        return { file: name, kind: 'deferred', reason };
      }
      this.attempts.delete(file);
      return this.fail(file, reason, content);
    } finally {
      this.state.current = null;
      if (extracted) await rm(extracted, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** `refused`: the content was refused (a warning); otherwise the import kept failing (an error). */
  private async fail(file: string, reason: string, refused: boolean): Promise<ImportResult> {
    const { dirs, writeSide, logger } = this.deps;
    const name = basename(file);
    let movedTo: string | null = null;
    try {
      movedTo = await moveToFailed(dirs.spoolDir, file, reason);
    } catch (err) {
      logger.error({ err, file: name }, 'could not move a failed tarball out of the spool dir');
    }
    logger[refused ? 'warn' : 'error']({ file: name, reason, movedTo }, 'Failed to import recording');
    this.state.failed += 1;
    this.state.lastFailure = { file: name, reason, at: new Date().toISOString() };
    await writeSide.decide(actor, () => decideImportFailed({ source: name, reason, movedTo })).catch((err: unknown) => logger.warn({ err }, 'could not record the failed import'));
    return { file: name, kind: 'failed', reason, movedTo };
  }

  async status(): Promise<ImporterStatus> {
    const queued = await listSpool(this.deps.dirs.spoolDir).then(
      (l) => l.length,
      () => 0,
    );
    return { running: !this.stopped, leading: this.leading, spoolDir: this.deps.dirs.spoolDir, queued, ...this.state };
  }

  /** Stop watching; an import under way finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    await this.scanning?.catch(() => undefined);
    if (this.leading) await this.deps.lease?.release().catch(() => undefined);
    this.leading = false;
  }
}
