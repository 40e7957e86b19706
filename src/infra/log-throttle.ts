/**
 * At most one log line per kind of event per interval, so that a client sending
 * garbage in a loop cannot flood the log: the next line says how many were held back.
 */
export class LogThrottle {
  private readonly kinds = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: hold this line back; a number: log it, with that many held back since the last one. */
  take(kind: string): number | null {
    const t = this.now();
    const seen = this.kinds.get(kind);
    if (seen && t - seen.at < this.intervalMs) {
      seen.held += 1;
      return null;
    }
    // Kinds are a handful of fixed names; the map stays small.
    this.kinds.set(kind, { at: t, held: 0 });
    return seen?.held ?? 0;
  }
}
