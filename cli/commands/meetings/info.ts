import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { ServerJson } from '../../format';

type Info = Record<string, unknown> | null;

export default class MeetingsInfo extends AdminCommand {
  static override summary = 'What BBB says of one meeting, and where the balancer routes it.';
  static override args = { meetingID: Args.string({ description: 'the meetingID' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MeetingsInfo);
    if (!args.meetingID) this.error('Please input a meetingID!', { exit: 1 });
    const result = await this.client(flags.balancer).call<{ meeting: { meeting_id: string; voice_bridge: string }; server: ServerJson | null; info: Info; info_error: string | null }>(
      'getMeetingRoute',
      'GET',
      { meetingID: args.meetingID },
    );
    const info = result.info ?? {};
    const text = (k: string) => (info[k] === undefined || info[k] === null ? '' : String(info[k]));
    this.log(`Meeting ID: ${result.meeting.meeting_id}`);
    this.log(`\tMeeting Name: ${text('meetingName')}`);
    this.log(`\tInternal MeetingID: ${text('internalMeetingID')}`);
    this.log(`\tCreated Date: ${text('createDate')}`);
    this.log(`\tRecording Enabled: ${text('recording')}`);
    this.log(`\tParticipants: ${text('participantCount')}`);
    this.log(`\tVoice Bridge: ${result.meeting.voice_bridge}`);
    this.log(`\tServer id: ${result.server?.id ?? '(removed)'}`);
    this.log(`\tServer url: ${result.server?.url ?? ''}`);
    const metadata = info.metadata;
    if (metadata && typeof metadata === 'object') {
      this.log('\tMetaData:');
      for (const [k, v] of Object.entries(metadata as Record<string, unknown>)) this.log(`\t\t${k}: ${v === null || typeof v === 'object' ? '' : String(v)}`);
    }
    if (result.info_error) this.logToStderr(`WARNING: Could not get info for meeting id=${args.meetingID}: ${result.info_error}`);
    return result;
  }
}
