import type { MigrationBatchResult } from '../../api/admin-migration';
import { emptyCounts, MigratedKind, MigrationCounts, MigrationItem, PoolBatch } from '../../commands/migration';
import { findUnstorable } from '../../events/storable';
import { AdminClient } from '../admin-client';
import { redactUrl, ScaleliteSource } from './source';

/*
 * One run of `scalelite migrate:scalelite`: Scalelite's Redis state as one
 * batch, then its recordings index in batches, each sent to the balancer's
 * admin API, which decides it against what it holds. A killed run is simply
 * run again: what arrived is found in place and skipped as unchanged.
 */

export interface MigrationRunOptions {
  source: ScaleliteSource;
  client: AdminClient;
  dryRun: boolean;
  skipRecordings: boolean;
  /** recordings read and sent per batch */
  batchSize: number;
  /** told of each recordings batch: how many of the total are done */
  onProgress?: (done: number, total: number) => void;
}

export interface MigrationReport {
  dry_run: boolean;
  /** events appended by this run (0 on a dry run, and on a run that found everything in place) */
  appended: number;
  counts: MigrationCounts;
  /** skipped, needing a hand, or updated: each with the reason */
  items: MigrationItem[];
  recording_dirs: { publish: string; unpublish: string } | null;
  source: { redis: string; namespace: string; database: string };
  found: { servers: number; meetings: number; tenants: number; tenant_settings: number; recordings: number };
  ms: number;
}

/**
 * What one batch may weigh as JSON: its events (the rows plus an envelope each) then stay under
 * the 1 MB a Kafka record batch may hold by default, whatever the rows hold.
 */
const MAX_RECORDING_BATCH_BYTES = 600_000;
const MAX_MEETING_BATCH_BYTES = 300_000;

export async function runMigration(o: MigrationRunOptions): Promise<MigrationReport> {
  const started = Date.now();
  const read = await o.source.readPool();
  const total = o.skipRecordings ? 0 : await o.source.countRecordings();
  const report: MigrationReport = {
    dry_run: o.dryRun,
    appended: 0,
    counts: emptyCounts(),
    items: [],
    recording_dirs: null,
    source: { redis: redactUrl(o.source.redisUrl), namespace: o.source.namespace, database: redactUrl(o.source.databaseUrl) },
    found: { servers: read.servers.length, meetings: read.meetings.length, tenants: read.tenants.length, tenant_settings: read.tenantSettings.length, recordings: total },
    ms: 0,
  };
  // What no store can hold (a NUL, a lone surrogate) would make the balancer refuse the whole batch: it is left out here.
  const storable = <T>(kind: MigratedKind, rows: T[], idOf: (row: T) => string): T[] =>
    rows.filter((row) => {
      const bad = findUnstorable(row);
      if (!bad) return true;
      report.counts[kind].attention += 1;
      report.items.push({
        kind,
        id: idOf(row)
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 80),
        outcome: 'attention',
        reason: `${bad.path} ${bad.problem}, which no store can keep: fix it in Scalelite`,
      });
      return false;
    });
  const pool: PoolBatch = {
    servers: storable('server', read.servers, (r) => r.id),
    tenants: storable('tenant', read.tenants, (r) => r.id),
    tenantSettings: storable('tenantSetting', read.tenantSettings, (r) => r.id),
    meetings: storable('meeting', read.meetings, (r) => r.meetingId),
  };
  const take = (r: MigrationBatchResult) => {
    report.appended += r.appended;
    for (const [kind, outcomes] of Object.entries(r.counts)) {
      for (const [outcome, n] of Object.entries(outcomes)) report.counts[kind as keyof MigrationCounts][outcome as keyof MigrationCounts['server']] += n;
    }
    report.items.push(...r.items);
  };

  // Servers, tenants and settings first, then the routes in batches (an append stays under Kafka's 1 MB record batch).
  const poolResult = await o.client.call<MigrationBatchResult>('migrateScalelitePool', 'POST', {}, { ...pool, meetings: [], dry_run: o.dryRun });
  take(poolResult);
  report.recording_dirs = poolResult.recording_dirs ?? null;
  for (const meetings of bySize(pool.meetings, MAX_MEETING_BATCH_BYTES)) {
    take(
      await o.client.call<MigrationBatchResult>(
        'migrateScalelitePool',
        'POST',
        {},
        { meetings, dry_run: o.dryRun, ...(o.dryRun && poolResult.present ? { assume: poolResult.present } : {}) },
      ),
    );
  }

  if (!o.skipRecordings && report.recording_dirs === null) {
    report.counts.recording.skipped += total;
    report.items.push({ kind: 'recording', id: '*', outcome: 'skipped', reason: `all ${total}: recordings are disabled here (RECORDING_DISABLED=true)` });
  } else if (!o.skipRecordings) {
    const source = redactUrl(o.source.databaseUrl);
    let lastId = 0;
    let done = 0;
    o.onProgress?.(0, total);
    for (;;) {
      const page = await o.source.readRecordings(lastId, o.batchSize);
      if (page.recordings.length === 0) break;
      lastId = page.lastId;
      for (const chunk of bySize(
        storable('recording', page.recordings, (r) => r.recordId),
        MAX_RECORDING_BATCH_BYTES,
      )) {
        take(await o.client.call<MigrationBatchResult>('migrateScaleliteRecordings', 'POST', {}, { recordings: chunk, source, dry_run: o.dryRun }));
      }
      done += page.recordings.length;
      o.onProgress?.(Math.min(done, Math.max(total, done)), Math.max(total, done));
    }
  }
  report.ms = Date.now() - started;
  return report;
}

/** Rows split so that no batch passes `maxBytes` of JSON (a row heavier than that goes alone). */
function* bySize<T>(rows: T[], maxBytes: number): Generator<T[]> {
  let chunk: T[] = [];
  let size = 0;
  for (const r of rows) {
    const bytes = Buffer.byteLength(JSON.stringify(r));
    if (chunk.length > 0 && size + bytes > maxBytes) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(r);
    size += bytes;
  }
  if (chunk.length > 0) yield chunk;
}
