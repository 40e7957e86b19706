import type { Logger } from 'pino';
import { z } from 'zod';
import { isDomainError } from '../commands/errors';
import {
  countItems,
  decidePoolMigration,
  decideRecordingsMigration,
  MigrationCounts,
  MigrationItem,
  MigrationReport,
  PoolBatchSchema,
  RecordingBatchSchema,
} from '../commands/migration';
import { Committed, WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { PoolReader } from '../projections/ports';
import { RecordingReader } from '../recordings/ports';
import type { AdminOutcome, AdminRequest } from './admin-kit';
import { err, ok, str, truthy } from './admin-kit';

/*
 * The receiving end of `scalelite migrate:scalelite`: the CLI reads Scalelite's
 * stores and sends them here in batches; each batch is one decision of the write
 * side (src/commands/migration.ts), so it is checked against the read model as it
 * is now (a second run appends nothing) and is read-your-writes (the next batch,
 * a meeting route after its server, sees the one before).
 */

export interface MigrationAdminDeps {
  pool: PoolReader;
  writeSide: WriteSide;
  recordings: RecordingReader;
  recordingWriteSide: WriteSide<RecordingReader>;
  recordingsDisabled: boolean;
  /** where this balancer expects the recordings' files (Scalelite's must be the same) */
  recordingDirs: { publish: string; unpublish: string };
  logger: Logger;
}

/** What a batch did (or, in a dry run, would do). Unchanged items are counted, not listed. */
export interface MigrationBatchResult {
  dry_run: boolean;
  appended: number;
  counts: MigrationCounts;
  items: MigrationItem[];
  /** the pool batch: where recordings' files must be */
  recording_dirs?: { publish: string; unpublish: string } | null;
  /** the pool batch: the servers and tenants present after it (a dry run's next batches assume them) */
  present?: { servers: string[]; tenants: string[] };
}

/** The migration is the actor of what it appends, with the admin who ran it. */
export const migrationActor = (admin: Actor): Actor => ({ kind: 'admin', name: `migrate:scalelite by ${admin.name}`.slice(0, 200) });

const invalid = (what: string, error: z.ZodError): AdminOutcome => {
  const issue = error.issues[0];
  return err(400, `${what}: ${issue.path.join('.')} ${issue.message}`);
};

export class MigrationAdmin {
  constructor(private readonly deps: MigrationAdminDeps) {}

  /** POST migrateScalelitePool {servers, tenants, tenantSettings, meetings, dry_run?} */
  async migratePool(req: AdminRequest): Promise<AdminOutcome> {
    const batch = PoolBatchSchema.safeParse(req.params);
    if (!batch.success) return invalid('Scalelite pool batch', batch.error);
    const dryRun = truthy(req.params.dry_run);
    const outcome = await this.deps.writeSide.decide(
      migrationActor(req.actor),
      async (view) => {
        const [servers, meetings, tenants, settings] = await Promise.all([view.servers(), view.meetings(), view.tenants(), view.tenantSettings()]);
        // What a dry run's earlier batch would have brought is assumed only in a dry run.
        const decided = decidePoolMigration(dryRun ? batch.data : { ...batch.data, assume: undefined }, {
          servers: new Map(servers.map((s) => [s.id, s])),
          meetings: new Map(meetings.map((m) => [m.meetingId, m])),
          tenants: new Map(tenants.map((t) => [t.id, t])),
          tenantSettings: new Map(settings.map((s) => [s.id, s])),
        });
        return dryRun ? { events: [], result: decided.result } : decided;
      },
      req.correlationId,
    );
    if (isDomainError(outcome)) return err(400, outcome.message);
    return ok(this.result(dryRun, outcome, { recording_dirs: this.deps.recordingsDisabled ? null : this.deps.recordingDirs, present: outcome.result.present }));
  }

  /** POST migrateScaleliteRecordings {recordings, source, dry_run?} */
  async migrateRecordings(req: AdminRequest): Promise<AdminOutcome> {
    if (this.deps.recordingsDisabled) return err(409, 'Recordings are disabled here (RECORDING_DISABLED=true): run the migration with --skip-recordings');
    const batch = RecordingBatchSchema.safeParse(req.params.recordings);
    if (!batch.success) return invalid('Scalelite recordings batch', batch.error);
    const source = str(req.params.source) ?? 'scalelite';
    const dryRun = truthy(req.params.dry_run);
    const outcome = await this.deps.recordingWriteSide.decide(
      migrationActor(req.actor),
      async (view) => {
        const existing = await view.recordings([...new Set(batch.data.map((r) => r.recordId))]);
        const decided = decideRecordingsMigration({ recordings: batch.data, source: `scalelite ${source}` }, new Map(existing.map((r) => [r.recordId, r])));
        return dryRun ? { events: [], result: decided.result } : decided;
      },
      req.correlationId,
    );
    if (isDomainError(outcome)) return err(400, outcome.message);
    return ok(this.result(dryRun, outcome));
  }

  /** A dry run appends nothing; a real run appends what was decided. */
  private result(dryRun: boolean, committed: Committed<MigrationReport>, extra: Partial<MigrationBatchResult> = {}): MigrationBatchResult {
    const { items } = committed.result;
    return {
      dry_run: dryRun,
      appended: committed.events.length,
      counts: countItems(items),
      items: items.filter((i) => i.outcome !== 'unchanged' && i.outcome !== 'imported'),
      ...extra,
    };
  }
}
