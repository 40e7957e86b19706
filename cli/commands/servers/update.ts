import { Args, Flags } from '@oclif/core';
import { AdminCommand, readLoadMultiplier } from '../../base';
import { ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersUpdate extends AdminCommand {
  static override summary = "Change a server's secret, load multiplier, tag or URL.";
  static override description = 'Omitted values are kept; an empty tag removes the tag. Rake form: servers:update[id,secret,loadMultiplier,tag].';
  static override args = {
    id: Args.string({ required: true, description: 'server id' }),
    secret: Args.string({ description: 'new secret (rake form)' }),
    loadMultiplier: Args.string({ description: 'new load multiplier (rake form)' }),
    tag: Args.string({ description: 'new tag, empty to remove (rake form)' }),
  };
  static override flags = {
    secret: Flags.string({ description: 'new secret' }),
    'load-multiplier': Flags.string({ description: 'new load multiplier' }),
    tag: Flags.string({ description: 'new tag ("" removes it)' }),
    'server-url': Flags.string({ description: 'new API URL of the server' }),
  };

  async run(): Promise<ServerOut> {
    const { args, flags } = await this.parse(ServersUpdate);
    this.log(`Updating server ${args.id}...`);
    const secret = flags.secret ?? (args.secret || undefined);
    const loadMultiplier = readLoadMultiplier(this, flags['load-multiplier'] ?? (args.loadMultiplier || undefined));
    const tag = flags.tag ?? args.tag;
    const server = await this.client(flags.balancer).call<ServerJson>(
      'updateServer',
      'POST',
      {},
      {
        id: args.id,
        server: {
          ...(secret !== undefined ? { secret } : {}),
          ...(loadMultiplier !== undefined ? { load_multiplier: loadMultiplier } : {}),
          ...(tag !== undefined ? { tag } : {}),
          ...(flags['server-url'] !== undefined ? { url: flags['server-url'] } : {}),
        },
      },
    );
    this.log('OK');
    return serverOut(server);
  }
}
