import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersTag extends AdminCommand {
  static override summary = "Set a server's tag; without a tag, remove it.";
  static override args = { id: Args.string({ required: true, description: 'server id' }), tag: Args.string({ description: 'tag (omit or "" to untag)' }) };

  async run(): Promise<ServerOut> {
    const { args, flags } = await this.parse(ServersTag);
    const server = await this.client(flags.balancer).call<ServerJson>('updateServer', 'POST', {}, { id: args.id, server: { tag: args.tag ?? '' } });
    this.log('OK');
    return serverOut(server);
  }
}
