import Redis, { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/*
 * Every ioredis client of the process is made here. Without an 'error' listener ioredis
 * prints "[ioredis] Unhandled error event" with a stack trace, in plain text, for every
 * reconnection attempt while Redis is down. Here the outage is one warn line per Redis
 * (whatever number of clients), and one info line when it is reachable again.
 */

/** The URL without its password, for log lines. */
export const shownRedisUrl = (url: string): string => url.replace(/\/\/([^@/]*)@/, '//[redacted]@');

/** host:port of a Redis URL, never its password. */
export function shownRedisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return '(an unreadable URL)';
  }
}

const lastErrors = new WeakMap<Redis, Error & { code?: string }>();

/** The last connection error of a client, to say why it could not connect. */
export const lastErrorOf = (redis: Redis): (Error & { code?: string }) | undefined => lastErrors.get(redis);

const outages = new Map<string, { down: boolean; clients: Set<Redis> }>();

export function connectRedis(url: string, options: RedisOptions = {}, logger?: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 3, ...options });
  let state = outages.get(url);
  if (!state) outages.set(url, (state = { down: false, clients: new Set() }));
  const shared = state;
  shared.clients.add(redis);
  let everReady = false;
  redis.on('error', (err: Error & { code?: string }) => {
    lastErrors.set(redis, err);
    // Before the first connection, the caller that waits for it says what went wrong, once.
    if (!everReady || shared.down) return;
    shared.down = true;
    logger?.warn({ redis: shownRedisUrl(url), error: err.message, code: err.code }, 'Redis is unreachable: retrying; decisions wait for it within their deadline');
  });
  redis.on('ready', () => {
    everReady = true;
    if (!shared.down) return;
    shared.down = false;
    logger?.info({ redis: shownRedisUrl(url) }, 'Redis is reachable again');
  });
  redis.on('end', () => {
    shared.clients.delete(redis);
    if (shared.clients.size === 0) outages.delete(url);
  });
  return redis;
}
