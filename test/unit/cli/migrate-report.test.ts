import { migrationReportLines } from '../../../cli/commands/migrate/scalelite';
import { emptyCounts } from '../../../src/commands/migration';
import { MigrationReport } from '../../../src/infra/scalelite/migrate-run';

const report = (over: Partial<MigrationReport> = {}): MigrationReport => ({
  dry_run: false,
  appended: 0,
  counts: emptyCounts(),
  items: [],
  recording_dirs: null,
  source: { redis: 'redis://old:6379', namespace: 'scalelite', database: 'postgres://old/scalelite' },
  found: { servers: 0, meetings: 0, tenants: 0, tenant_settings: 0, recordings: 0 },
  ms: 1200,
  ...over,
});

describe('the migrate:scalelite report', () => {
  test('given a run that found everything in place: the table, then says nothing was appended', () => {
    const counts = emptyCounts();
    counts.recording.unchanged = 3000;
    const lines = migrationReportLines(report({ counts }));
    expect(lines[0]).toMatch(/^\s+imported\s+updated\s+unchanged\s+skipped\s+needs a hand$/);
    expect(lines).toContain('recordings              0        0       3000        0             0');
    expect(lines[lines.length - 1]).toBe("Nothing to do: this balancer already holds Scalelite's state (no event appended, 1.2 s).");
  });

  test('given items left out: grouped by reason, five named, the rest counted; a dry run says it changed nothing', () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ kind: 'meeting' as const, id: `m${i}`, outcome: 'skipped' as const, reason: 'a stale route' }));
    items.push({ kind: 'tenant' as never, id: 't1', outcome: 'attention' as never, reason: 'name is not a DNS label' });
    const lines = migrationReportLines(report({ dry_run: true, items }));
    expect(lines[0]).toContain('to import');
    expect(lines).toEqual(expect.arrayContaining(['Needs a hand:', '  tenant t1: name is not a DNS label', 'Skipped:', '  meeting m0, m1, m2, m3, m4 and 2 more: a stale route']));
    expect(lines[lines.length - 1]).toMatch(/^Dry run: nothing was changed/);
  });
});
