import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DecisionUnavailableError } from '../commands/errors';
import { LogThrottle } from '../infra/log-throttle';
import { noteResponse, routeOf } from './access';
import { send, XML_TYPE } from './http';
import { BodyTooLargeError, ClientInputError } from './request';
import { errors, failed, failedXml } from './responses';

/**
 * What went wrong, answered by its kind. The client's garbage (a body too large, a broken
 * encoding, a multipart body without its boundary) gets a specific answer and a warn line
 * at most every few seconds per kind, so nobody can flood the log; a decision that cannot
 * be made now says why; only the unexpected is logged as an error.
 */
export function faultAnswers(logger: Logger) {
  const clientFaults = new LogThrottle(10_000);

  const warnClient = (kind: string, req: IncomingMessage, reason: string): void => {
    const held = clientFaults.take(kind);
    if (held === null) return;
    logger.warn(
      { kind, reason: reason.slice(0, 300), remote: req.socket.remoteAddress, path: (req.url ?? '').split('?')[0].slice(0, 200), heldBack: held },
      'malformed request refused',
    );
  };

  const answerFault = (err: unknown, req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '').split('?')[0].slice(0, 200);
    const route = routeOf(req.url);
    const admin = route === 'admin';
    const json = (status: number, error: string) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error }));
    if (res.headersSent) {
      logger.warn({ err, path }, 'request failed after its answer began');
      res.destroy();
      return;
    }
    if (err instanceof BodyTooLargeError) {
      warnClient('bodyTooLarge', req, `request body over ${err.limit} bytes refused`);
      // The rest of the body is never read: the connection ends with the answer.
      res.setHeader('Connection', 'close');
      const message = `The request body is larger than ${err.limit} bytes`;
      noteResponse(res, { outcome: 'requestTooLarge' });
      if (admin) json(413, message);
      else res.writeHead(413, { 'Content-Type': XML_TYPE }).end(failedXml('requestTooLarge', message));
      return;
    }
    const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
    if (err instanceof ClientInputError || err instanceof URIError || (typeof status === 'number' && status >= 400 && status < 500)) {
      const reason = err instanceof Error ? err.message : String(err);
      warnClient('malformed', req, reason);
      if (err instanceof ClientInputError) return send(res, failed('invalidRequestBody', reason));
      if (route === 'bbb') return send(res, failed('invalidRequest', 'The request could not be read: malformed URL or parameters'));
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad request\n');
      return;
    }
    if (err instanceof DecisionUnavailableError) {
      logger.warn({ path, reason: err.message }, 'a decision could not be made in time');
      if (admin) json(503, err.message);
      else send(res, errors.internal(`The balancer cannot decide right now: ${err.message}`));
      return;
    }
    logger.error({ err, path }, 'request failed');
    if (admin) json(500, 'An internal error occurred.');
    else send(res, errors.internal('An internal error occurred.'));
  };

  return { answerFault, warnClient };
}
