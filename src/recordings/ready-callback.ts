import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { decideReadyCallbackAnswered } from '../commands/ready-callbacks';
import { WriteSide } from '../commands/write-side';
import { Lease } from '../coordination/lease';
import { JwtAlgorithm, signJwt } from '../infra/jwt';
import { RecordingReader, RecordingStore } from './ports';

/*
 * The recording-ready callback (Scalelite §4.6): after a recording is imported,
 * tell the URL the meeting's creator gave at create time. Scalelite tries once;
 * receivers (Greenlight, LMS plugins) are often briefly down, so whole rounds
 * are retried with backoff here. 404/410 mean "no such meeting here any more"
 * and are final.
 */

export type ReadyCallbackOutcome = 'delivered' | 'rejected' | 'failed';

export interface ReadyCallbackOptions {
  url: string;
  meetingId: string;
  recordId: string;
  /** tried in order within a round: the receiver may know only one of them */
  secrets: string[];
  algorithm: JwtAlgorithm;
  /** rounds after the first one */
  retries: number;
  /** wait before round `attempt + 1`, where `attempt` is the number of the round that just failed (1-based) */
  backoffMs?: (attempt: number) => number;
  /** bound on each request, connecting included */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** aborts the pending request or wait (shutdown); the result is then 'failed' */
  signal?: AbortSignal;
}

export interface ReadyCallbackResult {
  outcome: ReadyCallbackOutcome;
  /** the last HTTP status received; null when no response came at all */
  status: number | null;
  /** HTTP requests made */
  attempts: number;
  /** why the last request (or the whole notification) failed, for the log */
  error?: string;
}

export const DEFAULT_READY_CALLBACK_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 5 * 60_000;
/** The receiver's answer body is of no interest; reading a little lets the connection be reused, more is not worth it. */
const MAX_DRAINED_BODY = 64 * 1024;

/** 1 s, 2 s, 4 s … capped at 5 minutes, each ±20 % so that many callbacks failing together do not retry in lockstep. */
export function defaultBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
  return Math.min(Math.round(base * (0.8 + 0.4 * random())), MAX_BACKOFF_MS);
}

function httpUrl(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    // DOMExceptions (timeouts, aborts) carry numeric legacy codes: only string codes (ECONNREFUSED…) say anything.
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return [err.name !== 'Error' ? err.name : undefined, text(code), err.message, text(cause?.code)].filter(Boolean).join(': ');
  }
  return String(err);
}

const defaultSleep = (signal: AbortSignal | undefined) => (ms: number) => delay(ms, undefined, { signal }).catch(() => undefined);

/** POST `signed_parameters=<JWT {meeting_id, record_id}>` until one secret is accepted. Never throws. */
export async function notifyRecordingReady(opts: ReadyCallbackOptions): Promise<ReadyCallbackResult> {
  let attempts = 0;
  let status: number | null = null;
  let error: string | undefined;
  const result = (outcome: ReadyCallbackOutcome): ReadyCallbackResult => ({ outcome, status, attempts, ...(error === undefined ? {} : { error }) });

  let agent: Agent | undefined;
  try {
    const url = httpUrl(opts.url);
    if (!url) {
      error = 'the callback URL is not an http(s) URL';
      return result('failed');
    }
    // Signed once per secret: the payload carries no time claim (as Scalelite's), so every round sends the same tokens.
    const bodies = opts.secrets
      .filter((secret) => typeof secret === 'string' && secret.length > 0)
      .map((secret) => new URLSearchParams({ signed_parameters: signJwt({ meeting_id: opts.meetingId, record_id: opts.recordId }, secret, opts.algorithm) }).toString());
    if (bodies.length === 0) {
      error = 'no secret to sign the callback with';
      return result('failed');
    }
    const retries = Number.isFinite(opts.retries) ? Math.max(0, Math.floor(opts.retries)) : 0;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_READY_CALLBACK_TIMEOUT_MS;
    const backoff = opts.backoffMs ?? ((attempt: number) => defaultBackoffMs(attempt));
    const sleep = opts.sleep ?? defaultSleep(opts.signal);
    // Our own agent: the connect timeout is an agent setting, and nothing is left pooled afterwards.
    agent = new Agent({ connect: { timeout: timeoutMs }, keepAliveTimeout: 5_000 });

    for (let round = 1; ; round += 1) {
      for (const body of bodies) {
        if (opts.signal?.aborted) {
          error = 'aborted';
          return result('failed');
        }
        attempts += 1;
        try {
          const deadline = AbortSignal.timeout(timeoutMs);
          const res = await request(url, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'scalelite-es recording-ready callback' },
            dispatcher: agent,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
            // Redirects are not followed (undici's default, and Scalelite's): a 3xx counts as a failure.
            signal: opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline,
          });
          status = res.statusCode;
          await res.body.dump({ limit: MAX_DRAINED_BODY }).catch(() => undefined);
          if (status >= 200 && status < 300) {
            error = undefined;
            return result('delivered');
          }
          if (status === 404 || status === 410) {
            error = `HTTP ${status}`;
            return result('rejected');
          }
          error = `HTTP ${status}`;
        } catch (err) {
          error = describe(err);
        }
      }
      if (round > retries) return result('failed');
      const wait = backoff(round);
      await sleep(Number.isFinite(wait) && wait > 0 ? wait : 0);
    }
  } catch (err) {
    // Only programming errors land here (a bad algorithm, a throwing backoff); the contract is still "never throws".
    error = describe(err);
    return result('failed');
  } finally {
    await agent?.destroy().catch(() => undefined);
  }
}

export interface ReadyCallbackSettings {
  /** tried in order: the receiver may know only one of them */
  secrets: string[];
  algorithm: JwtAlgorithm;
  /** rounds after the first one */
  retries: number;
  /** how long to wait at start for the recordings model to catch up with the log */
  catchUpTimeoutMs: number;
}

export interface ReadyCallbacksDeps {
  /** where a meeting's callback URL, and the callbacks still owed, are read */
  store: Pick<RecordingStore, 'callbacks' | 'waitFor' | 'readyCallbacksOwed'>;
  writeSide: WriteSide<RecordingReader>;
  /** the log's last offset: owed callbacks are looked for once the store has it */
  logHead: () => Promise<number>;
  /** the importer lease: only the active importer sends what a previous run owed */
  lease: Lease;
  settings: ReadyCallbackSettings;
  logger: Logger;
}

/** Recording-ready callbacks older than this are not sent again after a restart: the LMS has moved on. */
export const READY_CALLBACK_RESUME_MS = 7 * 24 * 3600_000;

const ACTOR = { kind: 'importer', name: 'recording-ready-callback' } as const;

/**
 * The recording-ready callbacks of this process: each imported recording whose
 * meeting registered a URL owes one, sent in the background (retried) and its
 * outcome recorded (RecordingReadyNotified), so a restart sends only those still
 * owed. A stop cuts the pending ones short: they stay owed, for the next start.
 */
export class ReadyCallbacks {
  private readonly shutdown = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: ReadyCallbacksDeps) {}

  /** A recording was imported: its meeting's callback, if a create registered one, is sent in the background. */
  readonly owe = (recordId: string, meetingId: string): void => {
    const run = this.deliver(recordId, meetingId).catch((err: unknown) => this.deps.logger.error({ err, recordId }, 'recording-ready callback failed'));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  };

  /** The callback a create registered for this meeting, retried, and its outcome recorded. */
  async deliver(recordId: string, meetingId: string): Promise<void> {
    const { store, writeSide, settings, logger } = this.deps;
    const callbacks = await store.callbacks(meetingId);
    const url = callbacks?.recordingReadyUrl;
    if (!url) return;
    const signal = this.shutdown.signal;
    const result = await notifyRecordingReady({ url, meetingId, recordId, secrets: settings.secrets, algorithm: settings.algorithm, retries: settings.retries, signal });
    // Cut short by a shutdown: the callback stays owed, and the next start sends it.
    if (signal.aborted && result.outcome !== 'delivered') return;
    if (result.outcome === 'delivered') logger.info({ recordId, meetingId, attempts: result.attempts }, 'recording-ready callback delivered');
    else logger.warn({ recordId, meetingId, ...result }, 'recording-ready callback not delivered');
    await writeSide.decide(ACTOR, async () => decideReadyCallbackAnswered({ recordId, meetingId, url, outcome: result.outcome, status: result.status, attempts: result.attempts }));
  }

  /**
   * Callbacks a previous run owed (it stopped while retrying) for recordings imported in the
   * week before `startedAt` (imports since then are owed by this run): the active importer
   * sends them again. Never throws.
   */
  async resumeOwed(startedAt: Date): Promise<void> {
    const { store, lease, logHead, settings, logger } = this.deps;
    try {
      if (!(await lease.acquire())) return;
      await store.waitFor(await logHead(), settings.catchUpTimeoutMs);
      const owed = await store.readyCallbacksOwed(new Date(startedAt.getTime() - READY_CALLBACK_RESUME_MS), startedAt);
      if (owed.length > 0) logger.info({ callbacks: owed.length }, 'sending the recording-ready callbacks a previous run owed');
      for (const { recordId, meetingId } of owed) this.owe(recordId, meetingId);
    } catch (err) {
      logger.warn({ err }, 'could not resume the owed recording-ready callbacks');
    }
  }

  /** Cuts the pending callbacks short and waits until each has recorded its outcome (or stayed owed). */
  async stop(): Promise<void> {
    this.shutdown.abort();
    await Promise.all([...this.running]);
  }
}
