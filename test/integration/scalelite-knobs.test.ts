import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { LmsClient } from '../support/bbb-client';
import { Harness, startHarness, TEST_SECRET } from '../support/harness';

/*
 * Scalelite's own knobs, end to end: BIND on a Unix socket (as Puma, behind
 * Scalelite's nginx), URL_HOST host authorization, and one warning at start
 * naming the Scalelite variables this balancer does not use (also in status).
 */

describe('Scalelite knobs: BIND=unix://, URL_HOST, unused variables', () => {
  let h: Harness;
  let dir: string;
  let socket: string;
  let agent: Agent;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scalelite-sock-'));
    socket = join(dir, 'api.sock');
    h = await startHarness({
      servers: 1,
      addServers: false,
      logLines: lines,
      env: { BIND: `unix://${socket}`, URL_HOST: 'lb.example.com', DEFAULT_MEETING_TTL: '3600', RAILS_MAX_THREADS: '5', LOG_LEVEL: 'info' },
    });
    agent = new Agent({ connect: { socketPath: socket } });
  });
  afterAll(async () => {
    await h.close();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string, host: string) => {
    const res = await request(`http://localhost${path}`, { dispatcher: agent, headers: { host } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  test('the API listens on the socket, and the admin client reaches it there', async () => {
    expect(h.balancer.url).toBe(`unix://${socket}`);
    await expect(h.admin.call('getServers', 'GET')).rejects.toThrow('No servers are configured');
  });

  test('a request naming another host is refused with 403; URL_HOST and addresses pass; the health check is exempt', async () => {
    const lms = new LmsClient('', TEST_SECRET);
    const path = `/bigbluebutton/api/getMeetings?${lms.query('getMeetings')}`;
    expect(await get(path, 'rebound.attacker.example')).toMatchObject({ status: 403, body: 'Blocked host: rebound.attacker.example\n' });
    expect(await get(`/bigbluebutton/api/join?${lms.query('join', { meetingID: 'x', fullName: 'A' })}`, 'evil.example')).toMatchObject({ status: 403 });
    // no multitenancy: a subdomain is another host
    expect((await get(path, 'alpha.lb.example.com')).status).toBe(403);
    expect(await get(path, 'lb.example.com')).toMatchObject({ status: 200, body: expect.stringContaining('<returncode>SUCCESS</returncode>') });
    expect((await get(path, '127.0.0.1:3000')).status).toBe(200);
    expect(await get('/health_check', 'rebound.attacker.example')).toEqual({ status: 200, body: 'success' });
  });

  test('the Scalelite variables not used here are named in one warning at start, and by status', async () => {
    const warnings = lines.filter((l) => l.level === 40 && String(l.msg).startsWith('ignoring'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toBe(
      'ignoring 1 variable: DEFAULT_MEETING_TTL (unsupported: routes have no TTL: a route ends when polls find its meeting gone (or its server offline))',
    );
    const status = await h.admin.call<{ ignored_variables: Array<{ name: string; kind: string }> }>('getStatus', 'GET');
    expect(status.ignored_variables.map((v) => [v.name, v.kind])).toEqual([
      ['DEFAULT_MEETING_TTL', 'unsupported'],
      ['RAILS_MAX_THREADS', 'notNeeded'],
    ]);
  });
});
