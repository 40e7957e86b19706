import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Meeting } from './meetings';
import { escapeXml, isXmlName } from './xml';

// Recordings as a BigBlueButton server hands them to Scalelite: its
// post_publish hook tars `<format>/<record_id>/` of every published format
// (metadata.xml plus the playback files) and drops `<record_id>.tar` into the
// balancer's spool dir. Kept independent of src/recordings on purpose, like the
// rest of the simulator: the importer must not agree with us by sharing code.

export interface GenerateRecordingOptions {
  spoolDir: string;
  /** External meetingID (meta/meetingId). */
  meetingId: string;
  meetingName?: string;
  /** Default: BBB's internal meeting id, sha1(meetingId) + '-' + startTime. */
  recordId?: string;
  /** Default ['presentation', 'video']. */
  formats?: string[];
  /** Extra <meta> entries, as create's meta_* parameters (bbb-origin, bbb-context, …). */
  metadata?: Record<string, string>;
  /** Default true. */
  published?: boolean;
  /** Default 1. */
  participants?: number;
  /** Epoch ms; default durationMs before now. */
  startTime?: number;
  /** Default 10 minutes. */
  durationMs?: number;
  /** Host in playback and thumbnail links (default bbb.example.com). */
  host?: string;
  isBreakout?: boolean;
}

export interface GeneratedRecording {
  recordId: string;
  tarPath: string;
}

export const DEFAULT_RECORDING_FORMATS = ['presentation', 'video'] as const;
const SAFE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const HOSTNAME = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;
// The HTML5 client's preview size in BBB's presentation publish step.
const THUMB_WIDTH = 176;
const THUMB_HEIGHT = 136;
const SLIDE_ALTS = ['Welcome To BigBlueButton', '(this slide left blank for use as a whiteboard)', 'Agenda'];

const sha1 = (value: string) => createHash('sha1').update(value, 'utf8').digest('hex');

/* ---- tiny valid PNGs, so thumbnails open in an image viewer ---- */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A solid grey RGB PNG of the given size. */
export function solidPng(width: number, height: number, grey = 0xee): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(2, 9); // truecolour
  const row = Buffer.alloc(1 + width * 3, grey);
  row[0] = 0; // filter: none
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/* ---- the files of each format ---- */

interface FormatPlan {
  link: string;
  files: Array<[string, Buffer | string]>;
  thumbnails: Array<{ url: string; alt: string }>;
}

function presentationPlan(host: string, recordId: string, startTime: number, durationMs: number): FormatPlan {
  // BBB names an uploaded presentation <sha1>-<upload time>.
  const slideDeck = `${sha1(`${recordId}/default.pdf`)}-${startTime + 1}`;
  const seconds = (durationMs / 1000).toFixed(1);
  const files: Array<[string, Buffer | string]> = [];
  const thumbnails: FormatPlan['thumbnails'] = [];
  for (let n = 1; n <= 3; n++) {
    files.push([`presentation/${slideDeck}/slide-${n}.png`, solidPng(16, 12, 0xff)]);
    files.push([`presentation/${slideDeck}/thumbnails/thumb-${n}.png`, solidPng(THUMB_WIDTH, THUMB_HEIGHT)]);
    thumbnails.push({ url: `https://${host}/presentation/${recordId}/presentation/${slideDeck}/thumbnails/thumb-${n}.png`, alt: SLIDE_ALTS[n - 1]! });
  }
  files.push(
    [
      'shapes.svg',
      `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="1600" height="1200">\n` +
        `<image id="image1" class="slide" in="0.0" out="${seconds}" xlink:href="presentation/${slideDeck}/slide-1.png" width="1600" height="1200" x="0" y="0" style="visibility:hidden"/>\n</svg>\n`,
    ],
    ['panzooms.xml', `<?xml version="1.0"?>\n<recording id="panzoom_events">\n<event timestamp="0.0"><viewBox>0.0 0.0 1600.0 1200.0</viewBox></event>\n</recording>\n`],
    ['cursor.xml', `<?xml version="1.0"?>\n<recording id="cursor_events">\n<event timestamp="0.0"><cursor>-1.0 -1.0</cursor></event>\n</recording>\n`],
    ['deskshare.xml', `<?xml version="1.0"?>\n<recording id="deskshare_events"/>\n`],
    ['captions.json', '[]\n'],
    // The EBML magic of a WebM file: enough for `file` to recognise it.
    ['video/webcams.webm', Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01])],
  );
  return { link: `https://${host}/playback/presentation/2.3/${recordId}`, files, thumbnails };
}

function mp4Stub(): Buffer {
  // An ftyp box: what players sniff first.
  return Buffer.concat([Buffer.from([0, 0, 0, 0x14]), Buffer.from('ftypisom', 'ascii'), Buffer.from([0, 0, 2, 0]), Buffer.from('mp41', 'ascii')]);
}

function formatPlan(format: string, host: string, recordId: string, startTime: number, durationMs: number): FormatPlan {
  switch (format) {
    case 'presentation':
      return presentationPlan(host, recordId, startTime, durationMs);
    case 'video':
      return { link: `https://${host}/playback/video/${recordId}/`, files: [['video-0.m4v', mp4Stub()]], thumbnails: [] };
    case 'screenshare':
      return { link: `https://${host}/recording/screenshare/${recordId}/`, files: [['deskshare.mp4', mp4Stub()]], thumbnails: [] };
    case 'podcast':
      return { link: `https://${host}/podcast/${recordId}/audio.ogg`, files: [['audio.ogg', Buffer.from('OggS\0\u0002', 'latin1')]], thumbnails: [] };
    case 'notes':
      return { link: `https://${host}/notes/${recordId}/notes.pdf`, files: [['notes.pdf', '%PDF-1.4\n%%EOF\n']], thumbnails: [] };
    default:
      return { link: `https://${host}/${format}/${recordId}/`, files: [['index.html', '<!DOCTYPE html><title>recording</title>\n']], thumbnails: [] };
  }
}

interface MetadataInput {
  recordId: string;
  meetingId: string;
  meetingName: string;
  published: boolean;
  startTime: number;
  endTime: number;
  participants: number;
  isBreakout: boolean;
  metadata: Record<string, string>;
  format: string;
  link: string;
  processingTime: number;
  durationMs: number;
  size: number;
  rawSize: number;
  thumbnails: FormatPlan['thumbnails'];
}

const INTERNAL_META = new Set(['isBreakout', 'meetingId', 'meetingName']);

/** metadata.xml as BBB's publish scripts write it (Nokogiri, two-space indent). */
export function renderRecordingMetadata(m: MetadataInput): string {
  const el = (indent: number, name: string, value: string | number | boolean) => `${' '.repeat(indent)}<${name}>${escapeXml(value)}</${name}>`;
  const meta = [el(4, 'isBreakout', m.isBreakout), el(4, 'meetingId', m.meetingId), el(4, 'meetingName', m.meetingName)];
  // bbb-web cannot write a key that is not an XML name; its own keys win over create's.
  for (const [k, v] of Object.entries(m.metadata)) if (isXmlName(k) && !INTERNAL_META.has(k)) meta.push(el(4, k, v));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<recording>',
    el(2, 'id', m.recordId),
    el(2, 'state', m.published ? 'published' : 'unpublished'),
    el(2, 'published', m.published),
    el(2, 'start_time', m.startTime),
    el(2, 'end_time', m.endTime),
    el(2, 'participants', m.participants),
    `  <meeting id="${escapeXml(m.recordId)}" externalId="${escapeXml(m.meetingId)}" name="${escapeXml(m.meetingName)}" breakout="${m.isBreakout}"/>`,
    '  <meta>',
    ...meta,
    '  </meta>',
    '  <playback>',
    el(4, 'format', m.format),
    el(4, 'link', m.link),
    el(4, 'processing_time', m.processingTime),
    el(4, 'duration', m.durationMs),
  ];
  if (m.thumbnails.length > 0) {
    lines.push('    <extensions>', '      <preview>', '        <images>');
    for (const t of m.thumbnails) {
      lines.push(`          <image width="${THUMB_WIDTH}" height="${THUMB_HEIGHT}" alt="${escapeXml(t.alt)}">${escapeXml(t.url)}</image>`);
    }
    lines.push('        </images>', '      </preview>', '    </extensions>');
  }
  lines.push(el(4, 'size', m.size), '  </playback>', el(2, 'raw_size', m.rawSize), '</recording>', '');
  return lines.join('\n');
}

function tar(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('tar', args, (err, _stdout, stderr) => (err ? reject(new Error(`tar failed: ${String(stderr).trim() || err.message}`)) : resolve()));
  });
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/**
 * Writes `<spoolDir>/<record_id>.tar` the way a BBB server's post_publish hook
 * delivers it. The tar is built under a hidden name and renamed, so an importer
 * watching the spool never sees half of it.
 */
export async function generateRecording(opts: GenerateRecordingOptions): Promise<GeneratedRecording> {
  const durationMs = opts.durationMs ?? 600_000;
  const startTime = opts.startTime ?? Date.now() - durationMs;
  const recordId = opts.recordId ?? `${sha1(opts.meetingId)}-${startTime}`;
  const formats = [...new Set(opts.formats ?? DEFAULT_RECORDING_FORMATS)];
  const host = opts.host ?? 'bbb.example.com';
  const published = opts.published ?? true;
  check(SAFE_NAME.test(recordId) && recordId !== '.' && recordId !== '..', `unusable record id ${JSON.stringify(recordId)}`);
  check(formats.length > 0 && formats.every((f) => /^[A-Za-z0-9_-]{1,64}$/.test(f)), 'formats must be non-empty names of letters, digits, _ and -');
  check(HOSTNAME.test(host), `unusable host ${JSON.stringify(host)}`);
  check(Number.isSafeInteger(durationMs) && durationMs >= 0 && Number.isSafeInteger(startTime) && startTime >= 0, 'startTime and durationMs must be non-negative integers');

  await fs.mkdir(opts.spoolDir, { recursive: true });
  const build = await fs.mkdtemp(path.join(os.tmpdir(), 'bbb-sim-recording-'));
  const partial = path.join(opts.spoolDir, `.${recordId}.tar.partial`);
  const tarPath = path.join(opts.spoolDir, `${recordId}.tar`);
  try {
    const plans = formats.map((format) => ({ format, plan: formatPlan(format, host, recordId, startTime, durationMs) }));
    const rawSize = 4096 + durationMs * 8;
    for (const [index, { format, plan }] of plans.entries()) {
      const dir = path.join(build, format, recordId);
      let size = 0;
      for (const [rel, content] of plan.files) {
        const file = path.join(dir, rel);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, content);
        size += Buffer.byteLength(content);
      }
      const xml = renderRecordingMetadata({
        recordId,
        meetingId: opts.meetingId,
        meetingName: opts.meetingName ?? opts.meetingId,
        published,
        startTime,
        endTime: startTime + durationMs,
        participants: opts.participants ?? 1,
        isBreakout: opts.isBreakout ?? false,
        metadata: opts.metadata ?? {},
        format,
        link: plan.link,
        // Processing takes a while and grows with the recording; the exact value does not matter.
        processingTime: 2000 + index * 500 + Math.round(durationMs / 100),
        durationMs,
        size,
        rawSize,
        thumbnails: plan.thumbnails,
      });
      await fs.writeFile(path.join(dir, 'metadata.xml'), xml);
    }
    await tar(['--create', '--file', partial, '--directory', build, ...formats]);
    await fs.rename(partial, tarPath);
    return { recordId, tarPath };
  } catch (err) {
    await fs.rm(partial, { force: true });
    throw err;
  } finally {
    await fs.rm(build, { recursive: true, force: true });
  }
}

/** What BBB would send for a meeting that ran with record=true and has now ended. */
export function recordingOptionsFor(meeting: Meeting, host: string): Omit<GenerateRecordingOptions, 'spoolDir'> {
  return {
    meetingId: meeting.meetingID,
    meetingName: meeting.name,
    // The record id is the internal meeting id, which is what ties a recording to its meeting in BBB.
    recordId: meeting.internalMeetingID,
    startTime: meeting.startTime,
    // A meeting still running has no end yet: its recording covers create until now.
    durationMs: Math.max(0, (meeting.endTime || Date.now()) - meeting.startTime),
    participants: meeting.participantsJoined,
    metadata: Object.fromEntries(meeting.metadata),
    isBreakout: meeting.isBreakout,
    host,
  };
}

export interface ProducedRecording {
  recordId: string;
  meetingId: string;
  tarPath: string;
  at: number;
}

/**
 * The simulator's side of the spool: produces recordings on request or when a
 * recorded meeting ends, and remembers what it produced so tests can wait for it.
 */
export class SimRecorder {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly done: ProducedRecording[] = [];
  private readonly errors: Array<{ meetingId: string; error: string; at: number }> = [];

  constructor(readonly spoolDir: string) {}

  get produced(): readonly ProducedRecording[] {
    return [...this.done];
  }

  get failures(): ReadonlyArray<{ meetingId: string; error: string; at: number }> {
    return [...this.errors];
  }

  record(opts: Omit<GenerateRecordingOptions, 'spoolDir'>): Promise<GeneratedRecording> {
    const work = generateRecording({ ...opts, spoolDir: this.spoolDir }).then((r) => {
      this.done.push({ ...r, meetingId: opts.meetingId, at: Date.now() });
      return r;
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work)).catch(() => undefined);
    return work;
  }

  /** Fire and forget, as BBB's processing is: a failure is kept for `failures`, never thrown. */
  recordEndedMeeting(meeting: Meeting, host: string): void {
    this.record(recordingOptionsFor(meeting, host)).catch((err: unknown) => {
      this.errors.push({ meetingId: meeting.meetingID, error: err instanceof Error ? err.message : String(err), at: Date.now() });
    });
  }

  /** Resolves once every recording under way has been written (or has failed). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
