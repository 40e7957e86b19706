import type { Logger } from 'pino';
import { decideOrphans, decidePoll, freshHealth, Polled, PollOutcome, PollSettings, ServerHealth, unroutedReported } from '../commands/poll';
import { Decided } from '../commands/decision';
import { isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { PollFailureReason } from '../events/catalog';
import { PoolReader } from '../projections/ports';
import { byAddition, Meeting, Server } from '../projections/pool';
import { BbbGateway } from './ports';
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
  /** when each server's latest poll started (epoch ms): a pass starts with the least recent */
  private readonly lastPolled = new Map<string, number>();
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
    const present = new Set(servers.map((s) => s.id));
    for (const id of this.health.keys()) if (!present.has(id)) this.health.delete(id);
    for (const id of this.lastPolled.keys()) if (!present.has(id)) this.lastPolled.delete(id);
    let polled = 0;
    let events = 0;
    const failed: PollSummary['failed'] = [];
    // The least recently polled first: a server a pass ran out of time for is the first of the next, so none starves.
    const queue = [...servers].sort((a, b) => (this.lastPolled.get(a.id) ?? -1) - (this.lastPolled.get(b.id) ?? -1) || byAddition(a, b));
    let left = 0;
    const worker = async () => {
      let mine = 0;
      for (let server = queue.shift(); server; server = queue.shift()) {
        // Each worker polls at least one server a pass, so even a pass out of time moves the rotation on.
        if (mine > 0 && clock().getTime() > deadline) {
          left += 1;
          continue;
        }
        mine += 1;
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
    if (left > 0)
      logger.warn({ left, servers: servers.length, passTimeoutMs: settings.passTimeoutMs }, `poll pass out of time: ${left} servers left for the next pass, where they come first`);
    events += await this.reconcileOrphans();
    const after = await pool.servers();
    const summary = { servers: servers.length, polled, online: after.filter((s) => s.online).length, events, durationMs: clock().getTime() - started.getTime(), failed };
    logger.debug(summary, 'poll pass done');
    this.deps.onPass?.(summary);
    return summary;
  }

  private async pollServer(seen: Server, failed: PollSummary['failed']): Promise<number> {
    const { writeSide, bbb, logger, clock } = this.deps;
    const startedAt = clock();
    const outcome = await observe(bbb, seen);
    this.lastPolled.set(seen.id, startedAt.getTime());
    this.deps.onPolled?.(seen.id, outcome.ok ? null : outcome.reason);
    if (!outcome.ok) failed.push({ serverId: seen.id, reason: outcome.reason, error: outcome.error.slice(0, 1000) });
    // Most polls change nothing. Decided first on the read model, without the lock, such a
    // poll costs no lock and no log round trip; only a poll with something to record is
    // decided again under the lock, on the view every decision sees.
    const tentative = await this.decideOn(this.deps.pool, seen.id, outcome, startedAt);
    if (!tentative) return 0;
    if (tentative.decision.events.length === 0) {
      this.health.set(seen.id, tentative.decision.result.health);
      return 0;
    }
    const committed = await writeSide.decide(this.actor, async (view) => {
      const decided = await this.decideOn(view, seen.id, outcome, startedAt);
      return { events: decided?.decision.events ?? [], result: decided };
    });
    if (isDomainError(committed) || !committed.result) return 0;
    const { decision, server } = committed.result;
    this.health.set(server.id, decision.result.health);
    const now = await this.deps.pool.server(server.id);
    const line = `Server id=${server.id} ${now?.online ? 'online' : 'offline'} load: ${now?.load ?? 'unavailable'}`;
    if (committed.events.length > 0) logger.info({ serverId: server.id, events: committed.events.map((e) => e.event.type) }, line);
    else logger.debug({ serverId: server.id }, line);
    for (const { event } of committed.events) {
      if (event.type === 'ServerPollFailed')
        logger.warn({ serverId: server.id, url: server.url, reason: event.data.reason, error: event.data.error }, `polls of server ${server.id} fail: ${event.data.error}`);
      if (event.type === 'ServerPollRecovered') logger.info({ serverId: server.id }, `polls of server ${server.id} succeed again`);
      if (event.type === 'MeetingAdopted')
        logger.info({ serverId: server.id, meetingId: event.data.meetingId }, `meeting ${event.data.meetingId} found running on server ${server.id} without a route: routed there`);
    }
    if (decision.result.endCalls.length > 0) void this.endAll(server, decision.result.endCalls);
    return committed.events.length;
  }

  /** The poll's decision on a view of the pool; null when the server is gone (removed while we asked it). */
  private async decideOn(view: PoolReader, serverId: string, outcome: PollOutcome, startedAt: Date): Promise<{ decision: Decided<Polled>; server: Server } | null> {
    const server = await view.server(serverId);
    if (!server) return null;
    const routes = await view.meetingsOnServer(serverId);
    // Only meetings with no route on this server are looked up: usually none.
    const routedElsewhere = new Set<string>();
    if (outcome.ok) {
      for (const meetingId of unroutedReported(outcome.meetings, routes)) {
        const route = await view.meeting(meetingId);
        if (route && route.serverId !== serverId) routedElsewhere.add(meetingId);
      }
    }
    const decision = decidePoll({ outcome, startedAt }, { server, routes, health: this.health.get(serverId) ?? freshHealth(), routedElsewhere }, this.deps.settings);
    return { decision, server };
  }

  private async reconcileOrphans(): Promise<number> {
    const orphans = async (view: PoolReader) => {
      const serverIds = new Set((await view.servers()).map((s) => s.id));
      return decideOrphans({ routes: await view.meetings(), serverIds });
    };
    // Checked on the read model first: routes outlive their server only after a removal, and a pass without one takes no lock.
    if ((await orphans(this.deps.pool)).events.length === 0) return 0;
    const committed = await this.deps.writeSide.decide(this.actor, orphans);
    return isDomainError(committed) ? 0 : committed.events.length;
  }

  private async endAll(server: Server, meetings: Meeting[]): Promise<void> {
    for (const meeting of meetings) {
      const ok = await this.deps.endMeeting(server, meeting).catch(() => false);
      if (!ok) this.deps.logger.warn({ serverId: server.id, meetingId: meeting.meetingId }, 'could not end meeting on offline server');
    }
  }
}
