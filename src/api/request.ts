import Busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

type Request = IncomingMessage & { originalUrl?: string };

/*
 * Reading BBB API requests the way Scalelite (Rails) does: the raw query string
 * for the checksum, form bodies merged into the params (the query wins), an
 * XML body kept as text for create and insertDocument.
 */

export const rawQuery = (req: Request): string => {
  // express rewrites req.url inside routers; originalUrl is what the client sent
  const url = req.originalUrl ?? req.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
};

/** The caller's X-Request-Id when it is a plausible one, else a new id: what a request appends carries it. */
export const correlationOf = (req: Request): string => {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
};

export const mediaType = (req: Request): string => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

export const hasBody = (req: Request): boolean => {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
};

export const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);
// Moodle sends text/xml; Scalelite accepts it as a synonym.
export const XML_TYPES = new Set(['application/xml', 'text/xml']);

export type ContentRule = 'form' | 'formOrXml' | 'xml' | 'none';

/** Scalelite's Content-Type rule for POSTs with a body. */
export function contentTypeAllowed(rule: ContentRule, req: Request): boolean {
  if (req.method !== 'POST' || !hasBody(req) || rule === 'none') return true;
  const type = mediaType(req);
  switch (rule) {
    case 'form':
      return FORM_TYPES.has(type);
    case 'formOrXml':
      return FORM_TYPES.has(type) || XML_TYPES.has(type);
    case 'xml':
      return XML_TYPES.has(type);
  }
}

/** The largest body a BBB API call may carry (create and insertDocument with documents inline). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** A form body is read before the checksum is checked only when the checksum can be in it: forms are small. */
export const MAX_FORM_BYTES = 1024 * 1024;

/** The body is larger than the call allows: answered 413, the rest of it never read. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
  }
}

/** The request itself cannot be read (a body without its multipart boundary, a broken encoding): the client's to fix. */
export class ClientInputError extends Error {
  override readonly name = 'ClientInputError';
}

/** The declared Content-Length, if any (NaN when it is not a number). */
export const declaredLength = (req: Request): number | undefined => {
  const length = req.headers['content-length'];
  return length === undefined ? undefined : Number(length);
};

/**
 * The raw body of a request, bounded: a declared length over the limit is refused before
 * anything is read, and a body that grows past it stops being read (never buffered). The
 * caller answers 413 and closes the connection, so the client sees the answer, not a reset.
 */
export function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Form fields of a urlencoded or multipart body (files are ignored: BBB params are fields). */
export async function readFormFields(req: Request, body: Buffer): Promise<Array<[string, string]>> {
  const type = mediaType(req);
  if (type === 'application/x-www-form-urlencoded') return [...new URLSearchParams(body.toString('utf8'))];
  if (type !== 'multipart/form-data') return [];
  return new Promise((resolve, reject) => {
    const fields: Array<[string, string]> = [];
    let parser: Busboy.Busboy;
    try {
      parser = Busboy({ headers: req.headers, limits: { fieldSize: 1024 * 1024 } });
    } catch (e) {
      reject(new ClientInputError(`the multipart body cannot be read: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    parser.on('field', (name, value) => fields.push([name, value]));
    parser.on('file', (_name, stream) => stream.resume());
    parser.on('close', () => resolve(fields));
    parser.on('error', (e: unknown) => reject(new ClientInputError(`the multipart body cannot be read: ${e instanceof Error ? e.message : String(e)}`)));
    parser.end(body);
  });
}
