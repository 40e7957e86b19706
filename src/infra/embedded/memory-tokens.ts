import { isPlaybackToken, newPlaybackToken } from '../../recordings/protection';
import { checkedGrant, PlaybackGrant, PlaybackTokens, tokenTtlMs } from '../../recordings/tokens';

interface Entry {
  grant: PlaybackGrant;
  expiresAt: number;
}

export interface MemoryPlaybackTokensOptions {
  /** injectable clock (ms since the epoch), for tests */
  now?: () => number;
  /** how often expired tokens that nobody consumes are dropped; 0 disables the sweep */
  sweepIntervalMs?: number;
}

/**
 * Playback tokens in process memory: the embedded (single-process) default.
 * Consume is a synchronous get-and-delete, so it is atomic within the process.
 */
export class MemoryPlaybackTokens implements PlaybackTokens {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(options: MemoryPlaybackTokensOptions = {}) {
    this.now = options.now ?? Date.now;
    const every = options.sweepIntervalMs ?? 60_000;
    // Tokens listed by getRecordings but never played would otherwise accumulate until restart.
    this.sweeper = every > 0 ? setInterval(() => this.sweep(), every) : null;
    // Housekeeping must not keep an otherwise finished process (or a test run) alive.
    this.sweeper?.unref();
  }

  async issue(grant: PlaybackGrant, ttlMs: number): Promise<string> {
    const checked = checkedGrant(grant);
    const ttl = tokenTtlMs(ttlMs);
    let token = newPlaybackToken();
    // 256 random bits do not collide in practice; the loop only makes overwriting impossible.
    while (this.entries.has(token)) token = newPlaybackToken();
    this.entries.set(token, { grant: checked, expiresAt: this.now() + ttl });
    return token;
  }

  async consume(token: string): Promise<PlaybackGrant | null> {
    if (!isPlaybackToken(token)) return null;
    const entry = this.entries.get(token);
    if (!entry) return null;
    this.entries.delete(token);
    return this.now() < entry.expiresAt ? { ...entry.grant } : null;
  }

  /** Drop every expired token; returns how many were dropped. */
  sweep(): number {
    const now = this.now();
    let dropped = 0;
    for (const [token, entry] of this.entries) {
      if (now >= entry.expiresAt) {
        this.entries.delete(token);
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Tokens held, expired or not (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
  }
}
