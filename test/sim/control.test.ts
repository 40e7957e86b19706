import { describeSimulator, startSimulator, type Simulator } from '../../src/sim';
import { getXml, signedUrl } from './helpers';

describe('simulator control over HTTP', () => {
  let sim: Simulator;
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.controlUrl}${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  beforeAll(async () => {
    sim = await startSimulator({ servers: 2 });
    const s = sim.servers[1]!;
    await getXml(signedUrl(s.url, 'create', { name: 'Ctl', meetingID: 'ctl/room 1' }, s.secret));
  });
  afterAll(() => sim.close());

  it('given the simulator, when describing it, then it names the control URL and each server', () => {
    const d = describeSimulator(sim);
    expect(d.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(d.servers.map((s) => s.index)).toEqual([0, 1]);
    expect(d.servers[0]!.secret).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('GET /servers lists servers with their meetings', async () => {
    const { status, json } = await control('GET', '/servers');
    expect(status).toBe(200);
    expect(json).toHaveLength(2);
    expect(json[1]).toMatchObject({ index: 1, url: sim.servers[1]!.url, secret: sim.servers[1]!.secret, port: sim.servers[1]!.port, mode: { kind: 'ok' } });
    expect(json[1].meetings).toEqual([
      expect.objectContaining({ meetingID: 'ctl/room 1', name: 'Ctl', participants: 0, moderators: 0, videos: 0, isBreakout: false, running: false }),
    ]);
  });

  it('participants can be added and removed, then getMeetingInfo shows them', async () => {
    const id = encodeURIComponent('ctl/room 1');
    const added = await control('POST', `/servers/1/meetings/${id}/participants`, { count: 5, moderators: 1, withVideo: 2 });
    expect(added.json).toMatchObject({ participants: 5, moderators: 1, videos: 2, running: true });
    await control('DELETE', `/servers/1/meetings/${id}/participants`, { count: 2 });
    const s = sim.servers[1]!;
    const { xml } = await getXml(signedUrl(s.url, 'getMeetingInfo', { meetingID: 'ctl/room 1' }, s.secret));
    expect(xml.participantCount).toBe('3');
  });

  it('POST mode takes a server down and back up', async () => {
    expect((await control('POST', '/servers/0/mode', { kind: 'down' })).json.mode).toEqual({ kind: 'down' });
    const s = sim.servers[0]!;
    await expect(fetch(s.url)).rejects.toThrow();
    await control('POST', '/servers/0/mode', { kind: 'ok' });
    expect((await getXml(s.url)).xml.returncode).toBe('SUCCESS');
  });

  it('rejects an invalid mode with 400', async () => {
    const { status, json } = await control('POST', '/servers/0/mode', { kind: 'slow' });
    expect(status).toBe(400);
    expect(json.error).toContain('delayMs');
  });

  it('GET requests counts per action, and ending a meeting works like BBB ending it', async () => {
    const s = sim.servers[1]!;
    const counts = await control('GET', '/servers/1/requests');
    expect(counts.json).toMatchObject({ create: 1, getMeetingInfo: 1 });
    expect((await control('POST', `/servers/1/meetings/${encodeURIComponent('ctl/room 1')}/end`)).json).toEqual({ ended: true });
    expect((await getXml(signedUrl(s.url, 'isMeetingRunning', { meetingID: 'ctl/room 1' }, s.secret))).xml.running).toBe('false');
    expect((await control('POST', '/servers/1/meetings/nope/end')).status).toBe(404);
    expect((await control('GET', '/servers/7')).status).toBe(404);
  });
});
