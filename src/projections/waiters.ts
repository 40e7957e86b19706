export class ProjectionTimeoutError extends Error {
  constructor(offset: number, timeoutMs: number, reached: number) {
    super(`the read model did not reach event ${offset} within ${timeoutMs} ms (it is at ${reached})`);
  }
}

/** Callers waiting for a checkpoint to reach an offset (read-your-writes). */
export class CheckpointWaiters {
  private waiting: Array<{ offset: number; resolve: () => void }> = [];

  constructor(private readonly current: () => number) {}

  wait(offset: number, timeoutMs: number): Promise<void> {
    if (this.current() >= offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== entry);
        reject(new ProjectionTimeoutError(offset, timeoutMs, this.current()));
      }, timeoutMs);
      this.waiting.push(entry);
    });
  }

  /** Call after the checkpoint moved. */
  advanced(): void {
    if (this.waiting.length === 0) return;
    const at = this.current();
    const ready = this.waiting.filter((w) => w.offset <= at);
    if (ready.length === 0) return;
    this.waiting = this.waiting.filter((w) => w.offset > at);
    for (const w of ready) w.resolve();
  }

  get size(): number {
    return this.waiting.length;
  }
}

/**
 * A checkpoint kept in a store another process may advance (a projector writing to PostgreSQL):
 * waiters are released when this process advances it, or when polling the store finds it moved.
 */
export class PolledCheckpoint {
  private known = -1;
  private readonly waiters = new CheckpointWaiters(() => this.known);
  private poll: NodeJS.Timeout | null = null;

  constructor(
    private readonly read: () => Promise<number>,
    private readonly defaultTimeoutMs = 10_000,
    /** how often a waiter looks for a checkpoint moved by another process */
    private readonly pollMs = 25,
  ) {}

  async current(): Promise<number> {
    const position = await this.read();
    this.advance(position);
    return position;
  }

  async waitFor(offset: number, timeoutMs = this.defaultTimeoutMs): Promise<void> {
    if (this.known >= offset || (await this.current()) >= offset) return;
    const waiting = this.waiters.wait(offset, timeoutMs);
    this.startPolling();
    return waiting;
  }

  /** This process moved the checkpoint (forward only, except `reset`). */
  advance(position: number): void {
    if (position <= this.known) return;
    this.known = position;
    this.waiters.advanced();
  }

  /** A rebuild replaced the store: its checkpoint is what it says, even if lower. */
  reset(position: number): void {
    this.known = position;
    this.waiters.advanced();
  }

  stop(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  private startPolling(): void {
    if (this.poll) return;
    this.poll = setInterval(() => {
      if (this.waiters.size === 0) {
        if (this.poll) clearInterval(this.poll);
        this.poll = null;
        return;
      }
      this.current().catch(() => undefined);
    }, this.pollMs);
    this.poll.unref();
  }
}
