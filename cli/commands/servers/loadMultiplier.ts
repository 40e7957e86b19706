import { Args } from '@oclif/core';
import { AdminCommand, readLoadMultiplier } from '../../base';
import { ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersLoadMultiplier extends AdminCommand {
  static override summary = "Set a server's load multiplier (a bigger server gets a smaller one).";
  static override args = { id: Args.string({ required: true, description: 'server id' }), value: Args.string({ required: true, description: 'multiplier, > 0' }) };

  async run(): Promise<ServerOut> {
    const { args, flags } = await this.parse(ServersLoadMultiplier);
    const value = readLoadMultiplier(this, args.value);
    const server = await this.client(flags.balancer).call<ServerJson>('updateServer', 'POST', {}, { id: args.id, server: { load_multiplier: value } });
    this.log('OK');
    return serverOut(server);
  }
}
