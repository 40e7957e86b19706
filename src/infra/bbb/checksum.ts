import { hash } from 'node:crypto';

/*
 * SHA-384 is beyond Scalelite, which knows SHA1, SHA256 and SHA512 only
 * (docs/scalelite-behaviour.md §1.3): BBB 2.6+ accepts all four by default
 * (bbb-web's supportedChecksumAlgorithms), and both PHP client libraries
 * offer SHA-384, so an LMS configured for it works here as it does on BBB.
 */
export type ChecksumAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';
/** Every algorithm, weakest first: accepted when LOADBALANCER_CHECKSUM_ALGORITHM is unset, as BBB 2.6+ does. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];

/** Scalelite guesses the algorithm from the checksum's length (lowercase hex only). */
export function algorithmOf(checksum: string): ChecksumAlgorithm | null {
  if (!/^[0-9a-f]+$/.test(checksum)) return null;
  switch (checksum.length) {
    case 40:
      return 'sha1';
    case 64:
      return 'sha256';
    case 96:
      return 'sha384';
    case 128:
      return 'sha512';
    default:
      return null;
  }
}

export function checksumOf(algorithm: ChecksumAlgorithm, action: string, query: string, secret: string): string {
  // One-shot: a third of createHash's cost, and two are taken on every join (its check and the signed redirect).
  return hash(algorithm, action + query + secret, 'hex');
}

/**
 * The query string as received with its `checksum=<value>` pair cut out, by
 * string surgery and without re-encoding, exactly as Scalelite does.
 */
export function queryWithoutChecksum(rawQuery: string, checksum: string): string {
  for (const form of [`&checksum=${checksum}`, `checksum=${checksum}&`, `checksum=${checksum}`]) {
    const at = rawQuery.indexOf(form);
    if (at >= 0) return rawQuery.slice(0, at) + rawQuery.slice(at + form.length);
  }
  return rawQuery;
}

/**
 * The checksum parameter as the client sent it (query wins, then a form body); the last
 * one when repeated. The query is raw, or already parsed (the BBB API parses it once per call).
 */
export function checksumParam(query: string | ReadonlyArray<readonly [string, string]>, body: Record<string, string>): string | null {
  let value: string | undefined;
  for (const [name, v] of typeof query === 'string' ? new URLSearchParams(query) : query) if (name === 'checksum') value = v;
  value ??= body.checksum;
  return value === undefined || value === '' ? null : value;
}

export interface ChecksumPolicy {
  secrets: string[];
  allowed: ReadonlySet<ChecksumAlgorithm>;
}

/** Verify a BBB API checksum in constant time against every accepted secret. */
export function verifyChecksum(policy: ChecksumPolicy, action: string, rawQuery: string, checksum: string | null): boolean {
  if (!checksum || policy.secrets.length === 0) return false;
  const algorithm = algorithmOf(checksum);
  if (!algorithm || !policy.allowed.has(algorithm)) return false;
  const query = queryWithoutChecksum(rawQuery, checksum);
  let ok = false;
  for (const secret of policy.secrets) {
    // No early exit: every secret is tried, so timing says nothing about which one matched.
    if (sameHex(checksumOf(algorithm, action, query, secret), checksum)) ok = true;
  }
  return ok;
}

/**
 * Two hex digests of one length compared in constant time: every character is looked at
 * whatever differs, as timingSafeEqual does, without making two Buffers on every join.
 */
function sameHex(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}

/**
 * Scalelite signs outgoing calls with SHA256 when the setting is blank, else
 * with the strongest allowed (SHA384 ranks between SHA512 and SHA256).
 */
export function outgoingAlgorithm(setting: string | undefined): ChecksumAlgorithm {
  if (!setting || setting.trim() === '') return 'sha256';
  const allowed = parseAlgorithms(setting);
  for (const a of [...CHECKSUM_ALGORITHMS].reverse()) if (allowed.has(a)) return a;
  return 'sha256';
}

/** LOADBALANCER_CHECKSUM_ALGORITHM: a ':'-separated list, any case; unset or blank allows all four. */
export function parseAlgorithms(setting: string | undefined): Set<ChecksumAlgorithm> {
  if (!setting || setting.trim() === '') return new Set(CHECKSUM_ALGORITHMS);
  return new Set(
    setting
      .split(':')
      .map((s) => s.trim().toLowerCase())
      .filter((s): s is ChecksumAlgorithm => (CHECKSUM_ALGORITHMS as readonly string[]).includes(s)),
  );
}

/** BBB's query encoding: form-urlencoded, space as '+', all but A-Za-z0-9*-._ percent-encoded. */
export function encodeQuery(params: Iterable<[string, string]>): string {
  return new URLSearchParams([...params]).toString();
}

export function signedQuery(algorithm: ChecksumAlgorithm, action: string, params: Iterable<[string, string]>, secret: string): string {
  const query = encodeQuery(params);
  const checksum = checksumOf(algorithm, action, query, secret);
  return query === '' ? `checksum=${checksum}` : `${query}&checksum=${checksum}`;
}
