import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { connectRedis } from './connection';
import type { Logger } from 'pino';
import { Lease } from '../../coordination/lease';
import { DecisionUnavailableError } from '../../commands/errors';
import { DecisionLock, queuedTurn } from '../../commands/write-side';

// Released, it says so on KEYS[2]: the processes waiting for it try again at once instead of at their next sleep's end.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]); redis.call('PUBLISH', KEYS[2], '1'); return 1 else return 0 end`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

type Scripted = Redis & {
  scaleliteRelease(key: string, channel: string, token: string): Promise<number>;
  scaleliteRenew(key: string, token: string, ttlMs: string): Promise<number>;
};

function scripted(redis: Redis): Scripted {
  redis.defineCommand('scaleliteRelease', { numberOfKeys: 2, lua: RELEASE });
  redis.defineCommand('scaleliteRenew', { numberOfKeys: 1, lua: RENEW });
  return redis as Scripted;
}

/** The lock stayed with another process past the caller's deadline. */
export class LockTimeoutError extends DecisionUnavailableError {}

/**
 * The decision lock across processes: a Redis lease (SET NX PX with a token,
 * released only by its holder). The holder renews it while its decision runs,
 * so a short lease never expires under a live holder (however long it waits
 * for the projection), and a holder that dies mid-decision blocks the others
 * for one short lease, not for the longest decision allowed.
 */
export class RedisDecisionLock implements DecisionLock {
  private readonly redis: Scripted;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly channel: string;
  /** told when another process releases the lock (pub/sub), so a waiter tries again at once */
  private readonly released = new Set<() => void>();
  private subscriber: Redis | null = null;
  private subscribing: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly waitMs: number,
    private readonly logger: Logger,
    /** a waiter's sleeps between tries: the first, doubled up to the longest (each with up to as much again of jitter) */
    private readonly sleeps: { firstMs: number; longestMs: number } = { firstMs: 1, longestMs: 50 },
  ) {
    this.redis = scripted(connectRedis(url, {}, logger));
    this.channel = `${key}:released`;
  }

  /** Subscribed once, the first time this process has to wait; a failed subscription leaves the waiters to their sleeps. */
  private listen(): Promise<void> {
    this.subscribing ??= (async () => {
      const subscriber = connectRedis(this.url, {}, this.logger);
      subscriber.on('message', () => {
        for (const wake of [...this.released]) wake();
      });
      this.subscriber = subscriber;
      await subscriber.subscribe(this.channel);
    })().catch((err: unknown) => {
      this.logger.warn({ err }, 'could not subscribe to decision lock releases: waiting by polling');
    });
    return this.subscribing;
  }

  /** Resolves at the next release announced, or after `ms`, whichever comes first. */
  private nextRelease(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.released.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.released.add(wake);
    });
  }

  withLock<T>(fn: () => Promise<T>, deadline?: number): Promise<T> {
    // Callers in this process queue locally first: only one of them competes in Redis at a time.
    const turn = queuedTurn(() => this.holding(fn, deadline), deadline);
    const run = this.queue.then(turn.run, turn.run);
    this.queue = run.catch(() => undefined);
    return turn.outcome(run);
  }

  private async holding<T>(fn: () => Promise<T>, callerDeadline?: number): Promise<T> {
    const token = randomUUID();
    const deadline = Math.min(Date.now() + this.waitMs, callerDeadline ?? Infinity);
    for (let delay = this.sleeps.firstMs; ; delay = Math.min(delay * 2, this.sleeps.longestMs)) {
      if ((await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX')) === 'OK') break;
      if (Date.now() > deadline) throw new LockTimeoutError('could not take the decision lock in time: another process holds it');
      await this.listen();
      // Woken by the holder's release; the sleep only covers a release missed (or a holder that died: its lease runs out).
      await this.nextRelease(delay + Math.random() * delay);
    }
    let deciding = true;
    const renewing = setInterval(
      () => {
        this.redis.scaleliteRenew(this.key, token, String(this.ttlMs)).then(
          (renewed) => {
            if (deciding && renewed !== 1) this.logger.error({ key: this.key }, 'the decision lock expired while its holder was deciding');
          },
          (err: unknown) => this.logger.warn({ err, key: this.key }, 'could not renew the decision lock'),
        );
      },
      Math.max(100, Math.floor(this.ttlMs / 5)),
    );
    try {
      return await fn();
    } finally {
      deciding = false;
      clearInterval(renewing);
      const released = await this.redis.scaleliteRelease(this.key, this.channel, token).catch(() => 0);
      if (released !== 1) this.logger.warn({ key: this.key }, 'the decision lock had expired before its holder released it');
    }
  }

  async close(): Promise<void> {
    for (const wake of [...this.released]) wake();
    await this.subscribing;
    await this.subscriber?.quit().catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
  }
}

/** Who polls: one active poller holds the lease and renews it; standbys try to take it. */
export class RedisLease implements Lease {
  private readonly redis: Scripted;
  readonly holder = randomUUID();

  constructor(
    url: string,
    private readonly key: string,
    private readonly ttlMs: number,
    logger?: Logger,
  ) {
    this.redis = scripted(connectRedis(url, {}, logger));
  }

  /** Take the lease if it is free, or keep it if we hold it. */
  async acquire(): Promise<boolean> {
    if ((await this.redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX')) === 'OK') return true;
    return (await this.redis.scaleliteRenew(this.key, this.holder, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.scaleliteRelease(this.key, `${this.key}:released`, this.holder).catch(() => 0);
  }

  async owner(): Promise<string | null> {
    return this.redis.get(this.key);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
