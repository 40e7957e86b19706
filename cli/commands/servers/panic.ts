import { Args, Flags } from '@oclif/core';
import { AdminCommand, yesNo } from '../../base';

export default class ServersPanic extends AdminCommand {
  static override summary = 'Clear all meetings of a server (ending them on BBB) and disable it.';
  static override args = {
    id: Args.string({ required: true, description: 'server id' }),
    keepState: Args.string({ description: "keep the server's state (rake form)" }),
    skipEndCalls: Args.string({ description: 'do not send end to BBB (rake form)' }),
  };
  static override flags = {
    'keep-state': Flags.boolean({ description: 'do not disable the server' }),
    'skip-end-calls': Flags.boolean({ description: 'do not send end to BBB (it is unreachable anyway)' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ServersPanic);
    const keepState = flags['keep-state'] || yesNo(args.keepState) === true;
    const skipEndCalls = flags['skip-end-calls'] || yesNo(args.skipEndCalls) === true;
    this.log(`Panicking server ${args.id}...`);
    const result = await this.client(flags.balancer).call<{ meetings_cleared: string[]; end_failed?: string[] }>(
      'panicServer',
      'POST',
      {},
      {
        id: args.id,
        keep_state: keepState,
        skip_end_calls: skipEndCalls,
      },
    );
    for (const id of result.meetings_cleared) this.log(`Clearing Meeting id=${id}`);
    for (const id of result.end_failed ?? []) this.logToStderr(`WARNING: Could not end meeting id=${id}`);
    this.log('OK');
    return result;
  }
}
