import { connect } from 'node:net';
import { canListen } from '../../bench/support';
import { simModeSchema, startSimulator, type Simulator, type SimulatedServer } from '../../src/sim';
import { getXml, parseXml, signedUrl } from './helpers';

describe('simulated server modes', () => {
  let sim: Simulator;
  let bbb: SimulatedServer;
  const getMeetings = () => signedUrl(bbb.url, 'getMeetings', {}, bbb.secret);

  beforeAll(async () => {
    sim = await startSimulator({ servers: 1 });
    bbb = sim.servers[0]!;
  });
  afterAll(() => sim.close());
  afterEach(() => bbb.setMode({ kind: 'ok' }));

  it('given slow mode, when calling the API, then every answer is delayed', async () => {
    await bbb.setMode({ kind: 'slow', delayMs: 250 });
    const started = Date.now();
    const { xml } = await getXml(getMeetings());
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(xml.returncode).toBe('SUCCESS');
    expect(bbb.mode).toEqual({ kind: 'slow', delayMs: 250 });
  });

  it('given failing http500, then 500', async () => {
    await bbb.setMode({ kind: 'failing', how: 'http500' });
    expect((await getXml(getMeetings())).status).toBe(500);
  });

  it('given failing reset, then the connection is reset without an answer', async () => {
    await bbb.setMode({ kind: 'failing', how: 'reset' });
    await expect(fetch(getMeetings())).rejects.toThrow();
    expect(bbb.lastRequests.at(-1)).toMatchObject({ action: 'getMeetings', status: 0 });
  });

  it('given failing failed-xml, then a FAILED document with HTTP 200', async () => {
    await bbb.setMode({ kind: 'failing', how: 'failed-xml' });
    const { status, xml } = await getXml(getMeetings());
    expect(status).toBe(200);
    expect(xml.returncode).toBe('FAILED');
  });

  it('given failing garbage, then a body that is not a BBB document', async () => {
    await bbb.setMode({ kind: 'failing', how: 'garbage' });
    const { status, body } = await getXml(getMeetings());
    expect(status).toBe(200);
    expect(body.startsWith('<response>')).toBe(false);
  });

  it('given drip, then the headers come at once and the answer one byte per interval', async () => {
    await bbb.setMode({ kind: 'drip', intervalMs: 100 });
    const started = Date.now();
    const res = await fetch(getMeetings());
    expect(res.status).toBe(200);
    // at once, against the seconds the whole answer takes at 100 ms a byte
    expect(Date.now() - started).toBeLessThan(1_000);
    const reader = res.body!.getReader();
    const bytes: number[] = [];
    while (Date.now() - started < 350) {
      const { value } = await reader.read();
      bytes.push(...(value ?? []));
    }
    await reader.cancel();
    // t = 0, 100, 200, 300 ms (the read that crosses 350 ms may add one)
    expect(bytes.length).toBeGreaterThanOrEqual(3);
    expect(bytes.length).toBeLessThanOrEqual(5);
    expect(Buffer.from(bytes).toString('utf8')).toBe('<response>'.slice(0, bytes.length));
  });

  it('given drip, when read to the end, then it is the whole answer', async () => {
    await bbb.setMode({ kind: 'drip', intervalMs: 1 });
    const { status, xml } = await getXml(getMeetings());
    expect(status).toBe(200);
    expect(xml.returncode).toBe('SUCCESS');
  });

  it('given huge, then a valid answer of exactly that many bytes, chunked', async () => {
    await bbb.setMode({ kind: 'huge', bytes: 1024 * 1024 });
    const res = await fetch(getMeetings());
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const body = await res.text();
    expect(Buffer.byteLength(body)).toBe(1024 * 1024);
    expect(parseXml(body).returncode).toBe('SUCCESS');
  });

  it('given huge with declareLength, then the content-length says so', async () => {
    await bbb.setMode({ kind: 'huge', bytes: 300_000, declareLength: true });
    const res = await fetch(getMeetings());
    expect(res.headers.get('content-length')).toBe('300000');
    const body = await res.text();
    expect(Buffer.byteLength(body)).toBe(300_000);
    expect(parseXml(body).returncode).toBe('SUCCESS');
  });

  it('given huge of 1 GiB, then the first piece comes at once (streamed, never held whole); after a hang-up it keeps serving', async () => {
    await bbb.setMode({ kind: 'huge', bytes: 1024 ** 3 });
    const started = Date.now();
    const reader = (await fetch(getMeetings())).body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
    await reader.cancel();
    await bbb.setMode({ kind: 'ok' });
    expect((await getXml(getMeetings())).xml.returncode).toBe('SUCCESS');
  });

  it('the control plane accepts drip and huge, with their bounds', () => {
    expect(simModeSchema.safeParse({ kind: 'drip', intervalMs: 2_000 }).success).toBe(true);
    expect(simModeSchema.safeParse({ kind: 'drip' }).success).toBe(false);
    expect(simModeSchema.safeParse({ kind: 'huge', bytes: 100 * 1024 * 1024, declareLength: true }).success).toBe(true);
    expect(simModeSchema.safeParse({ kind: 'huge', bytes: 2 * 1024 ** 3 }).success).toBe(false);
  });

  it('given down, then connections are refused on the same port; back to ok, then it serves again with its state', async () => {
    const port = bbb.port;
    await getXml(signedUrl(bbb.url, 'create', { name: 'Survivor', meetingID: 'survivor' }, bbb.secret));
    await bbb.setMode({ kind: 'down' });
    // Kept-alive sockets are cut too, so any client fails; new connections are refused.
    await expect(fetch(getMeetings())).rejects.toThrow();
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
    });
    expect(refused).toBe('ECONNREFUSED');

    await bbb.setMode({ kind: 'ok' });
    expect(bbb.port).toBe(port);
    const { xml } = await getXml(getMeetings());
    expect(xml.meetings.meeting[0].meetingID).toBe('survivor');
    bbb.endMeeting('survivor');
  });

  it('given emptyMeetingTimeoutMs, when a meeting stays empty, then BBB-like expiry ends it', async () => {
    const expiring = await startSimulator({ servers: 1, emptyMeetingTimeoutMs: 150 });
    try {
      const s = expiring.servers[0]!;
      await getXml(signedUrl(s.url, 'create', { name: 'Empty', meetingID: 'empty' }, s.secret));
      await getXml(signedUrl(s.url, 'create', { name: 'Busy', meetingID: 'busy' }, s.secret));
      s.addParticipants('busy', 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(s.meetings().map((m) => m.meetingID)).toEqual(['busy']);

      // When the last participant leaves, the countdown starts again
      s.removeParticipants('busy');
      await new Promise((r) => setTimeout(r, 300));
      expect(s.meetings()).toEqual([]);
    } finally {
      await expiring.close();
    }
  });

  it('given a slow answer in flight, when the server goes down and up, then it keeps serving', async () => {
    await bbb.setMode({ kind: 'slow', delayMs: 100 });
    const inFlight = fetch(getMeetings()).then(
      (r) => r.status,
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 20));
    await bbb.setMode({ kind: 'down' });
    expect(await inFlight).toBe('cut');
    await new Promise((r) => setTimeout(r, 120));
    await bbb.setMode({ kind: 'ok' });
    expect((await getXml(getMeetings())).xml.returncode).toBe('SUCCESS');
  });

  it('given port P, then servers listen on P, P+1, ...', async () => {
    // Below Linux's ephemeral range, so the ports other tests get from the kernel cannot take P+1 meanwhile.
    let base = 0;
    for (let attempt = 0; attempt < 50 && base === 0; attempt++) {
      const p = 20_000 + Math.floor(Math.random() * 10_000);
      if ((await canListen(p)) && (await canListen(p + 1))) base = p;
    }
    expect(base).toBeGreaterThan(0);
    const fixed = await startSimulator({ servers: 2, port: base });
    try {
      expect(fixed.servers.map((s) => s.port)).toEqual([base, base + 1]);
      expect(fixed.servers[1]!.url).toBe(`http://127.0.0.1:${base + 1}/bigbluebutton/api/`);
    } finally {
      await fixed.close();
    }
  });
});
