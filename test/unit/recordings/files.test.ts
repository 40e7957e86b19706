import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  cleanStaleWork,
  deleteRecordingFiles,
  extractTarball,
  findFormatDirs,
  isSafeName,
  listSpool,
  moveRecordingFiles,
  moveToFailed,
  placeFormat,
  RecordingFilesError,
  resolveResource,
  TarballError,
  type RecordingDirs,
} from '../../../src/recordings/files';

const ID = '6e35e3b2778883f5db637d7a5dba0a427f692e91-1616161616161';
const OTHER = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1000000000000';

let root: string;
let dirs: RecordingDirs;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recording-files-'));
  dirs = {
    spoolDir: path.join(root, 'spool'),
    workDir: path.join(root, 'work'),
    publishDir: path.join(root, 'published'),
    unpublishDir: path.join(root, 'unpublished'),
  };
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** Writes files (relative path → content) under dir. */
async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), content);
  }
}

/** A tarball of `src`'s top-level entries, built with the system tar like BBB's hook does. */
function tarOf(src: string, name = `${ID}.tar`, extra: string[] = []): string {
  const tarPath = path.join(root, name);
  const entries = execFileSync('ls', ['-A', src], { encoding: 'utf8' }).split('\n').filter(Boolean);
  execFileSync('tar', ['--create', '--file', tarPath, ...extra, '--directory', src, ...entries]);
  return tarPath;
}

const read = (p: string) => fs.readFile(p, 'utf8');
const workLeftovers = async () => (existsSync(dirs.workDir) ? (await fs.readdir(dirs.workDir)).filter((n) => n.startsWith('import-')) : []);

describe('extractTarball', () => {
  it('given a BBB tarball, when extracted, then its trees land in a fresh import-* dir under the work dir', async () => {
    const src = path.join(root, 'src');
    await write(src, { [`presentation/${ID}/metadata.xml`]: '<recording/>', [`video/${ID}/video-0.m4v`]: 'mp4' });

    const out = await extractTarball(tarOf(src), dirs.workDir);

    expect(path.dirname(out)).toBe(path.resolve(dirs.workDir));
    expect(path.basename(out)).toMatch(/^import-/);
    expect(await read(path.join(out, 'presentation', ID, 'metadata.xml'))).toBe('<recording/>');
    expect(await read(path.join(out, 'video', ID, 'video-0.m4v'))).toBe('mp4');
  });

  it('given a file that is not a tarball, then TarballError says so and no temp dir is left', async () => {
    const bogus = path.join(root, 'bogus.tar');
    await fs.writeFile(bogus, 'this is not a tar archive, just text that goes on for a while '.repeat(20));

    const failure = extractTarball(bogus, dirs.workDir);

    await expect(failure).rejects.toBeInstanceOf(TarballError);
    await expect(failure).rejects.toThrow('not a tar archive: bad header checksum at byte 0');
    expect(await workLeftovers()).toEqual([]);
  });

  it('given a tarball that does not exist, then TarballError', async () => {
    await expect(extractTarball(path.join(root, 'missing.tar'), dirs.workDir)).rejects.toBeInstanceOf(TarballError);
    expect(await workLeftovers()).toEqual([]);
  });

  it('given a member named ../x, then the extraction fails and nothing is written outside', async () => {
    const src = path.join(root, 'src');
    await write(src, { [`presentation/${ID}/metadata.xml`]: 'x', 'escape.txt': 'outside' });
    const tarPath = path.join(root, 'dotdot.tar');
    // -P keeps the ../ that tar would otherwise strip when creating.
    execFileSync('tar', ['-cPf', tarPath, `../src/escape.txt`, 'presentation'], { cwd: src });

    await expect(extractTarball(tarPath, dirs.workDir)).rejects.toThrow(/contains '\.\.'/);
    expect(existsSync(path.join(dirs.workDir, 'src', 'escape.txt'))).toBe(false);
    expect(await workLeftovers()).toEqual([]);
  });

  it.each([
    ['an absolute target', '/etc/passwd'],
    ['a relative target climbing out', '../../../../../etc/passwd'],
  ])('given a symlink with %s, then it is refused and the temp dir removed', async (_case, target) => {
    const src = path.join(root, 'src');
    await write(src, { [`presentation/${ID}/metadata.xml`]: 'x' });
    await fs.symlink(target, path.join(src, 'presentation', ID, 'evil'));

    await expect(extractTarball(tarOf(src), dirs.workDir)).rejects.toThrow(/symlink presentation\/.*\/evil points outside/);
    expect(await workLeftovers()).toEqual([]);
  });

  it('given a symlink to a file inside the recording, then it is kept', async () => {
    const src = path.join(root, 'src');
    await write(src, { [`presentation/${ID}/slides/slide-1.png`]: 'png' });
    await fs.symlink('slides/slide-1.png', path.join(src, 'presentation', ID, 'first.png'));

    const out = await extractTarball(tarOf(src), dirs.workDir);

    expect(await read(path.join(out, 'presentation', ID, 'first.png'))).toBe('png');
  });

  it('given a FIFO in the tarball, then it is refused', async () => {
    const src = path.join(root, 'src');
    await write(src, { [`presentation/${ID}/metadata.xml`]: 'x' });
    execFileSync('mkfifo', [path.join(src, 'presentation', ID, 'pipe')]);

    await expect(extractTarball(tarOf(src), dirs.workDir)).rejects.toThrow(/pipe is not a regular file/);
    expect(await workLeftovers()).toEqual([]);
  });
});

describe('findFormatDirs', () => {
  it('given an extracted tarball, then every <format>/<record_id>/metadata.xml is found, sorted by format, and nothing else', async () => {
    const out = path.join(root, 'extracted');
    await write(out, {
      [`video/${ID}/metadata.xml`]: 'video-xml',
      [`presentation/${ID}/metadata.xml`]: 'presentation-xml',
      [`podcast/${ID}/audio.ogg`]: 'no metadata here',
      [`notes/${ID}/deeper/metadata.xml`]: 'too deep',
      'metadata.xml': 'too shallow',
      [`bad name/${ID}/metadata.xml`]: 'unsafe format dir',
    });

    const found = await findFormatDirs(out);

    expect(found).toEqual([
      { format: 'presentation', recordId: ID, dir: path.join(out, 'presentation', ID), metadataXml: 'presentation-xml' },
      { format: 'video', recordId: ID, dir: path.join(out, 'video', ID), metadataXml: 'video-xml' },
    ]);
  });
});

describe('placeFormat', () => {
  it('given copies in both the publish and unpublish dirs, when placed published, then only the new copy remains, in the publish dir', async () => {
    await write(dirs.publishDir, { [`presentation/${ID}/old.txt`]: 'old published' });
    await write(dirs.unpublishDir, { [`presentation/${ID}/old.txt`]: 'old unpublished' });
    const from = path.join(root, 'extracted', 'presentation', ID);
    await write(from, { 'metadata.xml': 'new' });

    await placeFormat(dirs, 'presentation', ID, from, true);

    expect(await fs.readdir(path.join(dirs.publishDir, 'presentation', ID))).toEqual(['metadata.xml']);
    expect(existsSync(path.join(dirs.unpublishDir, 'presentation', ID))).toBe(false);
    expect(existsSync(from)).toBe(false);
  });

  it('given an unpublished import, then it lands in the unpublish dir with group-writable dirs', async () => {
    const from = path.join(root, 'extracted', 'video', ID);
    await write(from, { 'video-0.m4v': 'mp4' });

    await placeFormat(dirs, 'video', ID, from, false);

    expect(await read(path.join(dirs.unpublishDir, 'video', ID, 'video-0.m4v'))).toBe('mp4');
    expect(statSync(path.join(dirs.unpublishDir, 'video')).mode & 0o777).toBe(0o775);
    expect(statSync(dirs.unpublishDir).mode & 0o777).toBe(0o775);
    expect(existsSync(path.join(dirs.publishDir, 'video', ID))).toBe(false);
  });

  const otherFs = '/dev/shm';
  const crossDevice = existsSync(otherFs) && statSync(otherFs).dev !== statSync(os.tmpdir()).dev;
  (crossDevice ? it : it.skip)('given a work dir on another filesystem, then the files are copied over and the source removed', async () => {
    const far = await fs.mkdtemp(path.join(otherFs, 'recording-files-'));
    try {
      const from = path.join(far, 'presentation', ID);
      await write(from, { 'metadata.xml': 'across', 'nested/a.png': 'png' });
      await fs.symlink('nested/a.png', path.join(from, 'link.png'));

      await placeFormat(dirs, 'presentation', ID, from, true);

      const placed = path.join(dirs.publishDir, 'presentation', ID);
      expect(await read(path.join(placed, 'metadata.xml'))).toBe('across');
      expect(await fs.readlink(path.join(placed, 'link.png'))).toBe('nested/a.png');
      expect(existsSync(from)).toBe(false);
      expect((await fs.readdir(path.join(dirs.publishDir, 'presentation'))).filter((n) => n.startsWith('.'))).toEqual([]);
    } finally {
      await fs.rm(far, { recursive: true, force: true });
    }
  });

  it.each([
    ['..', ID],
    ['presentation', '..'],
    ['presentation', '../../etc'],
    ['a/b', ID],
    ['', ID],
  ])('given format %j and record id %j, then it refuses before touching anything', async (format, recordId) => {
    await expect(placeFormat(dirs, format, recordId, path.join(root, 'x'), true)).rejects.toBeInstanceOf(RecordingFilesError);
    expect(existsSync(dirs.publishDir)).toBe(false);
  });
});

describe('moveRecordingFiles (publishRecordings on disk)', () => {
  const pub = (f: string, id = ID) => path.join(dirs.publishDir, f, id);
  const unpub = (f: string, id = ID) => path.join(dirs.unpublishDir, f, id);

  it('given a format only in the current dir, when unpublished, then it moves to the unpublish dir', async () => {
    await write(pub('presentation'), { 'metadata.xml': 'p' });

    await moveRecordingFiles(dirs, ID, ['presentation'], false);

    expect(existsSync(pub('presentation'))).toBe(false);
    expect(await read(path.join(unpub('presentation'), 'metadata.xml'))).toBe('p');
  });

  it('given a format in both dirs, when published, then the current (unpublished) copy is deleted and the published one kept', async () => {
    await write(pub('video'), { 'metadata.xml': 'published copy' });
    await write(unpub('video'), { 'metadata.xml': 'unpublished copy' });

    await moveRecordingFiles(dirs, ID, ['video'], true);

    expect(await read(path.join(pub('video'), 'metadata.xml'))).toBe('published copy');
    expect(existsSync(unpub('video'))).toBe(false);
  });

  it('given a format already only in the target dir, then it is left alone', async () => {
    await write(pub('presentation'), { 'metadata.xml': 'p' });

    await moveRecordingFiles(dirs, ID, ['presentation'], true);

    expect(await read(path.join(pub('presentation'), 'metadata.xml'))).toBe('p');
    expect(existsSync(unpub('presentation'))).toBe(false);
  });

  it('given one format in neither dir, then RecordingFilesError and no format has moved', async () => {
    await write(pub('presentation'), { 'metadata.xml': 'p' });

    await expect(moveRecordingFiles(dirs, ID, ['presentation', 'video'], false)).rejects.toThrow(RecordingFilesError);
    expect(existsSync(pub('presentation'))).toBe(true);
    expect(existsSync(unpub('presentation'))).toBe(false);
  });

  it('given an unsafe record id, then it refuses', async () => {
    await expect(moveRecordingFiles(dirs, '../x', ['presentation'], true)).rejects.toBeInstanceOf(RecordingFilesError);
  });
});

describe('deleteRecordingFiles', () => {
  it('given copies in the publish and unpublish dirs, then every one of this recording goes and other recordings stay', async () => {
    await write(dirs.publishDir, { [`presentation/${ID}/a`]: '1', [`presentation/${OTHER}/a`]: 'keep' });
    await write(dirs.unpublishDir, { [`video/${ID}/a`]: '2', [`podcast/${ID}/a`]: '3' });

    await deleteRecordingFiles(dirs, ID);

    expect(existsSync(path.join(dirs.publishDir, 'presentation', ID))).toBe(false);
    expect(existsSync(path.join(dirs.unpublishDir, 'video', ID))).toBe(false);
    expect(existsSync(path.join(dirs.unpublishDir, 'podcast', ID))).toBe(false);
    expect(await read(path.join(dirs.publishDir, 'presentation', OTHER, 'a'))).toBe('keep');
  });

  it('given formats, then only those are swept', async () => {
    await write(dirs.publishDir, { [`presentation/${ID}/a`]: '1', [`video/${ID}/a`]: '2' });

    await deleteRecordingFiles(dirs, ID, ['video']);

    expect(existsSync(path.join(dirs.publishDir, 'presentation', ID))).toBe(true);
    expect(existsSync(path.join(dirs.publishDir, 'video', ID))).toBe(false);
  });

  it('given no dirs at all, then it is a no-op; given an unsafe id, then it refuses', async () => {
    await expect(deleteRecordingFiles(dirs, ID)).resolves.toBeUndefined();
    await expect(deleteRecordingFiles(dirs, '..')).rejects.toBeInstanceOf(RecordingFilesError);
    await expect(deleteRecordingFiles(dirs, ID, ['../published'])).rejects.toBeInstanceOf(RecordingFilesError);
  });
});

describe('moveToFailed', () => {
  it('given a bad tarball, then it moves to failed/ with the reason beside it, and a second one with the same name does not overwrite it', async () => {
    await write(dirs.spoolDir, { [`${ID}.tar`]: 'first' });
    const first = await moveToFailed(dirs.spoolDir, path.join(dirs.spoolDir, `${ID}.tar`), 'tar: unexpected EOF');
    await write(dirs.spoolDir, { [`${ID}.tar`]: 'second' });
    const second = await moveToFailed(dirs.spoolDir, path.join(dirs.spoolDir, `${ID}.tar`), 'again');

    expect(first).toBe(path.join(dirs.spoolDir, 'failed', `${ID}.tar`));
    expect(second).toBe(path.join(dirs.spoolDir, 'failed', `${ID}.1.tar`));
    expect(await read(first)).toBe('first');
    expect(await read(`${first}.reason.txt`)).toBe('tar: unexpected EOF\n');
    expect(await read(second)).toBe('second');
    expect(existsSync(path.join(dirs.spoolDir, `${ID}.tar`))).toBe(false);
  });
});

describe('listSpool', () => {
  it('given a missing spool dir, then it is created and empty', async () => {
    expect(await listSpool(dirs.spoolDir)).toEqual([]);
    expect(statSync(dirs.spoolDir).isDirectory()).toBe(true);
  });

  it('given tarballs and other things, then only top-level *.tar files are listed, oldest first', async () => {
    await write(dirs.spoolDir, {
      'new.tar': '',
      'old.tar': '',
      [`.${ID}.tar.partial`]: '',
      '.hidden.tar': '',
      'notes.txt': '',
      'failed/parked.tar': '',
    });
    await fs.mkdir(path.join(dirs.spoolDir, 'dir.tar'));
    await fs.utimes(path.join(dirs.spoolDir, 'old.tar'), new Date(1_000_000), new Date(1_000_000));

    expect(await listSpool(dirs.spoolDir)).toEqual([path.join(dirs.spoolDir, 'old.tar'), path.join(dirs.spoolDir, 'new.tar')]);
  });
});

describe('cleanStaleWork', () => {
  it('given leftovers of a crashed import, then import-* dirs go and everything else stays', async () => {
    await write(dirs.workDir, { 'import-abc123/presentation/x': '1', 'import-def456/y': '2', 'keep/z': '3', 'import-file': 'a file' });

    const removed = await cleanStaleWork(dirs.workDir);

    expect(removed.sort()).toEqual([path.join(dirs.workDir, 'import-abc123'), path.join(dirs.workDir, 'import-def456')]);
    expect((await fs.readdir(dirs.workDir)).sort()).toEqual(['import-file', 'keep']);
    expect(await cleanStaleWork(path.join(root, 'nowhere'))).toEqual([]);
  });
});

describe('resolveResource', () => {
  const base = '/var/bigbluebutton/published';

  it.each([
    ['presentation', ID, 'shapes.svg', `${base}/presentation/${ID}/shapes.svg`],
    ['presentation', ID, 'presentation/d2d9-1/thumbnails/thumb-1.png', `${base}/presentation/${ID}/presentation/d2d9-1/thumbnails/thumb-1.png`],
    ['video', ID, '', `${base}/video/${ID}`],
    ['video', ID, 'sub/', `${base}/video/${ID}/sub`],
    ['video', ID, '..hidden..', `${base}/video/${ID}/..hidden..`],
  ])('given %s/%s/%j, then the file under the recording dir', (format, recordId, rest, expected) => {
    expect(resolveResource(base, format, recordId, rest)).toBe(expected);
  });

  it.each([
    ['..', ID, 'x'],
    ['.', ID, 'x'],
    ['presentation', '..', 'x'],
    ['presentation', '', 'x'],
    ['pres/entation', ID, 'x'],
    ['presentation', ID, '../other/x'],
    ['presentation', ID, 'a/../../x'],
    ['presentation', ID, './x'],
    ['presentation', ID, '/etc/passwd'],
    ['presentation', ID, 'a//b'],
    ['presentation', ID, 'a\\..\\..\\x'],
    ['presentation', ID, 'x\u0000.png'],
    ['presentation', ID, 'x\n.png'],
  ])('given %j/%j/%j, then null', (format, recordId, rest) => {
    expect(resolveResource(base, format, recordId, rest)).toBeNull();
  });

  it('given a relative base dir, then the path is still absolute', () => {
    expect(path.isAbsolute(resolveResource('published', 'video', ID, 'a')!)).toBe(true);
  });
});

describe('isSafeName', () => {
  it('accepts BBB record ids and format names, rejects path tricks', () => {
    expect([ID, 'presentation', 'presentation_video', 'a.b'].every(isSafeName)).toBe(true);
    expect(['', '.', '..', 'a/b', 'a b', 'é', 'x'.repeat(256)].some(isSafeName)).toBe(false);
  });
});
