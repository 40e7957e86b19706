import { randomBytes } from 'node:crypto';
import { signJwt, verifyJwt } from '../infra/jwt';

/*
 * Protected playback (Scalelite §4.5): a one-time token in the play URL is
 * exchanged for a cookie scoped to the recording's resource path; the resource
 * route then only needs the cookie. Pure functions: the HTTP layer and the
 * token store are elsewhere.
 */

/**
 * What may appear in a cookie name and a Path attribute without quoting or
 * escaping. Record ids (`<sha1>-<ms>`) and format names (config-validated) fit;
 * anything else is refused so that nothing from a URL can inject attributes.
 */
const SAFE_SEGMENT = /^[A-Za-z0-9._~-]{1,256}$/;

const isSafeSegment = (s: string): boolean => typeof s === 'string' && SAFE_SEGMENT.test(s) && s !== '.' && s !== '..';

export const cookieName = (format: string, recordId: string): string => `recording_${format}_${recordId}`;

/** The path the cookie is scoped to, and the `sub` it carries. */
export const resourcePath = (format: string, recordId: string): string => `/${format}/${recordId}`;

export interface AccessCookieOptions {
  format: string;
  recordId: string;
  /** HS256 key (SECRET_KEY_BASE, RecordingSettings.cookieKey) */
  key: string;
  ttlMs: number;
  now: Date;
  userAgent: string | undefined;
}

/** A complete Set-Cookie header value granting access to one recording's resources for `ttlMs`. */
export function issueAccessCookie(opts: AccessCookieOptions): string {
  const { format, recordId } = opts;
  if (!isSafeSegment(format) || !isSafeSegment(recordId)) throw new RangeError('format and record id must be plain path segments');
  if (!Number.isFinite(opts.ttlMs) || opts.ttlMs < 1000) throw new RangeError('the access cookie lifetime must be at least one second');
  const maxAge = Math.floor(opts.ttlMs / 1000);
  // JWT exp, Max-Age and Expires all derive from the same whole second, so they agree.
  const exp = Math.floor(opts.now.getTime() / 1000) + maxAge;
  const path = resourcePath(format, recordId);
  const jwt = signJwt({ sub: path, exp }, opts.key, 'HS256');
  const attributes = [`${cookieName(format, recordId)}=${jwt}`, `Path=${path}`, `Max-Age=${maxAge}`, `Expires=${new Date(exp * 1000).toUTCString()}`, 'Secure', 'HttpOnly'];
  // The player is often embedded cross-site (LMS iframes), hence None; clients that
  // mishandle None would drop or mis-scope the cookie, so they get no SameSite at all.
  if (!sameSiteNoneIncompatible(opts.userAgent ?? '')) attributes.push('SameSite=None');
  return attributes.join('; ');
}

/** Bounds the parsing work for hostile Cookie headers; real ones hold a handful of cookies. */
const MAX_COOKIE_PAIRS = 200;

/** Values of every cookie called `name` (a browser may send several with different paths). */
function cookieValues(header: string, name: string): string[] {
  const values: string[] = [];
  const pairs = header.split(';', MAX_COOKIE_PAIRS);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    values.push(value);
  }
  return values;
}

/** Does the Cookie header carry a valid, unexpired access cookie for this recording's resources? */
export function hasAccess(cookieHeader: string | undefined, format: string, recordId: string, key: string, now: Date): boolean {
  if (!cookieHeader || !isSafeSegment(format) || !isSafeSegment(recordId)) return false;
  const sub = resourcePath(format, recordId);
  return cookieValues(cookieHeader, cookieName(format, recordId)).some((value) => {
    const verified = verifyJwt(value, key, { algorithms: ['HS256'], now });
    // exp is required: a token without one would grant access forever.
    return verified.ok && verified.payload.sub === sub && typeof verified.payload.exp === 'number';
  });
}

/*
 * Clients that mishandle `SameSite=None`, from Chromium's published list
 * ("SameSite=None: Known Incompatible Clients"):
 *  - WebKit's bug (treats None as Strict): every browser on iOS 12, and on
 *    macOS 10.14 Safari and apps embedding the system web view;
 *  - clients that reject cookies with an unknown SameSite value: Chrome and
 *    Chromium 51 to 66, and UC Browser before 12.13.2.
 * The patterns avoid adjacent overlapping quantifiers (the reference uses
 * '.*' freely) so that matching stays cheap on crafted User-Agent headers.
 */
const IOS_VERSION = /\(iP(?:hone|od|ad)[^)]*? OS (\d+)[^)]*\) AppleWebKit\//;
const MACOS_VERSION = /\(Macintosh;[^)]*? Mac OS X (\d+)_(\d+)[^)]*\) AppleWebKit\//;
const SAFARI = /Version\/[^ ]* (?:[^ ]+ )*?Safari\//;
const MAC_EMBEDDED = /^Mozilla\/[.\d]+ \(Macintosh;[^)]* Mac OS X [_\d]+\) AppleWebKit\/[.\d]+ \(KHTML, like Gecko\)$/;
const CHROMIUM = /Chrom(?:e|ium)/;
const CHROMIUM_VERSION = /Chrom[^ /]+\/(\d+)/;
const UC_BROWSER = /UCBrowser\//;
const UC_BROWSER_VERSION = /UCBrowser\/(\d+)\.(\d+)\.(\d+)/;

/** Real User-Agents stay well under this; longer ones are not worth pattern matching and are treated as modern. */
const MAX_USER_AGENT_LENGTH = 2048;

const isChromiumBased = (ua: string): boolean => CHROMIUM.test(ua);

function hasWebKitSameSiteBug(ua: string): boolean {
  if (IOS_VERSION.exec(ua)?.[1] === '12') return true;
  const mac = MACOS_VERSION.exec(ua);
  if (!mac || mac[1] !== '10' || mac[2] !== '14') return false;
  const safari = SAFARI.test(ua) && !isChromiumBased(ua);
  return safari || MAC_EMBEDDED.test(ua);
}

function dropsUnrecognizedSameSite(ua: string): boolean {
  if (UC_BROWSER.test(ua)) {
    const m = UC_BROWSER_VERSION.exec(ua);
    // Unknown UC version: omitting SameSite is the safer mistake (a modern browser then
    // treats the cookie as Lax; an old one given None would drop it altogether).
    if (!m) return true;
    const [major, minor, build] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (major !== 12) return major < 12;
    if (minor !== 13) return minor < 13;
    return build < 2;
  }
  if (!isChromiumBased(ua)) return false;
  const m = CHROMIUM_VERSION.exec(ua);
  if (!m) return false;
  const major = Number(m[1]);
  return major >= 51 && major <= 66;
}

/** Should `SameSite=None` be left off for this User-Agent? */
export function sameSiteNoneIncompatible(userAgent: string): boolean {
  if (typeof userAgent !== 'string' || userAgent === '' || userAgent.length > MAX_USER_AGENT_LENGTH) return false;
  return hasWebKitSameSiteBug(userAgent) || dropsUnrecognizedSameSite(userAgent);
}

const PLAYBACK_TOKEN = /^[0-9a-f]{64}$/;

/** A one-time playback token: 256 random bits as 64 lowercase hex characters (Scalelite's shape). */
export const newPlaybackToken = (): string => randomBytes(32).toString('hex');

export const isPlaybackToken = (s: unknown): s is string => typeof s === 'string' && PLAYBACK_TOKEN.test(s);
