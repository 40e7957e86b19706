import { Harness, startHarness } from '../support/harness';

jest.setTimeout(60_000);

/*
 * One access-log line per request: the call, the meetingID, the tenant, the outcome, the
 * BBB server it went to and how long it took; never the checksum, a password or a secret.
 * Refused calls are logged at warn with the remote address.
 */

type Line = Record<string, unknown> & { req?: { path?: string; remote?: string; method?: string }; res?: { status?: number } };

describe('the access log', () => {
  let h: Harness;
  const lines: Line[] = [];
  const access = () => lines.filter((l) => l.component === 'access');

  beforeAll(async () => {
    h = await startHarness({ servers: 2, logLines: lines });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('a create is one info line with its call, meetingID, outcome, upstream server and duration, without its query', async () => {
    lines.length = 0;
    const url = h.lms.url('create', { meetingID: 'logged', name: 'Logged', moderatorPW: 'secret-mod-pw', attendeePW: 'secret-att-pw' });
    await h.lms.raw(url);
    const [line] = access();
    expect(line).toMatchObject({
      level: 30,
      call: 'create',
      meetingID: 'logged',
      outcome: 'SUCCESS',
      req: { method: 'GET', path: '/bigbluebutton/api/create' },
      res: { status: 200 },
    });
    expect(String(line.upstream)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(typeof line.ms).toBe('number');
    const everything = JSON.stringify(lines);
    const checksum = new URL(url).searchParams.get('checksum')!;
    for (const hidden of [checksum, 'secret-mod-pw', 'secret-att-pw', h.config.secrets[0], ...h.sim.servers.map((s) => s.secret)]) expect(everything).not.toContain(hidden);
  });

  test('a join is logged as a redirect, a missing meeting with its messageKey', async () => {
    lines.length = 0;
    await h.lms.get('join', { meetingID: 'logged', fullName: 'Ada', role: 'viewer' });
    await h.lms.get('getMeetingInfo', { meetingID: 'nobody-here' });
    expect(access().map((l) => [l.call, l.outcome, l.level])).toEqual([
      ['join', 'redirect', 30],
      ['getMeetingInfo', 'notFound', 30],
    ]);
  });

  test('refused calls are logged at warn with the remote address: a bad checksum, an admin call unsigned', async () => {
    lines.length = 0;
    await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/create?meetingID=x&checksum=0000000000000000000000000000000000000000`);
    await h.lms.raw(`${h.balancer.url}/scalelite/api/getServers`);
    expect(access().map((l) => [l.call, l.outcome, l.level, l.req?.remote])).toEqual([
      ['create', 'checksumError', 40, '127.0.0.1'],
      ['getServers', 'checksumError', 40, '127.0.0.1'],
    ]);
  });

  test('scrapes and health checks are not logged', async () => {
    lines.length = 0;
    await h.lms.raw(`${h.balancer.url}/metrics`);
    await h.lms.raw(`${h.balancer.url}/health_check`);
    expect(access()).toEqual([]);
  });
});

describe('ACCESS_LOG=false', () => {
  let h: Harness;
  const lines: Line[] = [];
  beforeAll(async () => {
    h = await startHarness({ servers: 1, logLines: lines, env: { ACCESS_LOG: 'false' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('writes no access line', async () => {
    await h.lms.get('create', { meetingID: 'quiet', name: 'Quiet' });
    expect(lines.filter((l) => l.component === 'access')).toEqual([]);
  });
});
