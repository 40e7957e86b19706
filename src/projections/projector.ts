import type { Logger } from 'pino';
import { StoredEvent } from '../events/catalog';
import { EventLog, LogSubscription } from '../events/log';

/** A read model fed from the log: applies each event at most once, tracked by its checkpoint. */
export interface Projection {
  name: string;
  checkpoint(): Promise<number>;
  apply(batch: StoredEvent[]): Promise<void>;
}

/**
 * Follows the log and feeds every projection. Each projection skips what it
 * already has, so they can start from different checkpoints (the in-memory
 * pool from nothing, the history table from where it stopped).
 */
export class Projector {
  private subscription: LogSubscription | null = null;

  constructor(
    private readonly log: EventLog,
    private readonly projections: Projection[],
    private readonly logger: Logger,
  ) {}

  /** Start following the log; `group` makes several projector processes share it, one active at a time. */
  async start(group?: string): Promise<void> {
    const from = async () => {
      const checkpoints = await Promise.all(this.projections.map((p) => p.checkpoint()));
      const next = Math.min(...checkpoints) + 1;
      this.logger.info({ from: next, projections: this.projections.map((p, i) => `${p.name}@${checkpoints[i]}`) }, 'projecting the log');
      return next;
    };
    this.subscription = this.log.subscribe(
      from,
      async (batch) => {
        for (const p of this.projections) await p.apply(batch);
      },
      { group, onError: (err, attempt) => this.logger.error({ err, attempt }, 'projection failed; retrying the same events') },
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }
}
