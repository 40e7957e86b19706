import { AdminCommand } from '../../base';
import { statusTable, serverOut } from '../../format';
import type { ServerJson } from '../../../src/api/views/server';
import type { PollSummary } from '../../../src/poller/poller';

export default class PollAll extends AdminCommand {
  static override summary = 'Poll every server now and show the result.';

  async run(): Promise<unknown> {
    const { flags } = await this.parse(PollAll);
    const result = await this.client(flags.balancer).call<{ summary: PollSummary; servers: ServerJson[] }>('pollAll', 'POST');
    const s = result.summary;
    this.log(`Polled ${s.polled}/${s.servers} servers in ${s.durationMs} ms: ${s.online} online, ${s.events} events`);
    if (result.servers.length > 0) this.log(statusTable(result.servers));
    // Why a poll failed, in this pass: a wrong secret says checksumError here.
    const urls = new Map(result.servers.map((server) => [server.id, server.url]));
    for (const f of s.failed ?? []) this.log(`${f.serverId}${urls.has(f.serverId) ? ` (${urls.get(f.serverId)})` : ''}: poll failed (${f.reason}): ${f.error}`);
    return { ...result, servers: result.servers.map(serverOut) };
  }
}
