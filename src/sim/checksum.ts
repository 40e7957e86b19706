import { createHash } from 'node:crypto';
import type { ChecksumAlgorithm } from './types';

// BBB picks the hash from the length of the checksum it receives, not from
// configuration, so a client may mix algorithms call by call.
const ALGORITHM_BY_HEX_LENGTH: ReadonlyMap<number, ChecksumAlgorithm> = new Map([
  [40, 'sha1'],
  [64, 'sha256'],
  [96, 'sha384'],
  [128, 'sha512'],
]);

export function algorithmForChecksum(checksum: string): ChecksumAlgorithm | undefined {
  return ALGORITHM_BY_HEX_LENGTH.get(checksum.length);
}

export function computeChecksum(action: string, queryWithoutChecksum: string, secret: string, algorithm: ChecksumAlgorithm = 'sha1'): string {
  return createHash(algorithm)
    .update(action + queryWithoutChecksum + secret, 'utf8')
    .digest('hex');
}

/**
 * Removes the checksum pair the way bbb-web's GetChecksum does: plain string
 * replacement of the three possible placements. Doing it "properly" (splitting
 * on '&') would accept query strings that real BBB rejects.
 */
export function stripChecksum(rawQuery: string, checksum: string): string {
  return rawQuery.replace(`&checksum=${checksum}`, '').replace(`checksum=${checksum}&`, '').replace(`checksum=${checksum}`, '');
}

/**
 * java.net.URLEncoder.encode(value, UTF-8): BBB re-encodes parameters this way
 * when a call carries no query string (POST with a form body), so the checksum
 * must be computed over this exact spelling.
 */
export function javaUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

/** ValidationService.buildQueryStringFromParamsMap: keys sorted, checksum left out. */
export function buildSortedQuery(params: ReadonlyMap<string, readonly string[]>): string {
  const parts: string[] = [];
  for (const key of [...params.keys()].sort()) {
    if (key === 'checksum') continue;
    for (const value of params.get(key) ?? []) parts.push(`${key}=${javaUrlEncode(value)}`);
  }
  return parts.join('&');
}

export type ChecksumVerdict = { ok: true; algorithm: ChecksumAlgorithm } | { ok: false; reason: 'missing' | 'unsupportedAlgorithm' | 'mismatch' };

export function verifyChecksum(args: {
  action: string;
  /** The query string exactly as received (without '?'). */
  rawQuery: string;
  /** Decoded value of the first `checksum` parameter, if any. */
  checksum: string | undefined;
  secret: string;
  allowed: readonly ChecksumAlgorithm[];
}): ChecksumVerdict {
  const { action, rawQuery, checksum, secret, allowed } = args;
  if (!checksum) return { ok: false, reason: 'missing' };
  const algorithm = algorithmForChecksum(checksum);
  if (!algorithm || !allowed.includes(algorithm)) return { ok: false, reason: 'unsupportedAlgorithm' };
  const expected = computeChecksum(action, stripChecksum(rawQuery, checksum), secret, algorithm);
  // BBB compares with equalsIgnoreCase, so upper-case hex is accepted too.
  return expected === checksum.toLowerCase() ? { ok: true, algorithm } : { ok: false, reason: 'mismatch' };
}

/**
 * Builds a signed query string ("a=1&b=2&checksum=…") the way BBB clients do.
 * Handy for tests and demos; values are encoded like most BBB client libraries
 * (encodeURIComponent with '+' for spaces is not required: BBB hashes the raw string).
 */
export function signQuery(action: string, params: Record<string, string | number | boolean | undefined>, secret: string, algorithm: ChecksumAlgorithm = 'sha1'): string {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const checksum = computeChecksum(action, query, secret, algorithm);
  return query ? `${query}&checksum=${checksum}` : `checksum=${checksum}`;
}
