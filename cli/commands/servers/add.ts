import { Args, Flags } from '@oclif/core';
import { AdminCommand, readLoadMultiplier } from '../../base';
import { ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';

export default class ServersAdd extends AdminCommand {
  static override summary = 'Add a BBB server (it starts disabled; enable it when ready).';
  static override examples = [
    '<%= config.bin %> servers:add https://bbb1.example.com/bigbluebutton/api/ SECRET',
    '<%= config.bin %> servers:add https://bbb2.example.com/bigbluebutton/api/ SECRET --load-multiplier 2 --tag big',
    "<%= config.bin %> 'servers:add[https://bbb3.example.com/bigbluebutton/api/,SECRET,1,big]'",
  ];
  static override args = {
    url: Args.string({ description: "the server's API URL (http:// or https://)" }),
    secret: Args.string({ description: "the server's shared secret (bbb-conf --secret)" }),
    loadMultiplier: Args.string({ description: 'load multiplier (rake form)' }),
    tag: Args.string({ description: 'server tag (rake form)' }),
  };
  static override flags = {
    'load-multiplier': Flags.string({ description: "weight of this server's load (default 1)" }),
    tag: Flags.string({ description: 'server tag, for meta_server-tag placement' }),
  };

  async run(): Promise<ServerOut> {
    const { args, flags } = await this.parse(ServersAdd);
    if (!args.url || !args.secret) this.error('Please input at least a URL and a secret!', { exit: 1 });
    if (!/^https?:\/\//.test(args.url)) this.error('Server URL must start with http:// or https://', { exit: 1 });
    const loadMultiplier = readLoadMultiplier(this, flags['load-multiplier'] ?? args.loadMultiplier);
    const tag = flags.tag ?? args.tag;
    const server = await this.client(flags.balancer).call<ServerJson>(
      'addServer',
      'POST',
      {},
      {
        server: { url: args.url, secret: args.secret, ...(loadMultiplier !== undefined ? { load_multiplier: loadMultiplier } : {}), ...(tag ? { tag } : {}) },
      },
    );
    this.log('OK');
    this.log(`id: ${server.id}`);
    return serverOut(server);
  }
}
