import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/*
 * The two places recording files can live, for tests that run on both: the
 * publish/unpublish dirs, or a bucket on the S3Proxy that scripts/test.sh
 * starts (scripts/s3proxy.sh). Tests look at and tamper with the files through
 * this, with a plain S3 client, never through the adapter under test.
 */

export type StorageKind = 'filesystem' | 's3';
export const STORAGES: StorageKind[] = ['filesystem', 's3'];
export type Side = 'published' | 'unpublished';

export const TEST_S3_ENDPOINT = process.env.TEST_S3_ENDPOINT ?? 'http://127.0.0.1:8333';
export const TEST_S3_ACCESS_KEY = process.env.TEST_S3_ACCESS_KEY ?? 'scalelite-test';
export const TEST_S3_SECRET_KEY = process.env.TEST_S3_SECRET_KEY ?? 'scalelite-test-secret';

const RUN = (process.env.TEST_RUN_ID ?? `${Date.now()}`).toLowerCase().replace(/[^a-z0-9]/g, '-');
let buckets = 0;

export const testS3Client = (): S3Client =>
  new S3Client({
    region: 'us-east-1',
    endpoint: TEST_S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_S3_ACCESS_KEY, secretAccessKey: TEST_S3_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

export interface TestStorage {
  kind: StorageKind;
  /** what the balancer needs in its environment to use this storage */
  env: Record<string, string>;
  bucket: string | null;
  /** Is anything stored for this format of this recording on this side? */
  has(side: Side, format: string, recordId: string): Promise<boolean>;
  /** Every format that has anything stored on this side. */
  formats(side: Side): Promise<string[]>;
  /** Move a format of a recording from one side to the other, behind the balancer's back. */
  move(format: string, recordId: string, from: Side, to: Side): Promise<void>;
  remove(side: Side, format: string, recordId: string): Promise<void>;
  /** Copy a format's files away (a backup), to put them back with restore. */
  backup(side: Side, format: string, recordId: string): Promise<() => Promise<void>>;
  /** Content type and disposition of one stored file (the bucket's object headers; the filesystem has none). */
  headers(side: Side, format: string, recordId: string, rest: string): Promise<{ contentType?: string; contentDisposition?: string }>;
  close(): Promise<void>;
}

/** Filesystem storage: the dirs come from the balancer's configuration once it is started. */
function filesystemStorage(dirs: () => { publishDir: string; unpublishDir: string }): TestStorage {
  const base = (side: Side) => (side === 'published' ? dirs().publishDir : dirs().unpublishDir);
  return {
    kind: 'filesystem',
    env: {},
    bucket: null,
    has: async (side, format, recordId) => existsSync(join(base(side), format, recordId)),
    formats: async (side) => (existsSync(base(side)) ? readdirSync(base(side)) : []),
    move: async (format, recordId, from, to) => renameSync(join(base(from), format, recordId), join(base(to), format, recordId)),
    remove: async (side, format, recordId) => rmSync(join(base(side), format, recordId), { recursive: true }),
    backup: async (side, format, recordId) => {
      const copy = mkdtempSync(join(tmpdir(), 'recording-backup-'));
      cpSync(join(base(side), format, recordId), copy, { recursive: true });
      return async () => {
        cpSync(copy, join(base(side), format, recordId), { recursive: true });
        rmSync(copy, { recursive: true, force: true });
      };
    },
    headers: async () => ({}),
    close: async () => undefined,
  };
}

async function s3Storage(): Promise<TestStorage> {
  const client = testS3Client();
  const bucket = `t-${RUN}-${process.pid}-${++buckets}`.slice(0, 63).replace(/-+$/, '');
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    throw new Error(`S3Proxy is not reachable at ${TEST_S3_ENDPOINT} (run the tests with npm test, which starts it): ${(err as Error).message}`);
  }
  const keys = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push(o.Key!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  const prefix = (side: Side, format: string, recordId: string) => `${side}/${format}/${recordId}/`;
  // Children before their `dir/` key: S3Proxy's filesystem backend stalls removing a directory that is not empty.
  const deleteAll = async (list: string[]) => {
    for (const k of [...list].sort().reverse()) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: k }));
  };
  const removeAll = async (p: string) => deleteAll(await keys(p));
  return {
    kind: 's3',
    bucket,
    env: {
      S3_RECORDING: 'true',
      S3_BUCKET_NAME: bucket,
      AWS_ENDPOINT_URL: TEST_S3_ENDPOINT,
      AWS_ACCESS_KEY_ID: TEST_S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_S3_SECRET_KEY,
      AWS_REGION: 'us-east-1',
    },
    has: async (side, format, recordId) => (await keys(prefix(side, format, recordId))).length > 0,
    formats: async (side) => [...new Set((await keys(`${side}/`)).map((k) => k.split('/')[1]))],
    move: async (format, recordId, from, to) => {
      const moved = await keys(prefix(from, format, recordId));
      for (const k of moved) await client.send(new CopyObjectCommand({ Bucket: bucket, CopySource: `${bucket}/${k}`, Key: `${to}/${k.slice(from.length + 1)}` }));
      await deleteAll(moved);
    },
    remove: (side, format, recordId) => removeAll(prefix(side, format, recordId)),
    backup: async (side, format, recordId) => {
      const saved: Array<{ key: string; body: Uint8Array; contentType?: string; contentDisposition?: string }> = [];
      for (const key of await keys(prefix(side, format, recordId))) {
        if (key.endsWith('/')) continue;
        const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        saved.push({ key, body: await got.Body!.transformToByteArray(), contentType: got.ContentType, contentDisposition: got.ContentDisposition });
      }
      return async () => {
        for (const o of saved) {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body, ContentType: o.contentType, ContentDisposition: o.contentDisposition }));
        }
      };
    },
    headers: async (side, format, recordId, rest) => {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix(side, format, recordId)}${rest}` }));
      return { contentType: head.ContentType, contentDisposition: head.ContentDisposition };
    },
    close: async () => {
      await removeAll('');
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
  };
}

/** A storage for one harness; for the filesystem, `dirs` is read when a test looks (after the harness started). */
export function openTestStorage(kind: StorageKind, dirs: () => { publishDir: string; unpublishDir: string }): Promise<TestStorage> {
  return kind === 's3' ? s3Storage() : Promise.resolve(filesystemStorage(dirs));
}
