import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { LocalDecisionLock, WriteSide } from '../../src/commands/write-side';
import { DomainEvent } from '../../src/events/catalog';
import { SqlEventLog } from '../../src/infra/embedded/sql-log';
import { s3Client, S3RecordingStorage } from '../../src/infra/s3/s3-storage';
import { migrate } from '../../src/infra/sql/migrations';
import { openPglite } from '../../src/infra/sql/pglite';
import { SqlRecordingStore } from '../../src/infra/sql/recording-store';
import { Sql } from '../../src/infra/sql/sql';
import { RecordingDirs } from '../../src/recordings/files';
import { RecordingImporter } from '../../src/recordings/importer';
import { RecordingReader } from '../../src/recordings/ports';
import { RecordingStorage } from '../../src/recordings/storage';
import { generateRecording } from '../../src/sim/recordings';
import { tags } from '../support/bbb-client';
import { eventually } from '../support/eventually';
import { Harness, startHarness } from '../support/harness';
import { openTestStorage, TEST_S3_ACCESS_KEY, TEST_S3_ENDPOINT, TEST_S3_SECRET_KEY, TestStorage } from '../support/storage';

/*
 * What only a bucket does (the rest of the recordings suite runs on both
 * storages in recordings.test.ts): objects carry Scalelite's content types and
 * dispositions; CloudFront playback signs cookies CloudFront would accept (the
 * signature is checked with the public key by openssl, as CloudFront cannot
 * run here); presigned playback; and an import that dies between its upload
 * and its event is imported again whole.
 */

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
}

const setCookies = (headers: Record<string, string | string[] | undefined>): string[] => {
  const raw = headers['set-cookie'];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
};

/** CloudFront's URL-safe base64 (+ → -, = → _, / → ~) back to bytes. */
const cloudFrontDecode = (s: string): Buffer => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

describe('recordings in a bucket, played through CloudFront (CLOUDFRONT_URL)', () => {
  const CF = 'https://d111111abcdef8.cloudfront.net';
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  let h: Harness;
  let files: TestStorage;
  let work: string;

  beforeAll(async () => {
    files = await openTestStorage('s3', () => h.config.recordings);
    work = mkdtempSync(join(tmpdir(), 'cloudfront-verify-'));
    h = await startHarness({
      servers: 1,
      env: {
        RECORDING_IMPORT_POLL_INTERVAL: '0.2',
        PROTECTED_RECORDINGS_ENABLED: 'true',
        SECRET_KEY_BASE: 'test-key-base',
        CLOUDFRONT_URL: `${CF}/`,
        CF_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
        CF_PRIVATE_KEY_B64: Buffer.from(keys.privateKey).toString('base64'),
        ...files.env,
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await files.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** openssl's verdict on a signature over the policy, with the public key alone. */
  const opensslVerifies = (policy: Buffer, signature: Buffer): boolean => {
    writeFileSync(join(work, 'public.pem'), keys.publicKey);
    writeFileSync(join(work, 'policy.json'), policy);
    writeFileSync(join(work, 'policy.sig'), signature);
    try {
      return execFileSync('openssl', ['dgst', '-sha1', '-verify', join(work, 'public.pem'), '-signature', join(work, 'policy.sig'), join(work, 'policy.json')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).includes('Verified OK');
    } catch {
      return false;
    }
  };

  test('a protected recording: token, then the access cookie, then signed CloudFront cookies and a 307 to its index.html', async () => {
    const { recordId } = await generateRecording({ spoolDir: h.config.recordings.spoolDir, meetingId: 'cf-1' });
    const body = await eventually('the import', async () => {
      const xml = (await h.lms.get('getRecordings', { meetingID: 'cf-1' })).body;
      return xml.includes(recordId) ? xml : null;
    });
    const page = `${h.balancer.url}/presentation/${recordId}/`;
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', host: 'play.lb.example.com' };
    // without the access cookie: refused before anything is signed
    const refused = await get(page, browser);
    expect(refused.status).toBe(404);
    expect(setCookies(refused.headers)).toEqual([]);

    const entry = await request(tags(body, 'url')[0]);
    await entry.body.dump();
    expect(entry.statusCode).toBe(307);
    const access = String(entry.headers['set-cookie']).split(';')[0];

    const before = Math.floor(Date.now() / 1000);
    const res = await get(page, { ...browser, cookie: access });
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`${CF}/published/presentation/${recordId}/index.html`);
    const cookies = setCookies(res.headers);
    const value = (name: string) =>
      cookies
        .find((c) => c.startsWith(`${name}=`))
        ?.split(';')[0]
        .slice(name.length + 1);
    expect(cookies.map((c) => c.split('=')[0]).sort()).toEqual(['CloudFront-Key-Pair-Id', 'CloudFront-Policy', 'CloudFront-Signature']);
    for (const c of cookies) {
      expect(c).toContain('; Domain=.example.com; Path=/; Expires=');
      expect(c).toContain('; Secure; HttpOnly; SameSite=None');
    }
    expect(value('CloudFront-Key-Pair-Id')).toBe('K2JCJMDEHXQW5F');

    const policy = cloudFrontDecode(value('CloudFront-Policy')!);
    const statement = JSON.parse(policy.toString('utf8')).Statement[0];
    expect(statement.Resource).toBe(`${CF}/published/presentation/${recordId}/*`);
    const expires = statement.Condition.DateLessThan['AWS:EpochTime'];
    expect(expires).toBeGreaterThanOrEqual(before + 300 - 1);
    expect(expires).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 300);
    const signature = cloudFrontDecode(value('CloudFront-Signature')!);
    expect(opensslVerifies(policy, signature)).toBe(true);
    // the same signature over a policy for another recording is worthless
    expect(opensslVerifies(Buffer.from(policy.toString('utf8').replace(recordId, 'another-recording')), signature)).toBe(false);
  });

  test('requests that do not want HTML are served from the bucket by the balancer', async () => {
    const { recordId } = await generateRecording({ spoolDir: h.config.recordings.spoolDir, meetingId: 'cf-2' });
    await eventually('the import', async () => (await h.lms.get('getRecordings', { meetingID: 'cf-2' })).body.includes(recordId));
    await h.lms.get('updateRecordings', { recordID: recordId, protect: 'false' });
    const xml = await get(`${h.balancer.url}/presentation/${recordId}/metadata.xml`, { accept: 'application/json' });
    expect(xml.status).toBe(200);
    expect(xml.text).toContain(recordId);
    expect(setCookies(xml.headers)).toEqual([]);
    expect(xml.headers['content-type']).toBe('application/xml');
    // revalidation is the bucket's: a client holding the current copy gets 304
    expect((await get(`${h.balancer.url}/presentation/${recordId}/metadata.xml`, { accept: 'application/json', 'if-none-match': String(xml.headers.etag) })).status).toBe(304);
    // a browser's image request: its Accept lists */* among others, so the .png extension decides
    const body = (await h.lms.get('getRecordings', { meetingID: 'cf-2' })).body;
    const thumb = [...body.matchAll(/<image [^>]*>([^<]+)<\/image>/g)].map((m) => m[1])[0];
    const image = await get(thumb, { accept: 'image/avif,image/webp,image/png,*/*;q=0.8' });
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
  });
});

describe('recordings in a bucket, played through presigned URLs (RECORDING_S3_PLAYBACK=presign)', () => {
  let h: Harness;
  let files: TestStorage;
  beforeAll(async () => {
    files = await openTestStorage('s3', () => h.config.recordings);
    h = await startHarness({ servers: 1, env: { RECORDING_IMPORT_POLL_INTERVAL: '0.2', RECORDING_S3_PLAYBACK: 'presign', RECORDING_S3_PRESIGN_TTL: '120', ...files.env } });
  });
  afterAll(async () => {
    await h.close();
    await files.close();
  });

  test("each file is stored with its content type, .pdf and .ogg as attachments (Scalelite's importer)", async () => {
    const { recordId } = await generateRecording({ spoolDir: h.config.recordings.spoolDir, meetingId: 'types-1', formats: ['presentation', 'podcast', 'notes'] });
    await eventually('the import', async () => (await h.lms.get('getRecordings', { meetingID: 'types-1' })).body.includes(recordId));
    expect(await files.headers('published', 'notes', recordId, 'notes.pdf')).toEqual({ contentType: 'application/pdf', contentDisposition: 'attachment' });
    expect(await files.headers('published', 'podcast', recordId, 'audio.ogg')).toEqual({ contentType: 'audio/ogg', contentDisposition: 'attachment' });
    expect(await files.headers('published', 'presentation', recordId, 'metadata.xml')).toEqual({ contentType: 'application/xml', contentDisposition: undefined });
    expect((await files.headers('published', 'presentation', recordId, 'shapes.svg')).contentType).toBe('image/svg+xml');
  });

  test('a resource answers 307 to a short-lived presigned URL on the bucket, which serves it; refusals stay 404', async () => {
    const { recordId } = await generateRecording({ spoolDir: h.config.recordings.spoolDir, meetingId: 'presign-1', formats: ['video', 'notes'] });
    await eventually('the import', async () => (await h.lms.get('getRecordings', { meetingID: 'presign-1' })).body.includes(recordId));
    const res = await get(`${h.balancer.url}/video/${recordId}/video-0.m4v`);
    expect(res.status).toBe(307);
    const location = String(res.headers.location);
    expect(location.startsWith(`${TEST_S3_ENDPOINT}/${files.bucket}/published/video/${recordId}/video-0.m4v?`)).toBe(true);
    const url = new URL(location);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    const media = await get(location);
    expect(media.status).toBe(200);
    expect(media.body.subarray(4, 8).toString('ascii')).toBe('ftyp');
    // a download format is presigned as an attachment
    const notes = await get(`${h.balancer.url}/notes/${recordId}/notes.pdf`);
    expect(notes.status).toBe(307);
    expect(new URL(String(notes.headers.location)).searchParams.get('response-content-disposition')).toBe('attachment');
    expect((await get(String(notes.headers.location))).headers['content-disposition']).toBe('attachment');
    // nothing is presigned for what is not there, or not published
    expect((await get(`${h.balancer.url}/video/${recordId}/nothing.m4v`)).status).toBe(404);
    await h.lms.get('publishRecordings', { recordID: recordId, publish: 'false' });
    expect((await get(`${h.balancer.url}/video/${recordId}/video-0.m4v`)).status).toBe(404);
  });
});

/*
 * The importer against a bucket with a log that fails when told to: the
 * upload is done and the event is not written, as when the importer dies in
 * between. The tarball stays, so the next scan imports the recording again,
 * whole.
 */
describe('an import interrupted between its upload and its event', () => {
  let sql: Sql;
  let log: SqlEventLog;
  let store: SqlRecordingStore;
  let files: TestStorage;
  let root: string;
  let dirs: RecordingDirs;
  let failAppends = 0;

  beforeAll(async () => {
    sql = await openPglite(null);
    await migrate(sql);
    log = new SqlEventLog(sql, 20);
    store = new SqlRecordingStore(sql, 2_000);
    files = await openTestStorage('s3', () => dirs);
    root = await fs.mkdtemp(join(tmpdir(), 'recording-s3-import-'));
    dirs = { spoolDir: join(root, 'spool'), workDir: join(root, 'work'), publishDir: join(root, 'published'), unpublishDir: join(root, 'unpublished') };
  });
  afterAll(async () => {
    await log.close();
    await sql.close();
    await files.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const projected: RecordingReader = {
    checkpoint: () => store.checkpoint(),
    async waitFor(offset: number, timeoutMs?: number) {
      for (let batch = await log.read((await store.checkpoint()) + 1, 100); batch.length > 0; batch = await log.read((await store.checkpoint()) + 1, 100)) await store.apply(batch);
      return store.waitFor(offset, timeoutMs);
    },
    recording: (id) => store.recording(id),
    recordings: (ids) => store.recordings(ids),
    query: (q) => store.query(q),
    count: (q) => store.count(q),
    callbacks: (meetingId) => store.callbacks(meetingId),
  };

  function importer(storage: RecordingStorage): RecordingImporter {
    // The real log, made to fail the next `failAppends` appends (the process "dies" there).
    const faulty = Object.create(log) as SqlEventLog;
    faulty.append = (events: DomainEvent[]) => (failAppends-- > 0 ? Promise.reject(new Error('the importer died here')) : log.append(events));
    const writeSide = new WriteSide<RecordingReader>({
      log: faulty,
      pool: projected,
      lock: new LocalDecisionLock(),
      clock: () => new Date(),
      newId: randomUUID,
      projectionTimeoutMs: 5_000,
    });
    return new RecordingImporter({
      dirs,
      storage,
      writeSide,
      logger: pino({ level: 'silent' }),
      settings: { importUnpublished: false, protectedEnabled: false, pollIntervalMs: 60_000, maxAttempts: 5 },
    });
  }

  const bucketStorage = () =>
    new S3RecordingStorage(
      s3Client({
        bucket: files.bucket!,
        region: 'us-east-1',
        endpoint: TEST_S3_ENDPOINT,
        forcePathStyle: true,
        credentials: { accessKeyId: TEST_S3_ACCESS_KEY, secretAccessKey: TEST_S3_SECRET_KEY },
      }),
      { bucket: files.bucket!, endpoint: TEST_S3_ENDPOINT },
    );
  const tarListing = (tarPath: string) =>
    execFileSync('tar', ['--list', '--file', tarPath], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.endsWith('/'))
      .map((l) => `published/${l.replace(/^\.\//, '')}`)
      .sort();
  const imported = async () => (await log.read(0, 10_000)).filter((s) => s.event.type === 'RecordingImported').length;

  test('given the log fails after the upload: nothing is listed, the tarball stays; the next scan imports it whole', async () => {
    const storage = bucketStorage();
    const { recordId, tarPath } = await generateRecording({ spoolDir: dirs.spoolDir, meetingId: 'crash-1' });
    const expected = tarListing(tarPath);
    failAppends = 1;
    const first = await importer(storage).scan();
    expect(first).toEqual([expect.objectContaining({ kind: 'deferred', reason: 'the importer died here' })]);
    expect(await imported()).toBe(0);
    expect(readFileSync(tarPath).length).toBeGreaterThan(0);
    // the work dir keeps nothing of the attempt
    expect((await fs.readdir(dirs.workDir)).filter((d) => d.startsWith('import-'))).toEqual([]);

    const second = await importer(storage).scan();
    expect(second).toEqual([expect.objectContaining({ kind: 'imported', recordId, published: true })]);
    expect(await imported()).toBe(1);
    await expect(fs.stat(tarPath)).rejects.toThrow(/ENOENT/);
    const stored = [];
    for (const format of ['presentation', 'video']) stored.push(...(await storage.listKeys(`published/${format}/${recordId}/`)));
    // S3Proxy's filesystem backend lists its directories as `…/` keys too: not files.
    expect(stored.filter((k) => !k.endsWith('/')).sort()).toEqual(expected);
    expect(await files.formats('unpublished')).toEqual([]);
  });

  test('probe: a usable bucket passes; a missing one, or wrong keys, are said plainly', async () => {
    await expect(bucketStorage().probe()).resolves.toBeUndefined();
    const other = (bucket: string, secretAccessKey: string) =>
      new S3RecordingStorage(
        s3Client({ bucket, region: 'us-east-1', endpoint: TEST_S3_ENDPOINT, forcePathStyle: true, credentials: { accessKeyId: TEST_S3_ACCESS_KEY, secretAccessKey } }),
        {
          bucket,
          endpoint: TEST_S3_ENDPOINT,
        },
      );
    await expect(other('no-such-bucket-here', TEST_S3_SECRET_KEY).probe()).rejects.toThrow(`bucket no-such-bucket-here at ${TEST_S3_ENDPOINT}: no such bucket`);
    await expect(other(files.bucket!, 'wrong-secret').probe()).rejects.toThrow(/access denied/);
  });

  test('given the decision went the other way while uploading: the staged copy ends on the decided side alone, stale files gone', async () => {
    const storage = bucketStorage();
    const tree = await fs.mkdtemp(join(tmpdir(), 'staged-format-'));
    try {
      await fs.mkdir(join(tree, 'audio'));
      await fs.writeFile(join(tree, 'metadata.xml'), '<recording/>');
      await fs.writeFile(join(tree, 'audio', 'audio.ogg'), 'OggS');
      // an earlier copy on both sides, with a file the new one does not have
      await storage.placeFormat(await storage.stageFormat('podcast', 'side-1', tree, false), false);
      await fs.writeFile(join(tree, 'old.txt'), 'stale');
      await storage.placeFormat(await storage.stageFormat('podcast', 'side-1', tree, true), true);
      await fs.rm(join(tree, 'old.txt'));
      const staged = await storage.stageFormat('podcast', 'side-1', tree, true);
      await storage.placeFormat(staged, false);
      const files = async (prefix: string) => (await storage.listKeys(prefix)).filter((k) => !k.endsWith('/')).sort();
      expect(await files('published/podcast/side-1/')).toEqual([]);
      expect(await files('unpublished/podcast/side-1/')).toEqual(['unpublished/podcast/side-1/audio/audio.ogg', 'unpublished/podcast/side-1/metadata.xml']);
      expect(await storage.locateFormats('side-1', ['podcast'])).toEqual([{ format: 'podcast', published: false, unpublished: true }]);
    } finally {
      await fs.rm(tree, { recursive: true, force: true });
    }
  });

  test('a publish copies ahead of the lock and removes nothing there; the move under the lock then only deletes the originals', async () => {
    const storage = bucketStorage();
    const tree = await fs.mkdtemp(join(tmpdir(), 'moved-format-'));
    try {
      await fs.mkdir(join(tree, 'slides'));
      await fs.writeFile(join(tree, 'metadata.xml'), '<recording/>');
      await fs.writeFile(join(tree, 'slides', 'slide-1.png'), 'png');
      await storage.placeFormat(await storage.stageFormat('presentation', 'move-1', tree, false), false);
      await storage.prepareMove('move-1', ['presentation'], true);
      expect(await storage.locateFormats('move-1', ['presentation'])).toEqual([{ format: 'presentation', published: true, unpublished: true }]);
      await storage.moveRecording('move-1', ['presentation'], true);
      const files = async (prefix: string) => (await storage.listKeys(prefix)).filter((k) => !k.endsWith('/')).sort();
      expect(await files('published/presentation/move-1/')).toEqual(['published/presentation/move-1/metadata.xml', 'published/presentation/move-1/slides/slide-1.png']);
      expect(await files('unpublished/presentation/move-1/')).toEqual([]);
      // a format with nothing on either side refuses the whole move, before anything moves
      await expect(storage.moveRecording('move-1', ['presentation', 'video'], false)).rejects.toThrow('no objects for format video of recording move-1');
      expect(await storage.locateFormats('move-1', ['presentation'])).toEqual([{ format: 'presentation', published: true, unpublished: false }]);
    } finally {
      await fs.rm(tree, { recursive: true, force: true });
    }
  });

  test('given the bucket fails halfway through the upload of a new recording: nothing of it is left in the bucket, and it is retried', async () => {
    const real = bucketStorage();
    let stages = 0;
    // The second format's upload fails, after the first format is in the bucket.
    const failing: RecordingStorage = Object.assign(Object.create(real) as RecordingStorage, {
      stageFormat: (format: string, recordId: string, dir: string, published: boolean) =>
        ++stages === 2 ? Promise.reject(new Error('connection reset by the bucket')) : real.stageFormat(format, recordId, dir, published),
    });
    const { recordId, tarPath } = await generateRecording({ spoolDir: dirs.spoolDir, meetingId: 'crash-2' });
    const result = await importer(failing).scan();
    expect(result).toEqual([expect.objectContaining({ kind: 'deferred', reason: 'connection reset by the bucket' })]);
    expect(stages).toBe(2);
    expect(await files.has('published', 'presentation', recordId)).toBe(false);
    expect(await files.has('published', 'video', recordId)).toBe(false);
    expect(readFileSync(tarPath).length).toBeGreaterThan(0);
    expect(await importer(real).scan()).toEqual([expect.objectContaining({ kind: 'imported', recordId })]);
    expect(await files.has('published', 'presentation', recordId)).toBe(true);
    expect(await files.has('published', 'video', recordId)).toBe(true);
  });
});
