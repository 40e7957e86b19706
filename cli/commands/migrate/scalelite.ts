import { Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import { ProgressBar } from '../../progress';
import { AdminClientError, defaultActor } from '../../../src/infra/admin-client';
import { MigrationReport, runMigration } from '../../../src/infra/scalelite/migrate-run';
import { ScaleliteSource } from '../../../src/infra/scalelite/source';
import type { MigratedKind, MigrationItem } from '../../../src/commands/migration';

const KINDS: Array<[MigratedKind, string]> = [
  ['server', 'servers'],
  ['tenant', 'tenants'],
  ['tenantSetting', 'tenant settings'],
  ['meeting', 'meeting routes'],
  ['recording', 'recordings'],
];

/** How many items of one reason are named before the rest are counted. */
const NAMED_PER_REASON = 5;

/** The report an operator reads: a table of what happened to each kind, then what was left out and why. */
export function migrationReportLines(r: MigrationReport, actor = defaultActor()): string[] {
  const lines: string[] = [];
  const importedWord = r.dry_run ? 'to import' : 'imported';
  const updatedWord = r.dry_run ? 'to update' : 'updated';
  const header = ['', importedWord, updatedWord, 'unchanged', 'skipped', 'needs a hand'];
  const rows = KINDS.map(([kind, label]) => {
    const c = r.counts[kind];
    return [label, c.imported, c.updated, c.unchanged, c.skipped, c.attention].map(String);
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));

  const groups = (outcome: MigrationItem['outcome']) => {
    const byReason = new Map<string, MigrationItem[]>();
    for (const i of r.items.filter((x) => x.outcome === outcome)) {
      const key = `${i.kind}\u0000${i.reason ?? ''}`;
      byReason.set(key, [...(byReason.get(key) ?? []), i]);
    }
    return [...byReason.values()];
  };
  const section = (title: string, outcome: MigrationItem['outcome']) => {
    const gs = groups(outcome);
    if (gs.length === 0) return;
    lines.push('', title);
    for (const g of gs) {
      const named = g
        .slice(0, NAMED_PER_REASON)
        .map((i) => i.id)
        .join(', ');
      const more = g.length > NAMED_PER_REASON ? ` and ${g.length - NAMED_PER_REASON} more` : '';
      lines.push(`  ${g[0].kind} ${named}${more}: ${g[0].reason ?? ''}`);
    }
  };
  section('Needs a hand:', 'attention');
  section('Skipped:', 'skipped');
  if (r.recording_dirs) {
    lines.push('', `Recording files are expected where Scalelite's importer put them: ${r.recording_dirs.publish} (published) and ${r.recording_dirs.unpublish} (unpublished).`);
    lines.push("Set RECORDING_PUBLISH_DIR and RECORDING_UNPUBLISH_DIR to Scalelite's if these differ.");
  }
  lines.push('');
  const seconds = (r.ms / 1000).toFixed(1);
  if (r.dry_run) lines.push(`Dry run: nothing was changed (${seconds} s). Run without --dry-run to import.`);
  else if (r.appended === 0) lines.push(`Nothing to do: this balancer already holds Scalelite's state (no event appended, ${seconds} s).`);
  else
    lines.push(
      `Done: ${r.appended} events appended in ${seconds} s, each by the actor 'migrate:scalelite by ${actor}' (scalelite events --actor 'migrate:scalelite by ${actor}').`,
    );
  return lines;
}

export default class MigrateScalelite extends AdminCommand {
  static override summary = "Import a live Scalelite's state: servers, meeting routes, tenants and settings (Redis) and the recordings index (PostgreSQL).";
  static override description = [
    "Reads Scalelite's Redis (under its REDIS_NAMESPACE) and PostgreSQL, read-only, and makes this balancer hold the same state:",
    'same server ids, states, tags, multipliers and secrets; meeting routes with their voice bridges and tenants; tenants and settings;',
    'every recording with its metadata, formats, thumbnails, state and protection, pointing at the same recording directories.',
    'Run it again at any time: what is in place already is left alone (a second run appends nothing), and a killed run resumes.',
    'See docs/migrating-from-scalelite.md for the cutover.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> migrate:scalelite --redis-url redis://old-redis:6379 --database-url postgres://scalelite@old-db/scalelite --dry-run',
    'SCALELITE_REDIS_URL=redis://old-redis:6379 SCALELITE_DATABASE_URL=postgres://old-db/scalelite <%= config.bin %> migrate:scalelite',
  ];
  static override flags = {
    'redis-url': Flags.string({ description: "Scalelite's REDIS_URL", env: 'SCALELITE_REDIS_URL' }),
    'redis-namespace': Flags.string({ description: "Scalelite's REDIS_NAMESPACE", env: 'SCALELITE_REDIS_NAMESPACE', default: 'scalelite' }),
    'database-url': Flags.string({ description: "Scalelite's DATABASE_URL", env: 'SCALELITE_DATABASE_URL' }),
    'dry-run': Flags.boolean({ description: 'print the plan: what would be imported, skipped and needs a hand; change nothing' }),
    'skip-recordings': Flags.boolean({ description: 'import the Redis state only' }),
    'batch-size': Flags.integer({ description: 'recordings per batch', default: 500, min: 1, max: 5000 }),
  };

  async run(): Promise<MigrationReport> {
    const { flags } = await this.parse(MigrateScalelite);
    if (!flags['redis-url']) this.error("Scalelite's Redis is needed: --redis-url (or SCALELITE_REDIS_URL), e.g. redis://old-redis:6379", { exit: 2 });
    if (!flags['database-url']) this.error("Scalelite's PostgreSQL is needed: --database-url (or SCALELITE_DATABASE_URL), e.g. postgres://scalelite@old-db/scalelite", { exit: 2 });
    const client = this.client(flags.balancer);
    const source = new ScaleliteSource(flags['redis-url'], flags['redis-namespace'], flags['database-url']);
    const json = this.jsonEnabled();
    let bar: ProgressBar | null = null;
    let connected = false;
    try {
      await source.connect();
      connected = true;
      const report = await runMigration({
        source,
        client,
        dryRun: flags['dry-run'],
        skipRecordings: flags['skip-recordings'],
        batchSize: flags['batch-size'],
        onProgress: (done, total) => {
          if (json) return;
          bar ??= new ProgressBar(flags['dry-run'] ? 'planning recordings' : 'importing recordings', total);
          bar.update(done);
        },
      });
      (bar as ProgressBar | null)?.finish();
      if (!json) for (const line of migrationReportLines(report)) this.log(line);
      return report;
    } catch (err) {
      (bar as ProgressBar | null)?.finish();
      if (err instanceof AdminClientError) throw err;
      const message = (err instanceof Error ? err.message : String(err)).replace(/\.+$/, '');
      const resume = connected && !flags['dry-run'] ? '. What was imported stays: run the command again to resume' : '';
      this.error(`${message}${resume}.`, { exit: 1 });
    } finally {
      await source.close();
    }
  }
}
