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
