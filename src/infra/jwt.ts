import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChecksumAlgorithm } from './bbb/checksum';

/*
 * Compact JWS with HMAC keys, just what Scalelite's peers speak: playback
 * cookies (HS256), recording-ready callbacks (HS256/HS512) and BBB's analytics
 * callback (HS512). Written here rather than pulled in as a dependency because
 * the surface is tiny and every check below is one we want to be able to see.
 */

export type JwtAlgorithm = 'HS256' | 'HS512';

const HASH: Record<JwtAlgorithm, 'sha256' | 'sha512'> = { HS256: 'sha256', HS512: 'sha512' };

/** Far above any token we issue or accept (cookies cap at ~4 KiB); bounds the work an attacker can make us do. */
const MAX_TOKEN_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type JwtVerification = { ok: true; payload: Record<string, unknown> } | { ok: false; reason: string };

export interface JwtVerifyOptions {
  /** the only algorithms accepted; the header's `alg` is never trusted on its own (alg confusion, `none`) */
  algorithms: JwtAlgorithm[];
  now?: Date;
}

const encodeJson = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function signature(alg: JwtAlgorithm, key: string, signingInput: string): string {
  return createHmac(HASH[alg], key).update(signingInput, 'ascii').digest('base64url');
}

export function signJwt(payload: object, key: string, alg: JwtAlgorithm): string {
  if (!(alg in HASH)) throw new TypeError(`unsupported JWT algorithm: ${String(alg)}`);
  // An empty HMAC key makes the signature forgeable by anyone; refuse rather than mint such tokens.
  if (key.length === 0) throw new TypeError('refusing to sign a JWT with an empty key');
  const signingInput = `${encodeJson({ alg, typ: 'JWT' })}.${encodeJson(payload)}`;
  return `${signingInput}.${signature(alg, key, signingInput)}`;
}

function decodeJsonObject(segment: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Verify signature, then the registered time claims. Never throws. */
export function verifyJwt(token: string, key: string, opts: JwtVerifyOptions): JwtVerification {
  if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'empty token' };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token too long' };
  if (typeof key !== 'string' || key.length === 0) return { ok: false, reason: 'empty key' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed token: expected three segments' };
  const [headerSegment, payloadSegment, signatureSegment] = parts;
  if (!BASE64URL.test(headerSegment) || !BASE64URL.test(payloadSegment) || !BASE64URL.test(signatureSegment)) {
    return { ok: false, reason: 'malformed token: segments must be non-empty base64url' };
  }

  const header = decodeJsonObject(headerSegment);
  if (!header) return { ok: false, reason: 'malformed header' };
  const alg = header.alg;
  if (typeof alg !== 'string') return { ok: false, reason: 'header has no alg' };
  // Object.hasOwn: a header alg of "constructor" or "toString" must not reach HASH's prototype.
  if (!Object.hasOwn(HASH, alg) || !(opts.algorithms as string[]).includes(alg)) {
    return { ok: false, reason: `algorithm not allowed: ${alg.slice(0, 16)}` };
  }
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (header.crit !== undefined) return { ok: false, reason: 'unsupported critical header parameters' };

  // Comparing the canonical base64url text (not decoded bytes) also rejects alternative encodings of the same MAC.
  const expected = Buffer.from(signature(alg as JwtAlgorithm, key, `${headerSegment}.${payloadSegment}`), 'ascii');
  const given = Buffer.from(signatureSegment, 'ascii');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad signature' };

  const payload = decodeJsonObject(payloadSegment);
  if (!payload) return { ok: false, reason: 'malformed payload' };

  const nowMs = (opts.now ?? new Date()).getTime();
  if (payload.exp !== undefined) {
    if (!isNumericDate(payload.exp)) return { ok: false, reason: 'exp is not a number' };
    // RFC 7519 §4.1.4: valid only while now is strictly before exp.
    if (nowMs >= payload.exp * 1000) return { ok: false, reason: 'token expired' };
  }
  if (payload.nbf !== undefined) {
    if (!isNumericDate(payload.nbf)) return { ok: false, reason: 'nbf is not a number' };
    if (nowMs < payload.nbf * 1000) return { ok: false, reason: 'token not yet valid' };
  }
  return { ok: true, payload };
}

/**
 * Scalelite's choice for recording-ready callbacks (§4.6): HS256 when SHA256 is
 * an accepted checksum algorithm, else HS512 when SHA512 is, else HS256. SHA384
 * alone falls to HS256 too: receivers written for Scalelite expect HS256 or
 * HS512, and an HS384 token could be refused.
 */
export function jwtAlgorithmFor(algorithms: ReadonlySet<ChecksumAlgorithm>): JwtAlgorithm {
  if (algorithms.has('sha256')) return 'HS256';
  if (algorithms.has('sha512')) return 'HS512';
  return 'HS256';
}
