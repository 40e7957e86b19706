import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { hostOf } from '../infra/metrics';

/*
 * Every request answered leaves one access-log line and one latency sample: the call,
 * the meetingID, the tenant, the outcome (a BBB messageKey, SUCCESS, redirect, or the
 * HTTP status), the BBB server it went to and how long it took. What a request says is
 * never logged whole: not its query (checksums, passwords), not its body, no header but
 * the remote address. Refused calls (a bad checksum, an unknown tenant, a body too large)
 * are logged at warn, so an admin sees who is knocking.
 */

/** What is known of the request being answered, noted as it goes: the access log and the metrics read it. */
export interface RequestFacts {
  route: 'bbb' | 'admin' | 'playback' | 'fsapi' | 'health' | 'metrics';
  /** the BBB or admin API call */
  call?: string;
  meetingId?: string;
  /** the tenant's name */
  tenant?: string;
  /** a BBB messageKey, SUCCESS, redirect; unset: the HTTP status is the outcome */
  outcome?: string;
  /** the URL of the BBB server the request went to */
  upstream?: string;
}

export type Route = RequestFacts['route'];

/*
 * Kept on the response, not in an AsyncLocalStorage: on Node 20 the async hooks behind it
 * slow every promise of the process, and join (the hot path) lost a fifth of its throughput.
 */
const FACTS = Symbol('request facts');
type Noted = ServerResponse & { [FACTS]?: RequestFacts };

/** Note facts of the request this response answers (nothing outside observeRequests). */
export function noteResponse(res: ServerResponse, facts: Partial<RequestFacts>): void {
  const current = (res as Noted)[FACTS];
  if (current) Object.assign(current, facts);
}

export interface AccessSettings {
  /** ACCESS_LOG: one line per request (on by default) */
  enabled: boolean;
}

export interface AccessObserver {
  /** a request answered, with what is known of it and its HTTP status, after `seconds` */
  answered(facts: RequestFacts, status: number, seconds: number): void;
}

const pathOf = (url: string | undefined): string => {
  const u = url ?? '';
  const end = u.indexOf('?');
  return u.slice(0, Math.min(end < 0 ? u.length : end, 200));
};

export function routeOf(url: string | undefined): Route {
  const path = pathOf(url);
  if (path.startsWith('/bigbluebutton/api')) return 'bbb';
  if (path.startsWith('/scalelite/api')) return 'admin';
  if (path === '/fsapi') return 'fsapi';
  if (path === '/metrics') return 'metrics';
  if (path === '/health_check' || path === '/') return 'health';
  return 'playback';
}

/** Outcomes refused for want of credentials or size: logged at warn with the remote address. */
const REFUSED = new Set(['checksumError', 'requestTooLarge', '401', '403', '413']);

/** The outcome of an answered request: what a handler noted, else its HTTP status. */
export const outcomeOf = (facts: RequestFacts, status: number): string => facts.outcome ?? String(status);

/**
 * Wraps the request listener: each response gets its facts (handlers note them with
 * noteResponse), and is logged and measured when answered.
 * The line is written here rather than by pino-http: its child loggers per request cost
 * join, the hot path, most of its throughput even with the line filtered out by level.
 */
export function observeRequests(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  logger: Logger,
  settings: AccessSettings,
  observer?: AccessObserver,
): (req: IncomingMessage, res: ServerResponse) => void {
  const access = settings.enabled ? logger.child({ component: 'access' }) : null;
  const write = (f: RequestFacts, req: IncomingMessage, res: ServerResponse, seconds: number) => {
    // Scrapes and health checks every few seconds are not worth a line each.
    if (!access || f.route === 'metrics' || f.route === 'health') return;
    const outcome = outcomeOf(f, res.statusCode);
    const level: 'error' | 'warn' | 'info' = res.statusCode >= 500 ? 'error' : REFUSED.has(outcome) ? 'warn' : 'info';
    if (!access.isLevelEnabled(level)) return;
    const given = req.headers['x-request-id'];
    access[level](
      {
        ...(typeof given === 'string' && given.length > 0 && given.length <= 200 ? { reqId: given } : {}),
        req: { method: req.method, path: pathOf(req.url), remote: req.socket?.remoteAddress },
        res: { status: res.statusCode },
        ms: Math.round(seconds * 1e6) / 1e3,
        ...(f.call ? { call: f.call } : {}),
        ...(f.meetingId ? { meetingID: f.meetingId.slice(0, 256) } : {}),
        ...(f.tenant ? { tenant: f.tenant } : {}),
        outcome,
        ...(f.upstream ? { upstream: hostOf(f.upstream) } : {}),
      },
      `${req.method} ${f.call ?? pathOf(req.url)} ${outcome}`,
    );
  };
  return (req, res) => {
    // Every field from the start: one object shape for all requests keeps the handlers' and the metrics' reads of it fast.
    const f: RequestFacts = { route: routeOf(req.url), call: undefined, meetingId: undefined, tenant: undefined, outcome: undefined, upstream: undefined };
    (res as Noted)[FACTS] = f;
    const started = performance.now();
    // 'on', not 'once': a response finishes once, and once's wrapper costs every join
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      observer?.answered(f, res.statusCode, seconds);
      write(f, req, res, seconds);
    });
    handle(req, res);
  };
}
