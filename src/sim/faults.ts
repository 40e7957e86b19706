import type http from 'node:http';
import type { ApiResponse } from './api';

// Answers that are correct but delivered in a way that hurts a client: too slowly
// to finish, or too big to hold. They stand in for the upstreams of issue 15.

const PAD_CHUNK = Buffer.alloc(64 * 1024, 'x');
const COMMENT_OPEN = Buffer.from('<!--');
const COMMENT_CLOSE = Buffer.from('-->');

/** The client left, or the server went down and cut the socket. */
const gone = (res: http.ServerResponse): boolean => res.destroyed || !res.socket || res.socket.destroyed;

/**
 * Headers at once, then the body one byte every intervalMs. Timers go into
 * `timers` so closing the simulator stops them; a closed socket stops them too.
 */
export function dripAnswer(res: http.ServerResponse, answer: ApiResponse, intervalMs: number, timers: Set<NodeJS.Timeout>): void {
  if (gone(res)) return;
  const body = Buffer.from(answer.body, 'utf8');
  // No content-length: chunked, as a proxy that streams from a stalled backend would send it.
  res.writeHead(answer.status, answer.headers);
  let at = 0;
  const step = () => {
    if (gone(res)) return;
    if (at >= body.length) return void res.end();
    res.write(body.subarray(at, at + 1));
    at += 1;
    const t = setTimeout(() => {
      timers.delete(t);
      step();
    }, intervalMs);
    timers.add(t);
  };
  step();
}

/**
 * The answer grown to `bytes` by a comment before its closing </response>, so
 * a client that reads it all finds a valid BBB document. Streamed in 64 KiB
 * pieces as the socket drains: the simulator never holds the whole reply, and
 * stops writing when the client hangs up. An answer that is not a <response>
 * document, or already that big, goes out as it is.
 */
export function hugeAnswer(res: http.ServerResponse, answer: ApiResponse, bytes: number, declareLength: boolean): void {
  if (gone(res)) return;
  const body = Buffer.from(answer.body, 'utf8');
  const close = body.lastIndexOf('</response>');
  const padding = bytes - body.length - COMMENT_OPEN.length - COMMENT_CLOSE.length;
  if (close < 0 || padding <= 0) {
    res.writeHead(answer.status, answer.headers);
    res.end(body);
    return;
  }
  res.writeHead(answer.status, declareLength ? { ...answer.headers, 'content-length': String(bytes) } : answer.headers);
  const pieces = (function* () {
    yield Buffer.concat([body.subarray(0, close), COMMENT_OPEN]);
    for (let left = padding; left > 0; left -= PAD_CHUNK.length) yield left >= PAD_CHUNK.length ? PAD_CHUNK : PAD_CHUNK.subarray(0, left);
    yield Buffer.concat([COMMENT_CLOSE, body.subarray(close)]);
  })();
  const pump = () => {
    for (let piece = pieces.next(); !piece.done; piece = pieces.next()) {
      if (gone(res)) return;
      if (!res.write(piece.value)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}
