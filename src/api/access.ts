import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LevelWithSilent, Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { requestContext, RequestFacts } from '../infra/request-context';

/*
 * Every request answered leaves one access-log line and one latency sample: the call,
 * the meetingID, the tenant, the outcome (a BBB messageKey, SUCCESS, redirect, or the
 * HTTP status), the BBB server it went to and how long it took. What a request says is
 * never logged whole: not its query (checksums, passwords), not its body, no header but
 * the remote address. Refused calls (a bad checksum, an unknown tenant, a body too large)
 * are logged at warn, so an admin sees who is knocking.
 */

export type Route = RequestFacts['route'];

export interface AccessSettings {
  /** ACCESS_LOG: one line per request (on by default) */
  enabled: boolean;
}

export interface AccessObserver {
  /** a request answered, with what is known of it, after `seconds` */
  answered(facts: RequestFacts & { status: number }, seconds: number): void;
}

const pathOf = (url: string | undefined): string => (url ?? '').split('?')[0].slice(0, 200);

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
 * Wraps the request listener: each request runs with its facts in the request context
 * (handlers and the BBB gateway fill them in), and is logged and measured when answered.
 */
export function observeRequests(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  logger: Logger,
  settings: AccessSettings,
  observer?: AccessObserver,
): (req: IncomingMessage, res: ServerResponse) => void {
  const facts = new WeakMap<ServerResponse, RequestFacts>();
  const access = settings.enabled
    ? pinoHttp<IncomingMessage, ServerResponse, never>({
        logger: logger.child({ component: 'access' }) as Logger<never>,
        genReqId: (req) => {
          const given = req.headers['x-request-id'];
          return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
        },
        quietReqLogger: true,
        wrapSerializers: false,
        serializers: {
          req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, path: pathOf(req.url), remote: req.socket?.remoteAddress }),
          res: (res: ServerResponse) => ({ status: res.statusCode }),
        },
        customAttributeKeys: { responseTime: 'ms' },
        // Scrapes and health checks every few seconds are not worth a line each.
        autoLogging: { ignore: (req) => ['metrics', 'health'].includes(routeOf(req.url)) },
        customProps: (_req, res) => {
          const f = facts.get(res);
          if (!f) return {};
          return {
            ...(f.call ? { call: f.call } : {}),
            ...(f.meetingId ? { meetingID: f.meetingId.slice(0, 256) } : {}),
            ...(f.tenant ? { tenant: f.tenant } : {}),
            ...(f.outcome ? { outcome: f.outcome } : {}),
            ...(f.upstream ? { upstream: f.upstream } : {}),
          };
        },
        customLogLevel: (_req, res, err): LevelWithSilent => {
          if (err || res.statusCode >= 500) return 'error';
          const f = facts.get(res);
          return f && REFUSED.has(outcomeOf(f, res.statusCode)) ? 'warn' : 'info';
        },
        customSuccessMessage: (req, res) => {
          const f = facts.get(res);
          return `${req.method} ${f?.call ?? pathOf(req.url)} ${f ? outcomeOf(f, res.statusCode) : res.statusCode}`;
        },
      })
    : null;
  return (req, res) => {
    const f: RequestFacts = { route: routeOf(req.url) };
    facts.set(res, f);
    const started = process.hrtime.bigint();
    if (observer) {
      res.once('finish', () => observer.answered({ ...f, status: res.statusCode }, Number(process.hrtime.bigint() - started) / 1e9));
    }
    access?.(req, res);
    requestContext.run(f, () => handle(req, res));
  };
}
