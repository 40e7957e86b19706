/*
 * Reading a recording tarball's headers without extracting it, so that what a
 * BBB server (or anyone who can write to the spool) sends is judged before a
 * byte of it lands on disk: no compression, bounded size and entry count, only
 * files, dirs and links, and links that stay inside their own recording.
 *
 * A tar archive is a run of 512-byte header blocks, each followed by its
 * member's data padded to 512 bytes, ended by a zero block. Metadata headers
 * (POSIX pax 'x'/'g', GNU long names 'L'/'K') carry data that renames or
 * resizes the member after them. The scanner takes the bytes in any chunks, so
 * one reader can skip the data (listing a file) and another can watch the very
 * bytes it hands to tar (extracting). It refuses with a reason, a value: what
 * it cannot read with certainty it refuses rather than guesses.
 */

export interface TarballLimits {
  /** bytes the regular files of one tarball may add up to, once extracted */
  maxBytes: number;
  /** members (files, dirs, links) one tarball may hold */
  maxEntries: number;
}

/** A long recording's video formats reach a few GiB; a tarball ten times that is not a recording. */
export const DEFAULT_TARBALL_MAX_BYTES = 20 * 1024 ** 3;
/** Thousands of files are usual in a presentation recording (slides, thumbnails, shapes); a hundred thousand are not. */
export const DEFAULT_TARBALL_MAX_ENTRIES = 100_000;
export const DEFAULT_TARBALL_LIMITS: TarballLimits = { maxBytes: DEFAULT_TARBALL_MAX_BYTES, maxEntries: DEFAULT_TARBALL_MAX_ENTRIES };

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarEntry {
  /** normalised: no leading `./`, no empty or `.` components, no trailing slash ('' is the archive root) */
  path: string;
  type: TarEntryType;
  size: number;
  /** a symlink's target as stored; a hard link's target member, normalised */
  linkTarget: string | null;
}

const BLOCK = 512;
/** A pax header or GNU long name beyond this is not one of a recording's (they hold a name or two). */
const MAX_META_BYTES = 1024 * 1024;
/** Metadata headers in front of one member: pax plus long name plus long link name is three. */
const MAX_META_HEADERS = 4;

/** Magic numbers of the compressors GNU tar recognises: it would decompress them by itself. */
const COMPRESSED: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['compress', [0x1f, 0x9d]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lzip', [0x4c, 0x5a, 0x49, 0x50]],
  ['lzop', [0x89, 0x4c, 0x5a, 0x4f]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

/** The compressor whose magic number starts `head`, if any. */
export function compressionOf(head: Buffer): string | null {
  for (const [name, magic] of COMPRESSED) if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  return null;
}

export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
  return `${n} bytes`;
}

/** "2.1 GiB, more than the 1.0 GiB limit", exact when rounding would make the two look equal. */
export function overLimit(bytes: number, limit: number): string {
  const [a, b] = formatBytes(bytes) === formatBytes(limit) ? [`${bytes} bytes`, `${limit} bytes`] : [formatBytes(bytes), formatBytes(limit)];
  return `${a}, more than the ${b} limit`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const shown = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** Bytes up to the first NUL. */
function cstr(b: Buffer, start: number, length: number): Buffer {
  const field = b.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

/** A numeric header field: octal digits, or GNU's base-256 for values octal cannot hold. */
function numeric(b: Buffer, start: number, length: number): number | null {
  const field = b.subarray(start, start + length);
  if (field[0] === 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return Number.isSafeInteger(n) ? n : null;
  }
  if (field[0] & 0x80) return null; // negative base-256
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) && Number.isSafeInteger(parseInt(text, 8)) ? parseInt(text, 8) : null;
}

function checksumOk(b: Buffer): boolean {
  const stored = numeric(b, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  // Some old tars summed signed bytes; GNU tar accepts either.
  return stored !== null && (stored === unsigned || stored === signed);
}

/** A member name as path components, or why it is refused. GNU tar itself refuses `..`. */
function components(name: string, what: string): string[] | string {
  if (name.startsWith('/')) return `${what} ${shown(name)} is an absolute path`;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return `${what} ${shown(name)} contains '..'`;
  return parts;
}

/** `<format>/<record_id>/` of a path inside a recording, or null for the archive's top two levels. */
const recordingOf = (parts: string[]): string | null => (parts.length >= 3 ? `${parts[0]}/${parts[1]}` : null);

interface Pending {
  path?: string;
  linkpath?: string;
  size?: number;
  headers: number;
}

type MetaKind = 'x' | 'g' | 'L' | 'K';

export interface ScanOptions {
  limits: TarballLimits;
  /**
   * Past the size limit, keep reading headers to say how large the archive is
   * (a listing); otherwise stop at once (extracting: tar is writing).
   */
  measure?: boolean;
  /** Told each member as it is read; a returned string refuses the archive. */
  onEntry?: (entry: TarEntry, index: number) => string | null;
}

/** An incremental reader of tar headers; see the comment at the top of the file. */
export class TarScanner {
  readonly entries: TarEntry[] = [];
  /** members read, those past the size limit included */
  count = 0;
  /** bytes of regular files read */
  dataBytes = 0;
  /** archive bytes consumed */
  position = 0;
  refusal: string | null = null;
  private state: 'header' | 'data' | 'meta' | 'trailer' | 'end' = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  /** data or metadata bytes left in the current member, padding included */
  private remaining = 0;
  private meta: { kind: MetaKind; size: number; data: Buffer; got: number } | null = null;
  private pending: Pending = { headers: 0 };
  private oversize = false;

  constructor(private readonly options: ScanOptions) {}

  /** Refused, or past the end of the archive: further bytes are not part of it. */
  get done(): boolean {
    return this.refusal !== null || this.state === 'end';
  }

  /** Member data a reader may skip rather than read. */
  skippable(): number {
    return this.state === 'data' && this.refusal === null ? this.remaining : 0;
  }

  skip(n: number): void {
    if (n > this.skippable()) throw new RangeError(`cannot skip ${n} bytes`);
    this.remaining -= n;
    this.position += n;
    if (this.remaining === 0) this.state = 'header';
  }

  /** How many bytes complete the current header, metadata or data. */
  wanted(): number {
    if (this.done) return 0;
    return this.state === 'header' || this.state === 'trailer' ? BLOCK - this.filled : this.remaining;
  }

  /** Takes archive bytes; returns how many were read (fewer once the archive ended or was refused). */
  push(chunk: Buffer): number {
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.state === 'header' || this.state === 'trailer') {
        const n = Math.min(BLOCK - this.filled, chunk.length - i);
        chunk.copy(this.block, this.filled, i, i + n);
        this.filled += n;
        i += n;
        this.position += n;
        // Before anything else, even in a file shorter than a block: tar would decompress these by itself (a 2 MB gzip of zeros is 2 GiB).
        const compressed = this.position === this.filled ? compressionOf(this.block.subarray(0, this.filled)) : null;
        if (compressed) {
          this.refuse(`compressed archives are not accepted: send a plain tar (this one is ${compressed})`);
          return i;
        }
        if (this.filled < BLOCK) continue;
        this.filled = 0;
        // GNU tar stops at a zero block, after a look at the one behind it.
        if (this.state === 'trailer') this.state = 'end';
        else this.header();
      } else {
        const n = Math.min(this.remaining, chunk.length - i);
        const meta = this.meta;
        if (meta && meta.got < meta.size) {
          const take = Math.min(n, meta.size - meta.got);
          chunk.copy(meta.data, meta.got, i, i + take);
          meta.got += take;
        }
        i += n;
        this.position += n;
        this.remaining -= n;
        if (this.remaining === 0) this.memberDone();
      }
    }
    return i;
  }

  /** The input ended: the reason to refuse the archive, or null. */
  finish(): string | null {
    if (this.refusal) return this.refusal;
    if (this.position === 0) return this.refuse('not a tar archive: the file is empty');
    // GNU tar accepts an archive that stops between members, without its zero blocks.
    if (this.state === 'data' || this.state === 'meta' || (this.state === 'header' && this.filled > 0)) {
      return this.refuse(`not a complete tar archive: it ends ${this.remaining > 0 ? 'inside a member' : 'inside a header'} at byte ${this.position}`);
    }
    if (this.pending.headers > 0) return this.refuse('not a complete tar archive: it ends after a metadata header');
    if (this.oversize) return this.refuse(`the archive would extract to ${overLimit(this.dataBytes, this.options.limits.maxBytes)}`);
    return null;
  }

  private refuse(reason: string): string {
    // Names come from the archive (a pax path may be 1 MiB): the reason goes to the log, an event and reason.txt.
    this.refusal ??= reason.length > 1000 ? `${reason.slice(0, 1000)}…` : reason;
    return this.refusal;
  }

  private memberDone(): void {
    this.state = 'header';
    if (!this.meta) return;
    const { kind, size, data } = this.meta;
    this.meta = null;
    this.metadata(kind, data.subarray(0, size));
  }

  private header(): void {
    const b = this.block;
    const at = this.position - BLOCK;
    if (b.every((byte) => byte === 0)) {
      this.state = 'trailer';
      return;
    }
    if (!checksumOk(b)) return void this.refuse(`not a tar archive: bad header checksum at byte ${at}`);
    const flag = b[156] === 0 ? '0' : String.fromCharCode(b[156]);
    const headerSize = numeric(b, 124, 12);
    if (headerSize === null) return void this.refuse(`not a tar archive: bad size field at byte ${at}`);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (headerSize > MAX_META_BYTES) return void this.refuse(`a metadata header of ${formatBytes(headerSize)} at byte ${at} is not a recording's`);
      if (++this.pending.headers > MAX_META_HEADERS) return void this.refuse(`more than ${MAX_META_HEADERS} metadata headers in a row at byte ${at}`);
      this.meta = { kind: flag, size: headerSize, data: Buffer.alloc(headerSize), got: 0 };
      this.remaining = Math.ceil(headerSize / BLOCK) * BLOCK;
      this.state = 'meta';
      if (this.remaining === 0) this.memberDone();
      return;
    }
    this.member(b, flag, headerSize);
  }

  private member(b: Buffer, flag: string, headerSize: number): void {
    const { limits, measure, onEntry } = this.options;
    const pending = this.pending;
    this.pending = { headers: 0 };
    let rawName: string;
    let rawLink: string;
    try {
      const ustar = b.toString('latin1', 257, 263) === 'ustar\0';
      const prefix = ustar ? utf8.decode(cstr(b, 345, 155)) : '';
      const name = utf8.decode(cstr(b, 0, 100));
      rawName = pending.path ?? (prefix ? `${prefix}/${name}` : name);
      rawLink = pending.linkpath ?? utf8.decode(cstr(b, 157, 100));
    } catch {
      return void this.refuse(`a member name at byte ${this.position - BLOCK} is not valid UTF-8`);
    }
    const size = pending.size ?? headerSize;
    let type: TarEntryType;
    if (flag === '0' || flag === '7')
      type = rawName.endsWith('/') ? 'dir' : 'file'; // a trailing slash makes a dir, as in old tars
    else if (flag === '5') type = 'dir';
    else if (flag === '2') type = 'symlink';
    else if (flag === '1') type = 'hardlink';
    else if (flag === '3' || flag === '4' || flag === '6') return void this.refuse(`${rawName} is not a regular file, directory or symlink`);
    else if (flag === 'S') return void this.refuse(`${rawName} is a sparse file: not accepted`);
    else return void this.refuse(`${rawName} has tar member type '${flag}', which a recording does not use`);
    const parts = components(rawName, 'member');
    if (typeof parts === 'string') return void this.refuse(parts);
    const path = parts.join('/');
    if (path === '' && type !== 'dir') return void this.refuse(`a member at byte ${this.position - BLOCK} has an empty name`);
    // Only a file's data is extracted: tar skips the rest, so a size elsewhere would be read differently by someone.
    if (type !== 'file' && size !== 0) return void this.refuse(`${type} ${path} claims ${size} bytes of data`);

    this.count += 1;
    if (this.count > limits.maxEntries) return void this.refuse(`the archive holds more than ${limits.maxEntries} entries (the limit)`);
    this.dataBytes += size;
    this.remaining = Math.ceil(size / BLOCK) * BLOCK;
    this.state = this.remaining > 0 ? 'data' : 'header';
    if (this.dataBytes > limits.maxBytes) {
      if (!measure) return void this.refuse(`the archive would extract to at least ${overLimit(this.dataBytes, limits.maxBytes)}`);
      this.oversize = true;
    }
    if (this.oversize) return; // only measuring now

    let linkTarget: string | null = null;
    if (type === 'symlink' || type === 'hardlink') {
      const home = recordingOf(parts);
      if (!home) return void this.refuse(`${type === 'symlink' ? 'symlink' : 'hard link'} ${path} is not inside a <format>/<record_id>/ dir`);
      if (type === 'symlink') {
        if (rawLink === '') return void this.refuse(`symlink ${path} has no target`);
        if (rawLink.startsWith('/')) return void this.refuse(`symlink ${path} points outside its recording (${rawLink})`);
        linkTarget = rawLink;
      } else {
        const target = components(rawLink, `hard link ${path} to`);
        if (typeof target === 'string') return void this.refuse(target);
        linkTarget = target.join('/');
        if (recordingOf(target) !== home) return void this.refuse(`hard link ${path} points outside its recording (${rawLink})`);
      }
    }
    const entry: TarEntry = { path, type, size, linkTarget };
    this.entries.push(entry);
    const refused = onEntry?.(entry, this.entries.length - 1);
    if (refused) this.refuse(refused);
  }

  private metadata(kind: MetaKind, data: Buffer): void {
    if (kind === 'L' || kind === 'K') {
      try {
        const value = utf8.decode(cstr(data, 0, data.length));
        if (kind === 'L') this.pending.path = value;
        else this.pending.linkpath = value;
      } catch {
        this.refuse(`a GNU long name before byte ${this.position} is not valid UTF-8`);
      }
      return;
    }
    const records = paxRecords(data);
    if (typeof records === 'string') return void this.refuse(`${records} before byte ${this.position}`);
    for (const [key, value] of records) {
      if (key.startsWith('GNU.sparse.')) return void this.refuse('sparse files are not accepted');
      if (key !== 'path' && key !== 'linkpath' && key !== 'size') continue;
      // A global header would rename or resize every member after it: no recording needs that.
      if (kind === 'g') return void this.refuse(`a global pax header sets '${key}'`);
      if (key === 'size') {
        if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) return void this.refuse(`a pax header has the size ${shown(value)}`);
        this.pending.size = Number(value);
      } else if (value.includes('\0')) return void this.refuse(`a pax ${key} contains a NUL byte`);
      else if (key === 'path') this.pending.path = value;
      else this.pending.linkpath = value;
    }
  }
}

/** The records of a pax extended header: "<length> <key>=<value>\n", each length counting the whole record. */
function paxRecords(data: Buffer): Array<[string, string]> | string {
  const records: Array<[string, string]> = [];
  let i = 0;
  while (i < data.length && data[i] !== 0) {
    const space = data.indexOf(0x20, i);
    const digits = space < 0 ? '' : data.toString('latin1', i, space);
    const length = Number(digits);
    if (!/^\d{1,7}$/.test(digits) || length <= space - i + 1 || i + length > data.length || data[i + length - 1] !== 0x0a) return 'a malformed pax header';
    const record = data.subarray(space + 1, i + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) return 'a malformed pax header';
    try {
      records.push([utf8.decode(record.subarray(0, eq)), utf8.decode(record.subarray(eq + 1))]);
    } catch {
      return 'a pax header that is not valid UTF-8';
    }
    i += length;
  }
  return records;
}
