/** What a one-time playback token unlocks: one playback format of one recording. */
export interface PlaybackGrant {
  recordId: string;
  format: string;
}

/**
 * One-time playback tokens for protected recordings (Scalelite §4.5):
 * getRecordings issues one per protected playback URL; the play route consumes
 * it. A token works at most once, even under concurrent consumers, and never
 * after its ttl.
 */
export interface PlaybackTokens {
  /** A fresh token (64 lowercase hex) for `grant`, valid for `ttlMs`. */
  issue(grant: PlaybackGrant, ttlMs: number): Promise<string>;
  /**
   * The grant, removing the token atomically; null for a malformed, unknown,
   * expired or already consumed token. Rejects only when the store itself fails.
   */
  consume(token: string): Promise<PlaybackGrant | null>;
  /** Release timers and connections. */
  close(): Promise<void>;
}

/** Store ttls are whole milliseconds and must be positive (Redis PX rejects 0). */
export function tokenTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`a playback token ttl must be a positive number of milliseconds, got ${ttlMs}`);
  return Math.max(1, Math.ceil(ttlMs));
}

/** A copy of the grant, refusing what could never be consumed (stores reject empty fields on the way out). */
export function checkedGrant(grant: PlaybackGrant): PlaybackGrant {
  if (typeof grant?.recordId !== 'string' || grant.recordId === '' || typeof grant.format !== 'string' || grant.format === '') {
    throw new TypeError('a playback grant needs a non-empty recordId and format');
  }
  return { recordId: grant.recordId, format: grant.format };
}
