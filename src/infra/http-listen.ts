import { createServer, RequestListener, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { listenOnSocket } from './unix-socket';

/*
 * The HTTP servers of a process: the API (on a port or a Unix socket) and the
 * metrics port. Listening, what a local client should call them, and closing
 * without waiting for idle keep-alive connections.
 */

export interface Listening {
  /** where a local client reaches it: http://host:port, or unix:///path */
  url: string;
  /** 0 on a Unix socket */
  port: number;
  close(): Promise<void>;
}

export interface ApiListenSettings {
  /** BIND=unix:///path: the socket to listen on instead of host:port */
  socketPath?: string | null;
  port: number;
  host: string;
  requestTimeoutMs: number;
}

function listen(server: HttpServer, port: number, host: string): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Where a local client reaches a server listening on host:port (a wildcard address as loopback). */
export function shownUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}

/** The API's server: idle keep-alive connections kept 65 s, slow requests cut off. */
export async function listenApi(handler: RequestListener, s: ApiListenSettings): Promise<Listening> {
  const server = s.socketPath ? await listenOnSocket(createServer(handler), s.socketPath) : await listen(createServer(handler), s.port, s.host);
  server.keepAliveTimeout = 65_000;
  // A client sending its request a byte a second is cut off, not kept for Node's default 300 s.
  server.requestTimeout = s.requestTimeoutMs;
  server.headersTimeout = Math.min(20_000, s.requestTimeoutMs);
  const address = server.address();
  const port = typeof address === 'string' || address === null ? 0 : address.port;
  return { url: s.socketPath ? `unix://${s.socketPath}` : shownUrl(s.host, port), port, close: () => closeServer(server) };
}

/** A plain server on host:port (the metrics port). */
export async function listenPlain(handler: RequestListener, port: number, host: string): Promise<Listening> {
  const server = await listen(createServer(handler), port, host);
  const bound = (server.address() as AddressInfo).port;
  return { url: shownUrl(host, bound), port: bound, close: () => closeServer(server) };
}
