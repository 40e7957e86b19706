import { MemoryPlaybackTokens } from '../../../src/infra/embedded/memory-tokens';

const GRANT = { recordId: 'abc123-1714561200000', format: 'presentation' };

describe('MemoryPlaybackTokens', () => {
  let clock: number;
  let tokens: MemoryPlaybackTokens;
  beforeEach(() => {
    clock = 1_700_000_000_000;
    tokens = new MemoryPlaybackTokens({ now: () => clock, sweepIntervalMs: 0 });
  });
  afterEach(() => tokens.close());

  test('a token is 64 lowercase hex and works exactly once', async () => {
    const token = await tokens.issue(GRANT, 60_000);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(await tokens.consume(token)).toEqual(GRANT);
    expect(await tokens.consume(token)).toBeNull();
  });

  test('concurrent consumers: exactly one wins', async () => {
    const token = await tokens.issue(GRANT, 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => tokens.consume(token)));
    expect(results.filter((r) => r !== null)).toEqual([GRANT]);
  });

  test('tokens are independent of each other', async () => {
    const a = await tokens.issue(GRANT, 60_000);
    const b = await tokens.issue({ recordId: 'other-1', format: 'video' }, 60_000);
    expect(a).not.toBe(b);
    expect(await tokens.consume(b)).toEqual({ recordId: 'other-1', format: 'video' });
    expect(await tokens.consume(a)).toEqual(GRANT);
  });

  test('expiry: valid until ttl, dead at ttl', async () => {
    const early = await tokens.issue(GRANT, 60_000);
    const late = await tokens.issue(GRANT, 60_000);
    clock += 59_999;
    expect(await tokens.consume(early)).toEqual(GRANT);
    clock += 1;
    expect(await tokens.consume(late)).toBeNull();
  });

  test('an expired token is removed when looked at', async () => {
    const token = await tokens.issue(GRANT, 1000);
    clock += 1000;
    expect(tokens.size).toBe(1);
    expect(await tokens.consume(token)).toBeNull();
    expect(tokens.size).toBe(0);
  });

  test('sweep drops only expired tokens', async () => {
    await tokens.issue(GRANT, 1000);
    await tokens.issue(GRANT, 1000);
    const keeper = await tokens.issue(GRANT, 5000);
    clock += 1000;
    expect(tokens.sweep()).toBe(2);
    expect(tokens.size).toBe(1);
    expect(await tokens.consume(keeper)).toEqual(GRANT);
  });

  test('malformed or unknown tokens → null, and leave the store alone', async () => {
    const token = await tokens.issue(GRANT, 60_000);
    for (const bad of [token.toUpperCase(), token.slice(1), `${token} `, '', 'x'.repeat(64), undefined as unknown as string]) {
      expect(await tokens.consume(bad)).toBeNull();
    }
    expect(await tokens.consume('0'.repeat(64))).toBeNull();
    expect(tokens.size).toBe(1);
    expect(await tokens.consume(token)).toEqual(GRANT);
  });

  test('the returned grant is a copy', async () => {
    const grant = { ...GRANT };
    const token = await tokens.issue(grant, 60_000);
    grant.recordId = 'mutated';
    expect(await tokens.consume(token)).toEqual(GRANT);
  });

  test('refuses empty grants and non-positive ttls', async () => {
    await expect(tokens.issue({ recordId: '', format: 'presentation' }, 1000)).rejects.toThrow(TypeError);
    await expect(tokens.issue({ recordId: 'r', format: '' }, 1000)).rejects.toThrow(TypeError);
    await expect(tokens.issue(GRANT, 0)).rejects.toThrow(RangeError);
    await expect(tokens.issue(GRANT, -5)).rejects.toThrow(RangeError);
    await expect(tokens.issue(GRANT, Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    expect(tokens.size).toBe(0);
  });

  test('the periodic sweep runs and does not keep the process alive', async () => {
    jest.useFakeTimers();
    const spy = jest.spyOn(global, 'setInterval');
    try {
      let now = 0;
      const swept = new MemoryPlaybackTokens({ now: () => now, sweepIntervalMs: 1000 });
      const timer = spy.mock.results[0].value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      await swept.issue(GRANT, 500);
      now = 600;
      jest.advanceTimersByTime(1000);
      expect(swept.size).toBe(0);
      await swept.close();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      spy.mockRestore();
      jest.useRealTimers();
    }
  });
});
