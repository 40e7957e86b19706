import { createHmac } from 'node:crypto';
import { jwtAlgorithmFor, signJwt, verifyJwt } from '../../../src/infra/jwt';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const hmac = (hash: string, key: string, input: string): string => createHmac(hash, key).update(input).digest('base64url');
/** A token assembled by hand, so the header can say anything. */
const forge = (header: unknown, payload: unknown, key: string, hash = 'sha256'): string => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${hmac(hash, key, input)}`;
};
const NOW = new Date('2024-05-01T12:00:00Z');
const nowSec = NOW.getTime() / 1000;

describe('signJwt', () => {
  test('matches the well-known jwt.io HS256 example byte for byte', () => {
    const token = signJwt({ sub: '1234567890', name: 'John Doe', iat: 1516239022 }, 'your-256-bit-secret', 'HS256');
    expect(token).toBe(
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    );
  });

  test.each(['HS256', 'HS512'] as const)('%s: header {alg, typ}, base64url without padding, HMAC signature', (alg) => {
    const token = signJwt({ a: 1, s: 'é/+?' }, 'k', alg);
    const [h, p, s] = token.split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg, typ: 'JWT' });
    expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toEqual({ a: 1, s: 'é/+?' });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(s).toBe(hmac(alg === 'HS256' ? 'sha256' : 'sha512', 'k', `${h}.${p}`));
  });

  test('refuses an empty key and an unknown algorithm', () => {
    expect(() => signJwt({}, '', 'HS256')).toThrow(TypeError);
    expect(() => signJwt({}, 'k', 'none' as never)).toThrow(TypeError);
  });
});

describe('verifyJwt', () => {
  test.each(['HS256', 'HS512'] as const)('%s roundtrip', (alg) => {
    const token = signJwt({ meeting_id: 'm', record_id: 'r' }, 'secret', alg);
    expect(verifyJwt(token, 'secret', { algorithms: [alg] })).toEqual({ ok: true, payload: { meeting_id: 'm', record_id: 'r' } });
    expect(verifyJwt(token, 'secret', { algorithms: ['HS256', 'HS512'] }).ok).toBe(true);
  });

  test('wrong key', () => {
    const token = signJwt({ x: 1 }, 'secret', 'HS256');
    expect(verifyJwt(token, 'secreT', { algorithms: ['HS256'] })).toEqual({ ok: false, reason: 'bad signature' });
  });

  test('tampered payload, header or signature', () => {
    const token = signJwt({ sub: '/presentation/a' }, 'secret', 'HS256');
    const [h, p, s] = token.split('.');
    const evil = b64({ sub: '/presentation/b' });
    expect(verifyJwt(`${h}.${evil}.${s}`, 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    expect(verifyJwt(`${b64({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${p}.${s}`, 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    expect(verifyJwt(`${h}.${p}.${flipped}`, 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    // A signature with an extra character, or truncated: different length, still rejected.
    expect(verifyJwt(`${h}.${p}.${s}A`, 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    expect(verifyJwt(`${h}.${p}.${s.slice(0, -1)}`, 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
  });

  describe('algorithm confusion', () => {
    test('alg none is rejected, with or without a signature', () => {
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x' })}.`;
      expect(verifyJwt(unsigned, 'secret', { algorithms: ['HS256', 'HS512'] }).ok).toBe(false);
      expect(verifyJwt(forge({ alg: 'none' }, { sub: 'x' }, 'secret'), 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
      expect(verifyJwt(forge({ alg: 'None' }, { sub: 'x' }, 'secret'), 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    });

    test('a validly signed HS512 token is refused where only HS256 is allowed, and vice versa', () => {
      expect(verifyJwt(signJwt({}, 'secret', 'HS512'), 'secret', { algorithms: ['HS256'] })).toEqual({ ok: false, reason: 'algorithm not allowed: HS512' });
      expect(verifyJwt(signJwt({}, 'secret', 'HS256'), 'secret', { algorithms: ['HS512'] }).ok).toBe(false);
    });

    test('the header alg must match the MAC actually used', () => {
      // Claims HS256 but carries an HS512 MAC.
      expect(verifyJwt(forge({ alg: 'HS256' }, {}, 'secret', 'sha512'), 'secret', { algorithms: ['HS256', 'HS512'] }).ok).toBe(false);
    });

    test('asymmetric and prototype-named algorithms are refused', () => {
      for (const alg of ['RS256', 'ES256', 'hs256', 'constructor', 'toString', '__proto__']) {
        expect(verifyJwt(forge({ alg }, {}, 'secret'), 'secret', { algorithms: ['HS256', 'HS512'] }).ok).toBe(false);
      }
      expect(verifyJwt(forge({ alg: 'HS256' }, {}, 'secret'), 'secret', { algorithms: [] }).ok).toBe(false);
    });

    test('missing or non-string alg', () => {
      expect(verifyJwt(forge({ typ: 'JWT' }, {}, 'secret'), 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
      expect(verifyJwt(forge({ alg: ['HS256'] }, {}, 'secret'), 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    });

    test('unknown critical header parameters are refused', () => {
      expect(verifyJwt(forge({ alg: 'HS256', crit: ['exp'] }, {}, 'secret'), 'secret', { algorithms: ['HS256'] }).ok).toBe(false);
    });
  });

  describe('time claims', () => {
    test('exp: valid strictly before, expired at and after', () => {
      const token = signJwt({ exp: nowSec + 60 }, 'k', 'HS256');
      expect(verifyJwt(token, 'k', { algorithms: ['HS256'], now: NOW }).ok).toBe(true);
      expect(verifyJwt(token, 'k', { algorithms: ['HS256'], now: new Date(NOW.getTime() + 59_999) }).ok).toBe(true);
      expect(verifyJwt(token, 'k', { algorithms: ['HS256'], now: new Date(NOW.getTime() + 60_000) })).toEqual({ ok: false, reason: 'token expired' });
      expect(verifyJwt(token, 'k', { algorithms: ['HS256'], now: new Date(NOW.getTime() + 3_600_000) }).ok).toBe(false);
    });

    test('exp defaults to the real clock', () => {
      expect(verifyJwt(signJwt({ exp: Math.floor(Date.now() / 1000) - 1 }, 'k', 'HS256'), 'k', { algorithms: ['HS256'] }).ok).toBe(false);
      expect(verifyJwt(signJwt({ exp: Math.floor(Date.now() / 1000) + 60 }, 'k', 'HS256'), 'k', { algorithms: ['HS256'] }).ok).toBe(true);
    });

    test('nbf in the future is refused, in the past accepted', () => {
      expect(verifyJwt(signJwt({ nbf: nowSec + 10 }, 'k', 'HS256'), 'k', { algorithms: ['HS256'], now: NOW })).toEqual({ ok: false, reason: 'token not yet valid' });
      expect(verifyJwt(signJwt({ nbf: nowSec - 10 }, 'k', 'HS256'), 'k', { algorithms: ['HS256'], now: NOW }).ok).toBe(true);
    });

    test('non-numeric exp or nbf are refused rather than ignored', () => {
      for (const payload of [{ exp: String(nowSec + 60) }, { exp: null }, { nbf: 'soon' }, { exp: [nowSec + 60] }]) {
        expect(verifyJwt(signJwt(payload, 'k', 'HS256'), 'k', { algorithms: ['HS256'], now: NOW }).ok).toBe(false);
      }
    });
  });

  test('malformed tokens', () => {
    const good = signJwt({ a: 1 }, 'k', 'HS256');
    const [h, p, s] = good.split('.');
    const cases = [
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.`,
      `${h}.${p}.${s}=`,
      `${h}+.${p}.${s}`,
      `${b64('not json')}.${p}.${s}`,
      ' ' + good,
      'a'.repeat(20_000) + '.b.c',
    ];
    for (const token of cases) expect(verifyJwt(token, 'k', { algorithms: ['HS256'] }).ok).toBe(false);
    expect(verifyJwt(undefined as unknown as string, 'k', { algorithms: ['HS256'] }).ok).toBe(false);
  });

  test('a payload that is not a JSON object is refused even when signed', () => {
    for (const payload of [[1, 2], 'str', 42, null]) {
      expect(verifyJwt(forge({ alg: 'HS256' }, payload, 'k'), 'k', { algorithms: ['HS256'] })).toEqual({ ok: false, reason: 'malformed payload' });
    }
  });

  test('an empty verification key never verifies', () => {
    expect(verifyJwt(forge({ alg: 'HS256' }, {}, ''), '', { algorithms: ['HS256'] }).ok).toBe(false);
  });
});

describe('jwtAlgorithmFor (recording-ready callbacks, §4.6)', () => {
  test.each([
    [['sha1', 'sha256', 'sha512'], 'HS256'],
    [['sha256'], 'HS256'],
    [['sha1', 'sha512'], 'HS512'],
    [['sha512'], 'HS512'],
    [['sha1'], 'HS256'],
    // SHA-384 (beyond Scalelite) changes nothing: HS512 needs SHA512 allowed, else Scalelite's HS256
    [['sha1', 'sha256', 'sha384', 'sha512'], 'HS256'],
    [['sha384', 'sha512'], 'HS512'],
    [['sha384'], 'HS256'],
    [[], 'HS256'],
  ] as const)('%j → %s', (algorithms, expected) => {
    expect(jwtAlgorithmFor(new Set(algorithms))).toBe(expected);
  });
});
