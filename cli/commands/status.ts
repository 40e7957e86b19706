import { Flags } from '@oclif/core';
import { AdminCommand } from '../base';
import { statusTable, ServerJson } from '../format';

export default class Status extends AdminCommand {
  static override summary = 'The state, health and load of every server, as a table (now, or --at a past time).';
  static override flags = { at: Flags.string({ description: 'show the pool as it was at this time (ISO 8601), replayed from the event log' }) };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Status);
    if (flags.at !== undefined && Number.isNaN(Date.parse(flags.at))) this.error('--at must be a time, e.g. 2026-11-25T10:00:00Z', { exit: 1 });
    const result = await this.client(flags.balancer).call<{ servers: ServerJson[]; at?: string; meetings?: number }>('getStatus', 'GET', { at: flags.at });
    if (result.at) this.log(`As of ${result.at} (${result.meetings} meetings routed):`);
    this.log(statusTable(result.servers));
    return result;
  }
}
