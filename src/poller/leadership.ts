import type { Logger } from 'pino';
import { Lease } from '../coordination/lease';
import { Poller, PollSummary } from './poller';

/**
 * The poller lease outlives an interval by a quarter and is renewed four times
 * per lease: a standby takes over well within two intervals of the active
 * poller's death, and three missed renewals in a row are tolerated.
 */
export const pollerLeaseMs = (pollIntervalMs: number): number => Math.max(500, Math.round(pollIntervalMs * 1.25));

/** How often the poller lease is renewed (or, by a standby, tried). */
export const pollerLeaseCheckMs = (pollIntervalMs: number): number => Math.round(pollerLeaseMs(pollIntervalMs) / 4);

/**
 * Runs the poll loop while this process holds the lease: one poller is active
 * at a time, across processes. A standby keeps trying; when the active poller
 * dies its lease expires and a standby takes over (within the lease time plus
 * one check).
 */
export class PollerRole {
  private timer: NodeJS.Timeout | null = null;
  private leading = false;
  private stopped = false;

  constructor(
    private readonly poller: Poller,
    private readonly lease: Lease,
    private readonly checkEveryMs: number,
    private readonly logger: Logger,
  ) {}

  get isLeading(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.check();
  }

  private async check(): Promise<void> {
    if (this.stopped) return;
    let held = false;
    try {
      held = await this.lease.acquire();
    } catch (err) {
      this.logger.warn({ err }, 'could not reach the poller lease');
    }
    if (held && !this.leading) {
      this.leading = true;
      this.logger.info('this process is now the active poller');
      this.poller.start();
    } else if (!held && this.leading) {
      this.leading = false;
      this.logger.warn('lost the poller lease: polling stops here');
      await this.poller.stop();
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.check(), this.checkEveryMs);
    }
  }

  /** A poll pass now, if this process is the active poller. */
  async pollIfLeading(): Promise<PollSummary | null> {
    return this.leading ? this.poller.pollAll() : null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.poller.stop();
    if (this.leading) await this.lease.release();
    this.leading = false;
  }
}
