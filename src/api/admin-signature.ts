import { createHash, timingSafeEqual } from 'node:crypto';

/*
 * Scalelite signs an admin call as sha(action + query + secret): the JSON body is not
 * covered and a signature never expires, so one observed `deleteServer` checksum deletes
 * any server, for ever. Two query parameters close that, within the same scheme (they are
 * in the query, so the checksum covers them):
 *
 *   timestamp=<unix seconds>   the call is refused outside ±ADMIN_SIGNATURE_MAX_AGE of now
 *   bodySha256=<hex>           the SHA-256 of the raw body bytes; a different body is refused
 *
 * The CLI always sends both. A call without them is Scalelite's form, still accepted for
 * its clients unless ADMIN_API_STRICT_SIGNATURES=true.
 */

export const SIGNATURE_PARAMS = ['timestamp', 'bodySha256'] as const;

export interface SignaturePolicy {
  /** how far the timestamp may be from now, either way */
  maxAgeMs: number;
  /** refuse Scalelite's unbound form: a timestamp always, a body digest whenever there is a body */
  strict: boolean;
}

export const sha256Hex = (body: Buffer | string): string => createHash('sha256').update(body).digest('hex');

/** Why the signed extras do not hold, or null when they do (the checksum itself is checked before). */
export function signatureProblem(query: URLSearchParams, body: Buffer | null, policy: SignaturePolicy, now: number): string | null {
  const timestamp = query.get('timestamp');
  const digest = query.get('bodySha256');
  if (timestamp === null) {
    if (policy.strict) return 'the call must carry a signed timestamp (ADMIN_API_STRICT_SIGNATURES is on)';
  } else {
    const at = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) * 1000 : NaN;
    if (!Number.isFinite(at)) return 'the timestamp must be a number of seconds since 1970';
    if (Math.abs(now - at) > policy.maxAgeMs)
      return `the signature is valid for ${Math.round(policy.maxAgeMs / 1000)} s around its timestamp: this one is from ${new Date(at).toISOString()}`;
  }
  const hasBody = body !== null && body.length > 0;
  if (digest === null) {
    if (policy.strict && hasBody) return 'a call with a body must carry its SHA-256 (bodySha256) under the checksum (ADMIN_API_STRICT_SIGNATURES is on)';
    return null;
  }
  const expected = Buffer.from(sha256Hex(body ?? Buffer.alloc(0)), 'utf8');
  const given = Buffer.from(digest.toLowerCase(), 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'the body is not the one that was signed (bodySha256 differs)';
  return null;
}
