import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { generateRecording } from '../../src/sim/recordings';
import { LmsClient, tag, tags } from '../support/bbb-client';
import { eventually } from '../support/eventually';
import { Harness, startHarness, TEST_SECRET } from '../support/harness';
import { loopbackAgent, NGINX_DIR, renderSite, RunningNginx, selfSignedCertificate, SiteSettings, startNginx } from '../support/nginx';
import { freePort } from '../support/processes';

/*
 * deploy/nginx for real: Debian's nginx with the shipped site file (only the placeholders its
 * header lists replaced) and a self-signed certificate for the site's name, in front of a
 * balancer with URL_HOST, RECORDING_X_ACCEL_REDIRECT and protected recordings. Through it:
 * create and join, a recording file sent by nginx after the balancer's yes, a protected one
 * refused without its cookie, the admin API and /metrics refused to an address not on the
 * allow list; and a second balancer on a Unix socket, the other upstream the header offers.
 */

const SITE = 'scalelite.test';

describe('nginx in front of the balancer (deploy/nginx)', () => {
  let dir: string;
  let h: Harness;
  let onSocket: Harness;
  let certificate: ReturnType<typeof selfSignedCertificate>;
  let tls: Agent;
  const running: RunningNginx[] = [];
  let inside: { base: string; httpPort: number; nginx: RunningNginx };
  let outside: { base: string };
  let socketSite: { base: string };
  let publicId: string;
  let protectedId: string;

  const get = async (url: string, headers: Record<string, string> = {}, dispatcher: Agent = tls) => {
    const res = await request(url, { headers, dispatcher });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
  };

  /** The shipped site rendered for this test and run by its own nginx. */
  const site = async (name: string, settings: Pick<SiteSettings, 'upstream' | 'publishDir' | 'playerRoot' | 'allowSnippet'>) => {
    const httpPort = await freePort();
    const httpsPort = await freePort();
    const rendered = renderSite({ ...settings, httpPort, httpsPort, serverName: SITE, certificate: certificate.cert, certificateKey: certificate.key });
    mkdirSync(join(dir, name));
    const nginx = await startNginx(join(dir, name), rendered, httpsPort);
    running.push(nginx);
    return { base: `https://${SITE}:${httpsPort}`, httpPort, nginx };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scalelite-nginx-'));
    const socket = join(dir, 'balancer.sock');
    [h, onSocket] = await Promise.all([
      startHarness({
        servers: 1,
        env: {
          URL_HOST: SITE,
          RECORDING_IMPORT_POLL_INTERVAL: '0.2',
          RECORDING_X_ACCEL_REDIRECT: 'true',
          PROTECTED_RECORDINGS_ENABLED: 'true',
          SECRET_KEY_BASE: 'nginx-test-key-base',
        },
      }),
      startHarness({ servers: 1, env: { BIND: `unix://${socket}`, RECORDING_DISABLED: 'true' } }),
    ]);
    const spoolDir = h.config.recordings.spoolDir;
    publicId = (await generateRecording({ spoolDir, meetingId: 'open-lecture', formats: ['presentation', 'video', 'podcast'] })).recordId;
    protectedId = (await generateRecording({ spoolDir, meetingId: 'closed-seminar' })).recordId;

    certificate = selfSignedCertificate(dir, [SITE]);
    tls = loopbackAgent(certificate.pem);
    // The player's files are bbb-playback's build in production; one page stands in for it here.
    const playerRoot = join(dir, 'player');
    mkdirSync(join(playerRoot, 'playback', 'presentation', '2.3'), { recursive: true });
    writeFileSync(join(playerRoot, 'playback', 'presentation', '2.3', 'index.html'), '<html>bbb-playback</html>');
    const publishDir = h.config.recordings.publishDir;
    const upstream = `127.0.0.1:${h.balancer.port}`;
    // "Outside" is an nginx whose allow list leaves this host out (192.0.2.10 is TEST-NET-1,
    // never a local address): the shipped locations and include are what is tested, only the
    // list differs. Faking a remote address instead (X-Forwarded-For with set_real_ip_from)
    // would need a change to the site itself. It has no bbb-playback either.
    const elsewhere = join(dir, 'allow-elsewhere.conf');
    writeFileSync(elsewhere, 'allow 192.0.2.10;\ndeny all;\n');
    [inside, outside, socketSite] = await Promise.all([
      site('inside', { upstream, publishDir, playerRoot, allowSnippet: join(NGINX_DIR, 'scalelite-admin-allow.conf') }),
      site('outside', { upstream, publishDir, playerRoot: join(dir, 'no-player'), allowSnippet: elsewhere }),
      site('socket', { upstream: `unix:${socket}`, publishDir, playerRoot, allowSnippet: join(NGINX_DIR, 'scalelite-admin-allow.conf') }),
    ]);

    await eventually('both imports', async () => {
      const xml = (await h.lms.get('getRecordings', {})).body;
      return xml.includes(publicId) && xml.includes(protectedId) ? true : null;
    });
    await h.lms.get('updateRecordings', { recordID: publicId, protect: 'false' });
  });

  afterAll(async () => {
    await tls?.close();
    for (const nginx of running) await nginx.stop();
    await h?.close();
    await onSocket?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('nginx -t accepts the site as shipped, without a warning', () => {
    for (const nginx of running) {
      expect(nginx.checked).toContain('test is successful');
      expect(nginx.checked).not.toContain('[warn]');
    }
  });

  test('http is redirected to https', async () => {
    const res = await request(`http://${SITE}:${inside.httpPort}/bigbluebutton/api/join?meetingID=x`, { dispatcher: tls });
    await res.body.dump();
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe(`https://${SITE}/bigbluebutton/api/join?meetingID=x`);
  });

  test('create and join through nginx: checksums hold, the join goes to the BBB server, HTTP/2 too', async () => {
    const lms = new LmsClient(inside.base, TEST_SECRET);
    const created = await get(lms.url('create', { meetingID: 'through-nginx', name: 'Through nginx' }));
    expect(tag(created.text, 'returncode')).toBe('SUCCESS');
    const joined = await request(lms.url('join', { meetingID: 'through-nginx', fullName: 'Ada', role: 'MODERATOR' }), { dispatcher: tls });
    await joined.body.dump();
    expect(joined.statusCode).toBe(302);
    expect(String(joined.headers.location)).toMatch(new RegExp(`^${h.sim.servers[0].url.replace(/\/bigbluebutton\/api\/?$/, '')}/`));
    expect(tag((await get(`${inside.base}/bigbluebutton/api/getMeetings?checksum=wrong`)).text, 'messageKey')).toBe('checksumError');
    expect((await get(`${inside.base}/health_check`)).text).toBe('success');
    // Browsers and most LMSs speak HTTP/2 to nginx: the Host it forwards then comes from :authority.
    const h2 = loopbackAgent(certificate.pem, { h2: true });
    try {
      const meetings = await get(lms.url('getMeetings'), {}, h2);
      expect(tags(meetings.text, 'meetingID')).toContain('through-nginx');
    } finally {
      await h2.close();
    }
    expect(inside.nginx.accessLog()).toMatch(/"GET \/bigbluebutton\/api\/getMeetings\?[^"]* HTTP\/2\.0" 200 /);
  });

  test('the Host nginx forwards is checked against URL_HOST; what a client says in X-Forwarded-Host is dropped', async () => {
    const other = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      const rebound = await request(`https://127.0.0.1:${new URL(inside.base).port}/bigbluebutton/api/getMeetings`, {
        dispatcher: other,
        headers: { host: 'rebound.attacker.example' },
      });
      expect(rebound.statusCode).toBe(403);
      expect(await rebound.body.text()).toBe('Blocked host: rebound.attacker.example\n');
    } finally {
      await other.close();
    }
    const lms = new LmsClient(inside.base, TEST_SECRET);
    const listed = await get(lms.url('getRecordings', { meetingID: 'open-lecture' }), { 'x-forwarded-host': 'evil.example' });
    expect(listed.status).toBe(200);
    const urls = tags(listed.text, 'url');
    expect(urls).toContain(`${inside.base}/playback/presentation/2.3/${publicId}`);
    expect(urls.filter((url) => !url.startsWith(`${inside.base}/`))).toEqual([]);
  });

  test('a recording file is sent by nginx after the balancer answers X-Accel-Redirect', async () => {
    const path = `/presentation/${publicId}/metadata.xml`;
    // The balancer alone: a yes with no body, naming the internal location.
    const direct = await request(`${h.balancer.url}${path}`);
    expect(direct.statusCode).toBe(200);
    expect(direct.headers['x-accel-redirect']).toBe(`/static-resource${path}`);
    expect(await direct.body.text()).toBe('');
    // Through nginx: the file itself, from the publish dir, typed by its name.
    const through = await get(`${inside.base}${path}`);
    expect(through.status).toBe(200);
    expect(through.headers['content-type']).toBe('text/xml');
    expect(through.text).toContain(`<id>${publicId}</id>`);
    expect(through.headers['x-accel-redirect']).toBeUndefined();
    // Media is seekable: nginx answers ranges of the file.
    const part = await get(`${inside.base}/video/${publicId}/video-0.m4v`, { range: 'bytes=0-3' });
    expect(part.status).toBe(206);
    expect(part.body.length).toBe(4);
    // A download format keeps the balancer's Content-Disposition.
    const podcast = await get(`${inside.base}/podcast/${publicId}/audio.ogg`);
    expect([podcast.status, podcast.headers['content-disposition']]).toEqual([200, 'attachment']);
    // The internal location cannot be asked for directly.
    expect((await get(`${inside.base}/static-resource${path}`)).status).toBe(404);
  });

  test('the player: bbb-playback where it is installed, the built-in page where not, the 2.0 URL redirected', async () => {
    expect((await get(`${inside.base}/playback/presentation/2.3/${publicId}`)).text).toBe('<html>bbb-playback</html>');
    const builtIn = await get(`${outside.base}/playback/presentation/2.3/${publicId}`);
    expect(builtIn.status).toBe(200);
    expect(builtIn.text).toContain('<h1>open-lecture</h1>');
    const legacy = await request(`${inside.base}/playback/presentation/2.0/playback.html?meetingId=${publicId}`, { dispatcher: tls });
    await legacy.body.dump();
    expect([legacy.statusCode, legacy.headers.location]).toEqual([301, `/playback/presentation/2.3/${publicId}`]);
    const listed = (await get(new LmsClient(inside.base, TEST_SECRET).url('getRecordings', { meetingID: 'open-lecture' }))).text;
    expect(tags(listed, 'url')).toContain(`${inside.base}/playback/presentation/2.3/${publicId}`);
  });

  test('a protected recording is refused without its cookie and sent with it', async () => {
    const resource = `${inside.base}/presentation/${protectedId}/metadata.xml`;
    expect((await get(resource)).status).toBe(404);
    expect((await get(`${inside.base}/static-resource/presentation/${protectedId}/metadata.xml`)).status).toBe(404);
    const listed = (await get(new LmsClient(inside.base, TEST_SECRET).url('getRecordings', { meetingID: 'closed-seminar' }))).text;
    const entry = tags(listed, 'url')[0];
    expect(entry).toMatch(new RegExp(`^${inside.base}/recording/${protectedId}/presentation\\?token=`));
    const granted = await request(entry, { dispatcher: tls });
    await granted.body.dump();
    expect(granted.statusCode).toBe(307);
    const cookie = String(granted.headers['set-cookie']).split(';')[0];
    const served = await get(resource, { cookie });
    expect(served.status).toBe(200);
    expect(served.text).toContain(`<id>${protectedId}</id>`);
  });

  test('/metrics and the admin API: answered on the allow list, 403 from elsewhere, however the path is spelled', async () => {
    expect((await get(`${inside.base}/metrics`)).text).toContain('scalelite_');
    expect((await get(`${inside.base}/scalelite/api/getServers?checksum=x`)).text).toContain('checksumError');
    // The balancer's routes ignore case and a trailing slash: each spelling reaches them.
    expect((await get(`${h.balancer.url}/Metrics/`)).text).toContain('scalelite_');
    const spellings = [
      '/metrics',
      '/Metrics',
      '/metrics/',
      '//metrics',
      '/%6Detrics',
      '/scalelite/api/getServers',
      '/SCALELITE/API/getServers',
      '/scalelite/api/getServers/',
      '/scalelite//api/getServers',
    ];
    for (const path of spellings) expect([path, (await get(`${outside.base}${path}?checksum=x`)).status]).toEqual([path, 403]);
    // The rest of the balancer is open from there.
    expect((await get(`${outside.base}/health_check`)).text).toBe('success');
  });

  test('through a Unix socket upstream, the balancer believes nginx about https', async () => {
    const lms = new LmsClient(socketSite.base, TEST_SECRET);
    const created = await get(lms.url('create', { meetingID: 'over-the-socket', name: 'Over the socket', 'meta_analytics-callback-url': 'https://lms.example/analytics' }));
    expect(tag(created.text, 'returncode')).toBe('SUCCESS');
    // Without URL_HOST, BBB is told to send the analytics to the host and scheme the LMS called.
    const meeting = onSocket.sim.servers[0].meetings().find((m) => m.meetingID === 'over-the-socket');
    expect(meeting?.metadata['analytics-callback-url']).toBe(`${socketSite.base}/bigbluebutton/api/analytics_callback`);
    const joined = await request(lms.url('join', { meetingID: 'over-the-socket', fullName: 'Ada', role: 'MODERATOR' }), { dispatcher: tls });
    await joined.body.dump();
    expect(joined.statusCode).toBe(302);
  });
});
