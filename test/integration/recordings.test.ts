import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { verifyJwt } from '../../src/infra/jwt';
import { generateRecording } from '../../src/sim/recordings';
import { tag, tags } from '../support/bbb-client';
import { eventually } from '../support/eventually';
import { startReceiver } from '../support/receiver';
import { BACKENDS, Harness, startHarness, TEST_SECRET } from '../support/harness';
import { openTestStorage, STORAGES, TestStorage } from '../support/storage';

/*
 * Recordings end to end on both backends and both storages (the publish dirs,
 * an S3 bucket on S3Proxy): a tarball the simulator produced, dropped in the
 * spool dir, becomes a recording the BBB API lists and plays; it can be
 * unpublished, published, updated and deleted, and all of it survives a
 * restart and a rebuild.
 */

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
}

const MATRIX = BACKENDS.flatMap((backend) => STORAGES.map((storage) => [backend, storage] as const));

describe.each(MATRIX)('recordings (%s backends, %s storage)', (backend, storageKind) => {
  let h: Harness;
  let files: TestStorage;
  let recordId: string;
  const spool = () => h.config.recordings.spoolDir;

  beforeAll(async () => {
    files = await openTestStorage(storageKind, () => h.config.recordings);
    h = await startHarness({ backend, servers: 1, env: { RECORDING_IMPORT_POLL_INTERVAL: '0.2', ...files.env } });
  });
  afterAll(async () => {
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
    await files.close();
  });

  const listed = async (params: Record<string, string>) => (await h.lms.get('getRecordings', params)).body;

  test('given a tarball in the spool dir, then getRecordings lists it with working playback URLs', async () => {
    const produced = await generateRecording({
      spoolDir: spool(),
      meetingId: 'history-101',
      meetingName: 'History 101 & more',
      metadata: { 'bbb-origin': 'Moodle', 'bbb-context': 'History' },
      participants: 7,
    });
    recordId = produced.recordId;
    const body = await eventually('the import', async () => {
      const xml = await listed({ meetingID: 'history-101' });
      return xml.includes(recordId) ? xml : null;
    });
    expect(existsSync(produced.tarPath)).toBe(false);
    expect(tag(body, 'returncode')).toBe('SUCCESS');
    expect(body.startsWith('<response>')).toBe(true);
    expect(tag(body, 'recordID')).toBe(recordId);
    expect(tag(body, 'internalMeetingID')).toBe(recordId);
    expect(tag(body, 'meetingID')).toBe('history-101');
    expect(tag(body, 'name')).toBe('History 101 &amp; more');
    expect(tag(body, 'published')).toBe('true');
    expect(tag(body, 'state')).toBe('published');
    expect(tag(body, 'participants')).toBe('7');
    expect(tag(body, 'protected')).toBeUndefined();
    expect(tag(body, 'bbb-origin')).toBe('Moodle');
    expect(body).not.toContain('<meetingName>');
    expect(tags(body, 'type')).toEqual(['presentation', 'video']);
    const urls = tags(body, 'url');
    expect(urls[0]).toBe(`${h.balancer.url}/playback/presentation/2.3/${recordId}`);
    const images = [...body.matchAll(/<image alt="[^"]*" width="\d*" height="\d*">([^<]+)<\/image>/g)].map((m) => m[1]);
    expect(images.length).toBeGreaterThan(0);

    // the player page, a resource and a thumbnail are served by the balancer itself
    expect((await get(urls[0])).status).toBe(200);
    const thumb = await get(images[0]);
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toContain('image/png');
    const metadataFile = await get(`${h.balancer.url}/presentation/${recordId}/metadata.xml`);
    expect(metadataFile.status).toBe(200);
    expect(metadataFile.text).toContain(recordId);
  });

  test('getRecordings filters: recordID prefix, state, meta_ (OR), and offset/limit with BBB errors', async () => {
    expect(await listed({ recordID: recordId.slice(0, 8) })).toContain(recordId);
    expect(await listed({ recordID: `x${recordId.slice(0, 8)}` })).toContain('<messageKey>noRecordings</messageKey>');
    expect(await listed({ meetingID: 'history-101', state: 'unpublished' })).toContain('noRecordings');
    expect(await listed({ meetingID: 'history-101', state: 'any' })).toContain(recordId);
    expect(await listed({ 'meta_bbb-origin': 'Greenlight,Moodle' })).toContain(recordId);
    expect(await listed({ 'meta_bbb-origin': 'Greenlight', 'meta_bbb-context': 'History' })).toContain(recordId);
    expect(await listed({ 'meta_bbb-origin': 'Greenlight' })).toContain('noRecordings');
    expect(await listed({ limit: '1', offset: '0' })).toContain(recordId);
    expect(await listed({ limit: '1', offset: '1' })).toContain('noRecordings');
    expect(tag(await listed({ limit: '0' }), 'messageKey')).toBe('invalidParamLimit');
    expect(tag(await listed({ offset: '-1' }), 'messageKey')).toBe('invalidParamOffset');
  });

  test('a resource is served in byte ranges, and an unsatisfiable range is refused', async () => {
    const url = `${h.balancer.url}/presentation/${recordId}/metadata.xml`;
    const whole = await get(url);
    expect(whole.status).toBe(200);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    const part = await get(url, { range: 'bytes=5-14' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 5-14/${whole.body.length}`);
    expect(part.body).toEqual(whole.body.subarray(5, 15));
    expect((await get(url, { range: `bytes=${whole.body.length + 10}-` })).status).toBe(416);
    // nothing climbs out of the recording
    expect((await get(`${h.balancer.url}/presentation/${recordId}/..%2F..%2Fvideo/${recordId}/video-0.m4v`)).status).toBe(404);
  });

  test('a recording, or a dir in it, is its index.html', async () => {
    const { recordId: captured } = await generateRecording({ spoolDir: spool(), meetingId: 'capture-1', formats: ['capture'] });
    await eventually('the import', async () => (await listed({ meetingID: 'capture-1' })).includes(captured));
    for (const path of [`/capture/${captured}`, `/capture/${captured}/`, `/capture/${captured}/index.html`]) {
      const page = await get(`${h.balancer.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('<title>recording</title>');
    }
    expect((await get(`${h.balancer.url}/capture/${captured}/missing/`)).status).toBe(404);
    await h.lms.get('deleteRecordings', { recordID: captured });
  });

  test('when unpublished, then the files move to the unpublish dir and playback is refused; published again, it plays', async () => {
    const resource = `${h.balancer.url}/presentation/${recordId}/metadata.xml`;
    const res = await h.lms.get('publishRecordings', { recordID: recordId, publish: 'false' });
    expect(res.body).toBe('<response><returncode>SUCCESS</returncode><published>false</published></response>');
    const body = await listed({ meetingID: 'history-101' });
    expect(tag(body, 'published')).toBe('false');
    expect(tag(body, 'state')).toBe('unpublished');
    expect(await files.has('unpublished', 'presentation', recordId)).toBe(true);
    expect(await files.has('published', 'presentation', recordId)).toBe(false);
    const refused = await get(resource);
    expect(refused.status).toBe(404);
    expect(refused.text).toContain('Recording Not Found');

    expect((await h.lms.get('publishRecordings', { recordID: recordId, publish: 'TRUE' })).body).toContain('<published>true</published>');
    expect((await get(resource)).status).toBe(200);
    expect(await files.has('unpublished', 'presentation', recordId)).toBe(false);
    expect(await files.has('published', 'presentation', recordId)).toBe(true);
  });

  test('publish and delete errors are BBB errors', async () => {
    expect(tag((await h.lms.get('publishRecordings', { publish: 'true' })).body, 'messageKey')).toBe('missingParamRecordID');
    expect(tag((await h.lms.get('publishRecordings', { recordID: recordId })).body, 'messageKey')).toBe('missingParamPublish');
    expect(tag((await h.lms.get('publishRecordings', { recordID: 'nope', publish: 'true' })).body, 'messageKey')).toBe('notFound');
    expect(tag((await h.lms.get('deleteRecordings', { recordID: 'nope' })).body, 'messageKey')).toBe('notFound');
    expect(tag((await h.lms.get('updateRecordings', {})).body, 'messageKey')).toBe('missingParamRecordID');
    // a bad checksum is refused before anything
    const bad = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/getRecordings?meetingID=x&checksum=${'0'.repeat(40)}`);
    expect(tag(bad.body, 'messageKey')).toBe('checksumError');
  });

  test('updateRecordings sets and removes metadata (keys lowercased); an unknown id changes nothing', async () => {
    expect((await h.lms.get('updateRecordings', { recordID: recordId, 'meta_Course-Code': 'HIS101' })).body).toBe(
      '<response><returncode>SUCCESS</returncode><updated>true</updated></response>',
    );
    expect(tag(await listed({ meetingID: 'history-101' }), 'course-code')).toBe('HIS101');
    expect(await listed({ 'meta_course-code': 'HIS101' })).toContain(recordId);
    expect((await h.lms.get('updateRecordings', { recordID: `${recordId},unknown`, 'meta_course-code': 'X' })).body).toContain('<updated>false</updated>');
    expect(tag(await listed({ meetingID: 'history-101' }), 'course-code')).toBe('HIS101');
    await h.lms.get('updateRecordings', { recordID: recordId, 'meta_course-code': '' });
    expect(tag(await listed({ meetingID: 'history-101' }), 'course-code')).toBeUndefined();
  });

  test('a protected recording plays through a one-time token that sets the access cookie', async () => {
    await h.lms.get('updateRecordings', { recordID: recordId, protect: 'true' });
    const body = await listed({ meetingID: 'history-101' });
    const url = tags(body, 'url')[0];
    expect(url).toMatch(new RegExp(`^${h.balancer.url}/recording/${recordId}/presentation\\?token=[0-9a-f]{64}$`));
    expect(body).not.toContain('<preview>');
    const res = await request(url);
    await res.body.dump();
    expect(res.statusCode).toBe(307);
    expect(res.headers.location).toBe(`/playback/presentation/2.3/${recordId}`);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toContain(`recording_presentation_${recordId}=`);
    expect(cookie).toContain(`Path=/presentation/${recordId}`);
    // the token works once
    expect((await get(url)).status).toBe(404);
    await h.lms.get('updateRecordings', { recordID: recordId, protect: 'false' });
    expect(tags(await listed({ meetingID: 'history-101' }), 'url')[0]).toBe(`${h.balancer.url}/playback/presentation/2.3/${recordId}`);
  });

  test('a bad tarball goes to failed/ with its reason and is not retried', async () => {
    writeFileSync(join(spool(), 'broken-recording.tar'), 'this is not a tar file');
    const failedDir = join(spool(), 'failed');
    await eventually('the failed import', async () => existsSync(join(failedDir, 'broken-recording.tar')));
    expect(existsSync(join(spool(), 'broken-recording.tar'))).toBe(false);
    const reason = readdirSync(failedDir).find((f) => f.startsWith('broken-recording.tar') && f.endsWith('.reason.txt'));
    expect(reason).toBeDefined();
    expect(readFileSync(join(failedDir, reason!), 'utf8').length).toBeGreaterThan(0);
    const status = await h.admin.call<{ failed: string[]; recent: Array<{ type: string }> }>('getImporterStatus', 'GET');
    expect(status.failed).toContain('broken-recording.tar');
    expect(status.recent.some((e) => e.type === 'RecordingImportFailed')).toBe(true);
  });

  test('a tarball with a link into another recording is parked with its reason, and nothing of it is listed or served', async () => {
    // Built outside the spool (tampered with, then renamed in), as an attacker with spool access would.
    const build = mkdtempSync(join(tmpdir(), 'crafted-recording-'));
    try {
      const { recordId: crafted, tarPath } = await generateRecording({ spoolDir: build, meetingId: 'crafted-1' });
      const tree = join(build, 'tree');
      mkdirSync(tree);
      execFileSync('tar', ['--extract', '--file', tarPath, '--directory', tree]);
      symlinkSync(`../${recordId}/video-0.m4v`, join(tree, 'video', crafted, 'stolen.m4v'));
      const partial = join(spool(), `.${crafted}.tar.partial`);
      execFileSync('tar', ['--create', '--file', partial, '--directory', tree, 'presentation', 'video']);
      renameSync(partial, join(spool(), `${crafted}.tar`));

      const failedDir = join(spool(), 'failed');
      await eventually('the refused import', async () => existsSync(join(failedDir, `${crafted}.tar.reason.txt`)) && existsSync(join(failedDir, `${crafted}.tar`)));
      expect(readFileSync(join(failedDir, `${crafted}.tar.reason.txt`), 'utf8')).toContain(
        `symlink video/${crafted}/stolen.m4v points outside its recording (../${recordId}/video-0.m4v)`,
      );
      expect(await files.has('published', 'video', crafted)).toBe(false);
      expect(await files.has('unpublished', 'video', crafted)).toBe(false);
      expect(tag(await listed({ meetingID: 'crafted-1' }), 'messageKey')).toBe('noRecordings');
      expect((await get(`${h.balancer.url}/video/${crafted}/stolen.m4v`)).status).toBe(404);
      const { events } = await h.admin.call<{ events: Array<{ data: { source: string; reason: string } }> }>('getEvents', 'GET', { type: 'RecordingImportFailed' });
      expect(events.find((e) => e.data.source === `${crafted}.tar`)?.data.reason).toContain('points outside its recording');
    } finally {
      rmSync(build, { recursive: true, force: true });
    }
  });

  test('the recording-ready callback a create registered is called, signed with the balancer secret', async () => {
    const receiver = await startReceiver();
    const calls = receiver.requests;
    try {
      const created = await h.lms.get('create', { meetingID: 'biology-7', name: 'Biology', record: 'true', 'meta_bbb-recording-ready-url': receiver.url('/ready') });
      expect(tag(created.body, 'returncode')).toBe('SUCCESS');
      // BBB does not see the URL: the balancer calls it
      const onServer = h.sim.servers[0].meetings().find((m) => m.meetingID === 'biology-7');
      expect(JSON.stringify(onServer)).not.toContain('/ready');
      const { recordId: biology } = await generateRecording({ spoolDir: spool(), meetingId: 'biology-7' });
      await eventually('the callback', async () => calls.length > 0);
      const jwt = new URLSearchParams(calls[0].body).get('signed_parameters')!;
      const verified = verifyJwt(jwt, TEST_SECRET, { algorithms: ['HS256'] });
      expect(verified).toMatchObject({ ok: true, payload: { meeting_id: 'biology-7', record_id: biology } });
      await eventually('the notification event', async () => {
        const { events } = await h.admin.call<{ events: Array<{ type: string; data: { outcome: string } }> }>('getEvents', 'GET', { type: 'RecordingReadyNotified' });
        return events.some((e) => e.data.outcome === 'delivered');
      });
    } finally {
      receiver.close();
    }
  });

  test('a recording-ready callback still owed when the balancer stops is sent at the next start', async () => {
    let answer = 503;
    const receiver = await startReceiver(() => answer);
    const calls = receiver.requests;
    try {
      await h.lms.get('create', { meetingID: 'geology-2', name: 'Geology', record: 'true', 'meta_bn-recording-ready-url': receiver.url('/ready') });
      const { recordId: geology } = await generateRecording({ spoolDir: spool(), meetingId: 'geology-2' });
      // the LMS is down: the first try fails, and the balancer stops while it waits to retry
      await eventually('the first try', async () => calls.length > 0);
      await h.restart();
      answer = 200;
      await eventually('the resumed callback', async () => calls.length > 1);
      expect(new URLSearchParams(calls[calls.length - 1].body).get('signed_parameters')).toBeTruthy();
      const notified = await eventually('the notification event', async () => {
        const { events } = await h.admin.call<{ events: Array<{ data: { recordId: string; outcome: string } }> }>('getEvents', 'GET', { type: 'RecordingReadyNotified' });
        const ours = events.filter((e) => e.data.recordId === geology);
        return ours.length > 0 ? ours : null;
      });
      expect(notified.map((e) => e.data.outcome)).toEqual(['delivered']);
    } finally {
      receiver.close();
    }
  });

  test('when deleted, then the published and unpublished copies are gone and it is listed only as deleted', async () => {
    const { recordId: other } = await generateRecording({ spoolDir: spool(), meetingId: 'chemistry-3' });
    await eventually('the import', async () => (await listed({ meetingID: 'chemistry-3' })).includes(other));
    await h.lms.get('publishRecordings', { recordID: other, publish: 'false' });
    expect((await h.lms.get('deleteRecordings', { recordID: other })).body).toBe('<response><returncode>SUCCESS</returncode><deleted>true</deleted></response>');
    for (const side of ['published', 'unpublished'] as const) {
      for (const format of await files.formats(side)) expect(await files.has(side, format, other)).toBe(false);
    }
    expect(await listed({ meetingID: 'chemistry-3' })).toContain('noRecordings');
    const deleted = await listed({ meetingID: 'chemistry-3', state: 'deleted' });
    expect(tag(deleted, 'state')).toBe('deleted');
    expect(deleted).toContain('<playback></playback>');
    // its whole story, from the audit history
    const story = await h.admin.call<{ events: Array<{ type: string }> }>('getEvents', 'GET', { record: other, order: 'asc' });
    expect(story.events.map((e) => e.type)).toEqual(['RecordingImported', 'RecordingUnpublished', 'RecordingDeleted']);
  });

  test('purgeRecordings: a dry run lists what is older; the purge deletes both copies, each as an event that says why', async () => {
    const yearsAgo = Date.now() - 800 * 86_400_000;
    const old = await generateRecording({ spoolDir: spool(), meetingId: 'archive-1', startTime: yearsAgo });
    const older = await generateRecording({ spoolDir: spool(), meetingId: 'archive-1', startTime: yearsAgo - 86_400_000 });
    await eventually('the imports', async () => (await listed({ meetingID: 'archive-1' })).split('<recording>').length === 3);
    await h.lms.get('publishRecordings', { recordID: older.recordId, publish: 'false' });

    type Purged = { dry_run: boolean; total: number; recordings: Array<{ record_id: string }> };
    await expect(h.admin.stream('purgeRecordings', { older_than: 'soon' }, () => undefined)).rejects.toThrow(/'soon' is not an age/);
    await expect(h.admin.stream('purgeRecordings', { older_than: '1y', before: '2020-01-01' }, () => undefined)).rejects.toThrow(/one of them/);
    await expect(h.admin.stream('purgeRecordings', { older_than: '1y', state: 'deleted' }, () => undefined)).rejects.toThrow(/cannot be purged/);
    const dry = await h.admin.stream<Purged>('purgeRecordings', { older_than: '2y', dry_run: 'true' }, () => undefined);
    expect(dry).toMatchObject({ dry_run: true, total: 2 });
    expect(dry.recordings.map((r) => r.record_id).sort()).toEqual([old.recordId, older.recordId].sort());
    expect((await h.admin.stream<Purged>('purgeRecordings', { older_than: '2y', state: 'unpublished', dry_run: 'true' }, () => undefined)).total).toBe(1);

    const progress: unknown[] = [];
    const purged = await h.admin.stream<Purged>('purgeRecordings', { older_than: '2y' }, (line) => progress.push(line.progress));
    expect(purged).toMatchObject({ dry_run: false, total: 2 });
    expect(progress).toEqual([{ deleted: 2 }]);
    for (const side of ['published', 'unpublished'] as const) {
      for (const format of await files.formats(side)) for (const id of [old.recordId, older.recordId]) expect(await files.has(side, format, id)).toBe(false);
    }
    expect(await listed({ meetingID: 'archive-1' })).toContain('noRecordings');
    // the newer recordings are untouched
    expect(await listed({ meetingID: 'history-101' })).toContain(recordId);
    const { events } = await h.admin.call<{ events: Array<{ actor: { name: string }; data: { recordId: string; reason: string } }> }>('getEvents', 'GET', {
      type: 'RecordingDeleted',
      limit: '10',
    });
    const byPurge = events.filter((e) => e.data.reason === 'purge: older than 2y');
    expect(byPurge.map((e) => e.data.recordId).sort()).toEqual([old.recordId, older.recordId].sort());
    expect(byPurge.every((e) => e.actor.name === 'test-admin')).toBe(true);
    expect((await h.admin.stream<Purged>('purgeRecordings', { older_than: '2y' }, () => undefined)).total).toBe(0);
  });

  test("repairRecordingFiles puts files where the index says, removes a deleted recording's leftovers and lists missing files", async () => {
    // a published recording whose presentation sits in the unpublished tree (a copy from another Scalelite, say)
    await files.move('presentation', recordId, 'published', 'unpublished');
    expect((await get(`${h.balancer.url}/presentation/${recordId}/metadata.xml`)).status).toBe(404);
    // a deleted recording's files restored from a backup
    const { recordId: deleted } = await generateRecording({ spoolDir: spool(), meetingId: 'restored-1' });
    await eventually('the import', async () => (await listed({ meetingID: 'restored-1' })).includes(deleted));
    const restore = await files.backup('published', 'video', deleted);
    await h.lms.get('deleteRecordings', { recordID: deleted });
    expect(await files.has('published', 'video', deleted)).toBe(false);
    await restore();
    // a recording whose video is gone
    const { recordId: lost } = await generateRecording({ spoolDir: spool(), meetingId: 'lost-1' });
    await eventually('the import', async () => (await listed({ meetingID: 'lost-1' })).includes(lost));
    await files.remove('published', 'video', lost);

    const progress: unknown[] = [];
    const result = await h.admin.stream<{
      checked: number;
      moved: number;
      removed: number;
      missing: number;
      moved_ids: string[];
      removed_ids: string[];
      missing_formats: unknown[];
    }>('repairRecordingFiles', {}, (line) => progress.push(line.progress));
    expect(result).toMatchObject({ moved: 1, removed: 1, missing: 1, moved_ids: [recordId], removed_ids: [deleted], missing_formats: [{ record_id: lost, formats: ['video'] }] });
    expect(result.checked).toBe((await h.admin.call<{ total: number }>('getRecordingList', 'GET', { state: 'any' })).total);
    expect(progress.length).toBeGreaterThan(0);
    expect(await files.has('published', 'presentation', recordId)).toBe(true);
    expect(await files.has('unpublished', 'presentation', recordId)).toBe(false);
    expect((await get(`${h.balancer.url}/presentation/${recordId}/metadata.xml`)).status).toBe(200);
    expect(await files.has('published', 'video', deleted)).toBe(false);
    // a second run finds nothing more to do but the loss
    expect(await h.admin.stream('repairRecordingFiles', {}, () => undefined)).toMatchObject({ moved: 0, removed: 0, missing: 1 });
  });

  test('a rebuild reports recordings whose rows differ from the log, and puts them right', async () => {
    const sql = h.balancer.backends.sql;
    await sql.query(`update recordings set name = 'tampered' where record_id = $1`, [recordId]);
    await sql.query(
      `insert into recordings (record_id, meeting_id, name, published, protected, state, imported_at, updated_at) values ('stray-1', 'nowhere', 'Stray', true, false, 'published', now(), now())`,
    );
    const rebuilt = await h.rebuild();
    expect(rebuilt.equal).toBe(false);
    expect(rebuilt.differences).toEqual(expect.arrayContaining([`recording ${recordId}: differed from the log`, 'recording stray-1: differed from the log']));
    expect(tag(await listed({ recordID: recordId }), 'name')).toBe('History 101 &amp; more');
    expect(await listed({ meetingID: 'nowhere' })).toContain('noRecordings');
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
  });

  test('everything survives a restart and a rebuild', async () => {
    const before = await listed({ state: 'any' });
    await h.restart();
    const after = await listed({ state: 'any' });
    expect(after.replace(/token=[0-9a-f]+/g, '')).toBe(before.replace(/token=[0-9a-f]+/g, ''));
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    expect(await listed({ meetingID: 'history-101' })).toContain(recordId);
  });
});

describe.each(STORAGES)('recording retention (RECORDING_RETENTION_DAYS, %s storage)', (storageKind) => {
  let h: Harness;
  let files: TestStorage;
  beforeAll(async () => {
    files = await openTestStorage(storageKind, () => h.config.recordings);
    h = await startHarness({
      servers: 1,
      env: { RECORDING_IMPORT_POLL_INTERVAL: '0.2', RECORDING_RETENTION_DAYS: '30', RECORDING_RETENTION_CHECK_INTERVAL: '0.2', ...files.env },
    });
  });
  afterAll(async () => {
    expect(await h.rebuild()).toMatchObject({ equal: true, differences: [] });
    await h.close();
    await files.close();
  });

  test('the active importer deletes what is past the retention period, as the importer, and keeps the rest', async () => {
    const spool = h.config.recordings.spoolDir;
    const recent = await generateRecording({ spoolDir: spool, meetingId: 'this-term', startTime: Date.now() - 29 * 86_400_000 });
    const expired = await generateRecording({ spoolDir: spool, meetingId: 'last-year', startTime: Date.now() - 31 * 86_400_000 });
    const deleted = await eventually('the retention pass', async () => {
      const { events } = await h.admin.call<{ events: Array<{ actor: { kind: string; name: string }; data: { recordId: string; reason: string } }> }>('getEvents', 'GET', {
        type: 'RecordingDeleted',
      });
      return events.length > 0 ? events : null;
    });
    expect(deleted).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ kind: 'importer', name: 'retention' }),
        data: { recordId: expired.recordId, reason: 'retention: older than 30 days (RECORDING_RETENTION_DAYS)' },
      }),
    ]);
    expect(tag((await h.lms.get('getRecordings', { meetingID: 'last-year' })).body, 'messageKey')).toBe('noRecordings');
    for (const format of ['presentation', 'video']) expect(await files.has('published', format, expired.recordId)).toBe(false);
    await eventually('the recent import', async () => (await h.lms.get('getRecordings', { meetingID: 'this-term' })).body.includes(recent.recordId));
    // a later pass leaves it alone
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.lms.get('getRecordings', { meetingID: 'this-term' })).body).toContain(recent.recordId);
  });
});

describe('recordings disabled', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ servers: 1, env: { RECORDING_DISABLED: 'true' } });
  });
  afterAll(() => h.close());

  test('getRecordings answers none without a checksum; the others notFound; playback is not mounted', async () => {
    const list = await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/getRecordings`);
    expect(tag(list.body, 'messageKey')).toBe('noRecordings');
    for (const action of ['publishRecordings', 'updateRecordings', 'deleteRecordings']) {
      expect(tag((await h.lms.raw(`${h.balancer.url}/bigbluebutton/api/${action}?recordID=x`)).body, 'messageKey')).toBe('notFound');
    }
    expect(tag((await get(`${h.balancer.url}/presentation/some-id/slides.svg`)).text, 'messageKey')).toBe('unsupportedRequest');
  });
});

describe.each(STORAGES)('protected recordings (PROTECTED_RECORDINGS_ENABLED, %s storage)', (storageKind) => {
  let h: Harness;
  let files: TestStorage;
  beforeAll(async () => {
    files = await openTestStorage(storageKind, () => h.config.recordings);
    h = await startHarness({ servers: 1, env: { RECORDING_IMPORT_POLL_INTERVAL: '0.2', PROTECTED_RECORDINGS_ENABLED: 'true', SECRET_KEY_BASE: 'test-key-base', ...files.env } });
  });
  afterAll(async () => {
    await h.close();
    await files.close();
  });

  test('an import is protected; its resources need the cookie the one-time token sets', async () => {
    const { recordId } = await generateRecording({ spoolDir: h.config.recordings.spoolDir, meetingId: 'secret-1' });
    const body = await eventually('the import', async () => {
      const xml = (await h.lms.get('getRecordings', { meetingID: 'secret-1' })).body;
      return xml.includes(recordId) ? xml : null;
    });
    expect(tag(body, 'protected')).toBe('true');
    const resource = `${h.balancer.url}/presentation/${recordId}/metadata.xml`;
    expect((await get(resource)).status).toBe(404);
    const entry = await request(tags(body, 'url')[0]);
    await entry.body.dump();
    expect(entry.statusCode).toBe(307);
    const cookie = String(entry.headers['set-cookie']).split(';')[0];
    expect((await get(resource, { cookie })).status).toBe(200);
    // a cookie for another recording or format opens nothing
    expect((await get(`${h.balancer.url}/video/${recordId}/video-0.m4v`, { cookie })).status).toBe(404);
    expect((await get(resource, { cookie: cookie.replace(/=.*/, '=forged') })).status).toBe(404);
  });
});
