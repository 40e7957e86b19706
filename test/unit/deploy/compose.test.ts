import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EnvSchema } from '../../../src/infra/config';
import { nginxBinary } from '../../support/nginx';
import { dockerfileStages, Instruction } from './dockerfile';

/*
 * No Docker engine here: the deployment files are checked for what a `docker compose up`
 * and a `docker build` rely on, and the configurations the images read are checked by the
 * tools themselves (nginx -t, promtool check config). The proxy runs for real, in front of a
 * balancer, in test/integration/compose-proxy.test.ts.
 */

const root = join(__dirname, '..', '..', '..');
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas: number };
  ports?: string[];
  expose?: string[];
  profiles?: string[];
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const ROLES = ['api', 'poller', 'projector', 'importer'];
const scalelite = Object.entries(compose.services).filter(([, s]) => s.build === '.');
const stages = dockerfileStages(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const final = stages[stages.length - 1];
const last = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).pop();
const imageEnv = Object.fromEntries(final.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));

describe('docker-compose.yml', () => {
  test('has Kafka (KRaft), Redis and PostgreSQL with health checks and volumes', () => {
    const { kafka, redis, postgres } = compose.services;
    expect(kafka.image).toMatch(/^apache\/kafka:3\.9/);
    expect(kafka.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false', KAFKA_LOG_RETENTION_MS: '-1' });
    for (const infra of [kafka, redis, postgres]) {
      expect(infra.healthcheck?.test.length).toBeGreaterThan(0);
      expect(infra.volumes?.length).toBeGreaterThan(0);
    }
  });

  test('every named volume a service mounts is declared', () => {
    const named = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      // source:target[:mode], the source maybe ${VARIABLE:-default}
      .map((v) => /^(?:\$\{[A-Z_]+:-([^}]+)\}|([^:]+)):/.exec(v)!.slice(1).find(Boolean)!)
      .filter((source) => !source.startsWith('.') && !source.startsWith('/'));
    expect(named.length).toBeGreaterThan(0);
    for (const v of named) expect(Object.keys(compose.volumes)).toContain(v);
  });

  test.each(ROLES)('runs the %s role on the production backends, after the infrastructure is healthy', (role) => {
    const service = compose.services[role];
    expect(service.command).toEqual([role]);
    expect(service.build).toBe('.');
    expect(service.environment).toMatchObject({
      KAFKA_BROKERS: 'kafka:9092',
      REDIS_URL: expect.stringMatching(/^redis:\/\/redis:6379/),
      DATABASE_URL: expect.stringMatching(/@postgres:5432\//),
    });
    expect(service.environment?.LOADBALANCER_SECRET).toMatch(/^\$\{LOADBALANCER_SECRET:\?/);
    expect(service.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
  });

  test.each(ROLES)('the %s role is health-checked with bin/healthcheck.js on its own port, and its metrics are reachable there', (role) => {
    const service = compose.services[role];
    const port = role === 'api' ? '3000' : service.environment?.METRICS_PORT;
    expect(port).toMatch(/^\d+$/);
    expect(service.healthcheck?.test).toEqual(['CMD', 'node', 'bin/healthcheck.js', `http://127.0.0.1:${port}/health_check`]);
    expect(service.healthcheck).toMatchObject({ interval: expect.any(String), timeout: expect.any(String), retries: expect.any(Number) });
    // metrics on the compose network only, never on a host port
    expect(service.expose).toEqual([port]);
    expect(service.ports).toBeUndefined();
  });

  test('the api has no host port (it scales); nginx publishes the balancer and proxies to every replica', () => {
    expect(compose.services.api.ports).toBeUndefined();
    expect(compose.services.api.deploy).toBeUndefined();
    const { proxy } = compose.services;
    expect(proxy.image).toBe('nginx:stable-alpine');
    expect(proxy.ports).toEqual(['${SCALELITE_API_PORT:-3000}:80']);
    expect(proxy.depends_on).toEqual({ api: { condition: 'service_healthy' } });
    expect(proxy.volumes).toEqual(['./deploy/compose/nginx.conf:/etc/nginx/conf.d/default.conf:ro']);
    expect(proxy.healthcheck?.test.join(' ')).toContain('/proxy_health');
    // Only the proxy, and Prometheus on loopback, are published.
    const published = Object.entries(compose.services).filter(([, s]) => s.ports);
    expect(published.map(([name]) => name).sort()).toEqual(['prometheus', 'proxy']);
    expect(compose.services.prometheus.ports).toEqual(['127.0.0.1:${PROMETHEUS_PORT:-9090}:9090']);
  });

  test('poller, projector and importer each have a standby', () => {
    for (const role of ['poller', 'projector', 'importer']) expect(compose.services[role].deploy?.replicas).toBe(2);
  });

  test("the scalelite services set only variables the balancer knows (src/infra/config.ts), or the CLI's SCALELITE_URL", () => {
    const known = new Set([...Object.keys(EnvSchema.shape), 'SCALELITE_URL']);
    for (const [name, service] of scalelite) {
      const unknown = Object.keys(service.environment ?? {}).filter((k) => !known.has(k));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
    // the image's own: Node's and the shell's
    const runtime = new Set(['NODE_ENV', 'NODE_OPTIONS', 'SHELL']);
    expect(Object.keys(imageEnv).filter((k) => !known.has(k) && !runtime.has(k))).toEqual([]);
  });

  test('the recordings volume is shared by the roles that read and write recordings, with their dirs under it', () => {
    for (const role of ['api', 'importer']) {
      const service = compose.services[role];
      expect(service.volumes).toEqual(['${SCALELITE_RECORDING_DIR:-recordings}:/var/bigbluebutton']);
      for (const dir of ['SPOOL', 'WORK', 'PUBLISH', 'UNPUBLISH']) expect(service.environment?.[`RECORDING_${dir}_DIR`]).toMatch(/^\/var\/bigbluebutton\//);
    }
  });

  test("the proxy configuration passes nginx -t, and finds the replicas through Docker's DNS at run time", () => {
    const conf = readFileSync(join(root, 'deploy', 'compose', 'nginx.conf'), 'utf8');
    expect(conf).toMatch(/^resolver 127\.0\.0\.11 valid=10s/m);
    // A variable in proxy_pass makes nginx resolve the name with that resolver, not once at start.
    expect(conf).toContain('set $scalelite_api api:3000;');
    expect(conf).toContain('proxy_pass http://$scalelite_api;');
    expect(conf).not.toMatch(/^\s*upstream\s/m);
    const dir = mkdtempSync(join(tmpdir(), 'scalelite-compose-nginx-'));
    try {
      // As the nginx image includes conf.d/*.conf, inside its http block.
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')};\nevents {}\nhttp {\n    include /etc/nginx/mime.types;\n    include ${join(root, 'deploy', 'compose', 'nginx.conf')};\n}\n`,
      );
      const out = execFileSync(nginxBinary(), ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the monitoring profile's Prometheus scrapes every role by service name, with the alert rules, and passes promtool check config", () => {
    const { prometheus } = compose.services;
    expect(prometheus.profiles).toEqual(['monitoring']);
    expect(prometheus.volumes).toEqual(
      expect.arrayContaining(['./deploy/compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro', './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro']),
    );
    const config = parse(readFileSync(join(root, 'deploy', 'compose', 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; dns_sd_configs: Array<{ names: string[]; port: number }> }>;
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    const [job] = config.scrape_configs;
    expect(job.job_name).toMatch(/^scalelite/);
    const scraped = job.dns_sd_configs.flatMap((d) => d.names.map((n) => `${n}:${d.port}`)).sort();
    expect(scraped).toEqual(ROLES.map((r) => `${r}:${r === 'api' ? '3000' : compose.services[r].environment?.METRICS_PORT}`).sort());
    const dir = mkdtempSync(join(tmpdir(), 'scalelite-compose-prometheus-'));
    try {
      copyFileSync(join(root, 'deploy', 'compose', 'prometheus.yml'), join(dir, 'prometheus.yml'));
      copyFileSync(join(root, 'deploy', 'prometheus', 'alerts.yml'), join(dir, 'alerts.yml'));
      const out = execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toContain('is valid prometheus config file syntax');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  test('builds and runs on Node 24 (bookworm-slim), in two stages', () => {
    expect(stages.map((s) => s[0].args.split(/\s+/)[0])).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  });

  test('the build stage has every file the build script reads; the image has the build, the CLI manifest and bin/', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const copied = stages[0].filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const read = [...pkg.scripts.build.matchAll(/(?:-p |node )(\S+)/g)].map((m) => m[1]);
    expect(read).toEqual(['tsconfig.json', 'scripts/cli-manifest.js']);
    for (const file of read) expect(copied.some((c) => file === c || file.startsWith(`${c}/`) || (c.endsWith('/') && file.startsWith(c)))).toBe(true);
    expect(stages[0].some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    const finalCopies = final.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(finalCopies).toEqual(expect.arrayContaining(['--from=build /app/dist dist', '--from=build /app/oclif.manifest.json ./', 'bin bin']));
    expect(existsSync(join(root, 'bin', 'healthcheck.js'))).toBe(true);
    // nothing COPY names is left out of the build context
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const sources = stages.flatMap((s) => s.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1)));
    for (const source of sources) expect({ source, ignored: ignored.filter((p) => source === p || source.startsWith(`${p}/`)) }).toEqual({ source, ignored: [] });
  });

  test('runs as a non-root user, with the CLI as its entry point and a healthcheck', () => {
    expect(last(final, 'USER')?.args).toMatch(/^(?!root\b|0\b)\w+/);
    expect(last(final, 'ENTRYPOINT')?.args).toBe('["node", "bin/run.js"]');
    expect(last(final, 'CMD')?.args).toBe('["start"]');
    expect(last(final, 'HEALTHCHECK')?.args).toMatch(/CMD \["node", "bin\/healthcheck\.js"\]$/);
  });

  test('DATA_DIR is a volume any uid can write (sticky, world-writable, as /tmp), outside the root-owned /app', () => {
    const dataDir = imageEnv.DATA_DIR;
    // a uid without a passwd entry has no shell oclif could look up (test/integration/data-dir-access.test.ts)
    expect(imageEnv.SHELL).toBe('/bin/sh');
    expect(dataDir).toBe('/var/lib/scalelite');
    expect(last(final, 'VOLUME')?.args).toBe(`["${dataDir}"]`);
    const run = final
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(run).toContain(`mkdir -p ${dataDir}`);
    expect(run).toMatch(new RegExp(`chmod 1777 ${dataDir}(\\s|$)`));
    // the mode is set before USER: a later RUN would run as that user
    const order = final.map((i) => i.op);
    expect(order.lastIndexOf('RUN')).toBeLessThan(order.indexOf('USER'));
  });
});
