import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import { signedUrl } from '../src/infra/bbb/client';

/*
 * The baseline for bench:getmeetings: the least a balancer can do for getMeetings.
 * It asks every server at once on keep-alive connections and copies what lies
 * between each reply's <meetings> and </meetings>, with no checksum check, no
 * tenant filter, no well-formedness check and no logging.
 *   node dist/bench/aggregator-server.js <port> <servers.json>   (servers: [{url, secret}])
 */
const [portArg, serversJson] = process.argv.slice(2);
const servers = JSON.parse(serversJson!) as Array<{ url: string; secret: string }>;
const urls = servers.map((s) => signedUrl('sha256', s, 'getMeetings', []));
const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });

async function meetingsOf(url: string): Promise<string> {
  const res = await request(url, { dispatcher: agent });
  const body = await res.body.text();
  const from = body.indexOf('<meetings>');
  const to = body.lastIndexOf('</meetings>');
  return from === -1 || to === -1 ? '' : body.slice(from + '<meetings>'.length, to);
}

const server = createServer((_req, res) => {
  Promise.all(urls.map(meetingsOf)).then(
    (parts) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><response><returncode>SUCCESS</returncode><meetings>${parts.join('')}</meetings></response>`);
    },
    () => {
      res.writeHead(502);
      res.end();
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg), '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
