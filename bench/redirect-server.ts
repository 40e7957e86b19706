import cluster from 'node:cluster';
import { createServer } from 'node:http';

/*
 * The baseline for bench:join: a bare Node http server that answers every
 * request with the same 302 the balancer gives for a join. The ratio to it is
 * what our routing, checksums and lookups cost. With a worker count, that many
 * node:cluster workers share the port, as the api role's WEB_CONCURRENCY does.
 *   node dist/bench/redirect-server.js <port> <location> [workers]
 */
const [portArg, location, workersArg] = process.argv.slice(2);
const workers = Number(workersArg ?? 1);

if (workers > 1 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i += 1) cluster.fork().once('listening', () => (ready += 1) === workers && process.stdout.write('ready\n'));
  process.once('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const server = createServer((_req, res) => {
    res.writeHead(302, { Location: location });
    res.end();
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(portArg), '127.0.0.1', () => {
    if (cluster.isPrimary) process.stdout.write('ready\n');
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
