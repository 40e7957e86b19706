import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { RecordingFilesError, requireSafe } from '../../recordings/files';
import { FormatLocation, ObjectRead, ObjectReply, objectHeaders, RecordingStorage, resourceSegments, StagedFormat, StoredResource } from '../../recordings/storage';

/*
 * Recording files in an S3 bucket (Scalelite's S3_RECORDING, §4.2/§4.4):
 *
 *   s3://<S3_BUCKET_NAME>/published/<format>/<record_id>/…
 *   s3://<S3_BUCKET_NAME>/unpublished/<format>/<record_id>/…
 *
 * Any S3-compatible store works (MinIO, Ceph, Garage, S3Proxy…): the endpoint
 * and path-style addressing are configurable, and the client only asks for
 * checksums where the S3 API requires them, since newer SDK defaults (CRC32
 * trailers) are not understood by every compatible server.
 */

export interface S3StorageSettings {
  bucket: string;
  region: string;
  /** AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / S3_ENDPOINT; undefined: AWS itself */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** explicit keys (AWS_ACCESS_KEY_ID…); undefined: the SDK's default chain (profiles, instance roles, web identity) */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export function s3Client(s: S3StorageSettings): S3Client {
  const client = new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle,
    ...(s.credentials ? { credentials: s.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  // DeleteObjects must carry a checksum. The SDK now sends CRC32 (x-amz-checksum-crc32), which
  // S3Proxy, older MinIO and Ceph refuse; Content-MD5, the checksum the API began with, is
  // accepted by all of them and by AWS.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === 'DeleteObjectsCommand' && request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
        for (const name of Object.keys(request.headers)) {
          if (/^x-amz-(checksum-|sdk-checksum-algorithm$)/i.test(name)) delete request.headers[name];
        }
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'deleteObjectsContentMd5' },
  );
  return client;
}

const sideOf = (published: boolean) => (published ? 'published' : 'unpublished');
const formatPrefix = (published: boolean, format: string, recordId: string) => `${sideOf(published)}/${format}/${recordId}/`;
/** Files uploaded at once per format; each large one is itself split into parallel parts. */
const UPLOAD_CONCURRENCY = 4;
/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

const statusOf = (err: unknown): number | undefined => (err instanceof S3ServiceException ? err.$metadata?.httpStatusCode : undefined);
const isNotFound = (err: unknown) => statusOf(err) === 404 || (err as { name?: string } | null)?.name === 'NoSuchKey' || (err as { name?: string } | null)?.name === 'NotFound';

/** An If-Modified-Since worth passing on; a malformed one is ignored, as HTTP says. */
const httpDate = (value: string | undefined): Date | undefined => {
  const ms = value ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms);
};

/** Every regular file below dir, as paths relative to it with '/' separators (symlinks the tarball check let in are followed). */
async function filesBelow(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    const info = entry.isSymbolicLink() ? await fs.stat(path.join(dir, child)) : entry;
    if (info.isDirectory()) out.push(...(await filesBelow(dir, child)));
    else if (info.isFile()) out.push(child);
  }
  return out;
}

/** Runs fn over items, at most `limit` at a time; the first failure rejects once every started call has settled. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++];
      await fn(item).catch((err: unknown) => void errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

export class S3RecordingStorage implements RecordingStorage {
  readonly kind = 's3' as const;
  private readonly bucket: string;

  constructor(
    private readonly client: S3Client,
    private readonly settings: Pick<S3StorageSettings, 'bucket' | 'endpoint'>,
  ) {
    this.bucket = settings.bucket;
  }

  describe(): Record<string, string> {
    return { bucket: this.bucket, ...(this.settings.endpoint ? { endpoint: this.settings.endpoint } : {}) };
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = statusOf(err);
      const why = status === 404 ? 'no such bucket' : status === 403 ? 'access denied (keys or policy)' : (err as Error).message || (err as Error).name;
      throw new Error(`bucket ${this.bucket}${this.settings.endpoint ? ` at ${this.settings.endpoint}` : ''}: ${why}`, { cause: err });
    }
  }

  /** Every key under a prefix, page by page. */
  async listKeys(prefix: string, max = Infinity): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, ...(Number.isFinite(max) ? { MaxKeys: Math.min(1000, max) } : {}) }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated && keys.length < max ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    // Children before their `dir/` marker key: stores that keep a folder as a directory
    // (S3Proxy's filesystem backend) stall on removing one that is not empty yet.
    const ordered = [...keys].sort().reverse();
    for (let i = 0; i < ordered.length; i += DELETE_BATCH) {
      const batch = ordered.slice(i, i + DELETE_BATCH);
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0)
        throw new RecordingFilesError(
          `could not delete ${failed.length} objects from bucket ${this.bucket}, e.g. ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`.trim(),
        );
    }
  }

  /** A server-side copy: the content type and disposition come along (metadata directive COPY). */
  private async copyKey(from: string, to: string): Promise<void> {
    const source = `${this.bucket}/${from}`.split('/').map(encodeURIComponent).join('/');
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
  }

  async stageFormat(format: string, recordId: string, dir: string, published: boolean): Promise<StagedFormat> {
    requireSafe('format', format);
    requireSafe('record id', recordId);
    const prefix = formatPrefix(published, format, recordId);
    const files = await filesBelow(dir);
    await eachLimited(files, UPLOAD_CONCURRENCY, async (rel) => {
      const { contentType, contentDisposition } = objectHeaders(rel);
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: prefix + rel, Body: createReadStream(path.join(dir, rel)), ContentType: contentType, ContentDisposition: contentDisposition },
        queueSize: 4,
        partSize: 16 * 1024 * 1024,
        leavePartsOnError: false,
      });
      await upload.done();
    });
    return { format, recordId, dir, published, written: files.map((rel) => prefix + rel) };
  }

  async placeFormat(staged: StagedFormat, published: boolean): Promise<void> {
    const { format, recordId } = staged;
    requireSafe('format', format);
    requireSafe('record id', recordId);
    let kept = staged.written;
    if (staged.published !== published) {
      // The decision went the other way while we uploaded (a publish in between): copy across, the sweep drops the rest.
      const [from, to] = [formatPrefix(staged.published, format, recordId), formatPrefix(published, format, recordId)];
      kept = staged.written.map((k) => to + k.slice(from.length));
      await eachLimited(staged.written, UPLOAD_CONCURRENCY, (k) => this.copyKey(k, to + k.slice(from.length)));
    }
    const keep = new Set(kept);
    // A folder marker (`…/`) over kept files stays: only what the new copy does not have goes.
    const stale = [...(await this.listKeys(formatPrefix(true, format, recordId))), ...(await this.listKeys(formatPrefix(false, format, recordId)))].filter(
      (k) => !keep.has(k) && !(k.endsWith('/') && kept.some((w) => w.startsWith(k))),
    );
    await this.deleteKeys(stale);
  }

  async discardStaged(staged: StagedFormat): Promise<void> {
    await this.deleteKeys(staged.written);
  }

  /** Every object under a prefix with its size. */
  private async listSizes(prefix: string): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) sizes.set(o.Key, o.Size ?? -1);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return sizes;
  }

  /** Copy what the target side lacks (or holds with another size): the slow half of a move. */
  private async copyAcross(from: string, to: string, source: Map<string, number>): Promise<void> {
    const target = await this.listSizes(to);
    const missing = [...source].filter(([k, size]) => target.get(to + k.slice(from.length)) !== size).map(([k]) => k);
    await eachLimited(missing, UPLOAD_CONCURRENCY, (k) => this.copyKey(k, to + k.slice(from.length)));
  }

  async prepareMove(recordId: string, formats: string[], toPublished: boolean): Promise<void> {
    requireSafe('record id', recordId);
    for (const f of formats) {
      requireSafe('format', f);
      const [from, to] = [formatPrefix(!toPublished, f, recordId), formatPrefix(toPublished, f, recordId)];
      await this.copyAcross(from, to, await this.listSizes(from));
    }
  }

  async moveRecording(recordId: string, formats: string[], toPublished: boolean): Promise<void> {
    requireSafe('record id', recordId);
    for (const f of formats) requireSafe('format', f);
    const plan: Array<{ from: string; to: string; source: Map<string, number> }> = [];
    for (const f of formats) {
      const from = formatPrefix(!toPublished, f, recordId);
      const to = formatPrefix(toPublished, f, recordId);
      const source = await this.listSizes(from);
      if (source.size === 0 && (await this.listKeys(to, 1)).length === 0) {
        throw new RecordingFilesError(`no objects for format ${f} of recording ${recordId} under ${from} or ${to} in bucket ${this.bucket}`);
      }
      plan.push({ from, to, source });
    }
    for (const step of plan) {
      // Copy everything before deleting anything (after prepareMove, only what changed since): a crash
      // in between leaves a complete copy on the target side, which the next move or a repair finishes.
      await this.copyAcross(step.from, step.to, step.source);
      await this.deleteKeys([...step.source.keys()]);
    }
  }

  async locateFormats(recordId: string, formats: string[]): Promise<FormatLocation[]> {
    requireSafe('record id', recordId);
    return Promise.all(
      formats.map(async (format) => {
        requireSafe('format', format);
        const [published, unpublished] = await Promise.all([
          this.listKeys(formatPrefix(true, format, recordId), 1).then((k) => k.length > 0),
          this.listKeys(formatPrefix(false, format, recordId), 1).then((k) => k.length > 0),
        ]);
        return { format, published, unpublished };
      }),
    );
  }

  async formatsStored(): Promise<string[]> {
    const found = new Set<string>();
    for (const side of ['published/', 'unpublished/']) {
      let token: string | undefined;
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: side, Delimiter: '/', ContinuationToken: token }));
        for (const p of page.CommonPrefixes ?? []) {
          const name = p.Prefix?.slice(side.length).replace(/\/$/, '');
          if (name && /^[A-Za-z0-9_.-]{1,255}$/.test(name) && name !== '.' && name !== '..') found.add(name);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    return [...found].sort();
  }

  async deleteRecording(recordId: string, formats?: string[]): Promise<void> {
    requireSafe('record id', recordId);
    for (const f of formats ?? []) requireSafe('format', f);
    for (const f of formats ?? (await this.formatsStored())) {
      for (const published of [true, false]) await this.deleteKeys(await this.listKeys(formatPrefix(published, f, recordId)));
    }
  }

  private async objectExists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** The keys a resource may be, in order: the object itself, then the index.html of a prefix; null for an unsafe path. */
  private candidates(format: string, recordId: string, rest: string): string[] | null {
    try {
      requireSafe('format', format);
      requireSafe('record id', recordId);
    } catch {
      return null;
    }
    const segments = resourceSegments(rest);
    if (!segments) return null;
    const base = formatPrefix(true, format, recordId);
    // A bucket has no directories: the recording itself, a trailing slash or a bare prefix mean its index.html.
    if (segments.length === 0 || rest.endsWith('/')) return [`${base}${[...segments, 'index.html'].join('/')}`];
    const key = base + segments.join('/');
    return [key, `${key}/index.html`];
  }

  async resource(format: string, recordId: string, rest: string): Promise<StoredResource | null> {
    for (const key of this.candidates(format, recordId, rest) ?? []) {
      if (await this.objectExists(key)) return { kind: 'object', key };
    }
    return null;
  }

  async readResource(format: string, recordId: string, rest: string, read: ObjectRead): Promise<ObjectReply> {
    for (const key of this.candidates(format, recordId, rest) ?? []) {
      const reply = await this.readObject(key, read);
      if (reply.status !== 404) return reply;
    }
    return { status: 404 };
  }

  private async readObject(key: string, read: ObjectRead): Promise<ObjectReply> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: read.range, IfNoneMatch: read.ifNoneMatch, IfModifiedSince: httpDate(read.ifModifiedSince) }),
      );
      return {
        status: out.ContentRange ? 206 : 200,
        body: out.Body as Readable,
        contentLength: out.ContentLength,
        contentRange: out.ContentRange,
        contentType: out.ContentType,
        contentDisposition: out.ContentDisposition,
        etag: out.ETag,
        lastModified: out.LastModified,
      };
    } catch (err) {
      const status = statusOf(err);
      if (status === 304) return { status: 304, etag: undefined, lastModified: undefined };
      if (status === 416) return { status: 416, contentRange: undefined };
      if (isNotFound(err)) return { status: 404 };
      throw err;
    }
  }

  presignedUrl(key: string, ttlSeconds: number, contentDisposition?: string): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(contentDisposition ? { ResponseContentDisposition: contentDisposition } : {}) }), {
      expiresIn: ttlSeconds,
    });
  }
}
