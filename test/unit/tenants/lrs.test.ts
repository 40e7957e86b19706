import { execFile } from 'node:child_process';
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { decryptLrsPayload, encryptLrsPayload, encryptLrsPayloadAsync, fetchKeycloakToken, LrsTenant, lrsPayload } from '../../../src/tenants/lrs';

const run = promisify(execFile);
const opensslPath = ['/usr/bin/openssl', '/usr/local/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
const withOpenssl = opensslPath ? test : test.skip;

const fixedSalt = (n: number) => Buffer.alloc(n, 0xab);

describe('encryptLrsPayload', () => {
  const payload = { lrs_endpoint: 'https://lrs.example.com', lrs_token: 'tok-123' };

  test('given a payload and a secret, then Base64 of Salted__ ‖ salt ‖ AES-256-CBC ciphertext', () => {
    const blob = Buffer.from(encryptLrsPayload(payload, 'server-secret', fixedSalt), 'base64');
    expect(blob.subarray(0, 8).toString('latin1')).toBe('Salted__');
    expect(blob.subarray(8, 16)).toEqual(Buffer.alloc(8, 0xab));
    // the ciphertext is whole AES blocks, PKCS#7 padded
    const plaintextLength = Buffer.byteLength(JSON.stringify(payload));
    expect(blob.length - 16).toBe((Math.floor(plaintextLength / 16) + 1) * 16);
  });

  test('given the same salt, then the layout matches an independent derivation (PBKDF2-SHA256, 10000, 48 bytes)', () => {
    const salt = Buffer.from('0011223344556677', 'hex');
    const derived = pbkdf2Sync('s3cr3t', salt, 10_000, 48, 'sha256');
    const c = createCipheriv('aes-256-cbc', derived.subarray(0, 32), derived.subarray(32));
    const expected = Buffer.concat([Buffer.from('Salted__'), salt, c.update(JSON.stringify(payload)), c.final()]).toString('base64');
    expect(encryptLrsPayload(payload, 's3cr3t', () => salt)).toBe(expected);
  });

  test('round trip: decrypt with the same secret gives the payload back', () => {
    expect(decryptLrsPayload(encryptLrsPayload(payload, 'server-secret'), 'server-secret')).toEqual(payload);
  });

  test('the async variant produces the same bytes for the same salt', async () => {
    expect(await encryptLrsPayloadAsync(payload, 's3cr3t', fixedSalt)).toBe(encryptLrsPayload(payload, 's3cr3t', fixedSalt));
  });

  test('two payloads of the same content differ (random salt)', () => {
    expect(encryptLrsPayload(payload, 's')).not.toBe(encryptLrsPayload(payload, 's'));
  });

  test('decrypting with another secret does not give the payload', () => {
    const blob = encryptLrsPayload(payload, 'right');
    let out: unknown;
    try {
      out = decryptLrsPayload(blob, 'wrong');
    } catch {
      out = 'threw';
    }
    expect(out).not.toEqual(payload);
  });

  test('given a Scalelite payload (8 random bytes first), then it decrypts too: the header is not read', () => {
    const blob = Buffer.from(encryptLrsPayload(payload, 'k'), 'base64');
    randomBytes(8).copy(blob, 0);
    expect(decryptLrsPayload(blob.toString('base64'), 'k')).toEqual(payload);
  });

  test('given a non-ASCII payload, then UTF-8 survives', () => {
    const p = { lrs_endpoint: 'https://lrs.example.com/ü', lrs_username: 'jörg', lrs_password: 'pä$$' };
    expect(decryptLrsPayload(encryptLrsPayload(p, 'k'), 'k')).toEqual(p);
  });

  withOpenssl('given our payload, then the openssl CLI decrypts it (as the bbb-webhooks README does)', async () => {
    const secret = 'bab3fd92bcd7d464';
    const blob = encryptLrsPayload(payload, secret);
    const { stdout } = await run('sh', ['-c', `printf %s "$BLOB" | "$OPENSSL" enc -d -aes-256-cbc -pbkdf2 -iter 10000 -md sha256 -base64 -A -pass pass:${secret}`], {
      env: { ...process.env, BLOB: blob, OPENSSL: opensslPath! },
    });
    expect(JSON.parse(stdout)).toEqual(payload);
  });

  withOpenssl('given a payload the openssl CLI encrypted, then decryptLrsPayload reads it', async () => {
    const { stdout } = await run('sh', ['-c', `printf %s "$DATA" | "$OPENSSL" enc -aes-256-cbc -pbkdf2 -iter 10000 -md sha256 -base64 -A -pass pass:k`], {
      env: { ...process.env, DATA: JSON.stringify(payload), OPENSSL: opensslPath! },
    });
    expect(decryptLrsPayload(stdout.trim(), 'k')).toEqual(payload);
  });
});

/** A local token endpoint: answers with `reply` and records what it was sent. */
async function tokenServer(reply: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Array<{ method?: string; url?: string; type?: string; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      reply(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/bbb/protocol/openid-connect/token`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())), server };
}

const kcTenant = (url: string): LrsTenant => ({
  lrsEndpoint: 'https://lrs.example.com',
  kcTokenUrl: url,
  kcClientId: 'client_id',
  kcClientSecret: 'client_secret',
  kcUsername: 'kc_user',
  kcPassword: 'kc p&ss',
});

describe('lrsPayload', () => {
  test('given no LRS endpoint, then null and no token is fetched', async () => {
    const fetchToken = jest.fn(async () => 'x');
    expect(await lrsPayload({ lrsUsername: 'u', lrsPassword: 'p' }, fetchToken)).toBeNull();
    expect(await lrsPayload({ lrsEndpoint: '  ' }, fetchToken)).toBeNull();
    expect(fetchToken).not.toHaveBeenCalled();
  });

  test('given basic credentials, then endpoint, username and password, without a token request', async () => {
    const fetchToken = jest.fn(async () => 'x');
    const p = await lrsPayload({ lrsEndpoint: 'https://lrs', lrsUsername: 'u', lrsPassword: 'p', kcTokenUrl: 'http://kc' }, fetchToken);
    expect(p).toEqual({ lrs_endpoint: 'https://lrs', lrs_username: 'u', lrs_password: 'p' });
    expect(fetchToken).not.toHaveBeenCalled();
  });

  test('given a token fetcher that throws, then null (never throws)', async () => {
    await expect(lrsPayload({ lrsEndpoint: 'https://lrs' }, async () => Promise.reject(new Error('boom')))).resolves.toBeNull();
  });

  describe('with Keycloak', () => {
    test('given a 200 with access_token, then endpoint and token; the grant is posted as a form', async () => {
      const kc = await tokenServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'kc-token', token_type: 'Bearer' }));
      });
      try {
        expect(await lrsPayload(kcTenant(kc.url))).toEqual({ lrs_endpoint: 'https://lrs.example.com', lrs_token: 'kc-token' });
        expect(kc.seen).toHaveLength(1);
        expect(kc.seen[0]).toMatchObject({ method: 'POST', url: '/realms/bbb/protocol/openid-connect/token', type: 'application/x-www-form-urlencoded' });
        expect([...new URLSearchParams(kc.seen[0].body)]).toEqual([
          ['client_id', 'client_id'],
          ['client_secret', 'client_secret'],
          ['username', 'kc_user'],
          ['password', 'kc p&ss'],
          ['grant_type', 'password'],
        ]);
      } finally {
        await kc.close();
      }
    });

    test.each([
      ['a 401', 401, JSON.stringify({ error: 'invalid_grant' })],
      ['a 500', 500, 'Internal Server Error'],
      ['a 200 without access_token', 200, JSON.stringify({ token_type: 'Bearer' })],
      ['a 200 with an empty access_token', 200, JSON.stringify({ access_token: '' })],
      ['a 200 with a non-string access_token', 200, JSON.stringify({ access_token: 42 })],
      ['a 200 that is not JSON', 200, 'kc_access_token'],
      ['a 201 with a token', 201, JSON.stringify({ access_token: 't' })],
    ])('given %s, then null', async (_what, status, body) => {
      const kc = await tokenServer((_req, res) => {
        res.writeHead(status);
        res.end(body);
      });
      const reasons: string[] = [];
      try {
        expect(await lrsPayload(kcTenant(kc.url), (t) => fetchKeycloakToken(t, { onError: (r) => reasons.push(r) }))).toBeNull();
        expect(reasons).toHaveLength(1);
        expect(reasons[0]).not.toContain('kc p&ss');
      } finally {
        await kc.close();
      }
    });

    test('given an endpoint that never answers, then null within the timeout', async () => {
      const kc = await tokenServer(() => {
        /* hold the request open */
      });
      try {
        const started = Date.now();
        expect(await fetchKeycloakToken(kcTenant(kc.url), { timeoutMs: 200 })).toBeNull();
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        kc.server.closeAllConnections();
        await kc.close();
      }
    });

    test('given an oversized response, then null', async () => {
      const kc = await tokenServer((_req, res) => {
        res.writeHead(200);
        res.end(JSON.stringify({ access_token: 'x'.repeat(4096) }));
      });
      try {
        expect(await fetchKeycloakToken(kcTenant(kc.url), { maxBodyBytes: 1024 })).toBeNull();
      } finally {
        await kc.close();
      }
    });

    test.each([
      ['no token URL', { kcTokenUrl: undefined }],
      ['a token URL that is not a URL', { kcTokenUrl: 'not a url' }],
      ['a non-http token URL', { kcTokenUrl: 'file:///etc/passwd' }],
      ['a refused connection', { kcTokenUrl: 'http://127.0.0.1:1/token' }],
    ])('given %s, then null', async (_what, over) => {
      expect(await lrsPayload({ ...kcTenant('http://unused'), ...over })).toBeNull();
    });
  });
});
