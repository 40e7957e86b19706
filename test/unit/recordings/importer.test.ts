import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { LocalDecisionLock, WriteSide } from '../../../src/commands/write-side';
import { SqlEventLog } from '../../../src/infra/embedded/sql-log';
import { migrate } from '../../../src/infra/sql/migrations';
import { openPglite } from '../../../src/infra/sql/pglite';
import { SqlRecordingStore } from '../../../src/infra/sql/recording-store';
import { Sql } from '../../../src/infra/sql/sql';
import { RecordingDirs } from '../../../src/recordings/files';
import { ImporterSettings, ImportResult, RecordingImporter } from '../../../src/recordings/importer';
import { RecordingReader } from '../../../src/recordings/ports';
import { generateRecording } from '../../../src/sim/recordings';

/*
 * The importer parks a refused tarball: it goes to failed/ with its reason,
 * RecordingImportFailed says why, the refusal is a warning (the sender's
 * doing, not a fault of ours), and nothing of it is published or left behind.
 */

jest.setTimeout(30_000);
// PGlite through Node's own loader: runs with or without --experimental-vm-modules (see the helper).
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

const MiB = 1024 ** 2;

let sql: Sql;
let log: SqlEventLog;
let store: SqlRecordingStore;
let root: string;
let dirs: RecordingDirs;
let lines: Array<{ level: number; msg: string; reason?: string }>;

beforeAll(async () => {
  sql = await openPglite(null);
  await migrate(sql);
  log = new SqlEventLog(sql, 20);
  store = new SqlRecordingStore(sql, 2_000);
});
afterAll(async () => {
  await log.close();
  await sql.close();
});

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recording-importer-'));
  dirs = { spoolDir: path.join(root, 'spool'), workDir: path.join(root, 'work'), publishDir: path.join(root, 'published'), unpublishDir: path.join(root, 'unpublished') };
  lines = [];
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** The recordings read model, brought up to the log whenever a decision waits for it: the projector's job in the balancer. */
const projected: RecordingReader = {
  checkpoint: () => store.checkpoint(),
  async waitFor(offset: number, timeoutMs?: number) {
    for (let batch = await log.read((await store.checkpoint()) + 1, 100); batch.length > 0; batch = await log.read((await store.checkpoint()) + 1, 100)) {
      await store.apply(batch);
    }
    return store.waitFor(offset, timeoutMs);
  },
  recording: (id) => store.recording(id),
  recordings: (ids) => store.recordings(ids),
  query: (q) => store.query(q),
  count: (q) => store.count(q),
  callbacks: (meetingId) => store.callbacks(meetingId),
};

function importer(settings: Partial<ImporterSettings> = {}): RecordingImporter {
  const writeSide = new WriteSide<RecordingReader>({ log, pool: projected, lock: new LocalDecisionLock(), clock: () => new Date(), newId: randomUUID, projectionTimeoutMs: 5_000 });
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return new RecordingImporter({ dirs, writeSide, logger, settings: { importUnpublished: false, protectedEnabled: false, pollIntervalMs: 60_000, maxAttempts: 3, ...settings } });
}

/** A recording the simulator makes, unpacked into `into` so a test can tamper with it before it is tarred again. */
async function unpacked(meetingId: string, into: string): Promise<string> {
  const made = await generateRecording({ spoolDir: path.join(root, 'made'), meetingId });
  await fs.mkdir(into, { recursive: true });
  execFileSync('tar', ['--extract', '--file', made.tarPath, '--directory', into]);
  return made.recordId;
}

/** Tars `src` into the spool dir as `<recordId>.tar`, renamed into place as BBB's hook does. */
function spool(src: string, recordId: string): string {
  const tarPath = path.join(dirs.spoolDir, `${recordId}.tar`);
  mkdirSync(dirs.spoolDir, { recursive: true });
  execFileSync('tar', ['--create', '--file', `${tarPath}.partial`, '--directory', src, ...readdirSync(src)]);
  renameSync(`${tarPath}.partial`, tarPath);
  return tarPath;
}

async function failedEvent(source: string) {
  const events = await log.read(0, 10_000);
  return events.map((s) => s.event).find((e) => e.type === 'RecordingImportFailed' && (e.data as { source: string }).source === source);
}

const leftovers = async (dir: string) => (existsSync(dir) ? (await fs.readdir(dir)).filter((n) => n.startsWith('import-')) : []);

async function expectParked(result: ImportResult, recordId: string, reason: string): Promise<void> {
  const name = `${recordId}.tar`;
  expect(result).toEqual({ file: name, kind: 'failed', reason: expect.stringContaining(reason), movedTo: path.join(dirs.spoolDir, 'failed', name) });
  expect(existsSync(path.join(dirs.spoolDir, name))).toBe(false);
  expect(existsSync(path.join(dirs.spoolDir, 'failed', name))).toBe(true);
  expect(await fs.readFile(path.join(dirs.spoolDir, 'failed', `${name}.reason.txt`), 'utf8')).toContain(reason);
  expect((await failedEvent(name))?.data).toEqual({ source: name, reason: expect.stringContaining(reason), movedTo: path.join(dirs.spoolDir, 'failed', name) });
  expect(lines.filter((l) => l.msg === 'Failed to import recording')).toEqual([expect.objectContaining({ level: 40, reason: expect.stringContaining(reason) })]);
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  expect(await leftovers(dirs.workDir)).toEqual([]);
  for (const base of [dirs.publishDir, dirs.unpublishDir]) {
    for (const format of existsSync(base) ? await fs.readdir(base) : []) expect(await fs.readdir(path.join(base, format))).not.toContain(recordId);
  }
  expect(await store.recording(recordId)).toBeNull();
}

describe('RecordingImporter with a crafted tarball', () => {
  test('given a published recording and a tarball whose link reaches into it, when imported, then it is parked with its reason and the other recording is untouched', async () => {
    const victim = await unpacked('victim-room', path.join(root, 'victim'));
    spool(path.join(root, 'victim'), victim);
    const first = await importer().scan();
    expect(first).toEqual([expect.objectContaining({ kind: 'imported', recordId: victim, published: true })]);
    const victimVideo = path.join(dirs.publishDir, 'video', victim, 'video-0.m4v');
    expect(existsSync(victimVideo)).toBe(true);
    lines = [];

    const attacker = await unpacked('attacker-room', path.join(root, 'attacker'));
    await fs.symlink(`../${victim}/video-0.m4v`, path.join(root, 'attacker', 'video', attacker, 'stolen.m4v'));
    spool(path.join(root, 'attacker'), attacker);
    const [result] = await importer().scan();

    await expectParked(result, attacker, `symlink video/${attacker}/stolen.m4v points outside its recording (../${victim}/video-0.m4v)`);
    expect(existsSync(victimVideo)).toBe(true);
    expect((await store.recording(victim))?.published).toBe(true);
  });

  test('given a gzip bomb named .tar, when imported under a 1 MiB limit, then it is parked as compressed', async () => {
    const id = await unpacked('bomb-room', path.join(root, 'bomb'));
    await fs.writeFile(path.join(root, 'bomb', 'video', id, 'padding.m4v'), Buffer.alloc(5 * MiB));
    const plain = spool(path.join(root, 'bomb'), id);
    await fs.writeFile(plain, gzipSync(await fs.readFile(plain)));

    const [result] = await importer({ tarballLimits: { maxBytes: MiB, maxEntries: 1000 } }).scan();

    await expectParked(result, id, 'compressed archives are not accepted: send a plain tar (this one is gzip)');
  });

  test('given a plain tarball over the limit the importer was given, then it is parked with its size', async () => {
    const id = await unpacked('big-room', path.join(root, 'big'));
    await fs.writeFile(path.join(root, 'big', 'video', id, 'padding.m4v'), Buffer.alloc(2 * MiB));
    spool(path.join(root, 'big'), id);

    const [result] = await importer({ tarballLimits: { maxBytes: MiB, maxEntries: 1000 } }).scan();

    await expectParked(result, id, 'the archive would extract to 2.0 MiB, more than the 1.0 MiB limit');
  });
});
