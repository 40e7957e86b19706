import type { XmlNode } from '../../infra/bbb/xml';
import type { Meeting } from '../../projections/pool';
import type { ServerJson } from './server';

/** A meeting's route as the admin API answers (getMeetingRoutes): where it runs, never its passwords. */
export interface MeetingJson {
  meeting_id: string;
  server_id: string;
  tenant_id: string | null;
  voice_bridge: string;
  load_estimate: number;
  placed_at: string;
}

export function meetingJson(meeting: Meeting): MeetingJson {
  return {
    meeting_id: meeting.meetingId,
    server_id: meeting.serverId,
    tenant_id: meeting.tenantId,
    voice_bridge: meeting.voiceBridge,
    load_estimate: meeting.loadEstimate,
    placed_at: meeting.placedAt,
  };
}

/** getMeetingRoute: the route, its server (null when gone) and BBB's getMeetingInfo reply or why there is none. */
export interface MeetingRouteJson {
  meeting: MeetingJson;
  server: ServerJson | null;
  info: XmlNode | null;
  info_error: string | null;
}
