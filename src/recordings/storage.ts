import { extname } from 'node:path';
import { lookup } from 'mime-types';
import type { Readable } from 'node:stream';

/*
 * Where recording files live once imported: a pair of trees, published and
 * unpublished, each `<format>/<record_id>/…` (docs/scalelite-behaviour.md §4.4).
 * Two adapters: the filesystem (RECORDING_PUBLISH_DIR / RECORDING_UNPUBLISH_DIR,
 * Scalelite's default) and an S3 bucket (S3_RECORDING, keys `published/…` and
 * `unpublished/…`, as Scalelite 1.6.8+). Everything that touches recording files
 * after the import (publish, delete, repair, retention, playback) goes through
 * this port, so both behave the same.
 */

/** Where each format of a recording is: in the published tree, the unpublished tree, both or neither. */
export interface FormatLocation {
  format: string;
  published: boolean;
  unpublished: boolean;
}

/** A format of an import, made ready outside the decision lock (uploaded, for a bucket). */
export interface StagedFormat {
  format: string;
  recordId: string;
  /** the extracted `<format>/<record_id>` dir */
  dir: string;
  /** the tree it was staged for */
  published: boolean;
  /** what the stage wrote (object keys for a bucket); empty when staging writes nothing */
  written: string[];
}

/** A playback resource found in the published tree. */
export type StoredResource = { kind: 'file'; path: string } | { kind: 'object'; key: string };

/** A byte range request and the validators of a conditional GET, passed through to the store. */
export interface ObjectRead {
  range?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/** What a store answered for an object read: a body (200/206), not modified (304) or an unsatisfiable range (416). */
export type ObjectReply =
  | {
      status: 200 | 206;
      body: Readable;
      contentLength: number | undefined;
      contentRange: string | undefined;
      contentType: string | undefined;
      contentDisposition: string | undefined;
      etag: string | undefined;
      lastModified: Date | undefined;
    }
  | { status: 304; etag: string | undefined; lastModified: Date | undefined }
  | { status: 416; contentRange: string | undefined }
  | { status: 404 };

export interface RecordingStorage {
  readonly kind: 'filesystem' | 's3';
  /** For status pages and logs: the two trees or the bucket. */
  describe(): Record<string, string>;
  /** Rejects, saying why, when the storage cannot be used (a bucket that is missing or refuses the keys). */
  probe(): Promise<void>;
  /**
   * The slow part of importing one format, done before the decision lock is
   * taken (a bucket gets every file uploaded here). Idempotent: an import that
   * crashed after it simply stages again.
   */
  stageFormat(format: string, recordId: string, dir: string, published: boolean): Promise<StagedFormat>;
  /**
   * Under the decision lock, right before RecordingImported is appended: the
   * staged format ends up alone on the side the decision chose; any earlier copy,
   * published or not, is replaced, so a re-sent recording leaves no stale twin.
   */
  placeFormat(staged: StagedFormat, published: boolean): Promise<void>;
  /** The import was refused after staging: remove what staging wrote (for a recording the index does not know). */
  discardStaged(staged: StagedFormat): Promise<void>;
  /**
   * publishRecordings: each format goes from the current side to the target side;
   * all formats are checked before anything moves, so a missing one does not
   * leave the recording half published (RecordingFilesError).
   */
  moveRecording(recordId: string, formats: string[], toPublished: boolean): Promise<void>;
  /**
   * Before the decision lock, best effort: what can be done of a move ahead of it, so the
   * move under the lock is short (a bucket copies its objects here; a filesystem renames
   * under the lock and does nothing here). Never removes anything.
   */
  prepareMove(recordId: string, formats: string[], toPublished: boolean): Promise<void>;
  locateFormats(recordId: string, formats: string[]): Promise<FormatLocation[]>;
  /** The format names that have anything stored, on either side. */
  formatsStored(): Promise<string[]>;
  /** Both sides' copies go; `formats` narrows the sweep (without it every stored format is searched). */
  deleteRecording(recordId: string, formats?: string[]): Promise<void>;
  /**
   * The published resource `<format>/<record_id>/<rest>` (`rest` already
   * percent-decoded, '' for the recording itself); a directory, or a name that
   * is only a prefix in a bucket, resolves to its index.html. Null when there is
   * none or the path could reach outside the recording.
   */
  resource(format: string, recordId: string, rest: string): Promise<StoredResource | null>;
  /**
   * Read the published resource `<format>/<record_id>/<rest>` as resource() would find it,
   * in as few requests as the store allows (bucket only: a GET, and a second one for an index.html).
   */
  readResource(format: string, recordId: string, rest: string, read: ObjectRead): Promise<ObjectReply>;
  /** A short-lived URL a client can fetch the object from directly (bucket only). */
  presignedUrl(key: string, ttlSeconds: number, contentDisposition?: string): Promise<string>;
}

/** Downloads rather than inline views, as Scalelite's importer marks them in the bucket. */
const ATTACHMENT_EXTENSIONS = new Set(['.pdf', '.ogg']);

/** Content-Type and Content-Disposition of an uploaded recording file, by its extension (Scalelite §4.2). */
export function objectHeaders(file: string): { contentType: string; contentDisposition: string | undefined } {
  const ext = extname(file).toLowerCase();
  return {
    contentType: (ext && lookup(ext)) || 'application/octet-stream',
    contentDisposition: ATTACHMENT_EXTENSIONS.has(ext) ? 'attachment' : undefined,
  };
}

// C0 controls (NUL included) and backslashes have no business in a playback resource path.
const UNSAFE_SEGMENT_CHARS = /[\u0000-\u001f\u007f\\]/;

/**
 * The path segments of a playback resource below its recording, or null when
 * any of them could climb out of it. A trailing slash names a directory (its
 * index); an empty segment anywhere else is a trick.
 */
export function resourceSegments(rest: string): string[] | null {
  if (rest.startsWith('/') || UNSAFE_SEGMENT_CHARS.test(rest)) return null;
  const segments = rest === '' ? [] : rest.split('/');
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  return segments;
}
