import type { PollFailureReason } from '../../events/catalog';
import type { Server, ServerState } from '../../projections/pool';
import { decimalString, SECRET_MASK } from './scalars';

/** A server as the admin API answers (getServers, getServerInfo, status…): Scalelite's fields, plus why its polls fail. */
export interface ServerJson {
  id: string;
  url: string;
  /** the secret, or SECRET_MASK unless asked for */
  secret: string;
  /** '' without a tag */
  tag: string;
  bbb_version: string;
  state: ServerState;
  /** Scalelite's 'unavailable' while offline or never polled */
  load: number | 'unavailable';
  /** BigDecimal text: "1.0", "2.5" */
  load_multiplier: string;
  online: 'online' | 'offline';
  meetings: number;
  users: number;
  largest_meeting: number;
  videos: number;
  /** null while its polls succeed */
  poll_error: { reason: PollFailureReason; message: string; since: string } | null;
}

/** Scalelite's server JSON (plus the poll stats); the secret only when asked for. */
export function serverJson(server: Server, showSecret: boolean): ServerJson {
  return {
    id: server.id,
    url: server.url,
    secret: showSecret ? server.secret : SECRET_MASK,
    tag: server.tag ?? '',
    bbb_version: server.bbbVersion,
    state: server.state,
    load: server.load ?? 'unavailable',
    load_multiplier: decimalString(server.loadMultiplier),
    online: server.online ? 'online' : 'offline',
    meetings: server.meetings,
    users: server.users,
    largest_meeting: server.largestMeeting,
    videos: server.videos,
    // Beyond Scalelite: why its polls fail (null while they succeed); a wrong secret shows here as checksumError.
    poll_error: server.pollFailure ? { reason: server.pollFailure.reason, message: server.pollFailure.error, since: server.pollFailure.since } : null,
  };
}
