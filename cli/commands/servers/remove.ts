import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';

export default class ServersRemove extends AdminCommand {
  static override summary = 'Remove a server from the pool (its meeting routes are ended by the next poll).';
  static override args = { id: Args.string({ required: true, description: 'server id' }) };

  async run(): Promise<{ success: string }> {
    const { args, flags } = await this.parse(ServersRemove);
    this.log(`Removing server ${args.id}...`);
    const result = await this.client(flags.balancer).call<{ success: string }>('deleteServer', 'POST', {}, { id: args.id });
    this.log('OK');
    return result;
  }
}
