import { signJwt, verifyJwt } from '../../../src/infra/jwt';
import { ANALYTICS_JWT_TTL_SECONDS, bearerToken, signAnalyticsJwt, verifyAnyHs512 } from '../../../src/api/analytics-jwt';

const NOW = new Date('2024-05-01T12:00:00.900Z');
const nowSec = Math.floor(NOW.getTime() / 1000);

describe('signAnalyticsJwt', () => {
  test('HS512 with exp = now + 24 h and nothing else', () => {
    const token = signAnalyticsJwt('lb-secret', NOW);
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg).toBe('HS512');
    expect(verifyJwt(token, 'lb-secret', { algorithms: ['HS512'], now: NOW })).toEqual({ ok: true, payload: { exp: nowSec + 86_400 } });
    expect(ANALYTICS_JWT_TTL_SECONDS).toBe(86_400);
  });

  test('defaults to the current time', () => {
    const token = signAnalyticsJwt('lb-secret');
    const v = verifyJwt(token, 'lb-secret', { algorithms: ['HS512'] });
    expect(v.ok).toBe(true);
    if (v.ok) expect(Math.abs((v.payload.exp as number) - (Date.now() / 1000 + 86_400))).toBeLessThan(5);
  });
});

describe('verifyAnyHs512', () => {
  const servers = ['bbb1-secret', 'bbb2-secret', 'bbb3-secret'];

  test('accepts a token signed with any of the secrets', () => {
    for (const secret of servers) expect(verifyAnyHs512(signJwt({ exp: nowSec + 60 }, secret, 'HS512'), servers, NOW)).toBe(true);
    expect(verifyAnyHs512(signJwt({}, 'bbb2-secret', 'HS512'), servers, NOW)).toBe(true);
  });

  test('refuses unknown secrets, HS256, expired tokens, garbage, and an empty list', () => {
    expect(verifyAnyHs512(signJwt({ exp: nowSec + 60 }, 'stranger', 'HS512'), servers, NOW)).toBe(false);
    expect(verifyAnyHs512(signJwt({ exp: nowSec + 60 }, 'bbb1-secret', 'HS256'), servers, NOW)).toBe(false);
    expect(verifyAnyHs512(signJwt({ exp: nowSec - 1 }, 'bbb1-secret', 'HS512'), servers, NOW)).toBe(false);
    expect(verifyAnyHs512('not.a.jwt', servers, NOW)).toBe(false);
    expect(verifyAnyHs512('', servers, NOW)).toBe(false);
    expect(verifyAnyHs512(signJwt({}, 'bbb1-secret', 'HS512'), [], NOW)).toBe(false);
    expect(verifyAnyHs512(signJwt({}, 'x', 'HS512'), ['', 'y'], NOW)).toBe(false);
  });

  test('our own analytics token verifies for its 24 hours only', () => {
    const token = signAnalyticsJwt('bbb3-secret', NOW);
    expect(verifyAnyHs512(token, servers, new Date(NOW.getTime() + 23 * 3_600_000))).toBe(true);
    expect(verifyAnyHs512(token, servers, new Date(NOW.getTime() + 24 * 3_600_000))).toBe(false);
  });
});

describe('bearerToken', () => {
  test.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def.ghi', 'abc.def.ghi'],
    ['BEARER  abc.def-_ghi ', 'abc.def-_ghi'],
    ['Bearer abc=', 'abc='],
  ])('%j → %j', (header, token) => expect(bearerToken(header)).toBe(token));

  test.each([undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearerabc', 'Bearer a b', 'Token abc'])('%j → null', (header) => {
    expect(bearerToken(header)).toBeNull();
  });
});
