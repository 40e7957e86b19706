import type { Logger } from 'pino';
import { DomainError, domainError, isDomainError } from '../commands/errors';
import { decideServer, ServerCommand } from '../commands/servers';
import { endMeetingLog, parseDryRun, parseServersYaml, parseSyncMode, planSync, serversYaml, SyncMode, SyncStep } from '../commands/server-sync';
import { WriteSide } from '../commands/write-side';
import { PoolReader } from '../projections/ports';
import { byAddition, Meeting, Server } from '../projections/pool';
import { AdminOutcome, AdminRequest, str, truthy } from './admin-kit';

/*
 * `servers:sync` and `servers:yaml` over the admin API (reference §6). The
 * document is validated whole before anything changes; the plan is made
 * against a read model that has every event of the log; then each step is
 * one decision of the write side, so every change is an event attributed to
 * the admin who ran the sync. The progress lines are Scalelite's log lines,
 * streamed as they happen.
 */

export interface ServerSyncDeps {
  pool: PoolReader;
  writeSide: WriteSide;
  /** tell a BBB server to end a meeting; false when it could not be told */
  endOnServer: (server: Server, meeting: Meeting) => Promise<boolean>;
  /** SERVER_ID_IS_HOSTNAME: ids that are not the URL's hostname are worth a warning in the log */
  serverIdIsHostname?: boolean;
  logger: Logger;
}

/** What the sync did (or, in a dry run, would do) for one step; never a secret. */
export interface SyncStepReport {
  kind: SyncStep['kind'];
  id: string;
  log: string[];
  /** force: the meetings whose routes were ended */
  meetings_ended?: string[];
  /** force: the meetings BBB could not be told to end */
  end_failed?: string[];
}

export interface SyncResult {
  steps: SyncStepReport[];
  dry_run: boolean;
  mode: SyncMode;
}

const badRequest = (message: string): AdminOutcome => ({ status: 400, json: { error: message } });

/** A step the write side refused, or one that failed while it ran. */
class StepFailed extends Error {}

export class ServerSyncAdmin {
  constructor(private readonly deps: ServerSyncDeps) {}

  /**
   * POST syncServers {yaml, mode?, dry_run?}: converge the pool on the
   * document. A bad document or mode is a 400 and changes nothing; otherwise
   * the answer is a stream of `{log}` lines (and `{warning}` for a meeting BBB
   * could not be told to end), then the SyncResult, or an error naming the
   * step that failed (the steps before it stay applied).
   */
  syncServers(req: AdminRequest): AdminOutcome {
    const source = str(req.params.yaml);
    if (source === undefined || source.trim() === '') return badRequest('yaml: the servers document is required');
    const parsed = parseServersYaml(source);
    if ('error' in parsed) return badRequest(parsed.error);
    const modeParam = req.params.mode;
    if (modeParam !== undefined && modeParam !== null && typeof modeParam !== 'string') return badRequest('mode must be keep, cordon or force');
    const mode = parseSyncMode(modeParam ?? undefined);
    if (typeof mode !== 'string') return badRequest(mode.error);
    const dryParam = req.params.dry_run;
    const dryRun = typeof dryParam === 'boolean' ? dryParam : dryParam === undefined || dryParam === null ? false : parseDryRun(str(dryParam) ?? 'true');
    if (this.deps.serverIdIsHostname) {
      for (const [id, want] of parsed.servers) {
        if (new URL(want.url).hostname.toLowerCase() !== id)
          this.deps.logger.warn({ serverId: id, url: want.url }, "servers:sync: the id is not the URL's hostname (SERVER_ID_IS_HOSTNAME=true)");
      }
    }

    return {
      stream: async (progress) => {
        const say = (line: string) => {
          this.deps.logger.info({ actor: req.actor.name, dryRun, correlationId: req.correlationId }, line);
          progress({ log: line });
        };
        const warn = (line: string) => {
          this.deps.logger.warn({ actor: req.actor.name, correlationId: req.correlationId }, line);
          progress({ warning: line });
        };
        // Planned against a read model with every event of the log (the write side waits for it), under the decision lock.
        const planned = await this.deps.writeSide.decide(
          req.actor,
          async (view) => {
            const current = (await view.servers()).sort(byAddition);
            const meetings = new Map<string, Meeting[]>();
            for (const s of current) if (!parsed.servers.has(s.id)) meetings.set(s.id, await view.meetingsOnServer(s.id));
            const steps = planSync(parsed.servers, current, (id) => meetings.get(id)?.length ?? 0, mode);
            return { events: [], result: { steps, meetings } };
          },
          req.correlationId,
        );
        if (isDomainError(planned)) throw new Error(planned.message);
        const { steps, meetings } = planned.result;

        const reports: SyncStepReport[] = [];
        for (const [i, step] of steps.entries()) {
          const report: SyncStepReport = { kind: step.kind, id: step.id, log: [] };
          reports.push(report);
          const line = (text: string) => {
            report.log.push(text);
            say(text);
          };
          step.log.forEach(line);
          if (dryRun) {
            if (step.kind === 'endMeetingsAndRemove') {
              for (const m of meetings.get(step.id) ?? []) line(endMeetingLog(step.id, m.meetingId));
              step.doneLog.forEach(line);
            }
            continue;
          }
          try {
            await this.execute(req, step, report, line, warn);
          } catch (e) {
            const reason = e instanceof Error ? e.message : String(e);
            const applied = i === 0 ? 'No step was applied' : `The ${i} step${i === 1 ? '' : 's'} before it ${i === 1 ? 'was' : 'were'} applied`;
            throw new Error(`Sync stopped at step ${i + 1} of ${steps.length} ([${step.id}] ${step.kind}): ${reason}. ${applied}; the rest were not run.`);
          }
        }
        const result: SyncResult = { steps: reports, dry_run: dryRun, mode };
        return result;
      },
    };
  }

  /** GET getServersYaml [verbose]: the pool as a servers:sync document (with the secrets: it is the export format). */
  async serversYaml(req: AdminRequest): Promise<AdminOutcome> {
    const servers = (await this.deps.pool.servers()).sort(byAddition);
    return { status: 200, json: { yaml: serversYaml(servers, truthy(req.params.verbose)) } };
  }

  private async execute(req: AdminRequest, step: SyncStep, report: SyncStepReport, line: (text: string) => void, warn: (text: string) => void): Promise<void> {
    const id = step.id;
    switch (step.kind) {
      case 'keep':
        return;
      case 'add':
        await this.decide(req, { type: 'AddServer', serverId: id, url: step.url, secret: step.secret, loadMultiplier: step.loadMultiplier, tag: step.tag });
        return;
      case 'update':
        await this.decide(req, { type: 'UpdateServer', serverId: id, ...step.changes });
        return;
      case 'enable':
        await this.decide(req, { type: 'UpdateServer', serverId: id, state: 'enable' });
        return;
      case 'cordon':
      case 'cordonForRemoval':
        await this.decide(req, { type: 'UpdateServer', serverId: id, state: 'cordon' });
        return;
      case 'remove':
        // Planned as empty: a meeting placed on it since is a reason to stop, not to drop its route.
        await this.decide(req, { type: 'RemoveServer', serverId: id }, (meetings) =>
          meetings.length > 0 ? domainError('invalidState', `Server not empty: ${meetings.length} meeting(s) were placed on it after the sync began`) : null,
        );
        return;
      case 'endMeetingsAndRemove': {
        // The routes go and the server takes no new meetings or joins; then BBB is told, as panic does.
        const { server, meetings } = await this.decide(req, { type: 'DisableServer', serverId: id, endMeetings: true });
        report.meetings_ended = meetings.map((m) => m.meetingId);
        report.end_failed = [];
        for (const m of meetings) {
          line(endMeetingLog(id, m.meetingId));
          const ended = server ? await this.deps.endOnServer(server, m).catch(() => false) : false;
          if (!ended) {
            report.end_failed.push(m.meetingId);
            warn(`[${id}] WARNING: Could not end meeting id=${m.meetingId} on its server`);
          }
        }
        await this.decide(req, { type: 'RemoveServer', serverId: id }, (left) => (left.length > 0 ? domainError('invalidState', 'Server still not empty!') : null));
        step.doneLog.forEach(line);
        return;
      }
    }
  }

  /**
   * One step as one decision: the server command decided against the current
   * view (after an optional guard on the server's meetings); the server and its
   * meetings as they were before.
   */
  private async decide(req: AdminRequest, command: ServerCommand, guard?: (meetings: Meeting[]) => DomainError | null): Promise<{ server: Server | null; meetings: Meeting[] }> {
    const outcome = await this.deps.writeSide.decide(
      req.actor,
      async (view) => {
        const server = await view.server(command.serverId);
        const meetingsOnServer = server ? await view.meetingsOnServer(server.id) : [];
        const refused = server && guard ? guard(meetingsOnServer) : null;
        if (refused) return refused;
        const decided = decideServer(command, { server, meetingsOnServer });
        return isDomainError(decided) ? decided : { events: decided.events, result: { server, meetings: meetingsOnServer } };
      },
      req.correlationId,
    );
    if (isDomainError(outcome)) throw new StepFailed(outcome.message);
    return outcome.result;
  }
}
