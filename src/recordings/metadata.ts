import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { eventSchemas, LIMITS, type PlaybackFormat, type Thumbnail } from '../events/catalog';
import { isSafeName } from './files';

/*
 * Reads the metadata.xml that BigBlueButton's publish step writes next to each
 * playback format (`<format>/<record_id>/metadata.xml`), following Scalelite's
 * mapping (docs/scalelite-behaviour.md §4.3). Input comes from BBB servers we
 * do not control, so nothing here throws: every problem becomes an error value
 * the importer can log and attach to the failed tarball.
 */

export interface ParsedMetadata {
  recordId: string;
  /** the external meetingID the recording belongs to (meta/meetingId) */
  meetingId: string;
  name: string;
  published: boolean;
  /** 'available' (a BBB screenshare quirk) is reported as 'published' */
  state: string | null;
  /** epoch ms */
  startTime: number | null;
  /** epoch ms */
  endTime: number | null;
  participants: number | null;
  /** every child of <meta> except the ones BBB adds itself */
  metadata: Record<string, string>;
  format: PlaybackFormat;
}

export type RecordingFields = Omit<ParsedMetadata, 'format'>;
export type MetadataError = { error: string };

/** Far above any real metadata.xml; keeps a hostile upload from costing seconds of parsing. */
export const MAX_METADATA_XML_CHARS = 8 * 1024 * 1024;

/** <meta> children BBB writes for its own bookkeeping; Scalelite keeps them out of the metadata too. */
const INTERNAL_METADATA = new Set(['isBreakout', 'meetingId', 'meetingName']);

/**
 * Element names get a prefix that no XML name can start with, so a tag such as
 * <constructor> or <toString> (legal metadata keys) can never collide with what
 * the parser treats as dangerous object keys; it would otherwise refuse the
 * whole document.
 */
const TAG_MARK = '~';
const ATTR_PREFIX = '@_';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  // Ids such as "0123" and metadata such as "1e5" must stay the exact text.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  commentPropName: false,
  // Only with htmlEntities does the parser decode numeric references (&#233;),
  // which Nokogiri emits for characters outside the output encoding.
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Self-closing tags pass through the transform twice; keep it idempotent.
  transformTagName: (name: string) => (name.startsWith(TAG_MARK) ? name : TAG_MARK + name),
});

type Node = Record<string, unknown>;

class Invalid extends Error {}

const fail = (reason: string): never => {
  throw new Invalid(reason);
};

function elementName(node: Node): string | null {
  for (const key of Object.keys(node)) if (key.startsWith(TAG_MARK)) return key.slice(TAG_MARK.length);
  return null;
}

function contentOf(node: Node): Node[] {
  for (const key of Object.keys(node)) if (key.startsWith(TAG_MARK)) return Array.isArray(node[key]) ? (node[key] as Node[]) : [];
  return [];
}

function elements(node: Node, name?: string): Node[] {
  return contentOf(node).filter((c) => {
    const n = elementName(c);
    return n !== null && (name === undefined || n === name);
  });
}

const child = (node: Node, name: string): Node | undefined => elements(node, name)[0];

/** All text below the element, CDATA included, like Nokogiri's #text that Scalelite reads. */
function textOf(node: Node): string {
  let out = '';
  for (const c of contentOf(node)) {
    if (typeof c['#text'] === 'string' || typeof c['#text'] === 'number') out += String(c['#text']);
    else if (Array.isArray(c['#cdata'])) for (const t of c['#cdata'] as Node[]) out += String(t['#text'] ?? '');
    else if (elementName(c) !== null) out += textOf(c);
  }
  // PostgreSQL text cannot hold NUL, and XML 1.0 forbids it anyway (it only arrives as &#0;).
  if (out.includes('\u0000')) fail('metadata.xml contains a NUL character');
  return out;
}

function attribute(node: Node, name: string): string | null {
  const attrs = node[':@'] as Record<string, unknown> | undefined;
  const value = attrs?.[ATTR_PREFIX + name];
  return typeof value === 'string' ? value : null;
}

/** Trimmed text of a direct child; null when the child is absent. */
function childText(node: Node, name: string): string | null {
  const c = child(node, name);
  return c === undefined ? null : textOf(c).trim();
}

/** Whole, non-negative integers only: Scalelite's to_i would turn "12abc" into 12, we'd rather have nothing. */
export function parseCount(text: string | null): number | null {
  if (text === null || !/^\d{1,16}$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/** A plain non-negative decimal (some tools write milliseconds with a fraction). */
function parseDecimal(text: string | null): number | null {
  if (text === null || !/^\d{1,16}(\.\d+)?$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) && n <= Number.MAX_SAFE_INTEGER ? n : null;
}

function parseMillis(text: string | null): number | null {
  const n = parseDecimal(text);
  return n === null ? null : Math.round(n);
}

/**
 * Path and query of a playback link: Scalelite stores links host-less so that
 * getRecordings can prefix whatever host the client used. Relative links are
 * accepted; anything that is not http(s) is not a link we can serve.
 */
export function pathAndQuery(link: string): string | null {
  const url = httpUrl(link);
  return url && url.pathname + url.search;
}

/** Path of a thumbnail URL (Scalelite drops the query there). */
export function pathOf(link: string): string | null {
  return httpUrl(link)?.pathname ?? null;
}

function httpUrl(link: string): URL | null {
  let url: URL;
  try {
    url = new URL(link, 'http://relative.invalid');
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
}

function thumbnailsOf(playback: Node): Thumbnail[] {
  const extensions = child(playback, 'extensions');
  const preview = extensions && child(extensions, 'preview');
  const list = preview && child(preview, 'images');
  if (!list) return [];
  const thumbnails: Thumbnail[] = [];
  for (const image of elements(list, 'image')) {
    const url = pathOf(textOf(image).trim());
    // A broken preview image is no reason to lose the recording.
    if (url === null) continue;
    const alt = attribute(image, 'alt');
    thumbnails.push({
      url,
      width: parseCount(attribute(image, 'width')),
      height: parseCount(attribute(image, 'height')),
      // Alt is slide text, which can be long; it is only a tooltip, so cut it rather than refuse.
      alt: alt === null ? null : alt.slice(0, 1024),
    });
    // A preview shows a handful of slides; more is noise the log would refuse.
    if (thumbnails.length === LIMITS.thumbnails) break;
  }
  return thumbnails;
}

function metadataOf(meta: Node): Record<string, string> {
  const entries = new Map<string, string>();
  for (const el of elements(meta)) {
    const key = elementName(el)!;
    // An own "__proto__" key would turn into a prototype change wherever the map is later assigned.
    if (INTERNAL_METADATA.has(key) || key === '__proto__') continue;
    entries.set(key, textOf(el).trim());
  }
  return Object.fromEntries(entries);
}

const recordingShape = eventSchemas.RecordingImported.pick({
  recordId: true,
  meetingId: true,
  name: true,
  published: true,
  state: true,
  startTime: true,
  endTime: true,
  participants: true,
  metadata: true,
  formats: true,
});

/** The reason the event log would refuse this recording, or null when it would accept it. */
function refusal(recording: RecordingFields, formats: PlaybackFormat[]): string | null {
  const checked = recordingShape.safeParse({ ...recording, formats });
  if (checked.success) return null;
  return checked.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('/') || 'recording'}: ${i.message}`)
    .join('; ');
}

function parseDocument(xml: string): ParsedMetadata {
  if (xml.length > MAX_METADATA_XML_CHARS) fail(`metadata.xml is larger than ${MAX_METADATA_XML_CHARS} characters`);
  // BBB never writes a DTD; refusing one rules out entity-expansion tricks entirely.
  if (/<!DOCTYPE/i.test(xml)) fail('metadata.xml must not contain a DOCTYPE');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) fail(`metadata.xml is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);

  const roots = (parser.parse(xml) as Node[]).filter((n) => elementName(n) !== null);
  const recording = roots[0];
  if (!recording || elementName(recording) !== 'recording') fail('metadata.xml has no <recording> root element');
  const rec = recording!;

  const recordId = childText(rec, 'id');
  if (!recordId) fail('recording/id is missing');
  if (!isSafeName(recordId!)) fail(`recording/id "${recordId!.slice(0, 100)}" is not a valid record id`);

  const meta = child(rec, 'meta');
  if (!meta) fail('recording/meta is missing');
  const meetingId = childText(meta!, 'meetingId');
  if (!meetingId) fail('recording/meta/meetingId is missing');

  const playback = child(rec, 'playback');
  if (!playback) fail('recording/playback is missing');
  const format = childText(playback!, 'format');
  if (!format) fail('recording/playback/format is missing');
  const link = childText(playback!, 'link');
  if (!link) fail('recording/playback/link is missing');
  const url = pathAndQuery(link!);
  if (url === null) fail(`recording/playback/link "${link!.slice(0, 200)}" is not an http(s) URL`);

  const meetingElement = child(rec, 'meeting');
  const state = childText(rec, 'state') || null;
  // Rounded once, as minutes: rounding the milliseconds first could tip 1.49999 minutes to 2.
  const duration = parseDecimal(childText(playback!, 'duration'));

  const parsed: ParsedMetadata = {
    recordId: recordId!,
    meetingId: meetingId!,
    // Older recordings only carry the name on <meeting name="…"/>.
    name: childText(meta!, 'meetingName') ?? (meetingElement ? (attribute(meetingElement, 'name') ?? '') : ''),
    published: childText(rec, 'published') === 'true',
    state: state === 'available' ? 'published' : state,
    startTime: parseMillis(childText(rec, 'start_time')),
    endTime: parseMillis(childText(rec, 'end_time')),
    participants: parseCount(childText(rec, 'participants')),
    metadata: metadataOf(meta!),
    format: {
      format: format!,
      url: url!,
      // Scalelite: a missing duration leaves the length empty; the log wants a number, so 0.
      length: duration === null ? 0 : Math.round(duration / 60_000),
      processingTime: parseMillis(childText(playback!, 'processing_time')),
      thumbnails: thumbnailsOf(playback!),
    },
  };
  const { format: playbackFormat, ...fields } = parsed;
  const refused = refusal(fields, [playbackFormat]);
  if (refused) fail(refused);
  return parsed;
}

/** One metadata.xml, or the reason it cannot be imported. Never throws. */
export function parseMetadataXml(xml: string): ParsedMetadata | MetadataError {
  try {
    return parseDocument(xml);
  } catch (err) {
    if (err instanceof Invalid) return { error: err.message };
    // The parser itself gave up (nesting limit, a name it refuses, …).
    return { error: `metadata.xml could not be parsed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The formats of one tarball as one recording. Recording-level fields come from
 * the first format in name order so the outcome does not depend on directory
 * listing order; for the same reason an earlier format wins a metadata key that
 * two formats disagree on.
 */
export function combineFormats(parts: ParsedMetadata[]): { recording: RecordingFields; formats: PlaybackFormat[] } | MetadataError {
  if (parts.length === 0) return { error: 'the tarball holds no playback format' };
  const sorted = [...parts].sort((a, b) => (a.format.format < b.format.format ? -1 : a.format.format > b.format.format ? 1 : 0));
  const ids = [...new Set(sorted.map((p) => p.recordId))];
  if (ids.length > 1) return { error: `the formats belong to different recordings: ${ids.slice(0, 5).join(', ')}` };
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.format.format === sorted[i - 1]!.format.format) return { error: `format ${sorted[i]!.format.format} appears twice` };
  }

  const metadata = new Map<string, string>();
  for (const part of [...sorted].reverse()) for (const [k, v] of Object.entries(part.metadata)) metadata.set(k, v);
  const { format: _first, ...fields } = sorted[0]!;
  const recording: RecordingFields = { ...fields, metadata: Object.fromEntries(metadata) };
  const formats = sorted.map((p) => p.format);

  const refused = refusal(recording, formats);
  return refused ? { error: refused } : { recording, formats };
}
