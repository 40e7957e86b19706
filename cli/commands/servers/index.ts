import { Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import { serverBlock, ServerOut, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';
import { AdminClientError } from '../../../src/infra/admin-client';

export default class Servers extends AdminCommand {
  static override summary = 'List the BBB servers of the pool (secrets hidden unless --show-secrets).';
  static override flags = { 'show-secrets': Flags.boolean({ description: "print each server's secret" }) };

  async run(): Promise<ServerOut[]> {
    const { flags } = await this.parse(Servers);
    let servers: ServerJson[];
    try {
      servers = await this.client(flags.balancer).call<ServerJson[]>('getServers', 'GET', flags['show-secrets'] ? { show_secrets: 'true' } : {});
    } catch (err) {
      if (err instanceof AdminClientError && err.status === 404) {
        this.logToStderr('No servers are configured');
        return [];
      }
      throw err;
    }
    for (const s of servers) this.log(serverBlock(s));
    return servers.map(serverOut);
  }
}
