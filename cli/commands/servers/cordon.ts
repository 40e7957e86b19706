import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersCordon extends AdminCommand {
  static override summary = 'Cordon a server: no new meetings; running ones continue, and it is disabled once empty.';
  static override args = { id: Args.string({ required: true, description: 'server id' }) };

  async run(): Promise<ServerOut> {
    const { args, flags } = await this.parse(ServersCordon);
    this.log(`Cordoning server ${args.id}...`);
    const server = await this.client(flags.balancer).call<ServerJson>('updateServer', 'POST', {}, { id: args.id, server: { state: 'cordon' } });
    this.log('OK');
    return serverOut(server);
  }
}
