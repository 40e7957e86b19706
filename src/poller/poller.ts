import type { Logger } from 'pino';
import { decideOrphans, decidePoll, freshHealth, PollSettings, ServerHealth } from '../commands/poll';
import { isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { PollFailureReason } from '../events/catalog';
import { PoolReader } from '../projections/ports';
import { Meeting, Server } from '../projections/pool';
import { BbbGateway } from '../infra/bbb/client';
import { observe } from './observe';

export interface PollerSettings extends PollSettings {
  intervalMs: number;
  concurrency: number;
  passTimeoutMs: number;
}

export interface PollerDeps {
  pool: PoolReader;
  writeSide: WriteSide;
  bbb: BbbGateway;
  settings: PollerSettings;
  logger: Logger;
  clock: () => Date;
  /** best-effort BBB end for meetings of a server that went offline */
  endMeeting: (server: Server, meeting: Meeting) => Promise<boolean>;
  actor?: Actor;
  /** told of each poll of a server (its failure reason, null when it answered) and of each pass */
  onPolled?: (serverId: string, failure: PollFailureReason | null) => void;
  onPass?: (summary: PollSummary) => void;
}

export interface PollSummary {
  servers: number;
  polled: number;
  online: number;
  events: number;
  durationMs: number;
  /** the servers whose poll failed in this pass, and why */
  failed: Array<{ serverId: string; reason: PollFailureReason; error: string }>;
}

/**
 * Polls every BBB server and turns what it saw into events. Passes never
 * overlap: a poll asked for during a pass (poll:all) runs right after it.
 */
export class Poller {
  private readonly health = new Map<string, ServerHealth>();
  private running: Promise<PollSummary> | null = null;
  private queued: Promise<PollSummary> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly actor: Actor;

  constructor(private readonly deps: PollerDeps) {
    this.actor = deps.actor ?? { kind: 'poller', name: 'poller' };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.pollAll();
      } catch (err) {
        this.deps.logger.error({ err }, 'poll pass failed');
      }
      if (!this.stopped) this.timer = setTimeout(loop, this.deps.settings.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.queued?.catch(() => undefined);
  }

  /** One pass over every server, now (after the pass under way, if any). */
  pollAll(): Promise<PollSummary> {
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.queued) {
      this.queued = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return this.pollAll();
        });
    }
    return this.queued;
  }

  private async pass(): Promise<PollSummary> {
    const { pool, settings, logger, clock } = this.deps;
    const started = clock();
    const deadline = started.getTime() + settings.passTimeoutMs;
    const servers = await pool.servers();
    for (const id of this.health.keys()) if (!servers.some((s) => s.id === id)) this.health.delete(id);
    let polled = 0;
    let events = 0;
    const failed: PollSummary['failed'] = [];
    const queue = [...servers];
    const worker = async () => {
      for (let server = queue.shift(); server; server = queue.shift()) {
        if (clock().getTime() > deadline) {
          logger.warn({ serverId: server.id }, 'poll pass out of time; server left for the next pass');
          continue;
        }
        try {
          // Read after the await: `events += await …` would add to a value read before it, losing other workers' counts.
          const appended = await this.pollServer(server, failed);
          events += appended;
          polled += 1;
        } catch (err) {
          logger.error({ err, serverId: server.id }, 'polling a server failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, servers.length) }, worker));
    events += await this.reconcileOrphans();
    const after = await pool.servers();
    const summary = { servers: servers.length, polled, online: after.filter((s) => s.online).length, events, durationMs: clock().getTime() - started.getTime(), failed };
    logger.debug(summary, 'poll pass done');
    this.deps.onPass?.(summary);
    return summary;
  }

  private async pollServer(seen: Server, failed: PollSummary['failed']): Promise<number> {
    const { writeSide, bbb, settings, logger, clock } = this.deps;
    const startedAt = clock();
    const outcome = await observe(bbb, seen);
    this.deps.onPolled?.(seen.id, outcome.ok ? null : outcome.reason);
    if (!outcome.ok) failed.push({ serverId: seen.id, reason: outcome.reason, error: outcome.error.slice(0, 1000) });
    const committed = await writeSide.decide(this.actor, async (view) => {
      const server = await view.server(seen.id);
      // Removed while we were asking it: nothing to record.
      if (!server) return { events: [], result: null };
      const decision = decidePoll(server, await view.meetingsOnServer(server.id), outcome, this.health.get(server.id) ?? freshHealth(), startedAt, settings);
      return { events: decision.events, result: { decision, server } };
    });
    if (isDomainError(committed) || !committed.result) return 0;
    const { decision, server } = committed.result;
    this.health.set(server.id, decision.health);
    const now = await this.deps.pool.server(server.id);
    const line = `Server id=${server.id} ${now?.online ? 'online' : 'offline'} load: ${now?.load ?? 'unavailable'}`;
    if (committed.events.length > 0) logger.info({ serverId: server.id, events: committed.events.map((e) => e.event.type) }, line);
    else logger.debug({ serverId: server.id }, line);
    for (const { event } of committed.events) {
      if (event.type === 'ServerPollFailed') logger.warn({ serverId: server.id, url: server.url, reason: event.data.reason, error: event.data.error }, `polls of server ${server.id} fail: ${event.data.error}`);
      if (event.type === 'ServerPollRecovered') logger.info({ serverId: server.id }, `polls of server ${server.id} succeed again`);
    }
    if (decision.endCalls.length > 0) void this.endAll(server, decision.endCalls);
    return committed.events.length;
  }

  private async reconcileOrphans(): Promise<number> {
    const committed = await this.deps.writeSide.decide(this.actor, async (view) => {
      const serverIds = new Set((await view.servers()).map((s) => s.id));
      return { events: decideOrphans(await view.meetings(), serverIds), result: null };
    });
    return isDomainError(committed) ? 0 : committed.events.length;
  }

  private async endAll(server: Server, meetings: Meeting[]): Promise<void> {
    for (const meeting of meetings) {
      const ok = await this.deps.endMeeting(server, meeting).catch(() => false);
      if (!ok) this.deps.logger.warn({ serverId: server.id, meetingId: meeting.meetingId }, 'could not end meeting on offline server');
    }
  }
}
