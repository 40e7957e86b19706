import { AdminCommand } from '../../base';
import type { RebuildResult } from '../../../src/projections/rebuild';

/** A progress bar on stderr (only when it is a terminal). */
function bar(applied: number, total: number): string {
  const width = 30;
  const done = total > 0 ? Math.round((applied / total) * width) : width;
  const pct = total > 0 ? Math.floor((applied / total) * 100) : 100;
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${pct}% ${applied}/${total} events`;
}

export default class ProjectionsRebuild extends AdminCommand {
  static override summary = 'Rebuild the read models from the event log, and say whether the live ones matched it.';

  async run(): Promise<RebuildResult> {
    const { flags } = await this.parse(ProjectionsRebuild);
    const tty = process.stderr.isTTY && !this.jsonEnabled();
    const result = await this.client(flags.balancer).stream<RebuildResult>('rebuildProjections', {}, (line) => {
      const p = line.progress as { applied: number; total: number } | undefined;
      if (p && tty) process.stderr.write(`\r${bar(p.applied, p.total)}`);
    });
    if (tty) process.stderr.write(`\r${bar(result.events, result.events)}\n`);
    const rate = result.ms > 0 ? Math.round((result.events / result.ms) * 1000) : result.events;
    this.log(`Rebuilt from ${result.events} events in ${result.ms} ms (${rate} events/s), up to event ${result.checkpoint}.`);
    if (result.equal) this.log('The live read model matched the log.');
    else {
      this.log(`The live read model differed from the log in ${result.differences.length} places; it has been replaced:`);
      for (const d of result.differences) this.log(`  ${d}`);
    }
    return result;
  }
}
