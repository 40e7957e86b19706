import { Args, Flags } from '@oclif/core';
import { createInterface } from 'node:readline/promises';
import { AdminCommand } from '../../base';

export default class MeetingsEnd extends AdminCommand {
  static override summary = 'End meetings (all of them when none are named): ends them on BBB and drops their routes.';
  static override strict = false;
  static override args = { meetingIDs: Args.string({ description: 'meetingIDs to end (rake form: meetings:end["m1:m2"])' }) };
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }) };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(MeetingsEnd);
    const ids = argv as string[];
    this.warn('You are trying to clear active meetings.');
    if (!flags.yes) {
      if (!process.stdin.isTTY) this.error('Pass --yes to end meetings without a terminal to confirm on.', { exit: 1 });
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question('If you still wish to continue please enter `yes`: ');
      rl.close();
      if (answer.trim() !== 'yes') {
        this.log('OK');
        return { ended: [] };
      }
    }
    const result = await this.client(flags.balancer).call<{ ended: string[]; unknown: string[]; end_failed: string[] }>(
      'endMeetings',
      'POST',
      {},
      ids.length > 0 ? { meetingIDs: ids } : {},
    );
    for (const id of result.ended) this.logToStderr(`Clearing Meeting id=${id}`);
    for (const id of result.unknown) this.logToStderr(`No meeting with id=${id}`);
    for (const id of result.end_failed) this.logToStderr(`WARNING: Could not end meeting id=${id} on its server`);
    if (result.ended.length === 0) this.logToStderr('No meetings to clear');
    this.log('OK');
    return result;
  }
}
