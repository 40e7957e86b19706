import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisPlaybackTokens } from '../../src/infra/redis/redis-tokens';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const GRANT = { recordId: 'abc123-1714561200000', format: 'presentation' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RedisPlaybackTokens (real Redis)', () => {
  const namespace = `test:tokens_${Date.now()}_${randomBytes(4).toString('hex')}`;
  let admin: Redis;
  const opened: RedisPlaybackTokens[] = [];
  const open = (options?: { useGetDel?: boolean }) => {
    const t = new RedisPlaybackTokens(REDIS_URL, namespace, options);
    opened.push(t);
    return t;
  };

  beforeAll(async () => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await admin.ping();
  });

  afterAll(async () => {
    await Promise.all(opened.map((t) => t.close()));
    let cursor = '0';
    do {
      const [next, found] = await admin.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (found.length > 0) await admin.del(...found);
      cursor = next;
    } while (cursor !== '0');
    await admin.quit();
  });

  test("Scalelite's key and value: <namespace>:protector_token_<T> = JSON {record_id, format} with a PX ttl", async () => {
    const tokens = open();
    const token = await tokens.issue(GRANT, 60_000);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const key = `${namespace}:protector_token_${token}`;
    expect(JSON.parse((await admin.get(key))!)).toEqual({ record_id: GRANT.recordId, format: GRANT.format });
    const pttl = await admin.pttl(key);
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });

  test('works once, and the key is gone afterwards', async () => {
    const tokens = open();
    const token = await tokens.issue(GRANT, 60_000);
    expect(await tokens.consume(token)).toEqual(GRANT);
    expect(await tokens.consume(token)).toBeNull();
    expect(await admin.exists(`${namespace}:protector_token_${token}`)).toBe(0);
  });

  test('20 concurrent consumers over separate connections: exactly one winner', async () => {
    const issuer = open();
    const consumers = Array.from({ length: 4 }, () => open());
    for (let round = 0; round < 5; round += 1) {
      const token = await issuer.issue(GRANT, 60_000);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => consumers[i % consumers.length].consume(token)));
      expect(results.filter((r) => r !== null)).toEqual([GRANT]);
    }
  });

  test('a token issued by one process is consumed by another', async () => {
    const token = await open().issue({ recordId: 'r-2', format: 'video' }, 60_000);
    expect(await open().consume(token)).toEqual({ recordId: 'r-2', format: 'video' });
  });

  test('ttl is respected', async () => {
    const tokens = open();
    const short = await tokens.issue(GRANT, 150);
    const long = await tokens.issue(GRANT, 10_000);
    await sleep(400);
    expect(await tokens.consume(short)).toBeNull();
    expect(await tokens.consume(long)).toEqual(GRANT);
  });

  test('a stored value of the wrong shape is consumed but grants nothing', async () => {
    const tokens = open();
    for (const value of ['not json', '{"record_id":"r"}', '{"record_id":"","format":"presentation"}', '[1]', '{"recordId":"r","format":"f"}']) {
      const token = randomBytes(32).toString('hex');
      await admin.set(`${namespace}:protector_token_${token}`, value, 'PX', 60_000);
      expect(await tokens.consume(token)).toBeNull();
      expect(await admin.exists(`${namespace}:protector_token_${token}`)).toBe(0);
    }
  });

  test('a value written by Scalelite is understood', async () => {
    const token = randomBytes(32).toString('hex');
    await admin.set(`${namespace}:protector_token_${token}`, JSON.stringify({ record_id: 'legacy-1', format: 'podcast' }), 'EX', 60);
    expect(await open().consume(token)).toEqual({ recordId: 'legacy-1', format: 'podcast' });
  });

  test('malformed tokens → null without a round trip (works on a closed client)', async () => {
    const tokens = open();
    await tokens.close();
    for (const bad of ['', 'A'.repeat(64), 'a'.repeat(63), `${'a'.repeat(64)}*`, '*', `${'a'.repeat(64)}\r\nFLUSHALL`]) {
      expect(await tokens.consume(bad)).toBeNull();
    }
    // A well-formed token does reach Redis, and the closed client says so.
    await expect(tokens.consume('a'.repeat(64))).rejects.toThrow();
  });

  test('the MULTI GET DEL path (Redis < 6.2) is just as one-time', async () => {
    const issuer = open();
    const consumers = Array.from({ length: 4 }, () => open({ useGetDel: false }));
    const token = await issuer.issue(GRANT, 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => consumers[i % consumers.length].consume(token)));
    expect(results.filter((r) => r !== null)).toEqual([GRANT]);
    expect(await consumers[0].consume(await issuer.issue(GRANT, 60_000))).toEqual(GRANT);
  });

  test('a server without GETDEL is detected once, then MULTI GET DEL takes over', async () => {
    const tokens = open();
    const token = await tokens.issue(GRANT, 60_000);
    const other = await tokens.issue(GRANT, 60_000);
    const spy = jest.spyOn(Redis.prototype, 'getdel').mockRejectedValue(new Error("ERR unknown command 'getdel', with args beginning with: "));
    try {
      expect(await tokens.consume(token)).toEqual(GRANT);
      expect(await tokens.consume(token)).toBeNull();
      expect(await tokens.consume(other)).toEqual(GRANT);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  test('other Redis errors are not mistaken for a missing GETDEL', async () => {
    const tokens = open();
    const token = await tokens.issue(GRANT, 60_000);
    const spy = jest.spyOn(Redis.prototype, 'getdel').mockRejectedValueOnce(new Error('LOADING Redis is loading the dataset in memory'));
    try {
      await expect(tokens.consume(token)).rejects.toThrow(/LOADING/);
      expect(await tokens.consume(token)).toEqual(GRANT);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  test('refuses empty grants and bad ttls without writing', async () => {
    const tokens = open();
    await expect(tokens.issue({ recordId: '', format: 'presentation' }, 1000)).rejects.toThrow(TypeError);
    await expect(tokens.issue(GRANT, 0)).rejects.toThrow(RangeError);
  });
});
