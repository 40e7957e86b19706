import { execFile } from 'node:child_process';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FormatLocation } from './storage';
import { resourceSegments } from './storage';
import { DEFAULT_TARBALL_LIMITS, TarballLimits } from './tar-scan';
import { inspectExtracted, listTarball, openTarball, TarballError, untar } from './tarball';

export { TarballError } from './tarball';

/*
 * The recording file layout (docs/scalelite-behaviour.md §4.4):
 *
 *   <spoolDir>/<record_id>.tar                 tarballs sent by BBB servers
 *   <spoolDir>/failed/<name>.tar[.reason.txt]  tarballs that could not be imported
 *   <workDir>/import-XXXXXX/                   one extraction at a time
 *   <publishDir>/<format>/<record_id>/…        served
 *   <unpublishDir>/<format>/<record_id>/…      kept, not served
 *
 * Record ids and format names reach these functions from tarballs and API
 * calls, so every one is checked against a conservative name rule before it
 * becomes part of a path.
 */

export interface RecordingDirs {
  spoolDir: string;
  workDir: string;
  publishDir: string;
  unpublishDir: string;
}

/** Recording files are not where the recording says they are, or a name is unsafe. */
export class RecordingFilesError extends Error {
  override readonly name = 'RecordingFilesError';
}

/** Directories are group-writable: Scalelite shares them over NFS with GID 2000 (`scalelite-spool`). */
export const DIR_MODE = 0o775;

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/** A single path component that can never climb out of, or alias, its parent dir. */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && name !== '.' && name !== '..';
}

export function requireSafe(kind: string, name: string): void {
  if (!isSafeName(name)) throw new RecordingFilesError(`unsafe ${kind} ${JSON.stringify(name.slice(0, 100))}`);
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.lstat(p)).isDirectory();
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw err;
  }
}

/** mkdir -p, with the dirs it creates made 0775 regardless of the process umask. */
export async function ensureDir(dir: string): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  const created: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    created.push(d);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
  for (const d of created) await fs.chmod(d, DIR_MODE);
}

/**
 * Moves a file or tree, also across filesystems (the work dir is often local
 * while the publish dir is on NFS): the copy lands under a hidden name in the
 * target dir and is renamed into place, so nginx never serves half a recording.
 */
async function move(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
    return;
  } catch (err) {
    if (errno(err) !== 'EXDEV') throw err;
  }
  const staging = path.join(path.dirname(to), `.${path.basename(to)}.partial-${process.pid}-${Date.now()}`);
  try {
    await fs.cp(from, staging, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true, preserveTimestamps: true });
    await fs.rename(staging, to);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
  await fs.rm(from, { recursive: true, force: true });
}

/**
 * rm -rf that also copes with trees a tarball made unreadable (a dir stored
 * with mode 000 keeps that mode, minus the umask, when extracted by non-root).
 */
async function forceRemove(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
    return;
  } catch (err) {
    if (errno(err) !== 'EACCES' && errno(err) !== 'EPERM') throw err;
  }
  await new Promise<void>((resolve) => execFile('chmod', ['-R', 'u+rwX', dir], () => resolve()));
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * Extracts a tarball into a fresh `import-*` dir under workDir and returns that
 * dir. It is listed first and refused before anything is written when it is
 * compressed, too large or holds what a recording must not (see ./tarball);
 * whatever was written for a refused tarball is removed.
 */
export async function extractTarball(tarPath: string, workDir: string, limits: TarballLimits = DEFAULT_TARBALL_LIMITS): Promise<string> {
  const handle = await openTarball(tarPath);
  try {
    const listing = await listTarball(handle, limits);
    await ensureDir(workDir);
    const dir = await fs.mkdtemp(path.join(path.resolve(workDir), 'import-'));
    try {
      await untar(handle, listing, dir, limits);
      await inspectExtracted(dir, limits);
      return dir;
    } catch (err) {
      await forceRemove(dir);
      if (err instanceof TarballError) throw err;
      throw new TarballError(err instanceof Error ? err.message : String(err));
    }
  } finally {
    await handle.close();
  }
}

export interface FormatDir {
  format: string;
  recordId: string;
  dir: string;
  metadataXml: string;
}

/** Read at most this much of a metadata.xml: the parser refuses anything longer anyway. */
const METADATA_READ_LIMIT = 8 * 1024 * 1024 + 1;

async function readBounded(file: string, limit: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(limit, (await handle.stat()).size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/**
 * Every `<format>/<record_id>/metadata.xml` of an extracted tarball, sorted by
 * format. Entries whose names are not safe path components are left out: they
 * could not be placed anyway. The metadata is read up to a bound, so a huge
 * file shows up as a parse error rather than exhausting memory.
 */
export async function findFormatDirs(extractedDir: string): Promise<FormatDir[]> {
  const found: FormatDir[] = [];
  for (const format of await subdirs(extractedDir)) {
    if (!isSafeName(format)) continue;
    for (const recordId of await subdirs(path.join(extractedDir, format))) {
      if (!isSafeName(recordId)) continue;
      const dir = path.join(extractedDir, format, recordId);
      const file = path.join(dir, 'metadata.xml');
      let stat;
      try {
        stat = await fs.lstat(file);
      } catch (err) {
        if (errno(err) === 'ENOENT') continue;
        throw err;
      }
      if (!stat.isFile()) continue;
      found.push({ format, recordId, dir, metadataXml: await readBounded(file, METADATA_READ_LIMIT) });
    }
  }
  return found.sort((a, b) => (a.format < b.format ? -1 : a.format > b.format ? 1 : a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0));
}

const formatDirOf = (base: string, format: string, recordId: string) => path.join(base, format, recordId);

/**
 * Puts one imported format in place: any earlier copy, published or not, is
 * replaced, so a re-sent recording never leaves a stale twin behind.
 */
export async function placeFormat(dirs: RecordingDirs, format: string, recordId: string, fromDir: string, published: boolean): Promise<void> {
  requireSafe('format', format);
  requireSafe('record id', recordId);
  const target = formatDirOf(published ? dirs.publishDir : dirs.unpublishDir, format, recordId);
  await fs.rm(formatDirOf(dirs.publishDir, format, recordId), { recursive: true, force: true });
  await fs.rm(formatDirOf(dirs.unpublishDir, format, recordId), { recursive: true, force: true });
  await ensureDir(path.dirname(target));
  await move(fromDir, target);
  await fs.chmod(target, DIR_MODE);
}

/**
 * publishRecordings on disk. Each format dir goes from the current side to the
 * target side; a copy already on the target side wins over the one still on
 * the current side. All formats are checked before anything moves, so a
 * missing one does not leave the recording half published.
 */
export async function moveRecordingFiles(dirs: RecordingDirs, recordId: string, formats: string[], toPublished: boolean): Promise<void> {
  requireSafe('record id', recordId);
  for (const f of formats) requireSafe('format', f);
  const [fromBase, toBase] = toPublished ? [dirs.unpublishDir, dirs.publishDir] : [dirs.publishDir, dirs.unpublishDir];
  const plan: Array<{ from: string; to: string; inFrom: boolean; inTo: boolean }> = [];
  for (const f of formats) {
    const from = formatDirOf(fromBase, f, recordId);
    const to = formatDirOf(toBase, f, recordId);
    const [inFrom, inTo] = await Promise.all([isDirectory(from), isDirectory(to)]);
    if (!inFrom && !inTo) throw new RecordingFilesError(`no files for format ${f} of recording ${recordId} in ${fromBase} or ${toBase}`);
    plan.push({ from, to, inFrom, inTo });
  }
  for (const step of plan) {
    if (step.inFrom && step.inTo) await fs.rm(step.from, { recursive: true, force: true });
    else if (step.inFrom) {
      await ensureDir(path.dirname(step.to));
      await move(step.from, step.to);
    }
  }
}

export type { FormatLocation } from './storage';

export async function locateFormats(dirs: RecordingDirs, recordId: string, formats: string[]): Promise<FormatLocation[]> {
  requireSafe('record id', recordId);
  return Promise.all(
    formats.map(async (format) => {
      requireSafe('format', format);
      const [published, unpublished] = await Promise.all([
        isDirectory(formatDirOf(dirs.publishDir, format, recordId)),
        isDirectory(formatDirOf(dirs.unpublishDir, format, recordId)),
      ]);
      return { format, published, unpublished };
    }),
  );
}

/** The format names that have a dir in either tree. */
export async function formatsOnDisk(dirs: RecordingDirs): Promise<string[]> {
  const [a, b] = await Promise.all([formatsIn(dirs.publishDir), formatsIn(dirs.unpublishDir)]);
  return [...new Set([...a, ...b])].sort();
}

async function formatsIn(base: string): Promise<string[]> {
  try {
    return (await subdirs(base)).filter(isSafeName);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return [];
    throw err;
  }
}

/**
 * deleteRecordings on disk: the recording goes from both the publish and the
 * unpublish dir (Scalelite leaves unpublished copies behind, issue #1196).
 * `formats` narrows the sweep; without it every format dir is searched.
 */
export async function deleteRecordingFiles(dirs: RecordingDirs, recordId: string, formats?: string[]): Promise<void> {
  requireSafe('record id', recordId);
  for (const f of formats ?? []) requireSafe('format', f);
  for (const base of [dirs.publishDir, dirs.unpublishDir]) {
    for (const f of formats ?? (await formatsIn(base))) await fs.rm(formatDirOf(base, f, recordId), { recursive: true, force: true });
  }
}

/** A name in dir that nothing uses yet: name, then stem.1.ext, stem.2.ext, … */
async function freeName(dir: string, name: string): Promise<string> {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 0; ; n++) {
    const candidate = path.join(dir, n === 0 ? name : `${stem}.${n}${ext}`);
    if (!(await exists(candidate)) && !(await exists(`${candidate}.reason.txt`))) return candidate;
  }
}

/**
 * Parks a tarball that cannot be imported, so the importer does not retry it
 * forever (Scalelite issues #625, #642), with the reason next to it for the
 * operator. Returns where it went.
 */
export async function moveToFailed(spoolDir: string, tarPath: string, reason: string): Promise<string> {
  const failedDir = path.join(spoolDir, 'failed');
  await ensureDir(failedDir);
  const target = await freeName(failedDir, path.basename(tarPath));
  // The reason is complete before the tarball shows up next to it (written aside, then renamed).
  const partial = `${target}.reason.txt.partial`;
  await fs.writeFile(partial, `${reason.trimEnd()}\n`, { mode: 0o664 });
  await fs.rename(partial, `${target}.reason.txt`);
  await move(tarPath, target);
  return target;
}

/**
 * Tarballs waiting in the spool, oldest first. Only top-level regular `*.tar`
 * files count: senders write under a hidden or different name and rename when
 * complete, and `failed/` is a subdirectory.
 */
export async function listSpool(spoolDir: string): Promise<string[]> {
  await ensureDir(spoolDir);
  const candidates = (await fs.readdir(spoolDir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.tar') && !e.name.startsWith('.'));
  const dated: Array<{ file: string; mtime: number }> = [];
  for (const e of candidates) {
    const file = path.join(spoolDir, e.name);
    try {
      dated.push({ file, mtime: (await fs.stat(file)).mtimeMs });
    } catch (err) {
      // Another importer (or an operator) took it in the meantime.
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
  return dated.sort((a, b) => a.mtime - b.mtime || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)).map((d) => d.file);
}

/** Removes extraction dirs a crashed import left behind; returns their paths. */
export async function cleanStaleWork(workDir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(workDir, { withFileTypes: true });
  } catch (err) {
    if (errno(err) === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith('import-')) continue;
    const dir = path.join(workDir, e.name);
    await forceRemove(dir);
    removed.push(dir);
  }
  return removed;
}

/**
 * The file behind a playback resource request, `<baseDir>/<format>/<recordId>/<rest>`,
 * or null when any part could reach outside that recording. `rest` is the
 * already percent-decoded remainder of the URL path ('' for the recording dir).
 */
export function resolveResource(baseDir: string, format: string, recordId: string, rest: string): string | null {
  if (!isSafeName(format) || !isSafeName(recordId)) return null;
  const segments = resourceSegments(rest);
  if (!segments) return null;
  const root = path.resolve(baseDir, format, recordId);
  const resolved = path.resolve(root, ...segments);
  return resolved === root || resolved.startsWith(root + path.sep) ? resolved : null;
}
