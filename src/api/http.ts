import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { noteResponse } from './access';
import type { AdminOutcome } from './admin-kit';
import { hasBody } from './request';
import { ApiOutcome, failedXml } from './responses';

export const XML_TYPE = 'application/xml; charset=utf-8';

/** Plain node http, so the express routes and the join fast path answer alike. */
export function send(res: ServerResponse, outcome: ApiOutcome, logger?: Logger): void {
  noteResponse(res, { outcome: outcome.kind === 'failed' ? outcome.messageKey : outcome.kind === 'redirect' ? 'redirect' : 'SUCCESS' });
  switch (outcome.kind) {
    case 'redirect':
      res.writeHead(302, { Location: outcome.location, 'Content-Length': '0' }).end();
      return;
    case 'xmlStream':
      res.writeHead(200, { 'Content-Type': XML_TYPE });
      writeChunks(res, outcome.chunks).catch((err: unknown) => {
        // The status is sent: cut the response short, so the client sees a broken document rather than a wrong one.
        logger?.error({ err }, 'streaming a response failed');
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
      return;
    case 'xml':
    case 'failed': {
      const body = outcome.kind === 'xml' ? outcome.body : failedXml(outcome.messageKey, outcome.message);
      res.writeHead(200, { 'Content-Type': XML_TYPE, 'Content-Length': String(Buffer.byteLength(body)) }).end(body);
      return;
    }
  }
}

/**
 * Answer without reading the body the client is still sending: the connection is closed
 * after the answer, so nothing more of it is read (and nothing of it is buffered).
 */
export function refuse(req: IncomingMessage, res: ServerResponse, outcome: ApiOutcome): void {
  if (!req.complete && hasBody(req)) res.setHeader('Connection', 'close');
  send(res, outcome);
}

/**
 * An admin answer: JSON with its status; Rails' ParameterMissing as BBB XML, as Scalelite
 * answers it; a long operation as newline-delimited JSON, its progress lines then
 * `{result}`, or `{error}` when it fails after the status is sent.
 */
export async function sendAdmin(res: Response, outcome: AdminOutcome, logger: Logger, action: string): Promise<void> {
  if ('xmlError' in outcome) return send(res, { kind: 'failed', ...outcome.xmlError });
  if ('stream' in outcome) {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
    try {
      line({ result: await outcome.stream(line) });
    } catch (e) {
      logger.error({ err: e, action }, 'admin operation failed');
      line({ error: e instanceof Error ? e.message : String(e) });
    }
    res.end();
    return;
  }
  res.status(outcome.status).json(outcome.json);
}

/** Write as the client reads: a slow client holds back the producer instead of filling memory. */
async function writeChunks(res: ServerResponse, chunks: AsyncIterable<string | Buffer>): Promise<void> {
  for await (const chunk of chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk))
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
  }
  res.end();
}
