import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { verifyJwt } from '../../../src/infra/jwt';
import { defaultBackoffMs, notifyRecordingReady, ReadyCallbackOptions } from '../../../src/recordings/ready-callback';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
  token: string | null;
}

/** A receiver on 127.0.0.1:<random> whose answer per request is decided by the test. */
class Receiver {
  readonly received: Received[] = [];
  private server!: Server;
  url = '';
  constructor(private readonly answer: (r: Received, n: number) => number | 'hang') {}

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const r: Received = {
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: req.headers['content-type'],
          body,
          token: new URLSearchParams(body).get('signed_parameters'),
        };
        this.received.push(r);
        const status = this.answer(r, this.received.length);
        if (status === 'hang') return;
        res.writeHead(status, status >= 300 && status < 400 ? { location: '/elsewhere' } : {}).end('whatever');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback?x=1`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const receivers: Receiver[] = [];
const receiver = async (answer: (r: Received, n: number) => number | 'hang'): Promise<Receiver> => {
  const r = await new Receiver(answer).start();
  receivers.push(r);
  return r;
};
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const acceptsOnly =
  (secret: string, alg: 'HS256' | 'HS512' = 'HS256') =>
  (r: Received) =>
    r.token !== null && verifyJwt(r.token, secret, { algorithms: [alg] }).ok ? 200 : 401;

const noSleep = jest.fn(async (_ms: number) => undefined);
beforeEach(() => noSleep.mockClear());

const base = (url: string, over: Partial<ReadyCallbackOptions> = {}): ReadyCallbackOptions => ({
  url,
  meetingId: 'meeting-1',
  recordId: 'rec-1',
  secrets: ['s1'],
  algorithm: 'HS256',
  retries: 0,
  sleep: noSleep,
  timeoutMs: 2000,
  ...over,
});

describe('notifyRecordingReady', () => {
  test('2xx: delivered after one form-encoded POST carrying the JWT {meeting_id, record_id}', async () => {
    const rx = await receiver(() => 200);
    const result = await notifyRecordingReady(base(rx.url, { retries: 3 }));
    expect(result).toEqual({ outcome: 'delivered', status: 200, attempts: 1 });
    expect(rx.received).toHaveLength(1);
    const [r] = rx.received;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/callback?x=1');
    expect(r.contentType).toBe('application/x-www-form-urlencoded');
    expect([...new URLSearchParams(r.body).keys()]).toEqual(['signed_parameters']);
    expect(verifyJwt(r.token!, 's1', { algorithms: ['HS256'] })).toEqual({ ok: true, payload: { meeting_id: 'meeting-1', record_id: 'rec-1' } });
    expect(noSleep).not.toHaveBeenCalled();
  });

  test('any 2xx counts (204)', async () => {
    const rx = await receiver(() => 204);
    expect(await notifyRecordingReady(base(rx.url))).toEqual({ outcome: 'delivered', status: 204, attempts: 1 });
  });

  test('HS512 when asked', async () => {
    const rx = await receiver(acceptsOnly('s1', 'HS512'));
    expect((await notifyRecordingReady(base(rx.url, { algorithm: 'HS512' }))).outcome).toBe('delivered');
    const header = JSON.parse(Buffer.from(rx.received[0].token!.split('.')[0], 'base64url').toString());
    expect(header.alg).toBe('HS512');
  });

  test.each([410, 404])('%i: rejected, neither the next secret nor a retry is tried', async (status) => {
    const rx = await receiver(() => status);
    const result = await notifyRecordingReady(base(rx.url, { secrets: ['s1', 's2'], retries: 5 }));
    expect(result).toEqual({ outcome: 'rejected', status, attempts: 1, error: `HTTP ${status}` });
    expect(rx.received).toHaveLength(1);
    expect(noSleep).not.toHaveBeenCalled();
  });

  test('401 with the first secret: the second secret is tried and accepted', async () => {
    const rx = await receiver(acceptsOnly('s2'));
    const result = await notifyRecordingReady(base(rx.url, { secrets: ['s1', 's2', 's3'], retries: 2 }));
    expect(result).toEqual({ outcome: 'delivered', status: 200, attempts: 2 });
    expect(rx.received.map((r) => verifyJwt(r.token!, 's1', { algorithms: ['HS256'] }).ok)).toEqual([true, false]);
    expect(verifyJwt(rx.received[1].token!, 's2', { algorithms: ['HS256'] }).ok).toBe(true);
  });

  test('empty secrets are skipped, not signed with', async () => {
    const rx = await receiver(acceptsOnly('s2'));
    expect(await notifyRecordingReady(base(rx.url, { secrets: ['', 's2'] }))).toEqual({ outcome: 'delivered', status: 200, attempts: 1 });
  });

  test('failed rounds are retried after the backoff, until one succeeds', async () => {
    const rx = await receiver((_r, n) => (n <= 3 ? 500 : 200));
    const result = await notifyRecordingReady(base(rx.url, { retries: 5, backoffMs: (attempt) => attempt * 10 }));
    expect(result).toEqual({ outcome: 'delivered', status: 200, attempts: 4 });
    expect(noSleep.mock.calls.map(([ms]) => ms)).toEqual([10, 20, 30]);
  });

  test('a round tries every secret before waiting; gives up after `retries` more rounds', async () => {
    const rx = await receiver(() => 503);
    const result = await notifyRecordingReady(base(rx.url, { secrets: ['s1', 's2'], retries: 2, backoffMs: () => 7 }));
    expect(result).toEqual({ outcome: 'failed', status: 503, attempts: 6, error: 'HTTP 503' });
    expect(rx.received).toHaveLength(6);
    expect(noSleep.mock.calls).toEqual([[7], [7]]);
    // Within a round the secrets go in order.
    const signer = (r: Received) => (verifyJwt(r.token!, 's1', { algorithms: ['HS256'] }).ok ? 's1' : 's2');
    expect(rx.received.map(signer)).toEqual(['s1', 's2', 's1', 's2', 's1', 's2']);
  });

  test('retries: 0 means a single round', async () => {
    const rx = await receiver(() => 500);
    expect(await notifyRecordingReady(base(rx.url, { retries: 0 }))).toMatchObject({ outcome: 'failed', attempts: 1 });
    expect(noSleep).not.toHaveBeenCalled();
  });

  test('redirects are not followed: a 3xx is a failure', async () => {
    const rx = await receiver(() => 302);
    expect(await notifyRecordingReady(base(rx.url))).toMatchObject({ outcome: 'failed', status: 302, attempts: 1 });
    expect(rx.received).toHaveLength(1);
  });

  test('network errors: failed with no status, every secret and round tried', async () => {
    const rx = await receiver(() => 200);
    const url = rx.url;
    await rx.stop();
    receivers.splice(receivers.indexOf(rx), 1);
    const result = await notifyRecordingReady(base(url, { secrets: ['s1', 's2'], retries: 1 }));
    expect(result).toMatchObject({ outcome: 'failed', status: null, attempts: 4 });
    expect(result.error).toMatch(/ECONNREFUSED/);
    expect(noSleep).toHaveBeenCalledTimes(1);
  });

  test('a receiver that never answers is abandoned after the timeout', async () => {
    const rx = await receiver(() => 'hang');
    const started = Date.now();
    const result = await notifyRecordingReady(base(rx.url, { timeoutMs: 200 }));
    expect(result).toMatchObject({ outcome: 'failed', status: null, attempts: 1 });
    expect(result.error).toMatch(/^TimeoutError: [^0-9]/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test.each(['ftp://127.0.0.1/x', 'javascript:alert(1)', 'file:///etc/passwd', 'not a url', '', '//127.0.0.1/x'])('%j: failed without a request', async (url) => {
    const result = await notifyRecordingReady(base(url, { retries: 3 }));
    expect(result).toMatchObject({ outcome: 'failed', status: null, attempts: 0 });
    expect(noSleep).not.toHaveBeenCalled();
  });

  test('no usable secret: failed without a request', async () => {
    const rx = await receiver(() => 200);
    expect(await notifyRecordingReady(base(rx.url, { secrets: [] }))).toMatchObject({ outcome: 'failed', attempts: 0 });
    expect(await notifyRecordingReady(base(rx.url, { secrets: [''] }))).toMatchObject({ outcome: 'failed', attempts: 0 });
    expect(rx.received).toHaveLength(0);
  });

  test('never throws, even when given nonsense', async () => {
    const rx = await receiver(() => 500);
    await expect(notifyRecordingReady(base(rx.url, { algorithm: 'RS256' as never }))).resolves.toMatchObject({ outcome: 'failed', attempts: 0 });
    const throwing = () => {
      throw new Error('boom');
    };
    await expect(notifyRecordingReady(base(rx.url, { retries: 1, backoffMs: throwing }))).resolves.toMatchObject({ outcome: 'failed', attempts: 1, error: 'boom' });
  });

  test('an aborted signal stops before the next request', async () => {
    const rx = await receiver(() => 500);
    const controller = new AbortController();
    const sleep = jest.fn(async () => controller.abort());
    const result = await notifyRecordingReady(base(rx.url, { retries: 5, sleep, signal: controller.signal }));
    expect(result).toMatchObject({ outcome: 'failed', attempts: 1, error: 'aborted' });
    expect(rx.received).toHaveLength(1);
  });

  test('the default sleep really waits the backoff', async () => {
    const rx = await receiver((_r, n) => (n === 1 ? 500 : 200));
    const started = Date.now();
    const result = await notifyRecordingReady({ ...base(rx.url, { retries: 1, backoffMs: () => 150 }), sleep: undefined });
    expect(result).toEqual({ outcome: 'delivered', status: 200, attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('defaultBackoffMs', () => {
  test('doubles from 1 s within ±20 %', () => {
    expect(defaultBackoffMs(1, () => 0.5)).toBe(1000);
    expect(defaultBackoffMs(2, () => 0.5)).toBe(2000);
    expect(defaultBackoffMs(3, () => 0.5)).toBe(4000);
    expect(defaultBackoffMs(1, () => 0)).toBe(800);
    expect(defaultBackoffMs(1, () => 0.999999)).toBe(1200);
  });

  test('capped at five minutes, jitter included', () => {
    expect(defaultBackoffMs(9, () => 0.5)).toBe(256_000);
    for (const attempt of [10, 20, 1000]) {
      expect(defaultBackoffMs(attempt, () => 0.999999)).toBe(300_000);
      expect(defaultBackoffMs(attempt, () => 0)).toBe(240_000);
    }
  });

  test('uses Math.random by default and stays in range', () => {
    for (let i = 0; i < 50; i += 1) {
      const v = defaultBackoffMs(2);
      expect(v).toBeGreaterThanOrEqual(1600);
      expect(v).toBeLessThanOrEqual(2400);
    }
  });
});
