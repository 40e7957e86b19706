import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known of the request being answered, filled in as it goes: the access log and the metrics read it. */
export interface RequestFacts {
  route: 'bbb' | 'admin' | 'playback' | 'fsapi' | 'health' | 'metrics';
  /** the BBB or admin API call */
  call?: string;
  meetingId?: string;
  /** the tenant's name */
  tenant?: string;
  /** a BBB messageKey, SUCCESS, redirect; unset: the HTTP status is the outcome */
  outcome?: string;
  /** the host of the BBB server the request went to */
  upstream?: string;
}

/** The facts of the request this code runs for (none outside a request: a poll, an import). */
export const requestContext = new AsyncLocalStorage<RequestFacts>();

/** Note facts of the request under way, if any. */
export function noteRequest(facts: Partial<RequestFacts>): void {
  const current = requestContext.getStore();
  if (current) Object.assign(current, facts);
}
