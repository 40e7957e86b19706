import type { Logger } from 'pino';
import { decideDelete } from '../commands/recordings';
import { DomainError, domainError, isDomainError } from '../commands/errors';
import { WriteSide } from '../commands/write-side';
import { Actor } from '../events/envelope';
import { Lease } from '../coordination/lease';
import { RecordingDirs } from './files';
import { storageOf } from './fs-storage';
import { Recording } from './model';
import { RecordingQuery, RecordingReader } from './ports';
import { RecordingStorage } from './storage';

/*
 * Recording retention: delete recordings older than an age, on an admin's
 * request (recordings:purge) or by policy (RECORDING_RETENTION_DAYS), so
 * nobody has to script deleteRecordings checksums from cron (Scalelite #417).
 * Each deletion is a RecordingDeleted event that says why.
 */

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS, y: 365 * DAY_MS };
/** Recordings a purge can delete: a deleted one stays listed as deleted, for the audit. */
export const PURGEABLE_STATES = ['published', 'unpublished'];
/** Deleted per decision, so the decision lock is never held for long. */
const BATCH = 100;
/** A purge's answer lists at most this many recordings (it counts them all). */
const LISTED_MAX = 1_000;

/** '365d', '12w', '48h', '2y' (365-day years) or a bare number of days, as milliseconds. */
export function parseRetentionAge(text: string): number | DomainError {
  const m = /^\s*(\d{1,6})\s*([hdwy]?)\s*$/i.exec(text);
  const ms = m ? Number(m[1]) * UNIT_MS[(m[2] || 'd').toLowerCase()] : NaN;
  if (!m || ms <= 0) return domainError('invalidRequest', `'${text}' is not an age: use a number of hours, days, weeks or years, e.g. 48h, 365d, 12w, 2y`);
  return ms;
}

/** The error for a state a purge cannot take (a deleted recording stays listed), or null. */
export function unpurgeableState(states: string[]): DomainError | null {
  const bad = states.find((s) => !PURGEABLE_STATES.includes(s));
  return bad === undefined ? null : domainError('invalidRequest', `state '${bad}' cannot be purged: use ${PURGEABLE_STATES.join(' or ')}`);
}

export interface PurgeRequest {
  /** epoch ms: recordings that started before this go */
  before: number;
  states: string[];
  /** undefined: every tenant's; null: only recordings of no tenant */
  tenantId?: string | null;
  dryRun: boolean;
  /** written on each RecordingDeleted */
  reason: string;
  actor: Actor;
  correlationId?: string;
}

export interface PurgeOutcome {
  before: number;
  dryRun: boolean;
  /** how many were (or, on a dry run, would be) deleted */
  total: number;
  /** the first LISTED_MAX of them */
  recordings: Recording[];
}

export interface PurgeDeps {
  store: RecordingReader;
  writeSide: WriteSide<RecordingReader>;
  dirs: RecordingDirs;
  /** where the files are; the dirs when not given */
  storage?: RecordingStorage;
  logger: Logger;
}

export async function purgeRecordings(deps: PurgeDeps, req: PurgeRequest, onProgress: (deleted: number) => void = () => undefined): Promise<PurgeOutcome | DomainError> {
  const refused = unpurgeableState(req.states);
  if (refused) return refused;
  const query: RecordingQuery = { states: req.states, startedBefore: req.before, ...(req.tenantId !== undefined ? { tenantId: req.tenantId } : {}) };
  if (req.dryRun) {
    const [total, recordings] = await Promise.all([deps.store.count(query), deps.store.query({ ...query, limit: LISTED_MAX })]);
    return { before: req.before, dryRun: true, total, recordings };
  }
  const storage = storageOf(deps);
  const purged: Recording[] = [];
  let total = 0;
  for (;;) {
    const outcome = await deps.writeSide.decide(
      req.actor,
      async (store) => {
        const found = await store.query({ ...query, limit: BATCH });
        if (found.length === 0) return { events: [], result: found };
        const decided = decideDelete({ reason: req.reason }, found);
        if (isDomainError(decided)) return decided;
        try {
          // Files first: a crash after this leaves a recording listed whose files are gone, and the next purge finishes it.
          for (const r of found) await storage.deleteRecording(r.recordId);
        } catch (err) {
          throw new Error(`deleting recording files failed after ${total} recordings were purged: ${(err as Error).message}`, { cause: err });
        }
        return { events: decided.events, result: found };
      },
      req.correlationId,
    );
    if (isDomainError(outcome)) return outcome;
    if (outcome.result.length === 0) break;
    total += outcome.result.length;
    purged.push(...outcome.result.slice(0, Math.max(0, LISTED_MAX - purged.length)));
    onProgress(total);
  }
  return { before: req.before, dryRun: false, total, recordings: purged };
}

export interface RetentionSettings {
  /** recordings older than this many days are deleted; 0 keeps them forever */
  days: number;
  checkIntervalMs: number;
}

/**
 * The retention policy, run by the active importer (one per deployment, by its
 * lease): at start and then every check interval, delete what is older than
 * RECORDING_RETENTION_DAYS.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: PurgeDeps & { lease: Lease; clock: () => Date },
    private readonly settings: RetentionSettings,
  ) {}

  start(): void {
    if (this.settings.days <= 0 || this.timer) return;
    const tick = () => {
      this.running ??= this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.deps.logger.error({ err }, 'the recording retention pass failed'))
        .finally(() => (this.running = null));
    };
    this.timer = setInterval(tick, this.settings.checkIntervalMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; answers how many recordings it deleted (0 when another importer is the active one). */
  async runOnce(): Promise<number> {
    if (!(await this.deps.lease.acquire().catch(() => false))) return 0;
    const { days } = this.settings;
    const outcome = await purgeRecordings(this.deps, {
      before: this.deps.clock().getTime() - days * DAY_MS,
      states: PURGEABLE_STATES,
      dryRun: false,
      reason: `retention: older than ${days} days (RECORDING_RETENTION_DAYS)`,
      actor: { kind: 'importer', name: 'retention' },
    });
    if (isDomainError(outcome)) throw new Error(outcome.message);
    if (outcome.total > 0) this.deps.logger.info({ deleted: outcome.total, days }, 'deleted recordings past the retention period');
    return outcome.total;
  }
}
