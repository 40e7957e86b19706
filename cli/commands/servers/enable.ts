import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersEnable extends AdminCommand {
  static override summary = 'Enable a server: it takes new meetings once online.';
  static override args = { id: Args.string({ required: true, description: 'server id' }) };

  async run(): Promise<ServerOut> {
    const { args, flags } = await this.parse(ServersEnable);
    this.log(`Enabling server ${args.id}...`);
    const server = await this.client(flags.balancer).call<ServerJson>('updateServer', 'POST', {}, { id: args.id, server: { state: 'enable' } });
    this.log('OK');
    return serverOut(server);
  }
}
