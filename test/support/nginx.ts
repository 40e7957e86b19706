import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, LookupFunction } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';

/*
 * Debian's nginx run with the site file admins install (deploy/nginx), for tests: the same
 * file, with only the placeholders its header lists replaced (ports, name, certificate,
 * directories, the allow list's path), each replacement checked so the test fails when the
 * file drifts from its header.
 */

export const NGINX_DIR = join(__dirname, '..', '..', 'deploy', 'nginx');

export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  throw new Error("nginx is not installed: scripts/test.sh installs Debian's nginx-light; run the tests through `npm test`");
}

export interface SiteSettings {
  /** what follows `server` in the upstream block: host:port or unix:/path */
  upstream: string;
  httpPort: number;
  httpsPort: number;
  serverName: string;
  certificate: string;
  certificateKey: string;
  publishDir: string;
  playerRoot: string;
  /** the admin allow-list snippet's path */
  allowSnippet: string;
}

/** Replace `from` by `to` wherever it appears; a placeholder that is not there any more is an error. */
function replaceAll(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`deploy/nginx/scalelite.conf no longer has "${from}": update its header and this test`);
  return text.split(from).join(to);
}

export function renderSite(s: SiteSettings): string {
  let site = readFileSync(join(NGINX_DIR, 'scalelite.conf'), 'utf8');
  site = replaceAll(site, 'server 127.0.0.1:3000;', `server ${s.upstream};`);
  // One loopback address per port: the test must not depend on IPv6 being configured.
  site = replaceAll(site, '    listen [::]:80;\n', '');
  site = replaceAll(site, '    listen [::]:443 ssl http2;\n', '');
  site = replaceAll(site, 'listen 80;', `listen 127.0.0.1:${s.httpPort};`);
  site = replaceAll(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${s.httpsPort} ssl http2;`);
  site = replaceAll(site, 'server_name scalelite.example.com;', `server_name ${s.serverName};`);
  site = replaceAll(site, '/etc/letsencrypt/live/scalelite.example.com/fullchain.pem', s.certificate);
  site = replaceAll(site, '/etc/letsencrypt/live/scalelite.example.com/privkey.pem', s.certificateKey);
  site = replaceAll(site, 'alias /var/bigbluebutton/published/;', `alias ${s.publishDir.replace(/\/?$/, '/')};`);
  site = replaceAll(site, 'root /var/bigbluebutton;', `root ${s.playerRoot};`);
  site = replaceAll(site, '/etc/nginx/snippets/scalelite-admin-allow.conf', s.allowSnippet);
  return site;
}

/** A self-signed certificate for `names` and 127.0.0.1, made with openssl (an EC key: made at once). */
export function selfSignedCertificate(dir: string, names: string[]): { cert: string; key: string; pem: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${san}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, pem: readFileSync(cert, 'utf8') };
}

/** Every name resolves to 127.0.0.1, as DNS would point the site's name at nginx. */
const toLoopback = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as LookupFunction;

/** An HTTPS client that trusts `ca` and reaches every name on loopback; HTTP/2 when `h2`. */
export function loopbackAgent(ca: string, options: { h2?: boolean } = {}): Agent {
  return new Agent({ allowH2: options.h2 ?? false, connect: { ca, lookup: toLoopback } });
}

export interface RunningNginx {
  dir: string;
  /** what `nginx -t` printed for the configuration */
  checked: string;
  accessLog(): string;
  stop(): Promise<void>;
}

/**
 * nginx with its own prefix, pid, logs and temp dirs under `dir` (nothing of the
 * package's own service is used), the rendered site in its http block as Debian's
 * nginx.conf includes sites-enabled, checked with `nginx -t` first.
 */
export async function startNginx(dir: string, site: string, waitPort: number): Promise<RunningNginx> {
  const nginx = nginxBinary();
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(join(dir, 'scalelite.conf'), site);
  // As root, nginx's workers would otherwise run as nobody, who cannot read the tests' private temp dirs.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, `${t}_temp`)};`).join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${join(dir, 'logs', 'access.log')};
${temp}
    include ${join(dir, 'scalelite.conf')};
}
`,
  );
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf')];
  const test = spawnSync(nginx, ['-t', ...args], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused the site: ${test.stderr}`);
  const child: ChildProcess = spawn(nginx, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(waitPort))) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${waitPort}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    dir,
    checked: test.stderr,
    accessLog: () => readFileSync(join(dir, 'logs', 'access.log'), 'utf8'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
