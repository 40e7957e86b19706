import { AdminCommand } from '../base';
import { statusTable, ServerJson } from '../format';

export default class Status extends AdminCommand {
  static override summary = 'The state, health and load of every server, as a table.';

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Status);
    const result = await this.client(flags.balancer).call<{ servers: ServerJson[] }>('getStatus', 'GET');
    this.log(statusTable(result.servers));
    return result;
  }
}
