import { draft, EventData, LIMITS } from '../events/catalog';
import { Decided } from './write-side';

/** How a recording-ready callback ended (src/recordings/ready-callback.ts), as the receiver answered it. */
export interface ReadyCallbackAnswered {
  recordId: string;
  meetingId: string;
  /** the URL the meeting's create registered */
  url: string;
  outcome: EventData<'RecordingReadyNotified'>['outcome'];
  /** the last HTTP status received; null when no response came at all */
  status: number | null;
  /** HTTP requests made; none when the URL or the secrets ruled out sending */
  attempts: number;
}

/**
 * A recording-ready callback ended, delivered or not: the log says so, and the
 * recording no longer owes it (a restart does not send it again). Never refused.
 */
export function decideReadyCallbackAnswered(answered: ReadyCallbackAnswered): Decided<null> {
  const { recordId, meetingId, url, outcome, status, attempts } = answered;
  return {
    // A URL longer than the event holds is recorded cut: the outcome is what matters. A callback
    // never sent (a URL that is not http, no secret) counts as one attempt, as the schema wants one.
    events: [draft('RecordingReadyNotified', { recordId, meetingId, url: url.slice(0, LIMITS.url), outcome, status, attempts: Math.max(1, attempts) })],
    result: null,
  };
}
