import { createCipheriv, createDecipheriv, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { request } from 'undici';

/*
 * The xAPI / LRS payload of a tenant (reference §5.5): the Learning Record
 * Store's endpoint and credentials, encrypted with the chosen BBB server's
 * secret and sent on create as `meta_secret-lrs-payload`, for bbb-webhooks'
 * xAPI module (≥ 3.2.0) to read.
 *
 * Layout: Base64( header(8) ‖ salt(8) ‖ AES-256-CBC(JSON, PKCS#7) ), with key
 * and IV = PBKDF2-HMAC-SHA256(secret, salt, 10000 iterations, 48 bytes):
 * the first 32 bytes the key, the last 16 the IV. That is `openssl enc
 * -aes-256-cbc -pbkdf2 -iter 10000 -md sha256`'s format.
 *
 * The header: Scalelite writes 8 random bytes; bbb-webhooks skips the first 8
 * bytes unread (its decrypt calls them "reserved for OpenSSL's 'Salted__'
 * magic prefix"), and the bbb-webhooks README tells operators to decrypt with
 * the openssl CLI, which insists on the magic. We write `Salted__`: both
 * readers accept it, and an operator can check a payload with openssl.
 */

const OPENSSL_MAGIC = Buffer.from('Salted__', 'latin1');
const SALT_BYTES = 8;
const ITERATIONS = 10_000;

const pbkdf2Async = promisify(pbkdf2);

const splitKeyIv = (derived: Buffer) => ({ key: derived.subarray(0, 32), iv: derived.subarray(32, 48) });
const keyAndIv = (secret: string, salt: Buffer) => splitKeyIv(pbkdf2Sync(secret, salt, ITERATIONS, 48, 'sha256'));

function takeSalt(random: (n: number) => Buffer): Buffer {
  const salt = random(SALT_BYTES);
  if (salt.length !== SALT_BYTES) throw new Error(`salt must be ${SALT_BYTES} bytes, got ${salt.length}`);
  return salt;
}

function seal(payload: object, salt: Buffer, k: { key: Buffer; iv: Buffer }): string {
  const cipher = createCipheriv('aes-256-cbc', k.key, k.iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([OPENSSL_MAGIC, salt, body]).toString('base64');
}

/**
 * Encrypt a payload for a BBB server. `random` is for tests; it is asked for
 * the 8-byte salt. The 10000 PBKDF2 rounds hold the thread for ~10 ms: on a
 * request path prefer `encryptLrsPayloadAsync`.
 */
export function encryptLrsPayload(payload: object, serverSecret: string, random: (n: number) => Buffer = randomBytes): string {
  const salt = takeSalt(random);
  return seal(payload, salt, keyAndIv(serverSecret, salt));
}

/** The same, with the key derivation on libuv's thread pool so the event loop keeps serving. */
export async function encryptLrsPayloadAsync(payload: object, serverSecret: string, random: (n: number) => Buffer = randomBytes): Promise<string> {
  const salt = takeSalt(random);
  return seal(payload, salt, splitKeyIv(await pbkdf2Async(serverSecret, salt, ITERATIONS, 48, 'sha256')));
}

/**
 * Decrypt as bbb-webhooks does: the first 8 bytes are ignored, so Scalelite's
 * random-headed payloads read as well as ours. Throws on a wrong secret or a
 * damaged payload.
 */
export function decryptLrsPayload(encoded: string, serverSecret: string): unknown {
  const raw = Buffer.from(encoded, 'base64');
  if (raw.length < 16 + 16) throw new Error('LRS payload too short');
  const { key, iv } = keyAndIv(serverSecret, raw.subarray(8, 16));
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  const text = Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]).toString('utf8');
  return JSON.parse(text) as unknown;
}

/** The LRS fields of a tenant (all optional: a tenant without lrsEndpoint has no payload). */
export interface LrsTenant {
  lrsEndpoint?: string | null;
  lrsUsername?: string | null;
  lrsPassword?: string | null;
  kcTokenUrl?: string | null;
  kcClientId?: string | null;
  kcClientSecret?: string | null;
  kcUsername?: string | null;
  kcPassword?: string | null;
}

export type LrsPayload = { lrs_endpoint: string; lrs_username: string; lrs_password: string } | { lrs_endpoint: string; lrs_token: string };

/** Fetches an access token for the tenant's LRS; null when there is none to be had. Must not throw. */
export type TokenFetcher = (tenant: LrsTenant) => Promise<string | null>;

export interface TokenFetchOptions {
  /** the whole exchange, connect to last byte; create waits on it */
  timeoutMs?: number;
  /** a token response is small; anything bigger is not one */
  maxBodyBytes?: number;
  /** why a token could not be had (never the credentials) */
  onError?: (reason: string) => void;
}

const present = (v: string | null | undefined): v is string => typeof v === 'string' && v.trim() !== '';

/**
 * OAuth2 password grant against the tenant's Keycloak (or any token endpoint):
 * POST client_id, client_secret, username, password, grant_type=password as a
 * form; a 200 whose JSON has a non-empty string `access_token` gives the
 * token. Anything else (no URL, a network error, a timeout, another status,
 * a body that is not such JSON) gives null, so create goes ahead without the
 * payload rather than failing.
 */
export async function fetchKeycloakToken(tenant: LrsTenant, options: TokenFetchOptions = {}): Promise<string | null> {
  const { timeoutMs = 5_000, maxBodyBytes = 256 * 1024, onError = () => {} } = options;
  if (!present(tenant.kcTokenUrl)) {
    onError('no token URL');
    return null;
  }
  let url: URL;
  try {
    url = new URL(tenant.kcTokenUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    onError('token URL is not an http(s) URL');
    return null;
  }
  const form = new URLSearchParams([
    ['client_id', tenant.kcClientId ?? ''],
    ['client_secret', tenant.kcClientSecret ?? ''],
    ['username', tenant.kcUsername ?? ''],
    ['password', tenant.kcPassword ?? ''],
    ['grant_type', 'password'],
  ]);
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      onError(`token endpoint answered HTTP ${res.statusCode}`);
      return null;
    }
    const length = Number(res.headers['content-length'] ?? 0);
    if (length > maxBodyBytes) {
      await res.body.dump();
      onError('token response too large');
      return null;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBodyBytes) {
        res.body.destroy();
        onError('token response too large');
        return null;
      }
      chunks.push(chunk as Buffer);
    }
    const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const token = typeof json === 'object' && json !== null ? (json as { access_token?: unknown }).access_token : undefined;
    if (typeof token !== 'string' || token === '') {
      onError('token response has no access_token');
      return null;
    }
    return token;
  } catch (err) {
    onError(`token request failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/**
 * The plaintext payload for a tenant: basic credentials when it has an LRS
 * username (Scalelite's test for "basic"), otherwise a token from Keycloak.
 * Null when the tenant has no LRS endpoint or no token could be had. Never
 * throws: a broken LRS setup must not break meeting creation.
 */
export async function lrsPayload(tenant: LrsTenant, fetchToken: TokenFetcher = (t) => fetchKeycloakToken(t)): Promise<LrsPayload | null> {
  if (!present(tenant.lrsEndpoint)) return null;
  if (present(tenant.lrsUsername)) {
    return { lrs_endpoint: tenant.lrsEndpoint, lrs_username: tenant.lrsUsername, lrs_password: tenant.lrsPassword ?? '' };
  }
  let token: string | null;
  try {
    token = await fetchToken(tenant);
  } catch {
    token = null;
  }
  return present(token) ? { lrs_endpoint: tenant.lrsEndpoint, lrs_token: token } : null;
}
