import { signJwt, verifyJwt } from '../infra/jwt';

/*
 * JWTs of the analytics callback (Scalelite §5.6). BBB calls
 * /bigbluebutton/api/analytics_callback with an HS512 Bearer token signed with
 * its own server secret; we forward the data to the URL stored at create time
 * with a token of our own, signed with each tenant/LB secret in turn.
 */

export const ANALYTICS_JWT_TTL_SECONDS = 24 * 60 * 60;

/** HS512 `{exp: now + 24 h}`, what Scalelite sends to the stored analytics URL. */
export function signAnalyticsJwt(secret: string, now: Date = new Date()): string {
  return signJwt({ exp: Math.floor(now.getTime() / 1000) + ANALYTICS_JWT_TTL_SECONDS }, secret, 'HS512');
}

/** Is `token` an HS512 JWT, unexpired, signed with any of `secrets` (the registered BBB servers')? */
export function verifyAnyHs512(token: string, secrets: readonly string[], now: Date = new Date()): boolean {
  let ok = false;
  // No early exit: the time taken does not tell which server's secret matched.
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length > 0 && verifyJwt(token, secret, { algorithms: ['HS512'], now }).ok) ok = true;
  }
  return ok;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750); null otherwise. */
export function bearerToken(authorization: string | undefined): string | null {
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization ?? '');
  return m ? m[1] : null;
}
