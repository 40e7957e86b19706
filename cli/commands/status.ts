import { Flags } from '@oclif/core';
import { AdminCommand } from '../base';
import { pollErrorNotes, statusTable, serverOut } from '../format';
import type { StatusJson } from '../../src/api/views/status';

/** What needs an admin's eye beyond the table: why polls fail, events set aside, read models that rebuilt themselves. */
export function statusNotes(result: Pick<StatusJson, 'servers' | 'parked' | 'rebuilds' | 'ignored_variables'>, verbose = false): string[] {
  const notes: string[] = pollErrorNotes(result.servers);
  // Scalelite variables the balancer was started with and does not use (the Rails/nginx leftovers only with --verbose).
  const ignored = (result.ignored_variables ?? []).filter((v) => verbose || v.kind !== 'notNeeded');
  if (ignored.length > 0) {
    notes.push(`Variables set but not used here (${ignored.length}):`);
    for (const v of ignored) notes.push(`  ${v.name}: ${v.kind === 'notNeeded' ? 'not needed' : v.kind}, ${v.why}`);
  }
  const parked = result.parked;
  if (parked && parked.count > 0) {
    notes.push(`${parked.count} event${parked.count === 1 ? '' : 's'} parked: a read model could not apply ${parked.count === 1 ? 'it' : 'them'}; the events after were applied.`);
    for (const p of parked.latest) {
      const where = p.projection === '*' ? 'unreadable by this version' : `not in the ${p.projection} read model`;
      notes.push(`  event ${p.offset} (${p.type}), ${where}: ${p.reason}`);
    }
  }
  for (const r of result.rebuilds ?? []) {
    const why = r.reason === 'lost' ? `it held event ${r.found} of ${r.expected}` : `it held another log (event ${r.found})`;
    notes.push(`${r.at}: the ${r.projection} read model rebuilt itself from the log (${why}).`);
  }
  return notes;
}

export default class Status extends AdminCommand {
  static override summary = 'The state, health and load of every server, as a table (now, --at a past time, or --watch).';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --at 2026-11-25T10:00:00Z', '<%= config.bin %> status --watch 5'];
  static override flags = {
    at: Flags.string({ description: 'show the pool as it was at this time (ISO 8601), replayed from the event log', exclusive: ['watch'] }),
    watch: Flags.integer({ char: 'w', description: 'redraw the table every this many seconds, until interrupted', min: 1, max: 3600 }),
    verbose: Flags.boolean({ char: 'v', description: 'also list the Scalelite variables that are not needed here (Rails, Puma, nginx)' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Status);
    if (flags.at !== undefined && Number.isNaN(Date.parse(flags.at))) this.error('--at must be a time, e.g. 2026-11-25T10:00:00Z', { exit: 1 });
    if (flags.watch !== undefined && this.jsonEnabled()) this.error('--watch redraws a table; it has no --json form', { exit: 1 });
    const client = this.client(flags.balancer);
    const fetch = () => client.call<StatusJson>('getStatus', 'GET', { at: flags.at });
    if (flags.watch !== undefined) {
      for (;;) {
        const result = await fetch();
        // clear the screen only on a terminal: piped, each table follows the last
        if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        this.log(`${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}  every ${flags.watch} s`);
        this.log(statusTable(result.servers));
        for (const note of statusNotes(result, flags.verbose)) this.log(note);
        await new Promise((r) => setTimeout(r, flags.watch! * 1000));
      }
    }
    const result = await fetch();
    if (result.at) this.log(`As of ${result.at} (${result.meetings} meetings routed):`);
    this.log(statusTable(result.servers));
    for (const note of statusNotes(result, flags.verbose)) this.log(note);
    return { ...result, servers: result.servers.map(serverOut) };
  }
}
