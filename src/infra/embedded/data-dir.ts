import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../events/log';
import { ConfigError, unwritableDataDir } from '../config';
import { openPglite } from '../sql/pglite';
import { Sql } from '../sql/sql';

/*
 * One owner per embedded data dir. Two processes on one PGlite directory each run
 * blind to the other's meetings and lose what the other acknowledged; an emptied or
 * damaged directory must not start as a new, empty balancer without a word.
 *
 *   DATA_DIR/owner.lock     who runs on it: pid, host, start; its mtime is a heartbeat
 *   DATA_DIR/balancer.json  written once the dir holds a balancer: when, and its first event
 */

export const OWNER_FILE = 'owner.lock';
export const MARKER_FILE = 'balancer.json';

/** The owner touches its lock this often; a lock not touched for STALE_MS is a dead owner's. */
const HEARTBEAT_MS = 10_000;
const STALE_MS = 35_000;

interface Owner {
  pid: number;
  host: string;
  startedAt: string;
  token: string;
}

export interface DataDirClaim {
  release(): Promise<void>;
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user
    return errno(err) === 'EPERM';
  }
}

async function readOwner(file: string): Promise<{ owner: Partial<Owner>; touchedAt: number } | null> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    let owner: Partial<Owner> = {};
    try {
      owner = JSON.parse(text) as Partial<Owner>;
    } catch {
      // half written by an owner that died while writing it: it is stale below
    }
    return { owner, touchedAt: stat.mtimeMs };
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Take the data dir for this process, or refuse naming the process that has it. A lock left
 * by an owner that died (its pid gone on this host, or no heartbeat for STALE_MS) is taken over.
 */
export async function claimDataDir(dataDir: string, now: () => number = Date.now): Promise<DataDirClaim> {
  await fs.mkdir(dataDir, { recursive: true }).catch((err: unknown) => {
    throw unwritableDataDir(dataDir, err);
  });
  const file = join(dataDir, OWNER_FILE);
  const me: Owner = { pid: process.pid, host: hostname(), startedAt: new Date(now()).toISOString(), token: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, `${JSON.stringify(me)}\n`, { flag: 'wx', mode: 0o644 });
      return heartbeat(file, me);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw unwritableDataDir(dataDir, err);
    }
    const found = await readOwner(file);
    if (!found) continue;
    const { owner, touchedAt } = found;
    const sameHost = owner.host === me.host;
    const stale = now() - touchedAt > STALE_MS || (sameHost && typeof owner.pid === 'number' && !alive(owner.pid));
    if (!stale) {
      throw new ConfigError(
        `DATA_DIR ${dataDir} is in use by process ${owner.pid ?? '?'} on ${owner.host ?? '?'} (started ${owner.startedAt ?? '?'}). ` +
          'One balancer per data dir: stop that one first, or give this one another DATA_DIR.',
      );
    }
    // Moved aside atomically: of two processes finding the same stale lock, one takes it.
    const aside = `${file}.stale-${me.token}`;
    try {
      await fs.rename(file, aside);
      await fs.rm(aside, { force: true });
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
  throw new ConfigError(`DATA_DIR ${dataDir}: could not take ${OWNER_FILE}; another process keeps taking it`);
}

function heartbeat(file: string, me: Owner): DataDirClaim {
  const timer = setInterval(() => {
    const t = new Date();
    fs.utimes(file, t, t).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      const found = await readOwner(file).catch(() => null);
      // Only our own lock: after a takeover it belongs to someone else.
      if (found?.owner.token === me.token) await fs.rm(file, { force: true });
    },
  };
}

export interface BalancerMarker {
  createdAt: string;
  /** the id of the log's first event, once there is one */
  firstEventId?: string;
}

export async function readMarker(dataDir: string): Promise<BalancerMarker | null> {
  try {
    return JSON.parse(await fs.readFile(join(dataDir, MARKER_FILE), 'utf8')) as BalancerMarker;
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw new ConfigError(
      `DATA_DIR ${dataDir}: ${MARKER_FILE} cannot be read (${err instanceof Error ? err.message : String(err)}); restore it, or remove it if this dir holds no balancer`,
    );
  }
}

export async function writeMarker(dataDir: string, marker: BalancerMarker): Promise<void> {
  const file = join(dataDir, MARKER_FILE);
  const partial = `${file}.partial`;
  await fs.writeFile(partial, `${JSON.stringify(marker, null, 2)}\n`);
  await fs.rename(partial, file);
}

/** Whether a directory is missing or holds no file at all. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch (err) {
    if (errno(err) === 'ENOENT') return true;
    throw err;
  }
}

/**
 * What to tell an admin whose data dir cannot be used: the dir, what was found, how to
 * recover. Errors from PGlite's WebAssembly build can be anything ("Aborted()", a plain
 * object); they are made readable here.
 */
export function damagedDataDir(dir: string, err: unknown): ConfigError {
  const detail = err instanceof Error ? err.message : typeof err === 'object' && err !== null ? JSON.stringify(err).slice(0, 300) : String(err);
  return new ConfigError(
    `the embedded database in ${dir} cannot be opened (${detail || 'no detail'}). It may be damaged: an interrupted write, ` +
      'a full disk, or files of another PGlite version. Restore the directory from a backup; or, to start an empty balancer, move it away.',
  );
}

/**
 * The embedded database under DATA_DIR, for this process only: the dir is claimed first (a
 * second process is refused, naming the first), an emptied dir that held a balancer is
 * refused, and what PGlite says of a damaged one is turned into a message naming the dir.
 */
export async function openEmbeddedSql(dataDir: string): Promise<{ sql: Sql; release(): Promise<void> }> {
  const claim = await claimDataDir(dataDir);
  const dir = join(dataDir, 'pglite');
  let sql: Sql;
  try {
    const marker = await readMarker(dataDir);
    if (marker && (await isEmptyDir(dir))) {
      throw new ConfigError(
        `DATA_DIR ${dataDir} held a balancer (created ${marker.createdAt}), but ${dir} is missing or empty: its event log is gone. ` +
          `Restore ${dir} from a backup; to start an empty balancer here instead, remove ${join(dataDir, MARKER_FILE)}.`,
      );
    }
    // Made by another uid (a container run with --user): said as such, not as a damaged database.
    await fs.access(dir, constants.W_OK).catch((err: unknown) => {
      if (errno(err) !== 'ENOENT') throw unwritableDataDir(dataDir, err);
    });
    try {
      sql = await openPglite(dir);
      await sql.query('select 1');
    } catch (err) {
      throw damagedDataDir(dir, err);
    }
  } catch (err) {
    await claim.release();
    throw err;
  }
  return { sql, release: () => claim.release() };
}

/** The embedded log is the one this data dir held: an emptied or replaced database is refused, never started from nothing in silence. */
export async function checkEmbeddedLog(dataDir: string, log: EventLog): Promise<void> {
  const marker = await readMarker(dataDir);
  const [first] = await log.read(0, 1);
  if (marker?.firstEventId && first?.event.id !== marker.firstEventId) {
    throw new ConfigError(
      `the event log in ${join(dataDir, 'pglite')} is not the one DATA_DIR ${dataDir} held (created ${marker.createdAt}): ` +
        `${first ? 'it starts with another event' : 'it is empty'}. Restore the pglite directory from a backup; to start anew here, remove ${join(dataDir, MARKER_FILE)}.`,
    );
  }
  if (!marker || (first && !marker.firstEventId)) {
    await writeMarker(dataDir, { createdAt: marker?.createdAt ?? new Date().toISOString(), ...(first ? { firstEventId: first.event.id } : {}) });
  }
}
