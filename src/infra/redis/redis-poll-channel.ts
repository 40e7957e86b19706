import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { connectRedis } from './connection';
import type { Logger } from 'pino';
import { PollSummary } from '../../poller/poller';
import { PollChannel } from '../../poller/ports';

type Reply = { id: string; summary?: PollSummary; error?: string };

/**
 * "Poll now" across processes: an api process asks over Redis pub/sub, the
 * active poller (wherever it runs) polls and answers.
 */
export class RedisPollChannel implements PollChannel {
  private readonly pub: Redis;
  private sub: Redis | null = null;
  private readonly pending = new Map<string, (reply: Reply) => void>();
  private readonly requests: string;
  private readonly replies: string;

  constructor(
    private readonly url: string,
    namespace: string,
    private readonly logger: Logger,
  ) {
    this.pub = connectRedis(url, {}, logger);
    this.requests = `${namespace}:poll-requests`;
    this.replies = `${namespace}:poll-replies`;
  }

  private async subscriber(): Promise<Redis> {
    if (!this.sub) {
      this.sub = connectRedis(this.url, {}, this.logger);
      this.sub.on('message', (channel: string, message: string) => {
        if (channel !== this.replies) return;
        try {
          const reply = JSON.parse(message) as Reply;
          this.pending.get(reply.id)?.(reply);
        } catch {
          // not ours
        }
      });
      await this.sub.subscribe(this.replies);
    }
    return this.sub;
  }

  /** Ask the active poller for a pass and wait for its summary. */
  async pollNow(timeoutMs: number): Promise<PollSummary> {
    await this.subscriber();
    const id = randomUUID();
    const answer = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no active poller answered within ${Math.round(timeoutMs / 1000)} s (is \`scalelite poller\` running?)`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(reply);
      });
    });
    const listeners = await this.pub.publish(this.requests, JSON.stringify({ id }));
    if (listeners === 0) {
      this.pending.get(id)?.({ id, error: 'no poller is running (start `scalelite poller` or `scalelite start`)' });
    }
    const reply = await answer;
    if (reply.error || !reply.summary) throw new Error(reply.error ?? 'the poller gave no summary');
    return reply.summary;
  }

  /** Answer requests with `poll` (which returns null when this process is not the active poller). */
  async serve(poll: () => Promise<PollSummary | null>): Promise<void> {
    const sub = connectRedis(this.url, {}, this.logger);
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.requests) return;
      let id: string;
      try {
        id = (JSON.parse(message) as { id: string }).id;
      } catch {
        return;
      }
      poll()
        .then(
          (summary) => (summary ? this.pub.publish(this.replies, JSON.stringify({ id, summary })) : undefined),
          (err: unknown) => this.pub.publish(this.replies, JSON.stringify({ id, error: err instanceof Error ? err.message : String(err) })),
        )
        .catch((err: unknown) => this.logger.warn({ err }, 'could not answer a poll request'));
    });
    await sub.subscribe(this.requests);
    this.servers.push(sub);
  }

  private readonly servers: Redis[] = [];

  async close(): Promise<void> {
    await Promise.all([this.pub, this.sub, ...this.servers].filter((r): r is Redis => r !== null).map((r) => r.quit().catch(() => undefined)));
  }
}
