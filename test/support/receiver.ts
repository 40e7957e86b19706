import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';

/** An LMS endpoint on loopback that records what it is sent and answers `status()`. */
export interface Receiver {
  url(path: string): string;
  requests: Array<{ headers: IncomingHttpHeaders; body: string }>;
  close(): void;
}

export async function startReceiver(status: () => number = () => 200): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, requests, close: () => server.close() };
}
