import Redis from 'ioredis';
import { connectRedis } from './connection';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isPlaybackToken, newPlaybackToken } from '../../recordings/protection';
import { checkedGrant, PlaybackGrant, PlaybackTokens, tokenTtlMs } from '../../recordings/tokens';

/** Scalelite's stored shape, kept so tokens survive a switch between Scalelite and this balancer on one Redis. */
const StoredGrant = z.object({ record_id: z.string().min(1), format: z.string().min(1) });

export interface RedisPlaybackTokensOptions {
  /**
   * GETDEL needs Redis ≥ 6.2. By default it is tried first and, if the server does
   * not know it, MULTI GET DEL (Scalelite's way, equally atomic) is used from then
   * on; false goes straight to MULTI.
   */
  useGetDel?: boolean;
  logger?: Logger;
}

/** Playback tokens shared by every api process: `<namespace>:protector_token_<T>` strings with a PX ttl. */
export class RedisPlaybackTokens implements PlaybackTokens {
  private readonly redis: Redis;
  private useGetDel: boolean;

  constructor(
    url: string,
    private readonly namespace: string,
    options: RedisPlaybackTokensOptions = {},
  ) {
    this.redis = connectRedis(url, {}, options.logger);
    this.useGetDel = options.useGetDel ?? true;
  }

  private key(token: string): string {
    return `${this.namespace}:protector_token_${token}`;
  }

  async issue(grant: PlaybackGrant, ttlMs: number): Promise<string> {
    const { recordId, format } = checkedGrant(grant);
    const ttl = tokenTtlMs(ttlMs);
    const value = JSON.stringify({ record_id: recordId, format });
    // NX: a (practically impossible) collision must not overwrite someone else's live token.
    for (;;) {
      const token = newPlaybackToken();
      if ((await this.redis.set(this.key(token), value, 'PX', ttl, 'NX')) === 'OK') return token;
    }
  }

  async consume(token: string): Promise<PlaybackGrant | null> {
    // Validated before the key is built: nothing a client sends reaches Redis unless it is a token's shape.
    if (!isPlaybackToken(token)) return null;
    const raw = await this.takeAtomically(this.key(token));
    if (raw === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return null;
    }
    const stored = StoredGrant.safeParse(parsed);
    return stored.success ? { recordId: stored.data.record_id, format: stored.data.format } : null;
  }

  private async takeAtomically(key: string): Promise<string | null> {
    if (this.useGetDel) {
      try {
        return await this.redis.getdel(key);
      } catch (err) {
        if (!/unknown command/i.test((err as Error)?.message ?? '')) throw err;
        this.useGetDel = false;
      }
    }
    const replies = await this.redis.multi().get(key).del(key).exec();
    // exec() yields null when the transaction was aborted; each reply is [error, result].
    if (!replies) throw new Error('the Redis transaction consuming a playback token was aborted');
    const [getError, value] = replies[0];
    if (getError) throw getError;
    return typeof value === 'string' ? value : null;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
