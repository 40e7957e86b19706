import { createHash } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { request } from 'undici';
import { checksumOf } from '../../src/infra/bbb/checksum';
import { BACKENDS, Harness, startHarness, TEST_SECRET } from '../support/harness';
import { tag } from '../support/bbb-client';

jest.setTimeout(120_000);

/*
 * What a hostile or broken client sends: nothing of it may crash, hang or corrupt the
 * balancer, be read before it is authenticated, or flood the error log.
 */

/** A raw HTTP exchange on a socket: what the server answered, while we decide how much body to send. */
function rawRequest(port: number, head: string): { socket: Socket; answer: Promise<string>; closed: Promise<void> } {
  const socket = connect({ port, host: '127.0.0.1' });
  let received = '';
  let resolveAnswer: (s: string) => void = () => undefined;
  const answer = new Promise<string>((resolve) => (resolveAnswer = resolve));
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
    if (/\r\n\r\n/.test(received)) resolveAnswer(received);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.once('close', () => resolveAnswer(received));
  socket.write(head);
  return { socket, answer, closed };
}

const head = (method: string, path: string, headers: Record<string, string>) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe.each(BACKENDS)('hostile input, on the %s backend', (backend) => {
  let h: Harness;
  const logs: Array<Record<string, unknown>> = [];
  const errorLines = () => logs.filter((l) => Number(l.level) >= 50);

  beforeAll(async () => {
    h = await startHarness({ backend, servers: 2, logLines: logs, env: { REQUEST_TIMEOUT: '2' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('a NUL in a meetingID is refused with validationError and nothing is written; the next create works', async () => {
    const head0 = await h.balancer.backends.log.lastOffset();
    const poisoned = await h.lms.get('create', { meetingID: 'poison\u0000x', name: 'p' });
    expect(tag(poisoned.body, 'returncode')).toBe('FAILED');
    expect(tag(poisoned.body, 'messageKey')).toBe('validationError');
    const other = await h.lms.get('create', { meetingID: 'fine', name: 'p\u0000q' });
    expect(tag(other.body, 'messageKey')).toBe('validationError');
    expect(tag(other.body, 'message')).toMatch(/^Parameter name holds a NUL character, which is not allowed$/);
    expect(await h.balancer.backends.log.lastOffset()).toBe(head0);
    const created = await h.lms.get('create', { meetingID: 'after-poison', name: 'ok' });
    expect(tag(created.body, 'returncode')).toBe('SUCCESS');
  });

  test('a meetingID with control characters is refused as BBB refuses it', async () => {
    const res = await h.lms.get('create', { meetingID: 'tab\there', name: 'p' });
    expect(tag(res.body, 'messageKey')).toBe('validationError');
    expect(tag(res.body, 'message')).toBe('Invalid meeting ID');
  });

  test('admin JSON holding a NUL or a lone surrogate is refused naming the field, before any decision', async () => {
    const head0 = await h.balancer.backends.log.lastOffset();
    await expect(h.admin.call('addServer', 'POST', {}, { server: { url: 'https://x.example.com/bigbluebutton/api', secret: 'a\u0000b' } })).rejects.toThrow(
      /server\.secret holds a NUL character/,
    );
    await expect(h.admin.call('addServer', 'POST', {}, { server: { url: 'https://x.example.com/bigbluebutton/api', secret: 'a\ud800b' } })).rejects.toThrow(
      /server\.secret holds a lone UTF-16 surrogate/,
    );
    expect(await h.balancer.backends.log.lastOffset()).toBe(head0);
  });

  test('a body is not read before the checksum: a bad checksum with 60 MiB announced is answered after the first kilobyte, and the connection closed', async () => {
    const { socket, answer, closed } = rawRequest(
      h.balancer.port,
      head('POST', '/bigbluebutton/api/create?meetingID=big&checksum=0000000000000000000000000000000000000000', {
        'Content-Type': 'application/xml',
        'Content-Length': String(60 * 1024 * 1024),
      }),
    );
    socket.write(Buffer.alloc(1024, 0x20));
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/connection: close/i);
    await closed;
    const body = text.split('\r\n\r\n')[1] ?? '';
    if (body) expect(body).toContain('checksumError');
  });

  test('a body announced over the limit is answered 413 at once, with the BBB document, not a reset', async () => {
    const url = h.lms.url('create', { meetingID: 'too-big', name: 'x' });
    const path = url.slice(url.indexOf('/bigbluebutton'));
    const { answer, socket } = rawRequest(h.balancer.port, head('POST', path, { 'Content-Type': 'application/xml', 'Content-Length': String(65 * 1024 * 1024) }));
    const text = await answer;
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 413/);
  });

  test('a chunked body growing past the limit is answered 413 (the admin API, whose limit is 1 MiB)', async () => {
    const query = `timestamp=${Math.floor(Date.now() / 1000)}`;
    const checksum = checksumOf('sha256', 'addServer', query, TEST_SECRET);
    const { socket, answer } = rawRequest(
      h.balancer.port,
      head('POST', `/scalelite/api/addServer?${query}&checksum=${checksum}`, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }),
    );
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    for (let i = 0; i < 6 && !socket.destroyed; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
    const text = await answer;
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 413/);
  });

  test('a client sending its request a byte at a time is cut off after REQUEST_TIMEOUT', async () => {
    const started = Date.now();
    const { socket, closed } = rawRequest(h.balancer.port, 'POST /bigbluebutton/api/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 100\r\n\r\n');
    const drip = setInterval(() => !socket.destroyed && socket.write('x'), 500);
    await closed;
    clearInterval(drip);
    // REQUEST_TIMEOUT=2 here; Node checks it every few seconds
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test('malformed percent-encoding and a multipart body without its boundary get specific answers, never an internalError', async () => {
    const playback = await request(`${h.balancer.url}/recording/screenshare/%c0%ae%c0%ae/x`);
    await playback.body.text();
    expect(playback.statusCode).toBeLessThan(500);
    const path = await request(`${h.balancer.url}/bigbluebutton/api/%E0%A4%A`);
    expect(await path.body.text()).not.toContain('internalError');
    const multipart = await h.lms.raw(h.lms.url('create', { meetingID: 'mp', name: 'x' }), {
      method: 'POST',
      body: 'garbage',
      headers: { 'content-type': 'multipart/form-data' },
    });
    expect(tag(multipart.body, 'messageKey')).not.toBe('internalError');
    const withoutChecksum = await request(`${h.balancer.url}/bigbluebutton/api/create?meetingID=mp`, {
      method: 'POST',
      body: 'garbage',
      headers: { 'content-type': 'multipart/form-data' },
    });
    const text = await withoutChecksum.body.text();
    expect(tag(text, 'messageKey')).toBe('invalidRequestBody');
  });

  test("the admin API signature: a tampered body or an old timestamp is refused; Scalelite's unbound form still works", async () => {
    const sign = (action: string, query: string) => `${query}${query ? '&' : ''}checksum=${checksumOf('sha256', action, query, TEST_SECRET)}`;
    const now = Math.floor(Date.now() / 1000);
    const signedBody = JSON.stringify({ id: 'nope' });
    const digest = createHash('sha256').update(signedBody).digest('hex');
    const tampered = await request(`${h.balancer.url}/scalelite/api/deleteServer?${sign('deleteServer', `timestamp=${now}&bodySha256=${digest}`)}`, {
      method: 'POST',
      body: JSON.stringify({ id: h.serverIds[0] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(await tampered.body.text()).toContain('bodySha256 differs');
    const old = await request(`${h.balancer.url}/scalelite/api/getServers?${sign('getServers', `timestamp=${now - 3600}`)}`);
    expect(await old.body.text()).toMatch(/checksumError.*valid for 300 s/s);
    const scalelite = await request(`${h.balancer.url}/scalelite/api/getServers?${sign('getServers', '')}`);
    expect(scalelite.statusCode).toBe(200);
    expect(JSON.parse(await scalelite.body.text())).toHaveLength(2);
    // the server is still there: the tampered call deleted nothing
    expect(await h.admin.call('getServerInfo', 'GET', { id: h.serverIds[0] })).toMatchObject({ id: h.serverIds[0] });
  });

  test('none of it was logged as an error', () => {
    expect(errorLines()).toEqual([]);
  });
});

describe('strict admin signatures (ADMIN_API_STRICT_SIGNATURES=true)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ servers: 1, env: { ADMIN_API_STRICT_SIGNATURES: 'true' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test("refuse Scalelite's unbound form; the CLI's signed form works", async () => {
    const query = '';
    const res = await request(`${h.balancer.url}/scalelite/api/getServers?checksum=${checksumOf('sha256', 'getServers', query, TEST_SECRET)}`);
    expect(await res.body.text()).toMatch(/checksumError.*must carry a signed timestamp/s);
    expect(await h.admin.call('getServers', 'GET')).toHaveLength(1);
  });
});
