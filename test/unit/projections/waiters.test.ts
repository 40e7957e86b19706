import { PolledCheckpoint, ProjectionTimeoutError } from '../../../src/projections/waiters';

describe('PolledCheckpoint', () => {
  test('given a store another process advances, when a caller waits, then polling releases it once the store holds the offset', async () => {
    let stored = 3;
    const position = new PolledCheckpoint(async () => stored, 2_000, 5);
    const waited = position.waitFor(7);
    setTimeout(() => (stored = 7), 30);
    await expect(waited).resolves.toBeUndefined();
    expect(await position.current()).toBe(7);
    position.stop();
  });

  test('given this process applied a batch, when it advances, then waiters are released without a read', async () => {
    let reads = 0;
    const position = new PolledCheckpoint(
      async () => {
        reads += 1;
        return -1;
      },
      2_000,
      60_000,
    );
    const waited = position.waitFor(4);
    position.advance(4);
    await expect(waited).resolves.toBeUndefined();
    expect(reads).toBe(1);
    position.stop();
  });

  test('given the store never reaches the offset, when the timeout passes, then the wait fails saying where it is', async () => {
    const position = new PolledCheckpoint(async () => 1, 2_000, 5);
    await expect(position.waitFor(9, 50)).rejects.toThrow(ProjectionTimeoutError);
    await expect(position.waitFor(9, 50)).rejects.toThrow(/did not reach event 9 within 50 ms \(it is at 1\)/);
    position.stop();
  });

  test('given a rebuild made the store shorter, when reset, then the lower checkpoint is what callers wait against', async () => {
    let stored = 10;
    const position = new PolledCheckpoint(async () => stored, 2_000, 5);
    expect(await position.current()).toBe(10);
    stored = 5;
    position.reset(5);
    await expect(position.waitFor(8, 50)).rejects.toThrow(/it is at 5/);
    position.stop();
  });
});
