import { execFile } from 'node:child_process';
import { createSocket, Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { LmsClient, tag } from '../support/bbb-client';
import { eventually } from '../support/eventually';
import { Harness, startHarness, TEST_SECRET } from '../support/harness';
import { RunningNginx, startNginx } from '../support/nginx';
import { freePort } from '../support/processes';

/*
 * docker-compose.yml's proxy for real: Debian's nginx with deploy/compose/nginx.conf in front
 * of a balancer, the `api` name answered by a DNS server playing Docker's (127.0.0.11 inside a
 * container). Only the lines a container needs changed are replaced: the resolver's address,
 * the ports and the log path. Through it: the api's health, a create and a join, /metrics and
 * the admin API refused; then the name answers one more replica, and nginx finds it without a
 * reload (`--scale api=N`): that replica is down here, so the request goes on to the live one.
 */

const CONF = join(__dirname, '..', '..', 'deploy', 'compose', 'nginx.conf');
const HEALTHCHECK = join(__dirname, '..', '..', 'bin', 'healthcheck.js');

/** Replace `from` by `to`; a line no longer in the file fails the test, so the file cannot drift from it. */
function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`deploy/compose/nginx.conf no longer has "${from}": update this test`);
  return text.split(from).join(to);
}

/**
 * A DNS server answering A queries for the names it is given, as Docker's embedded DNS answers
 * a service name with the address of each of its containers; other names are NXDOMAIN.
 */
interface Dns {
  port: number;
  answer(name: string, addresses: string[]): void;
  queries: string[];
  close(): Promise<void>;
}

async function startDns(): Promise<Dns> {
  const records = new Map<string, string[]>();
  const queries: string[] = [];
  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, peer) => {
    if (msg.length < 12) return;
    // the question: labels up to a zero byte, then its type and class
    const labels: string[] = [];
    let at = 12;
    while (at < msg.length && msg[at] !== 0) {
      labels.push(msg.subarray(at + 1, at + 1 + msg[at]).toString('ascii'));
      at += msg[at] + 1;
    }
    const question = msg.subarray(12, at + 5);
    const type = msg.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    queries.push(name);
    const addresses = type === 1 ? (records.get(name) ?? null) : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // the query's id
    header.writeUInt16BE(0x8580 | (addresses === null ? 3 : 0), 2); // a response, authoritative; NXDOMAIN for an unknown name
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses?.length ?? 0, 6);
    const answers = (addresses ?? []).map((address) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(1, 6); // TTL 1 s: nginx's `valid=` decides how long it keeps the answer
      rr.writeUInt16BE(4, 10);
      address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
      return rr;
    });
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    answer: (name, addresses) => void records.set(name, addresses),
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

describe('the compose proxy (deploy/compose/nginx.conf) in front of the api replicas', () => {
  let h: Harness;
  let dns: Dns;
  let nginx: RunningNginx;
  let dir: string;
  let base: string;
  let accessLog: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scalelite-compose-proxy-'));
    h = await startHarness({ servers: 1 });
    dns = await startDns();
    dns.answer('api', ['127.0.0.1']);
    const port = await freePort();
    accessLog = join(dir, 'access.log');
    let conf = readFileSync(CONF, 'utf8');
    conf = replaced(conf, 'resolver 127.0.0.11 ', `resolver 127.0.0.1:${dns.port} `);
    conf = replaced(conf, 'listen 80;', `listen 127.0.0.1:${port};`);
    conf = replaced(conf, 'set $scalelite_api api:3000;', `set $scalelite_api api:${h.balancer.port};`);
    conf = replaced(conf, 'access_log /var/log/nginx/access.log scalelite_upstream;', `access_log ${accessLog} scalelite_upstream;`);
    nginx = await startNginx(dir, conf, port);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await nginx?.stop();
    await dns?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await request(`${base}${path}`);
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  test("the api's healthcheck passes, on the replica and through the proxy; the proxy answers its own", async () => {
    // Not spawnSync: the balancer answers from this process's event loop.
    const healthcheck = (url: string) =>
      new Promise<{ url: string; code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [HEALTHCHECK, url], { timeout: 20_000 }, (err, _out, stderr) => resolve({ url, code: err ? Number(err.code ?? -1) : 0, stderr })),
      );
    for (const url of [`${h.balancer.url}/health_check`, `${base}/health_check`]) expect(await healthcheck(url)).toEqual({ url, code: 0, stderr: '' });
    expect(await get('/proxy_health')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(dns.queries).toContain('api');
  });

  test('create and join through the proxy: checksums hold, the join goes to the BBB server', async () => {
    const lms = new LmsClient(base, TEST_SECRET);
    const created = await lms.get('create', { meetingID: 'through-the-proxy', name: 'Through the proxy' });
    expect(tag(created.body, 'returncode')).toBe('SUCCESS');
    const joined = await request(lms.url('join', { meetingID: 'through-the-proxy', fullName: 'Ada', role: 'MODERATOR' }));
    await joined.body.dump();
    expect(joined.statusCode).toBe(302);
    expect(String(joined.headers.location)).toContain(new URL(h.sim.servers[0].url).host);
  });

  test('/metrics and the admin API are refused at the proxy (they are scraped and called on the compose network)', async () => {
    expect((await get('/metrics')).status).toBe(403);
    expect((await get('/scalelite/api/getServers')).status).toBe(403);
    // and they are there, behind it
    expect((await request(`${h.balancer.url}/metrics`)).statusCode).toBe(200);
  });

  test('a replica added to the name is found without a reload; one that refuses connections costs no request', async () => {
    // `--scale api=2`: Docker's DNS now answers two containers; this one is not up (nothing on 127.0.0.2).
    dns.answer('api', ['127.0.0.2', '127.0.0.1']);
    await eventually(
      'nginx tries the new replica',
      async () => {
        const r = await get('/health_check');
        expect(r).toMatchObject({ status: 200, text: 'success' });
        return readFileSync(accessLog, 'utf8').includes(`upstream=127.0.0.2:${h.balancer.port}, 127.0.0.1:${h.balancer.port} `) ? true : null;
      },
      30_000,
    );
  });
});
