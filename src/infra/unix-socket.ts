import { Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { chmod, lstat, unlink } from 'node:fs/promises';

/*
 * BIND=unix:///path (Puma's form, which Scalelite's nginx proxies to). A socket file
 * left by a process that died is removed first, as Puma does; a live one is refused.
 */

/** Whether something accepts connections on the socket at `path`. */
function alive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function listenOnSocket(server: HttpServer, path: string): Promise<HttpServer> {
  const existing = await lstat(path).catch(() => null);
  if (existing) {
    if (!existing.isSocket()) throw new Error(`BIND: ${path} exists and is not a socket`);
    if (await alive(path)) throw new Error(`BIND: another process listens on ${path}`);
    await unlink(path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // nginx runs as another user of the same group (Scalelite's scalelite-spool group, §4.4).
  await chmod(path, 0o660);
  server.once('close', () => void unlink(path).catch(() => undefined));
  return server;
}
