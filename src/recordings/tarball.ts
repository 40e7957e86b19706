import { spawn } from 'node:child_process';
import type { Dirent } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { overLimit, TarballLimits, TarEntry, TarScanner } from './tar-scan';

/*
 * A recording tarball is judged three times, because none alone is enough:
 *
 * 1. listed: its headers are read (data skipped) and it is refused before
 *    anything is written if it is compressed, too large, holds too many
 *    entries, anything but files, dirs and links, or a link leaving its own
 *    `<format>/<record_id>/` (docs/scalelite-behaviour.md §4.4);
 * 2. extracted: tar reads it from a pipe, never the file itself, so it cannot
 *    decompress it by itself (GNU tar refuses compressed input on a pipe), and
 *    every byte tar gets has passed the same scanner, which stops the stream
 *    when a header differs from the listing (the file changed) or a limit is
 *    crossed; without compression and sparse files tar writes no more than it
 *    reads;
 * 3. inspected: the extracted tree is walked as it is on disk, in case tar
 *    read a header differently: types, links and hard links, size and count.
 */

/** The tarball cannot be extracted, or holds something we refuse to serve. */
export class TarballError extends Error {
  override readonly name = 'TarballError';
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** As Linux: a chain of more links than this is a loop. */
const MAX_LINK_HOPS = 40;

export type TreeNode = { kind: 'dir' | 'file' } | { kind: 'symlink'; target: string };

/**
 * Follows the symlink at `linkParts` the way the kernel would, over the tree
 * `lookup` describes (the archive's listing, or the extracted dir), and says
 * whether every step stays inside the link's own `<format>/<record_id>/`. The
 * link's own dir is followed too: a link reached through another link lives
 * where that one points. Each step is checked, not just where it ends, so no
 * path climbs out and back in through a name that means something else once
 * the recording sits next to others in the publish dir.
 */
export function linkStaysInside(lookup: (key: string) => TreeNode | undefined, linkParts: string[], target: string): boolean {
  if (linkParts.length < 3 || target.startsWith('/')) return false;
  const current = linkParts.slice(0, 2);
  let pending = [...linkParts.slice(2, -1), ...target.split('/')];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (current.length <= 2) return false;
      current.pop();
      continue;
    }
    current.push(part);
    const node = lookup(current.join('/'));
    if (node?.kind !== 'symlink') continue;
    if (++hops > MAX_LINK_HOPS || node.target.startsWith('/')) return false;
    current.pop();
    pending = [...node.target.split('/'), ...pending];
  }
  return true;
}

/**
 * What only the whole listing can tell: each hard link names a file that came
 * before it, no member is stored twice (a second copy could swap a checked
 * link for another), and each symlink, followed through the others, stays
 * inside its own recording.
 */
export function checkListing(entries: TarEntry[]): string | null {
  const tree = new Map<string, TreeNode>();
  for (const e of entries) {
    const earlier = tree.get(e.path);
    if (earlier && !(earlier.kind === 'dir' && e.type === 'dir')) return `${e.path} is stored more than once`;
    if (e.type === 'hardlink' && tree.get(e.linkTarget!)?.kind !== 'file') return `hard link ${e.path} points to ${e.linkTarget}, which is not a file before it in the archive`;
    tree.set(e.path, e.type === 'symlink' ? { kind: 'symlink', target: e.linkTarget! } : { kind: e.type === 'dir' ? 'dir' : 'file' });
  }
  for (const e of entries) {
    if (e.type === 'symlink' && !linkStaysInside((k) => tree.get(k), e.path.split('/'), e.linkTarget!)) {
      return `symlink ${e.path} points outside its recording (${e.linkTarget})`;
    }
  }
  return null;
}

export interface TarListing {
  entries: TarEntry[];
  /** where the archive ends (bytes after its zero blocks are not given to tar) */
  archiveBytes: number;
}

export async function openTarball(tarPath: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fs.open(tarPath, 'r');
  } catch (err) {
    throw new TarballError(`cannot open ${path.basename(tarPath)}: ${errno(err) ?? String(err)}`);
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new TarballError(`${path.basename(tarPath)} is not a regular file`);
  }
  return handle;
}

/** Step 1: the archive's members, read from its headers alone. */
export async function listTarball(handle: FileHandle, limits: TarballLimits): Promise<TarListing> {
  const scanner = new TarScanner({ limits, measure: true });
  const size = (await handle.stat()).size;
  const buffer = Buffer.alloc(64 * 1024);
  while (!scanner.done && scanner.position < size) {
    const skip = Math.min(scanner.skippable(), size - scanner.position);
    if (skip > 0) {
      scanner.skip(skip);
      continue;
    }
    const want = Math.min(buffer.length, scanner.wanted());
    const { bytesRead } = await handle.read(buffer, 0, want, scanner.position);
    if (bytesRead === 0) break;
    scanner.push(buffer.subarray(0, bytesRead));
  }
  const refused = scanner.finish() ?? checkListing(scanner.entries);
  if (refused) throw new TarballError(refused);
  return { entries: scanner.entries, archiveBytes: scanner.position };
}

const sameEntry = (a: TarEntry, b: TarEntry) => a.path === b.path && a.type === b.type && a.size === b.size && a.linkTarget === b.linkTarget;

/** Step 2: tar extracts into `dir` exactly the bytes that were listed. */
export async function untar(handle: FileHandle, listing: TarListing, dir: string, limits: TarballLimits): Promise<void> {
  const changed = 'the tarball changed while it was being extracted';
  const scanner = new TarScanner({
    limits,
    onEntry: (entry, i) => (i < listing.entries.length && sameEntry(entry, listing.entries[i]) ? null : changed),
  });
  const gate = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const used = scanner.push(chunk);
      if (scanner.refusal) return done(new TarballError(scanner.refusal));
      done(null, used < chunk.length ? chunk.subarray(0, used) : chunk);
    },
    flush(done) {
      const refused = scanner.finish() ?? (scanner.entries.length === listing.entries.length ? null : changed);
      done(refused ? new TarballError(refused) : null);
    },
  });
  const tar = spawn('tar', ['--extract', '--no-same-owner', '--no-same-permissions', '--file', '-', '--directory', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4000) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => resolve(code));
  });
  let streamError: unknown = null;
  try {
    await pipeline(handle.createReadStream({ start: 0, end: Math.max(0, listing.archiveBytes - 1), autoClose: false }), gate, tar.stdin);
  } catch (err) {
    streamError = err;
    // Refused halfway: tar must not write what it already has any further.
    if (err instanceof TarballError) tar.kill('SIGKILL');
  }
  const code = await exited.catch((err: unknown) => {
    throw new TarballError(`cannot run tar: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (streamError instanceof TarballError) throw streamError;
  if (code !== 0) {
    const detail = stderr.trim() || `tar exited with ${code}`;
    throw new TarballError(detail.length > 1500 ? `${detail.slice(0, 1500)}…` : detail);
  }
  // tar stopped reading at the end of the archive: a broken pipe then is not a failure.
  if (streamError && errno(streamError) !== 'EPIPE') throw streamError;
}

/**
 * Step 3: the extracted tree as it is on disk. Everything must be a file, dir
 * or symlink; symlinks must stay inside their recording, followed through each
 * other; a file's hard links must all be inside one recording and the archive
 * (else another recording's bytes would be served under this one's name); and
 * the size and count limits hold.
 */
export async function inspectExtracted(root: string, limits: TarballLimits): Promise<void> {
  const tree = new Map<string, TreeNode>();
  const symlinks: string[] = [];
  const inodes = new Map<string, { nlink: number; paths: string[] }>();
  let count = 0;
  let bytes = 0;
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    } catch (err) {
      throw new TarballError(`cannot read extracted dir ${rel || '.'}: ${errno(err) ?? String(err)}`);
    }
    for (const entry of entries) {
      const key = rel ? `${rel}/${entry.name}` : entry.name;
      if (++count > limits.maxEntries) throw new TarballError(`the archive extracted to more than ${limits.maxEntries} entries (the limit)`);
      const stat = await fs.lstat(path.join(root, key));
      if (stat.isDirectory()) {
        tree.set(key, { kind: 'dir' });
        stack.push(key);
      } else if (stat.isSymbolicLink()) {
        tree.set(key, { kind: 'symlink', target: await fs.readlink(path.join(root, key)) });
        symlinks.push(key);
      } else if (stat.isFile()) {
        tree.set(key, { kind: 'file' });
        const inode = `${stat.dev}:${stat.ino}`;
        const seen = inodes.get(inode);
        if (seen) seen.paths.push(key);
        else {
          inodes.set(inode, { nlink: stat.nlink, paths: [key] });
          bytes += stat.size;
        }
      } else throw new TarballError(`${key} is not a regular file, directory or symlink`);
    }
  }
  if (bytes > limits.maxBytes) throw new TarballError(`the archive extracted to ${overLimit(bytes, limits.maxBytes)}`);
  for (const key of symlinks) {
    const { target } = tree.get(key) as { target: string };
    if (!linkStaysInside((k) => tree.get(k), key.split('/'), target)) throw new TarballError(`symlink ${key} points outside its recording (${target})`);
  }
  const home = (key: string) => key.split('/').slice(0, 2).join('/');
  for (const { nlink, paths } of inodes.values()) {
    if (nlink === 1) continue;
    if (paths.length !== nlink) throw new TarballError(`${paths[0]} is hard-linked to a file outside the archive`);
    const outside = paths.find((p) => p.split('/').length < 3 || home(p) !== home(paths[0]));
    if (outside) throw new TarballError(`${paths[0]} and ${outside} are one file hard-linked across recordings`);
  }
}
