import { Args, Flags } from '@oclif/core';
import { createInterface } from 'node:readline/promises';
import { AdminCommand } from '../../base';
import { serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersDisable extends AdminCommand {
  static override summary = 'Disable a server: no new meetings, no joins; with meetings running, asks before ending them.';
  static override args = { id: Args.string({ required: true, description: 'server id' }) };
  static override flags = { yes: Flags.boolean({ char: 'y', description: "end the server's meetings without asking" }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ServersDisable);
    const client = this.client(flags.balancer);
    this.log(`Disabling server ${args.id}...`);
    const server = await client.call<ServerJson>('getServerInfo', 'GET', { id: args.id });
    const busy = typeof server.load === 'number' && server.load > 0;
    let endMeetings = false;
    if (busy) {
      this.warn(`The server ${args.id} has active load (${server.load}). Consider cordoning it (servers:cordon) so meetings drain first.`);
      if (flags.yes) endMeetings = true;
      else if (process.stdin.isTTY) {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question('If you still wish to continue please enter `yes`: ');
        rl.close();
        if (answer.trim() !== 'yes') {
          this.log('Not disabled.');
          return { disabled: false };
        }
        endMeetings = true;
      } else this.error('The server has active load: pass --yes to end its meetings and disable it, or cordon it instead.', { exit: 1 });
    }
    const result = await client.call<{ server: ServerJson; meetings_cleared: string[]; end_failed: string[] }>(
      'disableServer',
      'POST',
      {},
      { id: args.id, end_meetings: endMeetings },
    );
    for (const id of result.meetings_cleared) this.log(`Clearing Meeting id=${id}`);
    for (const id of result.end_failed) this.logToStderr(`WARNING: Could not end meeting id=${id}`);
    this.log('OK');
    return { ...result, server: serverOut(result.server) };
  }
}
