import { AdminCommand } from '../../base';
import { statusTable, ServerJson } from '../../format';

export default class PollAll extends AdminCommand {
  static override summary = 'Poll every server now and show the result.';

  async run(): Promise<unknown> {
    const { flags } = await this.parse(PollAll);
    const result = await this.client(flags.balancer).call<{ summary: { servers: number; polled: number; online: number; events: number; durationMs: number }; servers: ServerJson[] }>(
      'pollAll',
      'POST',
    );
    const s = result.summary;
    this.log(`Polled ${s.polled}/${s.servers} servers in ${s.durationMs} ms: ${s.online} online, ${s.events} events`);
    if (result.servers.length > 0) this.log(statusTable(result.servers));
    return result;
  }
}
