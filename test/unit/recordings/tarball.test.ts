import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { extractTarball, TarballError } from '../../../src/recordings/files';
import { DEFAULT_TARBALL_LIMITS, TarballLimits } from '../../../src/recordings/tar-scan';
import { inspectExtracted, listTarball, openTarball, untar } from '../../../src/recordings/tarball';

/*
 * A recording tarball comes from whoever can write to the spool dir: it must
 * never serve another recording's files (a link or hard link into it) and
 * never fill the disk (a compressed bomb, a huge or crowded archive). These
 * run the real tar binary on real files.
 */

const ID = '6e35e3b2778883f5db637d7a5dba0a427f692e91-1616161616161';
const OTHER = '0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1000000000000';
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const small = (over: Partial<TarballLimits>): TarballLimits => ({ ...DEFAULT_TARBALL_LIMITS, ...over });

let root: string;
let src: string;
let workDir: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'recording-tarball-'));
  src = path.join(root, 'src');
  workDir = path.join(root, 'work');
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** Writes files (relative path → content) under dir. */
async function write(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), content);
  }
}

async function symlink(target: string, rel: string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(src, rel)), { recursive: true });
  await fs.symlink(target, path.join(src, rel));
}

/** A tarball of src's top-level entries, made with the system tar as BBB's post-publish hook does. */
function tarOf(extra: string[] = [], name = `${ID}.tar`): string {
  const tarPath = path.join(root, name);
  const entries = execFileSync('ls', ['-A', src], { encoding: 'utf8' }).split('\n').filter(Boolean);
  // Sorted by name, so which of two hard-linked names tar stores as the file is known.
  execFileSync('tar', ['--create', '--sort=name', '--file', tarPath, ...extra, '--directory', src, ...entries]);
  return tarPath;
}

const recording = (files: Record<string, string | Buffer> = {}) => write(src, { [`presentation/${ID}/metadata.xml`]: '<recording/>', ...files });
const read = (p: string) => fs.readFile(p, 'utf8');
const workLeftovers = async () => (existsSync(workDir) ? (await fs.readdir(workDir)).filter((n) => n.startsWith('import-')) : []);

describe('links: only inside their own recording', () => {
  it.each([
    ['into another recording', `video/${ID}/stolen.mp4`, `../${OTHER}/webcams.mp4`],
    ['into the same recording of another format', `presentation/${ID}/stolen.mp4`, `../../video/${ID}/webcams.mp4`],
    ['up to the format dir', `presentation/${ID}/up`, '../'],
    ['up two levels', `presentation/${ID}/up`, '../../'],
    ['out from a subdir', `presentation/${ID}/slides/escape`, '../../x'],
    ['to an absolute path (a published recording)', `presentation/${ID}/stolen.mp4`, `/var/bigbluebutton/published/video/${OTHER}/webcams.mp4`],
  ])('given a symlink %s, when extracted, then the tarball is refused naming it, before anything is written', async (_case, at, target) => {
    await recording({ [`video/${OTHER}/webcams.mp4`]: 'theirs', [`video/${ID}/webcams.mp4`]: 'ours' });
    await symlink(target, at);

    const failure = extractTarball(tarOf(), workDir);

    await expect(failure).rejects.toBeInstanceOf(TarballError);
    await expect(failure).rejects.toThrow(`symlink ${at} points outside its recording (${target})`);
    expect(existsSync(workDir)).toBe(false);
  });

  it('given a link that stays inside lexically but climbs out through another link, then it is refused', async () => {
    // here -> . makes here/.. the format dir: presentation/<OTHER> once published.
    await recording();
    await symlink('.', `presentation/${ID}/here`);
    await symlink(`here/../${OTHER}/webcams.mp4`, `presentation/${ID}/stolen.mp4`);

    await expect(extractTarball(tarOf(), workDir)).rejects.toThrow(`symlink presentation/${ID}/stolen.mp4 points outside its recording`);
    expect(existsSync(workDir)).toBe(false);
  });

  it('given a symlink outside any <format>/<record_id>/ dir, then it is refused', async () => {
    await recording();
    await symlink(`../published/presentation`, 'presentation-old');

    await expect(extractTarball(tarOf(), workDir)).rejects.toThrow('symlink presentation-old is not inside a <format>/<record_id>/ dir');
  });

  it('given links that stay inside their recording (to a file, up and back down, to a dir), then they are kept and work', async () => {
    await recording({ [`presentation/${ID}/slides/slide-1.png`]: 'png', [`presentation/${ID}/shapes.svg`]: 'svg' });
    await symlink('slides/slide-1.png', `presentation/${ID}/first.png`);
    await symlink('../shapes.svg', `presentation/${ID}/slides/shapes.svg`);
    await symlink('slides', `presentation/${ID}/all`);

    const out = await extractTarball(tarOf(), workDir);

    const dir = path.join(out, 'presentation', ID);
    expect(await read(path.join(dir, 'first.png'))).toBe('png');
    expect(await read(path.join(dir, 'slides', 'shapes.svg'))).toBe('svg');
    expect(await read(path.join(dir, 'all', 'slide-1.png'))).toBe('png');
  });

  it.each([
    ['another recording', `presentation/${OTHER}/secret.mp4`, `presentation/${ID}/stolen.mp4`],
    ['another format of the same recording', `presentation/${ID}/webcams.mp4`, `video/${ID}/webcams.mp4`],
  ])('given a hard link to a file of %s, then the tarball is refused naming it', async (_case, original, link) => {
    await recording({ [original]: 'theirs' });
    await fs.mkdir(path.dirname(path.join(src, link)), { recursive: true });
    await fs.link(path.join(src, original), path.join(src, link));

    await expect(extractTarball(tarOf(), workDir)).rejects.toThrow(`hard link ${link} points outside its recording (${original})`);
    expect(existsSync(workDir)).toBe(false);
  });

  it('given a hard link inside its recording, then both names are extracted as one file', async () => {
    await recording({ [`presentation/${ID}/a.png`]: 'png' });
    await fs.link(path.join(src, 'presentation', ID, 'a.png'), path.join(src, 'presentation', ID, 'b.png'));

    const out = await extractTarball(tarOf(), workDir);

    const [a, b] = ['a.png', 'b.png'].map((n) => statSync(path.join(out, 'presentation', ID, n)));
    expect(b.ino).toBe(a.ino);
    expect(await read(path.join(out, 'presentation', ID, 'b.png'))).toBe('png');
  });
});

describe('compressed archives: refused, never decompressed', () => {
  it('given a gzip bomb named .tar (5 MiB of zeros, 1 MiB limit), then it is refused as compressed and nothing is extracted', async () => {
    await recording({ [`video/${ID}/webcams.mp4`]: Buffer.alloc(5 * MiB) });
    const bomb = path.join(root, 'bomb.tar');
    await fs.writeFile(bomb, gzipSync(await fs.readFile(tarOf())));
    expect(statSync(bomb).size).toBeLessThan(MiB / 10);

    const failure = extractTarball(bomb, workDir, small({ maxBytes: MiB }));

    await expect(failure).rejects.toThrow('compressed archives are not accepted: send a plain tar (this one is gzip)');
    expect(existsSync(workDir)).toBe(false);
  });

  const tools = ['bzip2', 'xz', 'zstd'].filter((tool) => {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  (tools.length > 0 ? it.each(tools) : it.skip.each(['bzip2']))('given a %s-compressed tarball, then it is refused as compressed', async (tool) => {
    await recording();
    const compressed = path.join(root, `${tool}.tar`);
    await fs.writeFile(compressed, execFileSync(tool, ['-c', tarOf()]));

    await expect(extractTarball(compressed, workDir)).rejects.toThrow(`compressed archives are not accepted: send a plain tar (this one is ${tool})`);
  });
});

describe('size and entry limits: checked on the listing, before extraction', () => {
  it('given a plain tar over the size limit, then it is refused with its size before the work dir is touched', async () => {
    await recording({ [`video/${ID}/webcams.mp4`]: Buffer.alloc(5 * MiB) });

    await expect(extractTarball(tarOf(), workDir, small({ maxBytes: MiB }))).rejects.toThrow('the archive would extract to 5.0 MiB, more than the 1.0 MiB limit');
    expect(existsSync(workDir)).toBe(false);
  });

  it('given a header claiming 21 GiB (GNU base-256 size) under the default limits, then the listing refuses it without reading the data', async () => {
    // The data is a hole in a sparse file: a scan that read it, or a tar that extracted it, would take minutes.
    const huge = path.join(root, 'huge.tar');
    await fs.writeFile(huge, header(`video/${ID}/webcams.mp4`, 21 * GiB));
    await fs.truncate(huge, 512 + 21 * GiB + 1024);

    await expect(extractTarball(huge, workDir)).rejects.toThrow('the archive would extract to 21.0 GiB, more than the 20.0 GiB limit');
    expect(existsSync(workDir)).toBe(false);
  });

  it('given more entries than the limit, then it is refused before the work dir is touched', async () => {
    await recording(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`presentation/${ID}/slides/slide-${i}.png`, 'png'])));

    await expect(extractTarball(tarOf(), workDir, small({ maxEntries: 10 }))).rejects.toThrow('the archive holds more than 10 entries (the limit)');
    expect(existsSync(workDir)).toBe(false);
  });

  it('given a tarball exactly at the limits, then it is extracted', async () => {
    await recording({ [`video/${ID}/webcams.mp4`]: Buffer.alloc(MiB - '<recording/>'.length) });
    // presentation/, presentation/ID/, metadata.xml, video/, video/ID/, webcams.mp4
    const out = await extractTarball(tarOf(), workDir, { maxBytes: MiB, maxEntries: 6 });

    expect(statSync(path.join(out, 'video', ID, 'webcams.mp4')).size).toBe(MiB - '<recording/>'.length);
  });
});

describe('what the scanner reads is what tar extracts', () => {
  const deep = `presentation/${ID}/presentation/${'d'.repeat(40)}-1616161616161/svgs/slide-1.svg`;

  it.each(['gnu', 'posix', 'ustar'])('given a recording with a long name, a link and a hard link in %s format, then the tree comes out whole', async (format) => {
    await recording({ [deep]: 'svg', [`video/${ID}/webcams.mp4`]: Buffer.alloc(3000, 1) });
    await symlink(`presentation/${'d'.repeat(40)}-1616161616161/svgs/slide-1.svg`, `presentation/${ID}/first.svg`);
    await fs.link(path.join(src, 'video', ID, 'webcams.mp4'), path.join(src, 'video', ID, 'copy.mp4'));

    const out = await extractTarball(tarOf([`--format=${format}`]), workDir);

    expect(deep.length).toBeGreaterThan(100);
    expect(await read(path.join(out, deep))).toBe('svg');
    expect(await read(path.join(out, 'presentation', ID, 'first.svg'))).toBe('svg');
    expect(statSync(path.join(out, 'video', ID, 'copy.mp4')).size).toBe(3000);
  });

  it('given a tarball cut short inside a member, then it is refused as incomplete', async () => {
    await recording({ [`video/${ID}/webcams.mp4`]: Buffer.alloc(100_000, 1) });
    const tarPath = tarOf();
    await fs.truncate(tarPath, 50_000);

    await expect(extractTarball(tarPath, workDir)).rejects.toThrow(/not a complete tar archive: it ends inside a member/);
    expect(await workLeftovers()).toEqual([]);
  });

  it('given a sparse member, then it is refused (its holes would extract to more than it holds)', async () => {
    await recording();
    await fs.mkdir(path.join(src, 'video', ID), { recursive: true });
    const sparse = path.join(src, 'video', ID, 'webcams.mp4');
    await fs.writeFile(sparse, 'x');
    await fs.truncate(sparse, 8 * MiB);

    await expect(extractTarball(tarOf(['--sparse']), workDir)).rejects.toThrow(/sparse file/);
  });

  it('given the file changed between listing and extraction, then extraction stops and says so', async () => {
    await recording({ [`presentation/${ID}/a.png`]: 'png' });
    const tarPath = tarOf();
    const handle = await openTarball(tarPath);
    try {
      const listing = await listTarball(handle, DEFAULT_TARBALL_LIMITS);
      await fs.rm(src, { recursive: true });
      await recording({ [`presentation/${ID}/b.png`]: 'png' });
      await fs.writeFile(tarPath, await fs.readFile(tarOf([], 'other.tar'))); // same inode, new content
      const dir = await fs.mkdtemp(path.join(root, 'out-'));

      await expect(untar(handle, listing, dir, DEFAULT_TARBALL_LIMITS)).rejects.toThrow('the tarball changed while it was being extracted');
      expect(existsSync(path.join(dir, 'presentation', ID, 'b.png'))).toBe(false);
    } finally {
      await handle.close();
    }
  });

  it('given limits lower than those it was listed under, then the stream to tar stops at the member that crosses them', async () => {
    await recording({ [`video/${ID}/webcams.mp4`]: Buffer.alloc(3 * MiB, 1) });
    const handle = await openTarball(tarOf());
    try {
      const listing = await listTarball(handle, DEFAULT_TARBALL_LIMITS);
      const dir = await fs.mkdtemp(path.join(root, 'out-'));

      await expect(untar(handle, listing, dir, small({ maxBytes: MiB }))).rejects.toThrow('the archive would extract to at least 3.0 MiB, more than the 1.0 MiB limit');
      // A chunk reaches tar only once every header in it has passed: tar never saw this member.
      expect(existsSync(path.join(dir, 'video', ID, 'webcams.mp4'))).toBe(false);
    } finally {
      await handle.close();
    }
  });
});

describe('inspectExtracted: the tree on disk, in case tar read the archive differently', () => {
  let dir: string;
  beforeEach(async () => {
    dir = path.join(root, 'extracted');
    await write(dir, { [`presentation/${ID}/metadata.xml`]: 'x', [`presentation/${OTHER}/secret.mp4`]: 'theirs', 'outside.txt': 'not in the archive' });
  });

  it('given a plain recording, then it passes', async () => {
    await fs.symlink('metadata.xml', path.join(dir, 'presentation', ID, 'link.xml'));
    await expect(inspectExtracted(dir, DEFAULT_TARBALL_LIMITS)).resolves.toBeUndefined();
  });

  it('given a symlink chain that climbs out, then it is refused', async () => {
    await fs.symlink('.', path.join(dir, 'presentation', ID, 'here'));
    await fs.symlink(`here/../${OTHER}/secret.mp4`, path.join(dir, 'presentation', ID, 'stolen.mp4'));

    await expect(inspectExtracted(dir, DEFAULT_TARBALL_LIMITS)).rejects.toThrow(`symlink presentation/${ID}/stolen.mp4 points outside its recording`);
  });

  it('given a file hard-linked across recordings, then it is refused', async () => {
    await fs.link(path.join(dir, 'presentation', OTHER, 'secret.mp4'), path.join(dir, 'presentation', ID, 'stolen.mp4'));

    await expect(inspectExtracted(dir, DEFAULT_TARBALL_LIMITS)).rejects.toThrow(/hard-linked across recordings/);
  });

  it('given a file hard-linked to one outside the extracted dir, then it is refused', async () => {
    await fs.writeFile(path.join(root, 'published.mp4'), 'a file the archive never held');
    await fs.link(path.join(root, 'published.mp4'), path.join(dir, 'presentation', ID, 'stolen.mp4'));

    await expect(inspectExtracted(dir, DEFAULT_TARBALL_LIMITS)).rejects.toThrow(`presentation/${ID}/stolen.mp4 is hard-linked to a file outside the archive`);
  });

  it('given more bytes or entries than the limits, then it is refused', async () => {
    // 1 + 6 + 18 bytes in three files
    await expect(inspectExtracted(dir, small({ maxBytes: 10 }))).rejects.toThrow('the archive extracted to 25 bytes, more than the 10 bytes limit');
    await expect(inspectExtracted(dir, small({ maxEntries: 3 }))).rejects.toThrow('the archive extracted to more than 3 entries (the limit)');
  });
});

/** One ustar header block, as a crafted tarball carries it; sizes octal cannot hold use GNU's base-256. */
function header(name: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'utf8');
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  if (size < 8 ** 11) b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  else {
    b[124] = 0x80;
    let n = BigInt(size);
    for (let i = 135; i > 124; i--, n >>= 8n) b[i] = Number(n & 0xffn);
  }
  b.write('00000000000\0', 136);
  b.write('0', 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(' ', 148, 156);
  const sum = b.reduce((s, x) => s + x, 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}
