import { Args, Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import type { MeetingJson } from '../../../src/api/views/meeting';
import type { ServerJson } from '../../../src/api/views/server';

export default class Meetings extends AdminCommand {
  static override summary = 'The meetings the balancer routes, with their server.';
  static override aliases = ['meetings:list'];
  static override strict = false;
  static override args = { meetingIDs: Args.string({ description: 'only these meetingIDs (rake form: meetings["m1:m2"])' }) };
  static override flags = { server: Flags.string({ description: 'only meetings on this server id' }) };

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(Meetings);
    const client = this.client(flags.balancer);
    const wanted = new Set(argv as string[]);
    const [{ meetings }, servers] = await Promise.all([
      client.call<{ meetings: MeetingJson[] }>('getMeetingRoutes', 'GET', flags.server ? { server: flags.server } : {}),
      client.call<ServerJson[]>('getServers', 'GET').catch(() => [] as ServerJson[]),
    ]);
    const shown = wanted.size > 0 ? meetings.filter((m) => wanted.has(m.meeting_id)) : meetings;
    for (const m of shown) {
      const server = servers.find((s) => s.id === m.server_id);
      this.log('');
      this.log(`MeetingID: ${m.meeting_id}`);
      this.log(`\tServer ID: ${m.server_id}`);
      this.log(`\tServer Url: ${server?.url ?? '(removed)'}`);
      this.log(`\tVoice Bridge: ${m.voice_bridge}`);
      this.log(`\tPlaced At: ${m.placed_at}`);
    }
    if (shown.length === 0) this.logToStderr('No meetings to display');
    return { meetings: shown };
  }
}
