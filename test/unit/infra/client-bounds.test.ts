import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BbbClient, BbbClientSettings, DEFAULT_MAX_REPLY_BYTES } from '../../../src/infra/bbb/client';
import { BbbReply } from '../../../src/poller/ports';
import { ObservedBbbGateway } from '../../../src/infra/bbb/metered';
import { childNamed, childText } from '../../../src/infra/bbb/xml-scan';

/*
 * The BBB client against real HTTP servers on loopback that misbehave on purpose:
 * answers that never finish, answers too big to hold (issue 15, defects 5 and 6).
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Upstream {
  url: string;
  /** resolves when the server side of the first connection is closed */
  closed: Promise<void>;
}

const servers: http.Server[] = [];
const clients: BbbClient[] = [];

async function upstream(handler: Handler): Promise<Upstream> {
  const server = http.createServer(handler);
  // Long enough that a socket closed during a test was closed by the client, not by keep-alive expiry.
  server.keepAliveTimeout = 60_000;
  let firstClosed!: () => void;
  const closed = new Promise<void>((resolve) => (firstClosed = resolve));
  server.once('connection', (socket: Socket) => socket.once('close', () => firstClosed()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/bigbluebutton/api`, closed };
}

function client(over: Partial<BbbClientSettings> = {}): BbbClient {
  const c = new BbbClient({ algorithm: 'sha256', connectTimeoutMs: 200, responseTimeoutMs: 500, ...over });
  clients.push(c);
  return c;
}

async function timed(call: Promise<BbbReply>): Promise<{ reply: BbbReply; ms: number }> {
  const started = performance.now();
  const reply = await call;
  return { reply, ms: performance.now() - started };
}

const withinMs = (promise: Promise<void>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

const HEAD = '<response><returncode>SUCCESS</returncode><meetings/><!--';
const TAIL = '--></response>';
/** A valid BBB answer of exactly n bytes (a comment pads it). */
const documentOf = (n: number): Buffer => Buffer.from(HEAD + 'x'.repeat(n - HEAD.length - TAIL.length) + TAIL, 'utf8');

/** Writes body in chunks of `size`, waiting for the socket to drain, and stops when the client leaves. */
function stream(res: http.ServerResponse, body: Buffer, size: number): void {
  let at = 0;
  const more = () => {
    while (at < body.length && !res.destroyed) {
      const chunk = body.subarray(at, at + size);
      at += chunk.length;
      if (at >= body.length) return void res.end(chunk);
      if (!res.write(chunk)) return void res.once('drain', more);
    }
  };
  more();
}

/** Headers at once, then one byte every intervalMs, forever: each gap well inside the idle timeouts. */
function drip(intervalMs: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.write('<');
    const timer = setInterval(() => res.write(' '), intervalMs);
    res.on('close', () => clearInterval(timer));
  };
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

const endpoint = (u: Upstream) => ({ url: u.url, secret: 'secret' });

describe('a total deadline per call (connect + headers + whole body)', () => {
  test('given a server that drips a byte every 200 ms: unreachable at CONNECT_TIMEOUT + RESPONSE_TIMEOUT, and the connection is dropped', async () => {
    const bbb = await upstream(drip(200));
    const { reply, ms } = await timed(client().call(endpoint(bbb), 'getMeetings', []));
    expect(reply).toEqual({ kind: 'unreachable', error: 'timeout: no complete answer within 700 ms' });
    expect(ms).toBeGreaterThanOrEqual(650);
    expect(ms).toBeLessThan(1_500);
    expect(await withinMs(bbb.closed, 500)).toBe(true);
  });

  test('given the short variant (server believed offline): the reduced deadline, not the full one', async () => {
    const bbb = await upstream(drip(200));
    // full: 5 s + 5 s; short: clamp(5000/10, 200, 5000) + clamp(5000/10, 500, 5000) = 1 s
    const { reply, ms } = await timed(client({ connectTimeoutMs: 5_000, responseTimeoutMs: 5_000 }).call(endpoint(bbb), 'isMeetingRunning', [['meetingID', 'm']], { short: true }));
    expect(reply).toEqual({ kind: 'unreachable', error: 'timeout: no complete answer within 1000 ms' });
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(2_000);
  });

  test('given an answer that arrives in slow pieces but completes within the deadline: success', async () => {
    const doc = documentOf(400);
    const bbb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      let at = 0;
      const timer = setInterval(() => {
        const piece = doc.subarray(at, at + 100);
        at += piece.length;
        if (at >= doc.length) {
          clearInterval(timer);
          res.end(piece);
        } else res.write(piece);
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    const { reply, ms } = await timed(client().call(endpoint(bbb), 'getMeetings', []));
    expect(reply).toMatchObject({ kind: 'success', body: doc.toString('utf8') });
    expect(ms).toBeLessThan(700);
  });

  test('given a server that never sends headers: unreachable, within the deadline', async () => {
    const bbb = await upstream(() => undefined);
    const { reply, ms } = await timed(client().call(endpoint(bbb), 'getMeetings', []));
    expect(reply.kind).toBe('unreachable');
    expect(ms).toBeLessThan(1_000);
  });
});

describe('a size limit on replies (maxReplyBytes)', () => {
  const limit = 64 * 1024;
  const mib = documentOf(1024 * 1024);

  test('given 1 MiB chunked (no content-length) over a 64 KiB limit: refused quickly, the connection closed', async () => {
    const bbb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      stream(res, mib, 16 * 1024);
    });
    const { reply, ms } = await timed(client({ responseTimeoutMs: 5_000, maxReplyBytes: limit }).call(endpoint(bbb), 'getMeetings', []));
    expect(reply).toEqual({ kind: 'unreachable', error: 'reply larger than 65536 bytes' });
    expect(ms).toBeLessThan(1_000);
    expect(await withinMs(bbb.closed, 500)).toBe(true);
  });

  test('given a content-length of 1 MiB over a 64 KiB limit: refused from the header, without waiting for the body', async () => {
    const bbb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': String(mib.length) });
      // The first 16 KiB now, the rest after 3 s: only a client that trusts the header answers before then.
      res.write(mib.subarray(0, 16 * 1024));
      const timer = setTimeout(() => res.end(mib.subarray(16 * 1024)), 3_000);
      res.on('close', () => clearTimeout(timer));
    });
    const { reply, ms } = await timed(client({ responseTimeoutMs: 5_000, maxReplyBytes: limit }).call(endpoint(bbb), 'getMeetings', []));
    expect(reply).toEqual({ kind: 'unreachable', error: 'reply larger than 65536 bytes' });
    expect(ms).toBeLessThan(1_000);
    expect(await withinMs(bbb.closed, 500)).toBe(true);
  });

  test('given a reply of exactly the limit: read; one byte more: refused', async () => {
    const exact = documentOf(limit);
    const over = documentOf(limit + 1);
    let next = exact;
    const bbb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      stream(res, next, 4 * 1024);
    });
    const c = client({ maxReplyBytes: limit });
    expect(await c.call(endpoint(bbb), 'getMeetings', [])).toMatchObject({ kind: 'success', body: exact.toString('utf8') });
    next = over;
    expect(await c.call(endpoint(bbb), 'getMeetings', [])).toEqual({ kind: 'unreachable', error: 'reply larger than 65536 bytes' });
  });

  test('given a character split across two chunks: decoded whole', async () => {
    const text = '<response><returncode>SUCCESS</returncode><meetingName>Café</meetingName></response>';
    const bytes = Buffer.from(text, 'utf8');
    const split = bytes.indexOf(0xc3) + 1; // between the two bytes of é
    const bbb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write(bytes.subarray(0, split));
      setTimeout(() => res.end(bytes.subarray(split)), 50);
    });
    const reply = await client().call(endpoint(bbb), 'getMeetingInfo', [['meetingID', 'm']]);
    expect(reply).toMatchObject({ kind: 'success', body: text });
  });

  test('without maxReplyBytes: the default, 16 MiB', async () => {
    expect(DEFAULT_MAX_REPLY_BYTES).toBe(16 * 1024 * 1024);
    const bbb = await upstream((req, res) => {
      if (req.url?.includes('getMeetings')) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        stream(res, mib, 64 * 1024);
        return;
      }
      // Declared one byte over the default, and never sent.
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': String(DEFAULT_MAX_REPLY_BYTES + 1) });
      res.write('<response>');
    });
    const c = client();
    expect((await c.call(endpoint(bbb), 'getMeetings', [])).kind).toBe('success');
    expect(await c.call(endpoint(bbb), 'getRecordings', [])).toEqual({ kind: 'unreachable', error: `reply larger than ${DEFAULT_MAX_REPLY_BYTES} bytes` });
  });

  test('given an HTTP error with an endless body: unreachable with the status, at once', async () => {
    const bbb = await upstream((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
    const { reply, ms } = await timed(client({ responseTimeoutMs: 5_000 }).call(endpoint(bbb), 'getMeetings', []));
    expect(reply).toEqual({ kind: 'unreachable', error: 'HTTP 502' });
    expect(ms).toBeLessThan(1_000);
    expect(await withinMs(bbb.closed, 500)).toBe(true);
  });
});

describe('BbbClient: what reaches the server, and what a failed call says', () => {
  const SUCCESS = '<response><returncode>SUCCESS</returncode></response>';

  test('given a call with a body, then the server gets a POST of it as XML, signed in the query', async () => {
    const seen: Array<{ method?: string; type?: string; body: string; url?: string }> = [];
    const bbb = await upstream((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, type: req.headers['content-type'], body, url: req.url });
        res.end(SUCCESS);
      });
    });
    const xml = '<modules><module name="presentation"><document url="https://example.org/a.pdf"/></module></modules>';
    const reply = await client().call(endpoint(bbb), 'insertDocument', [['meetingID', 'm 1']], { body: xml });
    expect(reply.kind).toBe('success');
    expect(seen).toEqual([
      { method: 'POST', type: 'application/xml', body: xml, url: expect.stringMatching(/^\/bigbluebutton\/api\/insertDocument\?meetingID=m\+1&checksum=[0-9a-f]{64}$/) },
    ]);
  });

  test('given a small error page, then the status is the answer and the connection is kept for the next call', async () => {
    let calls = 0;
    const bbb = await upstream((_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(503, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      else res.end(SUCCESS);
    });
    const c = client();
    expect(await c.call(endpoint(bbb), 'getMeetings', [])).toEqual({ kind: 'unreachable', error: 'HTTP 503' });
    expect((await c.call(endpoint(bbb), 'getMeetings', [])).kind).toBe('success');
    expect(await withinMs(bbb.closed, 100)).toBe(false);
  });

  test('given a port nobody listens on, then unreachable with the connection error', async () => {
    const bbb = await upstream(() => undefined);
    const port = new URL(bbb.url).port;
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const reply = await client().call({ url: `http://127.0.0.1:${port}/bigbluebutton/api`, secret: 's' }, 'getMeetings', []);
    expect(reply).toEqual({ kind: 'unreachable', error: expect.stringContaining('ECONNREFUSED') });
  });

  test('given a server URL that is not a URL, then unreachable, not a thrown error', async () => {
    const reply = await client().call({ url: 'bbb1 example org', secret: 's' }, 'getMeetings', []);
    expect(reply).toEqual({ kind: 'unreachable', error: expect.stringContaining('Invalid URL') });
  });
});

describe('BbbGateway.read: a reply read as it is interpreted', () => {
  const GET_MEETINGS =
    '<response><returncode>SUCCESS</returncode><meetings><meeting><meetingID>m1</meetingID><attendees><attendee><userID>u1</userID></attendee></attendees><metadata><tenant-id>t1</tenant-id></metadata></meeting></meetings></response>';

  test('given a SUCCESS, a FAILED and a 500, then each reader gets its reply and the call returns what the reader returns, observed once each', async () => {
    const answers: Record<string, [number, string]> = {
      getMeetings: [200, GET_MEETINGS],
      isMeetingRunning: [200, '<response><returncode>FAILED</returncode><messageKey>notFound</messageKey><message>no</message></response>'],
      end: [500, 'oops'],
    };
    const { url } = await upstream((req, res) => {
      const [status, body] = answers[new URL(req.url!, 'http://x').pathname.split('/').pop()!]!;
      res.writeHead(status, { 'content-type': 'text/xml' }).end(body);
    });
    const seen: string[] = [];
    const bbb = new ObservedBbbGateway(client(), (call) => seen.push(`${call.action} ${call.outcome}`));
    const server = { url, secret: 's' };
    const tenant = await bbb.read(server, 'getMeetings', [], (reply) =>
      reply.kind === 'success' ? childText(reply.scanned, childNamed(childNamed(childNamed(reply.scanned.root, 'meetings')!, 'meeting')!, 'metadata')!, 'tenant-id') : reply.kind,
    );
    expect(tenant).toBe('t1');
    expect(await bbb.read(server, 'isMeetingRunning', [], (reply) => (reply.kind === 'failed' ? reply.messageKey : reply.kind))).toBe('notFound');
    expect(await bbb.read(server, 'end', [], (reply) => (reply.kind === 'unreachable' ? reply.error : reply.kind))).toBe('HTTP 500');
    expect(seen).toEqual(['getMeetings success', 'isMeetingRunning failed', 'end unreachable']);
    // call is read with the reply itself
    expect((await bbb.call(server, 'getMeetings', [])).kind).toBe('success');
  });

  test('given a reader that throws, then the call fails with its error, not as an unreachable server', async () => {
    const { url } = await upstream((_req, res) => res.writeHead(200).end(GET_MEETINGS));
    const broken = new Error('the reader broke');
    await expect(
      client().read({ url, secret: 's' }, 'getMeetings', [], () => {
        throw broken;
      }),
    ).rejects.toBe(broken);
  });
});
