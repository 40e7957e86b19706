import { createServer } from 'node:http';

/*
 * The baseline for bench:join: a bare Node http server that answers every
 * request with the same 302 the balancer gives for a join. The ratio to it is
 * what our routing, checksums and lookups cost.
 *   node dist/bench/redirect-server.js <port> <location>
 */
const [portArg, location] = process.argv.slice(2);
const server = createServer((_req, res) => {
  res.writeHead(302, { Location: location });
  res.end();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg), '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
