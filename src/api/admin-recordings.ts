import { copyFile, readdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { decideAssignToTenant } from '../commands/recordings';
import { historyCaughtUp, HistoryStore } from '../projections/history';
import { listSpool, RecordingDirs } from '../recordings/files';
import { RecordingImporter } from '../recordings/importer';
import { Recording, tenantOf } from '../recordings/model';
import { RecordingQuery, RecordingReader } from '../recordings/ports';
import { RecordingStorage } from '../recordings/storage';
import { repairRecordingFiles } from '../recordings/repair';
import { parseRetentionAge, purgeRecordings, PURGEABLE_STATES, unpurgeableState } from '../recordings/retention';
import type { AdminOutcome, AdminRequest } from './admin-kit';
import { err, ok, str, truthy } from './admin-kit';
import { historyJson } from './views/history';

/*
 * The admin side of recordings, for the CLI: list with filters, import a
 * tarball, the importer's status, attaching recordings to a tenant,
 * purging old recordings, and putting files where the index says.
 */

export interface RecordingAdminDeps {
  store: RecordingReader;
  writeSide: WriteSide<RecordingReader>;
  history: HistoryStore;
  /** the offset of the log's last event (the status waits for the history to hold it) */
  logHead: () => Promise<number>;
  dirs: RecordingDirs;
  /** where imported files are; the dirs when not given */
  storage?: RecordingStorage;
  /** the importer of this process, if it runs one */
  importer: RecordingImporter | null;
  /** whether a tenant exists (multitenancy); undefined when tenants are not kept */
  tenantExists?: (id: string) => Promise<boolean>;
  disabled: boolean;
  /** RECORDING_RETENTION_DAYS (0: kept forever) */
  retentionDays: number;
  logger: Logger;
}

const csv = (v: unknown): string[] | undefined => {
  const items = str(v)
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items && items.length > 0 ? items : undefined;
};

export function recordingJson(r: Recording) {
  return {
    record_id: r.recordId,
    meeting_id: r.meetingId,
    name: r.name,
    published: r.published,
    protected: r.protected,
    state: r.state,
    start_time: r.startTime,
    end_time: r.endTime,
    participants: r.participants,
    tenant_id: tenantOf(r),
    metadata: r.metadata,
    formats: r.formats.map((f) => ({ format: f.format, url: f.url, length: f.length, processing_time: f.processingTime, thumbnails: f.thumbnails.length })),
    imported_at: r.importedAt,
    updated_at: r.updatedAt,
  };
}

export class RecordingAdmin {
  constructor(private readonly deps: RecordingAdminDeps) {}

  private get unavailable(): AdminOutcome | null {
    return this.deps.disabled ? err(409, 'Recordings are disabled (RECORDING_DISABLED=true)') : null;
  }

  async getRecordingList(req: AdminRequest): Promise<AdminOutcome> {
    const p = req.params;
    const limit = Number(str(p.limit) ?? 100);
    const offset = Number(str(p.offset) ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return err(400, 'limit must be a whole number from 1 to 10000');
    if (!Number.isInteger(offset) || offset < 0) return err(400, 'offset must be a whole number, 0 or more');
    const states = csv(p.state);
    const query: RecordingQuery = {
      states: !states || states.includes('any') ? null : states,
      ...(csv(p.meeting) ? { meetingIds: csv(p.meeting) } : {}),
      ...(csv(p.record) ? { recordIdPrefixes: csv(p.record) } : {}),
      ...(str(p.tenant) ? { tenantId: str(p.tenant) } : {}),
      limit,
      offset,
    };
    const [recordings, total] = await Promise.all([this.deps.store.query(query), this.deps.store.count({ ...query, limit: undefined, offset: undefined })]);
    return ok({ recordings: recordings.map(recordingJson), total, offset, limit });
  }

  /**
   * Import a tarball the balancer can read. With an importer in this process it
   * is imported now and left where it is; otherwise it is copied into the spool
   * dir for the importer role to pick up.
   */
  async importRecording(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.unavailable;
    if (off) return off;
    const path = str(req.params.path);
    if (!path) return err(400, 'path is required: a recording tarball (<record_id>.tar) the balancer can read');
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return err(404, `No such file on the balancer: ${path}`);
    if (this.deps.importer) {
      const result = await this.deps.importer.importFile(path, { fromSpool: false });
      return result.kind === 'imported' ? ok({ imported: result }) : err(422, `Failed to import recording: ${result.reason}`);
    }
    const name = basename(path).endsWith('.tar') ? basename(path) : `${basename(path)}.tar`;
    const partial = join(this.deps.dirs.spoolDir, `.${name}.partial`);
    await copyFile(path, partial);
    await rename(partial, join(this.deps.dirs.spoolDir, name));
    return ok({ queued: { file: name, spool_dir: this.deps.dirs.spoolDir } }, 202);
  }

  async getImporterStatus(): Promise<AdminOutcome> {
    const { dirs, history, importer } = this.deps;
    const queued = await listSpool(dirs.spoolDir).catch(() => [] as string[]);
    const failedFiles = await readdir(join(dirs.spoolDir, 'failed')).then(
      (names) => names.filter((n) => n.endsWith('.tar')),
      () => [] as string[],
    );
    // The latest imports include what just happened; a history that lags (no projector) still shows what it has.
    await historyCaughtUp(history, this.deps.logHead, 2_000).catch(() => undefined);
    const recent = await history.query({ types: ['RecordingImported', 'RecordingImportFailed', 'RecordingReadyNotified', 'RecordingDeleted'], limit: 20 });
    return ok({
      disabled: this.deps.disabled,
      dirs: { spool: dirs.spoolDir, work: dirs.workDir, published: dirs.publishDir, unpublished: dirs.unpublishDir },
      storage: this.deps.storage ? { kind: this.deps.storage.kind, ...this.deps.storage.describe() } : { kind: 'filesystem' },
      queued: queued.map((f) => basename(f)),
      failed: failedFiles,
      importer: importer ? await importer.status() : null,
      retention_days: this.deps.retentionDays,
      recent: recent.map(historyJson),
    });
  }

  async addRecordingsToTenant(req: AdminRequest): Promise<AdminOutcome> {
    const tenantId = str(req.params.tenant_id)?.trim();
    if (!tenantId) return err(400, 'No tenant ID was provided');
    if (this.deps.tenantExists && !(await this.deps.tenantExists(tenantId))) return err(404, `Couldn't find Tenant with id=${tenantId}`);
    const before = await this.deps.store.count({ states: null, tenantId: null });
    const outcome = await this.deps.writeSide.decide(req.actor, () => decideAssignToTenant({ tenantId }), req.correlationId);
    if (isDomainError(outcome)) return err(400, outcome.message);
    return ok({ success: `All existing recordings have been successfully linked to tenant ${tenantId}`, recordings: before });
  }

  /**
   * Delete the recordings that started before a time (`before`) or are older
   * than an age (`older_than`: 365d, 12w, …); `dry_run` only counts and lists them.
   */
  async purgeRecordings(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.unavailable;
    if (off) return off;
    const p = req.params;
    const olderThan = str(p.older_than)?.trim();
    const beforeText = str(p.before)?.trim();
    if (!olderThan === !beforeText) return err(400, 'Say which recordings to purge: older_than (an age such as 365d) or before (a time such as 2025-09-01), one of them');
    let before: number;
    let reason: string;
    if (olderThan) {
      const age = parseRetentionAge(olderThan);
      if (isDomainError(age)) return err(400, age.message);
      before = Date.now() - age;
      reason = `purge: older than ${olderThan}`;
    } else {
      before = Date.parse(beforeText!);
      if (Number.isNaN(before)) return err(400, `'${beforeText}' is not a time: use e.g. 2025-09-01 or 2025-09-01T00:00:00Z`);
      reason = `purge: started before ${new Date(before).toISOString()}`;
    }
    const tenant = str(p.tenant)?.trim();
    if (tenant && this.deps.tenantExists && !(await this.deps.tenantExists(tenant))) return err(404, `Couldn't find Tenant with id=${tenant}`);
    const states = csv(p.state) ?? PURGEABLE_STATES;
    const refused = unpurgeableState(states);
    if (refused) return err(400, refused.message);
    const request = { before, states, ...(tenant ? { tenantId: tenant } : {}), dryRun: truthy(p.dry_run), reason, actor: req.actor, correlationId: req.correlationId };
    // A large purge outlasts an HTTP timeout: the count so far is streamed, then the result.
    return {
      stream: async (progress) => {
        const outcome = await purgeRecordings(this.deps, request, (deleted) => progress({ progress: { deleted } }));
        if (isDomainError(outcome)) throw new Error(outcome.message);
        return { dry_run: outcome.dryRun, before: new Date(outcome.before).toISOString(), total: outcome.total, recordings: outcome.recordings.map(recordingJson) };
      },
    };
  }

  /** Files follow the index: moved to their published state's tree, a deleted recording's leftovers removed; progress streamed. */
  repairRecordingFiles(req: AdminRequest): AdminOutcome {
    const off = this.unavailable;
    if (off) return off;
    return {
      stream: async (progress) => {
        const outcome = await repairRecordingFiles(this.deps, req.actor, (p) => progress({ progress: p }));
        if (outcome.moved + outcome.removed > 0) this.deps.logger.info({ moved: outcome.moved, removed: outcome.removed }, 'recording files put where the index says');
        if (outcome.missing > 0) this.deps.logger.warn({ missing: outcome.missing }, 'recordings listed whose files are gone');
        return {
          checked: outcome.checked,
          moved: outcome.moved,
          removed: outcome.removed,
          missing: outcome.missing,
          moved_ids: outcome.movedIds,
          removed_ids: outcome.removedIds,
          missing_formats: outcome.missingFormats.map((m) => ({ record_id: m.recordId, formats: m.formats })),
        };
      },
    };
  }
}
