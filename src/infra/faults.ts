import { DecisionUnavailableError } from '../commands/errors';
import { CheckpointConflictError } from '../projections/ports';
import { ProjectionTimeoutError } from '../projections/waiters';

/*
 * Which faults pass by themselves. A projection retries these until its store is
 * back (PostgreSQL or Redis restarting, the network); anything else that a store
 * keeps refusing for one event is that event's, and the event is parked.
 */

/** Socket and DNS errors: the peer is not there now. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'NR_CLOSED',
]);

/**
 * PostgreSQL SQLSTATE classes of faults that pass: connection (08), resources (53),
 * operator intervention such as a shutdown (57), system errors (58), a transaction
 * rolled back by a conflict or deadlock (40), a lock not available (55P03).
 * Data exceptions (22), constraint violations (23) and the like are the event's.
 */
const TRANSIENT_SQLSTATE = /^(08|53|57|58|40)[0-9A-Z]{3}$|^55P03$/;

/** What drivers say, when they give no code, about a connection that went away. */
const TRANSIENT_MESSAGE =
  /connection (terminated|is closed|ended|lost|refused|reset)|client has encountered a connection error|not queryable|stream isn't writeable|socket (hang up|closed)|max retries per request|reached the max retries|timeout|timed out|ECONN|the server closed|database system is (shutting down|starting up|in recovery mode)|not connected|no connection|broker|leader|coordinator/i;

export function isTransientFault(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  // Waiting for another read model or for the lock is never the event's fault.
  if (err instanceof ProjectionTimeoutError || err instanceof CheckpointConflictError || err instanceof DecisionUnavailableError) return true;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; retriable?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || TRANSIENT_SQLSTATE.test(e.code))) return true;
  // kafkajs marks what it would retry itself
  if (e.retriable === true) return true;
  const name = typeof e.name === 'string' ? e.name : '';
  if (/^(MaxRetriesPerRequestError|KafkaJSConnectionError|KafkaJSRequestTimeoutError|KafkaJSNumberOfRetriesExceeded)$/.test(name)) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
  if (isTransientFault(e.cause, depth + 1)) return true;
  // AggregateError (several addresses tried)
  if (Array.isArray(e.errors) && e.errors.some((inner) => isTransientFault(inner, depth + 1))) return true;
  return false;
}
