import { connect } from 'node:net';
import { canListen } from '../../bench/support';
import { startSimulator, type Simulator, type SimulatedServer } from '../../src/sim';
import { getXml, signedUrl } from './helpers';

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
