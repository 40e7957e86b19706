import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { generateRecording } from '../../src/sim/recordings';
import { LmsClient, tag, tags } from '../support/bbb-client';
import { eventually } from '../support/eventually';
import { Harness, startHarness, TEST_SECRET } from '../support/harness';
import { NGINX_DIR, renderSite, RunningNginx, selfSignedCertificate, startNginx } from '../support/nginx';

/*
 * deploy/nginx for real: Debian's nginx with the shipped site file (only the lines its
 * header says to edit replaced) and a self-signed certificate, in front of a balancer with
 * RECORDING_X_ACCEL_REDIRECT and protected recordings. Through it: create and join, a
 * recording file sent by nginx after the balancer's yes, a protected one refused without
 * its cookie, the admin API and /metrics refused to an address not on the allow list.
 */

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('nginx in front of the balancer (deploy/nginx)', () => {
  let h: Harness;
  let dir: string;
  let nginx: RunningNginx;
  let outside: RunningNginx;
  let tls: Agent;
  let base: string;
  let outsideBase: string;
  let httpPort: number;
  let publicId: string;
  let protectedId: string;

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await request(url, { headers, dispatcher: tls });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scalelite-nginx-'));
    h = await startHarness({
      servers: 1,
      env: { RECORDING_IMPORT_POLL_INTERVAL: '0.2', RECORDING_X_ACCEL_REDIRECT: 'true', PROTECTED_RECORDINGS_ENABLED: 'true', SECRET_KEY_BASE: 'nginx-test-key-base' },
    });
    const certificate = selfSignedCertificate(dir);
    tls = new Agent({ connect: { ca: certificate.pem } });
    // The player's files are bbb-playback's build in production; one page stands in for it here.
    const playerRoot = join(dir, 'player');
    mkdirSync(join(playerRoot, 'playback', 'presentation', '2.3'), { recursive: true });
    writeFileSync(join(playerRoot, 'playback', 'presentation', '2.3', 'index.html'), '<html>bbb-playback</html>');

    const site = async (name: string, allowSnippet: string) => {
      const ports = { http: await freePort(), https: await freePort() };
      const rendered = renderSite({
        upstream: `127.0.0.1:${h.balancer.port}`,
        httpPort: ports.http,
        httpsPort: ports.https,
        certificate: certificate.cert,
        certificateKey: certificate.key,
        publishDir: h.config.recordings.publishDir,
        playerRoot,
        allowSnippet,
      });
      mkdirSync(join(dir, name));
      return { ports, running: await startNginx(join(dir, name), rendered, ports.https) };
    };
    // The shipped allow list (this host), and one that leaves this host out: "the outside".
    const inside = await site('inside', join(NGINX_DIR, 'scalelite-admin-allow.conf'));
    const elsewhere = join(dir, 'allow-elsewhere.conf');
    writeFileSync(elsewhere, 'allow 192.0.2.10;\ndeny all;\n');
    const other = await site('outside', elsewhere);
    nginx = inside.running;
    outside = other.running;
    base = `https://127.0.0.1:${inside.ports.https}`;
    outsideBase = `https://127.0.0.1:${other.ports.https}`;
    httpPort = inside.ports.http;

    const spoolDir = h.config.recordings.spoolDir;
    publicId = (await generateRecording({ spoolDir, meetingId: 'open-lecture' })).recordId;
    protectedId = (await generateRecording({ spoolDir, meetingId: 'closed-seminar' })).recordId;
    await eventually('both imports', async () => {
      const xml = (await h.lms.get('getRecordings', {})).body;
      return xml.includes(publicId) && xml.includes(protectedId) ? true : null;
    });
    await h.lms.get('updateRecordings', { recordID: publicId, protect: 'false' });
  });

  afterAll(async () => {
    await nginx?.stop();
    await outside?.stop();
    await tls?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('http is redirected to https', async () => {
    const res = await request(`http://127.0.0.1:${httpPort}/bigbluebutton/api/join?meetingID=x`);
    await res.body.dump();
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe('https://127.0.0.1/bigbluebutton/api/join?meetingID=x');
  });

  test('create and join through nginx: checksums hold, the join goes to the BBB server', async () => {
    const lms = new LmsClient(base, TEST_SECRET);
    const created = await get(lms.url('create', { meetingID: 'through-nginx', name: 'Through nginx' }));
    expect(created.status).toBe(200);
    expect(tag(created.text, 'returncode')).toBe('SUCCESS');
    const joined = await request(lms.url('join', { meetingID: 'through-nginx', fullName: 'Ada', role: 'MODERATOR' }), { dispatcher: tls });
    await joined.body.dump();
    expect(joined.statusCode).toBe(302);
    expect(String(joined.headers.location)).toMatch(new RegExp(`^${h.sim.servers[0].url.replace(/\/bigbluebutton\/api\/?$/, '')}/`));
    expect(tag((await get(`${base}/bigbluebutton/api/getMeetings?checksum=wrong`)).text, 'messageKey')).toBe('checksumError');
    expect((await get(`${base}/health_check`)).text).toBe('success');
  });

  test('a recording file is sent by nginx after the balancer answers X-Accel-Redirect', async () => {
    const path = `/presentation/${publicId}/metadata.xml`;
    // The balancer alone: a yes with no body, naming the internal location.
    const direct = await request(`${h.balancer.url}${path}`);
    expect(direct.statusCode).toBe(200);
    expect(direct.headers['x-accel-redirect']).toBe(`/static-resource${path}`);
    expect(await direct.body.text()).toBe('');
    // Through nginx: the file itself, from the publish dir.
    const through = await get(`${base}${path}`);
    expect(through.status).toBe(200);
    expect(through.text).toContain(`<id>${publicId}</id>`);
    expect(through.headers['x-accel-redirect']).toBeUndefined();
    // The internal location cannot be asked for directly.
    expect((await get(`${base}/static-resource${path}`)).status).toBe(404);
    // The player page comes from bbb-playback's files.
    expect((await get(`${base}/playback/presentation/2.3/${publicId}`)).text).toContain('bbb-playback');
    // The recording URLs the API gives name the https host nginx was asked for.
    const listed = (await get(new LmsClient(base, TEST_SECRET).url('getRecordings', { meetingID: 'open-lecture' }))).text;
    expect(tags(listed, 'url')[0]).toBe(`${base}/playback/presentation/2.3/${publicId}`);
  });

  test('a protected recording is refused without its cookie and sent with it', async () => {
    const resource = `${base}/presentation/${protectedId}/metadata.xml`;
    expect((await get(resource)).status).toBe(404);
    const listed = (await get(new LmsClient(base, TEST_SECRET).url('getRecordings', { meetingID: 'closed-seminar' }))).text;
    const entry = tags(listed, 'url')[0];
    expect(entry).toMatch(new RegExp(`^${base}/recording/${protectedId}/presentation\\?token=`));
    const granted = await request(entry, { dispatcher: tls });
    await granted.body.dump();
    expect(granted.statusCode).toBe(307);
    const cookie = String(granted.headers['set-cookie']).split(';')[0];
    const served = await get(resource, { cookie });
    expect(served.status).toBe(200);
    expect(served.text).toContain(`<id>${protectedId}</id>`);
  });

  test('/metrics and the admin API: answered on the allow list, 403 from elsewhere', async () => {
    expect((await get(`${base}/metrics`)).text).toContain('scalelite_');
    const servers = await get(`${base}/scalelite/api/getServers?checksum=x`);
    expect(servers.status).not.toBe(403);
    for (const path of ['/metrics', '/scalelite/api/getServers?checksum=x']) expect((await get(`${outsideBase}${path}`)).status).toBe(403);
    // the rest of the balancer is open from there
    expect((await get(`${outsideBase}/health_check`)).text).toBe('success');
  });
});
