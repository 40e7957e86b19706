import { Args, Flags } from '@oclif/core';
import { AdminCommand, yesNo } from '../../base';

export default class ServersYaml extends AdminCommand {
  static override summary = 'Print the pool as a servers:sync YAML file (secrets included).';
  static override description =
    'The output is the input of servers:sync. --verbose adds state, load, bbb_version and online (sync ignores them). Rake form: servers:yaml[verbose].';
  static override examples = ['<%= config.bin %> servers:yaml > servers.yml', '<%= config.bin %> servers:yaml --verbose', "<%= config.bin %> 'servers:yaml[verbose]'"];
  static override args = { verbose: Args.string({ description: 'any value but n/no/false/0: verbose (rake form)', ignoreStdin: true }) };
  static override flags = { verbose: Flags.boolean({ char: 'v', description: 'add the live fields: state, load, bbb_version, online' }) };

  async run(): Promise<{ yaml: string }> {
    const { args, flags } = await this.parse(ServersYaml);
    const verbose = flags.verbose || (args.verbose !== undefined && args.verbose.trim() !== '' && yesNo(args.verbose) !== false);
    const result = await this.client(flags.balancer).call<{ yaml: string }>('getServersYaml', 'GET', verbose ? { verbose: 'true' } : {});
    if (!this.jsonEnabled()) process.stdout.write(result.yaml);
    return result;
  }
}
