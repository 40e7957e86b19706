import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { extractTarball, findFormatDirs } from '../../src/recordings/files';
import { combineFormats, parseMetadataXml, type ParsedMetadata } from '../../src/recordings/metadata';
import { generateRecording, startSimulator, type Simulator } from '../../src/sim';
import { parseCli } from '../../src/sim/main';
import { getXml, signedUrl } from './helpers';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sim-recordings-'));
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** What the balancer's importer would make of a spooled tarball. */
async function importView(tarPath: string) {
  const extracted = await extractTarball(tarPath, path.join(root, 'work'));
  const dirs = await findFormatDirs(extracted);
  const parts = dirs.map((d) => parseMetadataXml(d.metadataXml));
  for (const p of parts) if ('error' in p) throw new Error(p.error);
  const combined = combineFormats(parts as ParsedMetadata[]);
  if ('error' in combined) throw new Error(combined.error);
  return { extracted, dirs, parts: parts as ParsedMetadata[], ...combined };
}

const spoolEntries = async (spool: string) => (existsSync(spool) ? (await fs.readdir(spool)).sort() : []);

describe('generateRecording', () => {
  it('given a meeting, when a recording is generated, then the spool holds one tar that imports as presentation and video', async () => {
    const spool = path.join(root, 'spool');
    const { recordId, tarPath } = await generateRecording({
      spoolDir: spool,
      meetingId: 'room-42',
      meetingName: 'Physics & Chemistry',
      startTime: 1_700_000_000_000,
      durationMs: 125_000,
      participants: 7,
      metadata: { 'bbb-origin': 'Greenlight', 'bbb-context': 'Lecture 3', meetingId: 'must-not-override' },
    });

    expect(recordId).toBe(`${sha1('room-42')}-1700000000000`);
    expect(tarPath).toBe(path.join(spool, `${recordId}.tar`));
    expect(await spoolEntries(spool)).toEqual([`${recordId}.tar`]);

    const view = await importView(tarPath);
    expect(view.recording).toEqual({
      recordId,
      meetingId: 'room-42',
      name: 'Physics & Chemistry',
      published: true,
      state: 'published',
      startTime: 1_700_000_000_000,
      endTime: 1_700_000_125_000,
      participants: 7,
      metadata: { 'bbb-origin': 'Greenlight', 'bbb-context': 'Lecture 3' },
    });
    expect(view.formats.map((f) => [f.format, f.url, f.length])).toEqual([
      ['presentation', `/playback/presentation/2.3/${recordId}`, 2],
      ['video', `/playback/video/${recordId}/`, 2],
    ]);
    expect(view.formats.every((f) => typeof f.processingTime === 'number' && f.processingTime > 0)).toBe(true);
  });

  it('given a presentation, then its three thumbnails are real 176x136 PNGs at the paths the metadata names', async () => {
    const { recordId, tarPath } = await generateRecording({ spoolDir: path.join(root, 'spool'), meetingId: 'thumbs', host: 'bbb7.example.org' });
    const { extracted, formats } = await importView(tarPath);
    const presentation = formats.find((f) => f.format === 'presentation')!;

    expect(presentation.thumbnails).toHaveLength(3);
    for (const [i, t] of presentation.thumbnails.entries()) {
      expect(t).toMatchObject({ width: 176, height: 136, alt: expect.any(String) });
      expect(t.url).toMatch(new RegExp(`^/presentation/${recordId}/presentation/[0-9a-f]{40}-\\d+/thumbnails/thumb-${i + 1}\\.png$`));
      // The URL path mirrors the published dir layout: /<format>/<record_id>/<file>.
      const png = await fs.readFile(path.join(extracted, t.url));
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([176, 136]);
    }
  });

  it('given the default formats, then each carries the files a BBB player loads', async () => {
    const { recordId, tarPath } = await generateRecording({ spoolDir: path.join(root, 'spool'), meetingId: 'files' });
    const { extracted } = await importView(tarPath);
    const pres = path.join(extracted, 'presentation', recordId);
    for (const f of ['metadata.xml', 'shapes.svg', 'panzooms.xml', 'cursor.xml', 'deskshare.xml', 'captions.json', 'video/webcams.webm']) {
      expect(existsSync(path.join(pres, f))).toBe(true);
    }
    const deck = (await fs.readdir(path.join(pres, 'presentation')))[0]!;
    expect(existsSync(path.join(pres, 'presentation', deck, 'slide-1.png'))).toBe(true);
    expect(existsSync(path.join(extracted, 'video', recordId, 'video-0.m4v'))).toBe(true);
  });

  it('given published false and other formats, then the metadata says unpublished and lists those formats', async () => {
    const { tarPath } = await generateRecording({
      spoolDir: path.join(root, 'spool'),
      meetingId: 'quiet',
      recordId: 'custom-id-1',
      published: false,
      formats: ['podcast', 'screenshare'],
    });
    const { recording, formats } = await importView(tarPath);

    expect(recording).toMatchObject({ recordId: 'custom-id-1', published: false, state: 'unpublished' });
    expect(formats.map((f) => f.format)).toEqual(['podcast', 'screenshare']);
  });

  it('given an unusable record id, then it rejects and leaves nothing in the spool', async () => {
    const spool = path.join(root, 'spool');
    await expect(generateRecording({ spoolDir: spool, meetingId: 'm', recordId: '../escape' })).rejects.toThrow(/record id/);
    expect(await spoolEntries(spool)).toEqual([]);
  });
});

describe('simulator recordings', () => {
  let sim: Simulator;
  let spool: string;
  const control = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${sim.controlUrl}${p}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const create = async (params: Record<string, string>) => {
    const s = sim.servers[0]!;
    const { xml } = await getXml(signedUrl(s.url, 'create', { name: 'Recorded', ...params }, s.secret));
    expect(xml.returncode).toBe('SUCCESS');
    return xml.internalMeetingID as string;
  };

  beforeEach(async () => {
    spool = path.join(root, 'spool');
    sim = await startSimulator({ servers: 1, recordingSpoolDir: spool });
  });
  afterEach(() => sim.close());

  it("given a meeting created with record=true, when BBB's end is called, then its recording arrives in the spool under the internal meeting id", async () => {
    const internalId = await create({ meetingID: 'rec-1', record: 'true', 'meta_bbb-origin': 'Moodle', 'meta_bbb-context-id': '0042' });
    await control('POST', '/servers/0/meetings/rec-1/participants', { count: 3 });
    await control('DELETE', '/servers/0/meetings/rec-1/participants', { count: 1 });
    const s = sim.servers[0]!;

    await getXml(signedUrl(s.url, 'end', { meetingID: 'rec-1' }, s.secret));
    await sim.recordingsSettled();

    expect(await spoolEntries(spool)).toEqual([`${internalId}.tar`]);
    const { recording, formats } = await importView(path.join(spool, `${internalId}.tar`));
    expect(recording).toMatchObject({ recordId: internalId, meetingId: 'rec-1', name: 'Recorded', participants: 3, published: true });
    expect(recording.metadata).toEqual({ 'bbb-origin': 'Moodle', 'bbb-context-id': '0042' });
    expect(formats[0]!.url).toBe(`/playback/presentation/2.3/${internalId}`);
  });

  it('given meetings with and without record=true, when ended through the control API, then only the recorded one is delivered', async () => {
    const recorded = await create({ meetingID: 'rec-2', record: 'true' });
    await create({ meetingID: 'plain', record: 'false' });

    await control('POST', '/servers/0/meetings/rec-2/end');
    await control('POST', '/servers/0/meetings/plain/end');
    await sim.recordingsSettled();

    expect(await spoolEntries(spool)).toEqual([`${recorded}.tar`]);
    const listed = await control('GET', '/recordings');
    expect(listed.json).toMatchObject({ spoolDir: spool, recordings: [{ recordId: recorded, meetingId: 'rec-2' }], failures: [] });
  });

  it("given a running meeting, when POST /recordings names it, then the recording uses its ids and the request's overrides", async () => {
    const internalId = await create({ meetingID: 'live', record: 'true', meta_course: 'physics' });

    const { status, json } = await control('POST', '/recordings', { meetingId: 'live', formats: ['video'], published: false });

    expect(status).toBe(200);
    expect(json).toEqual({ recordId: internalId, tarPath: path.join(spool, `${internalId}.tar`) });
    const { recording, formats } = await importView(json.tarPath);
    expect(recording).toMatchObject({ meetingId: 'live', published: false, metadata: { course: 'physics' } });
    expect(formats.map((f) => f.format)).toEqual(['video']);
  });

  it('given a meeting the simulator never saw, when POST /sim/recordings, then a BBB-like recording is made from the request alone', async () => {
    const { status, json } = await control('POST', '/sim/recordings', { meetingId: 'archive-7', startTime: 1_600_000_000_000 });

    expect(status).toBe(200);
    expect(json.recordId).toBe(`${sha1('archive-7')}-1600000000000`);
  });

  it('given a bad request, then 400 with the reason', async () => {
    const { status, json } = await control('POST', '/recordings', { meetingId: 'x', recordId: '../../etc' });
    expect(status).toBe(400);
    expect(json.error).toMatch(/recordId/);
  });
});

describe('simulator without a spool dir', () => {
  it('given no recordingSpoolDir, then the recordings routes answer 409 and ending a recorded meeting delivers nothing', async () => {
    const sim = await startSimulator({ servers: 1 });
    try {
      const res = await fetch(`${sim.controlUrl}/recordings`, { method: 'POST', body: JSON.stringify({ meetingId: 'x' }) });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: string }).error).toMatch(/recordingSpoolDir/);
      expect(sim.recordingSpoolDir).toBeUndefined();
      await expect(sim.recordingsSettled()).resolves.toBeUndefined();
    } finally {
      await sim.close();
    }
  });
});

describe('sim CLI', () => {
  it('given --recording-spool-dir or SIM_RECORDING_SPOOL_DIR, then the option is set; the flag wins', () => {
    expect(parseCli(['--recording-spool-dir', '/spool'], {}).recordingSpoolDir).toBe('/spool');
    expect(parseCli([], { SIM_RECORDING_SPOOL_DIR: '/env-spool' }).recordingSpoolDir).toBe('/env-spool');
    expect(parseCli(['--recording-spool-dir', '/flag'], { SIM_RECORDING_SPOOL_DIR: '/env' }).recordingSpoolDir).toBe('/flag');
    expect(parseCli([], {}).recordingSpoolDir).toBeUndefined();
  });
});
