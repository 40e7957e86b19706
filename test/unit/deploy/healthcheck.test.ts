import { execFile } from 'node:child_process';
import { createServer, RequestListener, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { Metrics, StateSources } from '../../../src/infra/metrics';

/*
 * bin/healthcheck.js, the containers' healthcheck, run as docker runs it (a process, its exit
 * code) against live HTTP servers: METRICS_PORT's listener as the poller, projector and
 * importer serve it, with backends that answer or not, a dead port and a server that hangs.
 * The api's /health_check is checked through a real balancer in test/integration/compose-proxy.test.ts.
 */

const SCRIPT = join(__dirname, '..', '..', '..', 'bin', 'healthcheck.js');
const logger = pino({ level: 'silent' });

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
    });
  });
}

const servers: Server[] = [];
async function serve(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one that was just closed. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sources = (checkpoint: () => Promise<number>): StateSources => ({ logHead: async () => 7, checkpoints: { pool: checkpoint, history: async () => 7 } });

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

describe('METRICS_PORT /health_check', () => {
  test('given backends that answer: success; given a read model that does not: a 503 naming the failure', async () => {
    const healthy = new Metrics('poller');
    healthy.watch(sources(async () => 7));
    const sick = new Metrics('projector');
    sick.watch(
      sources(async () => {
        throw new Error('redis: connection refused');
      }),
    );
    const starting = new Metrics('importer');
    const [ok, failing, early] = await Promise.all([serve(healthy.listener(logger)), serve(sick.listener(logger)), serve(starting.listener(logger))]);
    const answer = async (port: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/health_check`);
      return [res.status, await res.text()];
    };
    expect(await answer(ok)).toEqual([200, 'success']);
    expect(await answer(failing)).toEqual([503, 'Health Check Failure: redis: connection refused']);
    expect(await answer(early)).toEqual([503, 'Health Check Failure: starting']);
    // /metrics is still there, and nothing else
    expect((await fetch(`http://127.0.0.1:${ok}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ok}/other`)).status).toBe(404);
  });
});

describe('bin/healthcheck.js', () => {
  test('exits 0 when the process answers success', async () => {
    const metrics = new Metrics('poller');
    metrics.watch(sources(async () => 7));
    const port = await serve(metrics.listener(logger));
    expect(await run([`http://127.0.0.1:${port}/health_check`])).toEqual({ code: 0, stderr: '' });
  });

  test("exits 1 saying why: a backend down, a dead port, a failure answered with 200 (the api's way), a bad URL", async () => {
    const metrics = new Metrics('projector');
    metrics.watch(
      sources(async () => {
        throw new Error('redis: connection refused');
      }),
    );
    const sick = await serve(metrics.listener(logger));
    const r1 = await run([`http://127.0.0.1:${sick}/health_check`]);
    expect(r1).toEqual({ code: 1, stderr: `unhealthy: http://127.0.0.1:${sick}/health_check answered 503: Health Check Failure: redis: connection refused\n` });

    const dead = await deadPort();
    expect(await run([`http://127.0.0.1:${dead}/health_check`])).toEqual({ code: 1, stderr: `unhealthy: http://127.0.0.1:${dead}/health_check: ECONNREFUSED\n` });

    // The api answers its failures with 200 (Scalelite's /health_check does): the body decides.
    const api = await serve((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Health Check Failure: kafka: timeout'));
    expect(await run([`http://127.0.0.1:${api}/health_check`])).toMatchObject({ code: 1, stderr: expect.stringContaining('answered 200: Health Check Failure: kafka: timeout') });

    expect(await run(['not a url'])).toMatchObject({ code: 1, stderr: expect.stringContaining('Invalid URL') });
  });

  test('gives up on a process that does not answer, within the healthcheck timeout', async () => {
    const hung = await serve(() => undefined);
    const started = Date.now();
    const r = await run([`http://127.0.0.1:${hung}/health_check`]);
    expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining('no answer within 4 s') });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('without a URL: PORT first (start, api), then METRICS_PORT when nothing listens on PORT (poller, projector, importer)', async () => {
    const metrics = new Metrics('importer');
    metrics.watch(sources(async () => 7));
    const metricsPort = await serve(metrics.listener(logger));
    const api = await serve((_req, res) => res.writeHead(200).end('success'));
    const dead = await deadPort();
    expect(await run([], { PORT: String(api), METRICS_PORT: String(dead) })).toEqual({ code: 0, stderr: '' });
    expect(await run([], { PORT: String(dead), METRICS_PORT: String(metricsPort) })).toEqual({ code: 0, stderr: '' });
    const none = await run([], { PORT: String(dead) });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      `http://127.0.0.1:${dead}/health_check: ECONNREFUSED (nothing listens on PORT; a poller, projector or importer answers on METRICS_PORT, which is not set)`,
    );
  });
});
