import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import pino from 'pino';
import { DecisionUnavailableError } from '../../src/commands/errors';
import { RedisDecisionLock } from '../../src/infra/redis/redis-lock';
import { TEST_REDIS_URL } from '../support/production';

/** Fired once its holder runs: the other process asks only then, however slowly the first one connected (a loaded CI once let b in first). */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire: () => void = () => undefined;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fired, fire };
}

/*
 * The decision lock across processes: a live holder keeps it however long it
 * decides (it renews a short lease); a holder that died frees it within one lease.
 */
describe('the Redis decision lock', () => {
  const key = `test:${randomUUID()}:decision-lock`;
  const logger = pino({ level: 'silent' });
  const TTL = 300;
  let redis: Redis;
  const locks: RedisDecisionLock[] = [];
  const lock = () => {
    const l = new RedisDecisionLock(TEST_REDIS_URL, key, TTL, 10_000, logger);
    locks.push(l);
    return l;
  };
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(locks.map((l) => l.close()));
    await redis.del(key);
    await redis.quit();
  });

  test('given a holder deciding for three leases, when another process asks, then it waits until the holder is done', async () => {
    const [a, b] = [lock(), lock()];
    const timeline: string[] = [];
    const aHolds = signal();
    const first = a.withLock(async () => {
      timeline.push('a starts');
      aHolds.fire();
      await new Promise((r) => setTimeout(r, 3 * TTL));
      timeline.push('a ends');
    });
    await aHolds.fired;
    const second = b.withLock(async () => void timeline.push('b runs'));
    await Promise.all([first, second]);
    expect(timeline).toEqual(['a starts', 'a ends', 'b runs']);
    expect(await redis.exists(key)).toBe(0);
  });

  test("given another process holding it past a caller's deadline, the caller is answered at its deadline and its decision never runs", async () => {
    const [a, b, c] = [lock(), lock(), lock()];
    let release: () => void = () => undefined;
    const aHolds = signal();
    const holder = a.withLock(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
          aHolds.fire();
        }),
    );
    await aHolds.fired;
    const ran = jest.fn(async () => 'ran');
    const asked = Date.now();
    // in Redis: b competes and gives up; in its process: c queues behind b and gives up too
    const [inRedis, queued] = await Promise.allSettled([b.withLock(ran, Date.now() + 200), b.withLock(ran, Date.now() + 250)]);
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(inRedis).toMatchObject({ status: 'rejected', reason: expect.any(DecisionUnavailableError) });
    expect(queued).toMatchObject({ status: 'rejected', reason: expect.any(DecisionUnavailableError) });
    release();
    await holder;
    await expect(c.withLock(async () => 'after')).resolves.toBe('after');
    expect(ran).not.toHaveBeenCalled();
  });

  test('given a holder that died holding it (no renewals), when another process asks, then it gets it within about one lease', async () => {
    await redis.set(key, 'a-process-that-died', 'PX', TTL);
    const asked = Date.now();
    const waited = await lock().withLock(async () => Date.now() - asked);
    expect(waited).toBeGreaterThan(TTL / 2);
    expect(waited).toBeLessThan(TTL + 1_000);
  });
  test('given a waiter, when the holder releases, then the waiter is woken by the release, not by its next sleep', async () => {
    const a = lock();
    // b sleeps 10-20 s between tries: only the release can wake it in time
    const b = new RedisDecisionLock(TEST_REDIS_URL, key, TTL, 60_000, logger, { firstMs: 10_000, longestMs: 10_000 });
    locks.push(b);
    let releasedAt = 0;
    let tookAt = 0;
    const aHolds = signal();
    const first = a.withLock(async () => {
      aHolds.fire();
      // long enough for b to have tried once and subscribed to the release
      await new Promise((r) => setTimeout(r, 1_000));
      releasedAt = performance.now();
    });
    await aHolds.fired;
    const second = b.withLock(async () => {
      tookAt = performance.now();
    });
    await Promise.all([first, second]);
    // a few round trips after releasedAt (the release, its message, b's SET); its next sleep would end 10 s later
    expect(tookAt - releasedAt).toBeLessThan(2_000);
  });
});
