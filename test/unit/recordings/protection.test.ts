import { signJwt, verifyJwt } from '../../../src/infra/jwt';
import { cookieName, hasAccess, isPlaybackToken, issueAccessCookie, newPlaybackToken, sameSiteNoneIncompatible } from '../../../src/recordings/protection';

const KEY = 'secret-key-base';
const NOW = new Date('2024-05-01T12:00:00.250Z');
const RECORD = '2f2e6d5a0b2a6a1f2a0c4b4b1f7c4c7f1e0d5c2b-1714561200000';
const TTL = 360 * 60_000;
const MODERN_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const CHROME_66 = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36';

/** Split a Set-Cookie value into its name=value pair and attributes (names lowercased). */
function parseSetCookie(header: string): { name: string; value: string; attrs: Map<string, string | true> } {
  const [pair, ...rest] = header.split('; ');
  const eq = pair.indexOf('=');
  const attrs = new Map<string, string | true>();
  for (const a of rest) {
    const i = a.indexOf('=');
    attrs.set((i < 0 ? a : a.slice(0, i)).toLowerCase(), i < 0 ? true : a.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

const issue = (over: Partial<Parameters<typeof issueAccessCookie>[0]> = {}) =>
  issueAccessCookie({ format: 'presentation', recordId: RECORD, key: KEY, ttlMs: TTL, now: NOW, userAgent: MODERN_UA, ...over });

describe('cookieName', () => {
  test('recording_<format>_<record_id>', () => {
    expect(cookieName('presentation', RECORD)).toBe(`recording_presentation_${RECORD}`);
    expect(cookieName('video', 'abc-1')).toBe('recording_video_abc-1');
  });
});

describe('issueAccessCookie', () => {
  test('an HS256 JWT {sub, exp} scoped to the resource path, Secure, HttpOnly, SameSite=None', () => {
    const c = parseSetCookie(issue());
    expect(c.name).toBe(`recording_presentation_${RECORD}`);
    expect(c.attrs.get('path')).toBe(`/presentation/${RECORD}`);
    expect(c.attrs.get('secure')).toBe(true);
    expect(c.attrs.get('httponly')).toBe(true);
    expect(c.attrs.get('samesite')).toBe('None');
    const header = JSON.parse(Buffer.from(c.value.split('.')[0], 'base64url').toString());
    expect(header.alg).toBe('HS256');
    const verified = verifyJwt(c.value, KEY, { algorithms: ['HS256'], now: NOW });
    expect(verified).toEqual({ ok: true, payload: { sub: `/presentation/${RECORD}`, exp: Math.floor(NOW.getTime() / 1000) + TTL / 1000 } });
  });

  test('Max-Age, Expires and the JWT exp agree with the ttl', () => {
    const c = parseSetCookie(issue({ ttlMs: 90_500 }));
    expect(c.attrs.get('max-age')).toBe('90');
    const exp = Math.floor(NOW.getTime() / 1000) + 90;
    expect(c.attrs.get('expires')).toBe(new Date(exp * 1000).toUTCString());
    expect(Date.parse(c.attrs.get('expires') as string)).toBe(exp * 1000);
    const v = verifyJwt(c.value, KEY, { algorithms: ['HS256'], now: NOW });
    expect(v.ok && v.payload.exp).toBe(exp);
  });

  test('SameSite is left off for clients that mishandle None', () => {
    expect(parseSetCookie(issue({ userAgent: CHROME_66 })).attrs.has('samesite')).toBe(false);
    expect(issue({ userAgent: CHROME_66 })).not.toMatch(/samesite/i);
    expect(parseSetCookie(issue({ userAgent: undefined })).attrs.get('samesite')).toBe('None');
    expect(parseSetCookie(issue({ userAgent: '' })).attrs.get('samesite')).toBe('None');
  });

  test('refuses names that could inject cookie attributes, and silly lifetimes', () => {
    expect(() => issue({ recordId: 'a; Domain=evil.example' })).toThrow(RangeError);
    expect(() => issue({ recordId: '../x' })).toThrow(RangeError);
    expect(() => issue({ recordId: '..' })).toThrow(RangeError);
    expect(() => issue({ format: 'pres entation' })).toThrow(RangeError);
    expect(() => issue({ recordId: '' })).toThrow(RangeError);
    expect(() => issue({ ttlMs: 0 })).toThrow(RangeError);
    expect(() => issue({ ttlMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('hasAccess', () => {
  const pair = (setCookie: string): string => setCookie.split('; ')[0];

  test('the issued cookie opens exactly its own recording and format, until it expires', () => {
    const cookie = pair(issue());
    expect(hasAccess(cookie, 'presentation', RECORD, KEY, NOW)).toBe(true);
    expect(hasAccess(cookie, 'presentation', RECORD, KEY, new Date(NOW.getTime() + TTL - 1000))).toBe(true);
    expect(hasAccess(cookie, 'presentation', RECORD, KEY, new Date(NOW.getTime() + TTL))).toBe(false);
    expect(hasAccess(cookie, 'video', RECORD, KEY, NOW)).toBe(false);
    expect(hasAccess(cookie, 'presentation', `${RECORD.slice(0, -1)}1`, KEY, NOW)).toBe(false);
    expect(hasAccess(cookie, 'presentation', RECORD, 'another-key', NOW)).toBe(false);
  });

  test('finds the cookie among others, with any spacing, quoted or not', () => {
    const value = pair(issue()).split('=').slice(1).join('=');
    const name = cookieName('presentation', RECORD);
    expect(hasAccess(`_ga=GA1.2.3; lang=en;${name}=${value}; other=1`, 'presentation', RECORD, KEY, NOW)).toBe(true);
    expect(hasAccess(`${name}="${value}"`, 'presentation', RECORD, KEY, NOW)).toBe(true);
    // Several cookies of that name (different paths): one valid one suffices.
    expect(hasAccess(`${name}=garbage; ${name}=${value}`, 'presentation', RECORD, KEY, NOW)).toBe(true);
  });

  test('a cookie with the right value under another name does not count', () => {
    const value = pair(issue()).split('=').slice(1).join('=');
    expect(hasAccess(`recording_video_${RECORD}=${value}`, 'presentation', RECORD, KEY, NOW)).toBe(false);
    expect(hasAccess(`x${cookieName('presentation', RECORD)}=${value}`, 'presentation', RECORD, KEY, NOW)).toBe(false);
  });

  test('missing, empty and garbage Cookie headers', () => {
    for (const header of [undefined, '', ';;;', '=', `${cookieName('presentation', RECORD)}=`, `${cookieName('presentation', RECORD)}=a.b.c`]) {
      expect(hasAccess(header, 'presentation', RECORD, KEY, NOW)).toBe(false);
    }
  });

  test('the JWT must be HS256, carry the right sub and an exp', () => {
    const name = cookieName('presentation', RECORD);
    const exp = Math.floor(NOW.getTime() / 1000) + 60;
    const sub = `/presentation/${RECORD}`;
    expect(hasAccess(`${name}=${signJwt({ sub, exp }, KEY, 'HS256')}`, 'presentation', RECORD, KEY, NOW)).toBe(true);
    expect(hasAccess(`${name}=${signJwt({ sub, exp }, KEY, 'HS512')}`, 'presentation', RECORD, KEY, NOW)).toBe(false);
    expect(hasAccess(`${name}=${signJwt({ sub }, KEY, 'HS256')}`, 'presentation', RECORD, KEY, NOW)).toBe(false);
    expect(hasAccess(`${name}=${signJwt({ sub: `/video/${RECORD}`, exp }, KEY, 'HS256')}`, 'presentation', RECORD, KEY, NOW)).toBe(false);
    expect(hasAccess(`${name}=${signJwt({ sub: `${sub}/`, exp }, KEY, 'HS256')}`, 'presentation', RECORD, KEY, NOW)).toBe(false);
  });

  test('unsafe names never match', () => {
    expect(hasAccess('recording_a;b_c=x', 'a;b', 'c', KEY, NOW)).toBe(false);
  });
});

describe('sameSiteNoneIncompatible', () => {
  // Real User-Agent strings.
  const incompatible: Array<[string, string]> = [
    ['iOS 12 Safari (iPhone)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 12_1_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.0 Mobile/15E148 Safari/604.1'],
    ['iOS 12 Safari (iPad)', 'Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1'],
    ['iOS 12 Chrome', 'Mozilla/5.0 (iPhone; CPU iPhone OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/76.0.3809.123 Mobile/15E148 Safari/605.1'],
    ['iOS 12 Firefox', 'Mozilla/5.0 (iPhone; CPU iPhone OS 12_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/18.1 Mobile/16F203 Safari/605.1.15'],
    ['iOS 12 in-app web view', 'Mozilla/5.0 (iPhone; CPU iPhone OS 12_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148'],
    ['iOS 12 iPod', 'Mozilla/5.0 (iPod touch; CPU iPhone OS 12_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.0 Mobile/15E148 Safari/604.1'],
    ['macOS 10.14 Safari', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Safari/605.1.15'],
    ['macOS 10.14 Safari 13', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15'],
    ['macOS 10.14 embedded web view', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko)'],
    ['Chrome 51', 'Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36'],
    ['Chrome 66', CHROME_66],
    ['Chrome 60 Android', 'Mozilla/5.0 (Linux; Android 7.0; SM-G930V Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.107 Mobile Safari/537.36'],
    ['Chromium 65 Ubuntu', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/65.0.3325.181 Chrome/65.0.3325.181 Safari/537.36'],
    ['Chrome 63 macOS 10.13', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/63.0.3239.132 Safari/537.36'],
    [
      'UC Browser 12.13.0',
      'Mozilla/5.0 (Linux; U; Android 9; en-US; SM-A505F Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/57.0.2987.108 UCBrowser/12.13.0.1207 Mobile Safari/537.36',
    ],
    [
      'UC Browser 11.6',
      'Mozilla/5.0 (Linux; U; Android 6.0.1; en-US; Redmi Note 3 Build/MMB29M) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 UCBrowser/11.6.0.1015 U3/0.8.0 Mobile Safari/534.30',
    ],
    [
      'UC Browser 12.10.8',
      'Mozilla/5.0 (Linux; U; Android 8.1.0; en-US; Redmi 5A Build/OPM1.171019.026) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/57.0.2987.108 UCBrowser/12.10.8.1172 Mobile Safari/537.36',
    ],
  ];
  const compatible: Array<[string, string]> = [
    ['empty', ''],
    ['Chrome 124', MODERN_UA],
    ['Chrome 50', 'Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 Safari/537.36'],
    ['Chrome 67', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36'],
    ['Edge 80 (Chromium)', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.87 Safari/537.36 Edg/80.0.361.48'],
    ['Firefox', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0'],
    ['Firefox on macOS 10.14', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.14; rv:68.0) Gecko/20100101 Firefox/68.0'],
    ['Chrome on macOS 10.14', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36'],
    ['macOS 10.15 Safari', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Safari/605.1.15'],
    ['macOS 10.13 Safari', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.2 Safari/605.1.15'],
    ['macOS 10.15 embedded web view', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)'],
    ['macOS 10.14 app with its own suffix', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Slack_SSB/4.0.1'],
    ['iOS 13 Safari', 'Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1'],
    ['iOS 11 Safari', 'Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/11.0 Mobile/15E148 Safari/604.1'],
    ['iOS 17 Safari', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'],
    ['iPadOS desktop mode', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Safari/605.1.15'],
    [
      'UC Browser 12.13.2',
      'Mozilla/5.0 (Linux; U; Android 9; en-US; SM-A505F Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/57.0.2987.108 UCBrowser/12.13.2.1208 Mobile Safari/537.36',
    ],
    [
      'UC Browser 13.4',
      'Mozilla/5.0 (Linux; U; Android 10; en-US; SM-A105F Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36',
    ],
    ['curl', 'curl/8.5.0'],
  ];

  test.each(incompatible)('incompatible: %s', (_name, ua) => expect(sameSiteNoneIncompatible(ua)).toBe(true));
  test.each(compatible)('compatible: %s', (_name, ua) => expect(sameSiteNoneIncompatible(ua)).toBe(false));

  test('stays fast on crafted headers', () => {
    const started = process.hrtime.bigint();
    for (const ua of [
      '(iPhone' + ' OS 1'.repeat(400),
      '(Macintosh;' + ' Mac OS X 10_14'.repeat(130),
      'Version/1 ' + 'a '.repeat(1000),
      'Mozilla/5.0 (Macintosh;' + ' Mac OS X 1'.repeat(180),
    ]) {
      sameSiteNoneIncompatible(ua.slice(0, 2048));
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);
  });
});

describe('playback tokens', () => {
  test('64 lowercase hex, unique', () => {
    const a = newPlaybackToken();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(isPlaybackToken(a)).toBe(true);
    expect(new Set(Array.from({ length: 100 }, newPlaybackToken)).size).toBe(100);
  });

  test('isPlaybackToken rejects any other shape', () => {
    const t = 'a'.repeat(64);
    for (const bad of [t.toUpperCase(), t.slice(1), `${t}0`, `${t}\n`, 'g'.repeat(64), '', undefined, null, 42, ` ${t.slice(1)}`]) {
      expect(isPlaybackToken(bad)).toBe(false);
    }
    expect(isPlaybackToken(t)).toBe(true);
  });
});
