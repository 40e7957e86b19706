import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRecording } from '../../src/sim/recordings';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { baseEnv, cli as run, CliResult, cliJson as runJson, freePort, ScaleliteProcess } from '../support/processes';

/*
 * The recording commands as an admin uses them, against `scalelite start` as a
 * process: import a tarball by hand, watch the importer, list, attach to a tenant.
 */

describe('recordings CLI (embedded)', () => {
  let dataDir: string;
  let outside: string;
  let env: NodeJS.ProcessEnv;
  let balancer: ScaleliteProcess;
  const cli = (...args: string[]): Promise<CliResult> => run(env, ...args);
  const cliJson = <T>(...args: string[]): Promise<T> => runJson<T>(env, ...args);

  beforeAll(async () => {
    dataDir = await freshDataDir();
    outside = mkdtempSync(join(tmpdir(), 'recordings-cli-'));
    const port = await freePort();
    env = baseEnv({ DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', LOADBALANCER_SECRET: 'rec-cli-secret', RECORDING_IMPORT_POLL_INTERVAL: '0.2' });
    balancer = new ScaleliteProcess('start', ['start'], env);
    await balancer.waitHealthy(`http://127.0.0.1:${port}`);
  }, 90_000);

  afterAll(async () => {
    await balancer?.stop('SIGTERM');
    removeDataDir(dataDir);
    rmSync(outside, { recursive: true, force: true });
  });

  test('recordings:import imports a tarball now and leaves the file; recordings lists it', async () => {
    const { recordId, tarPath } = await generateRecording({ spoolDir: outside, meetingId: 'physics-1', meetingName: 'Physics' });
    const imported = await cli('recordings:import', tarPath);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(`Imported recording ${recordId} (presentation, video), published`);
    expect(existsSync(tarPath)).toBe(true);

    const listed = await cli('recordings', '--meeting', 'physics-1');
    expect(listed.stdout).toMatch(/RECORD ID\s+MEETING ID\s+NAME\s+STATE/);
    expect(listed.stdout).toContain(recordId);
    const json = await cliJson<{ recordings: Array<{ record_id: string; formats: Array<{ format: string }> }>; total: number }>('recordings', '--record', recordId.slice(0, 10));
    expect(json.total).toBe(1);
    expect(json.recordings[0].formats.map((f) => f.format)).toEqual(['presentation', 'video']);
  });

  test('a file that is not a recording is a clear error and a non-zero exit', async () => {
    const bad = join(outside, 'bad.tar');
    writeFileSync(bad, 'nope');
    const r = await cli('recordings:import', bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Failed to import recording/);
    expect((await cli('recordings:import', join(outside, 'missing.tar'))).stderr).toMatch(/No such file/);
  });

  test('recordings:watch shows the importer, waiting and failed tarballs and the latest imports', async () => {
    writeFileSync(join(dataDir, 'recordings', 'spool', 'broken.tar'), 'not a tar');
    await new Promise((r) => setTimeout(r, 1500));
    const watch = await cli('recordings:watch');
    expect(watch.code).toBe(0);
    expect(watch.stdout).toContain('Importer:        active');
    expect(watch.stdout).toMatch(/Failed:\s+1/);
    expect(watch.stdout).toContain('imported');
    expect(watch.stdout).toContain('FAILED    broken.tar');
    expect(watch.stdout).toContain('Retention:       kept forever (RECORDING_RETENTION_DAYS unset)');
  });

  test('recordings:addToTenant needs a tenant id; the rake form works', async () => {
    const none = await cli('recordings:addToTenant');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No tenant ID was provided');
    const ok = await cli('recordings:addToTenant[tenant-42]');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('All existing recordings have been successfully linked to tenant tenant-42');
    const json = await cliJson<{ recordings: Array<{ tenant_id: string }> }>('recordings', '--tenant', 'tenant-42');
    expect(json.recordings.length).toBe(1);
  });

  test('recordings:purge lists what it would delete, deletes only with --yes, and refuses a bad age', async () => {
    const old = await generateRecording({ spoolDir: outside, meetingId: 'archive-2024', startTime: Date.now() - 400 * 86_400_000 });
    expect((await cli('recordings:import', old.tarPath)).code).toBe(0);
    const dry = await cli('recordings:purge', '--older-than', '365d');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(old.recordId);
    expect(dry.stdout).not.toContain('physics-1');
    expect(dry.stdout).toMatch(/1 recordings started before \S+ would be deleted\. Run again with --yes to delete them\./);
    expect((await cliJson<{ recordings: Array<{ state: string }> }>('recordings', '--meeting', 'archive-2024')).recordings[0].state).toBe('published');

    const done = await cli('recordings:purge', '--older-than', '365d', '--yes');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/Deleted 1 recordings started before/);
    expect((await cliJson<{ recordings: Array<{ state: string }> }>('recordings', '--meeting', 'archive-2024')).recordings[0].state).toBe('deleted');
    expect((await cli('recordings:purge', '--older-than', '365d')).stdout).toMatch(/No recordings started before/);
    expect((await cli('events', '--type', 'RecordingDeleted')).stdout).toContain(`${old.recordId} (purge: older than 365d)`);
    expect((await cli('recordings:watch')).stdout).toContain(`deleted   ${old.recordId} (purge: older than 365d)`);
    const story = (await cli('events', '--record', old.recordId, '--oldest')).stdout;
    expect(story.indexOf('RecordingImported')).toBeGreaterThan(-1);
    expect(story.indexOf('RecordingImported')).toBeLessThan(story.indexOf('RecordingDeleted'));

    const bad = await cli('recordings:purge', '--older-than', 'a while');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("'a while' is not an age");
    expect((await cli('recordings:purge')).code).not.toBe(0);
  });

  test('recordings:update moves misplaced files back; recordings:repair then finds everything in place', async () => {
    const [physics] = (await cliJson<{ recordings: Array<{ record_id: string }> }>('recordings', '--meeting', 'physics-1')).recordings;
    const dirs = join(dataDir, 'recordings');
    mkdirSync(join(dirs, 'unpublished', 'video'), { recursive: true });
    renameSync(join(dirs, 'published', 'video', physics.record_id), join(dirs, 'unpublished', 'video', physics.record_id));
    const fixed = await cli('recordings:update');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(/Checked \d+ recordings\./);
    expect(fixed.stdout).toContain(`Moved the files of ${physics.record_id} to match its published state`);
    expect(existsSync(join(dirs, 'published', 'video', physics.record_id))).toBe(true);
    const again = await cli('recordings:repair');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Every recording's files are where its state says.");
  });
});
