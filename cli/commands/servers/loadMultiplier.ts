import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { ServerJson } from '../../format';

export default class ServersLoadMultiplier extends AdminCommand {
  static override summary = 'Set a server\'s load multiplier (a bigger server gets a smaller one).';
  static override args = { id: Args.string({ required: true, description: 'server id' }), value: Args.string({ required: true, description: 'multiplier, > 0' }) };

  async run(): Promise<ServerJson> {
    const { args, flags } = await this.parse(ServersLoadMultiplier);
    let value = Number(args.value);
    if (!Number.isFinite(value) || value === 0) {
      this.warn('Load-multiplier was not readable or 0, so it is now 1');
      value = 1;
    }
    const server = await this.client(flags.balancer).call<ServerJson>('updateServer', 'POST', {}, { id: args.id, server: { load_multiplier: value } });
    this.log('OK');
    return server;
  }
}
