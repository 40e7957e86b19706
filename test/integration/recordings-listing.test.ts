import pino from 'pino';
import { RecordingApi, RecordingCall } from '../../src/api/recordings';
import { ApiOutcome } from '../../src/api/responses';
import { WriteSide } from '../../src/commands/write-side';
import { MemoryPlaybackTokens } from '../../src/infra/embedded/memory-tokens';
import { migrate } from '../../src/infra/sql/migrations';
import { openPglite } from '../../src/infra/sql/pglite';
import { SqlRecordingStore } from '../../src/infra/sql/recording-store';
import { Sql } from '../../src/infra/sql/sql';
import { RecordingReader } from '../../src/recordings/ports';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { e, given, stored } from '../support/events';

/*
 * getRecordings without a limit answers everything, as Scalelite does, but
 * pages through the SQL index and streams the document: given more
 * recordings than a page, with ties and missing start times, the stream is
 * exactly the one-query listing.
 */
describe('getRecordings without a limit (streamed in pages)', () => {
  let dir: string;
  let sql: Sql;
  let store: SqlRecordingStore;
  const api = (pageSize: number) =>
    new RecordingApi({
      store,
      writeSide: undefined as unknown as WriteSide<RecordingReader>,
      dirs: { spoolDir: '', workDir: '', publishDir: '', unpublishDir: '' },
      tokens: new MemoryPlaybackTokens({ sweepIntervalMs: 0 }),
      settings: { protectedEnabled: false, getRecordingsFiltered: false, tokenTtlMs: 60_000 },
      logger: pino({ level: 'silent' }),
      pageSize,
    });
  const call = (params: Record<string, string>): RecordingCall => ({
    params: Object.entries(params),
    scope: undefined,
    actor: { kind: 'api', name: 'test' },
    correlationId: 'c',
    origin: 'https://lb.example.com',
  });
  const text = async (outcome: ApiOutcome): Promise<string> => {
    if (outcome.kind === 'xml') return outcome.body;
    if (outcome.kind !== 'xmlStream') throw new Error(`unexpected ${outcome.kind}`);
    let body = '';
    for await (const chunk of outcome.chunks) body += chunk;
    return body;
  };
  const ids = (xml: string) => [...xml.matchAll(/<recordID>([^<]+)<\/recordID>/g)].map((m) => m[1]);

  beforeAll(async () => {
    dir = await freshDataDir();
    sql = await openPglite(`${dir}/pglite`);
    await migrate(sql);
    store = new SqlRecordingStore(sql);
    const t = 1_764_000_000_000;
    // ties on start time (ordered by record id), two without one (listed last), one deleted
    await store.apply(
      stored(
        given([
          e.recordingImported('r-a', 'm-1', { startTime: t }),
          e.recordingImported('r-b', 'm-1', { startTime: t }),
          e.recordingImported('r-c', 'm-2', { startTime: t }),
          e.recordingImported('r-d', 'm-2', { startTime: t - 1000 }),
          e.recordingImported('r-e', 'm-3', { startTime: t + 1000 }),
          e.recordingImported('r-f', 'm-3', { startTime: null }),
          e.recordingImported('r-g', 'm-3', { startTime: null }),
          e.recordingImported('r-h', 'm-4', { startTime: t - 5000 }),
          e.recordingDeleted('r-h'),
        ]),
      ),
    );
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await sql.close();
    removeDataDir(dir);
  });

  test('given more recordings than a page, when listed without a limit, then the stream is the whole listing, newest first, each once', async () => {
    const whole = await text(await api(1000).getRecordings(call({})));
    expect(ids(whole)).toEqual(['r-e', 'r-c', 'r-b', 'r-a', 'r-d', 'r-g', 'r-f']);
    for (const pageSize of [1, 2, 3, 7]) {
      const outcome = await api(pageSize).getRecordings(call({}));
      expect(outcome.kind).toBe('xmlStream');
      expect(await text(outcome)).toBe(whole);
    }
    expect(whole.startsWith('<response><returncode>SUCCESS</returncode><recordings><recording>')).toBe(true);
    expect(whole.endsWith('</recording></recordings></response>')).toBe(true);
  });

  test('filters hold across pages: state any, and meetingID', async () => {
    expect(ids(await text(await api(2).getRecordings(call({ state: 'any' }))))).toEqual(['r-e', 'r-c', 'r-b', 'r-a', 'r-d', 'r-h', 'r-g', 'r-f']);
    expect(ids(await text(await api(1).getRecordings(call({ meetingID: 'm-3' }))))).toEqual(['r-e', 'r-g', 'r-f']);
  });

  test('nothing found is the noRecordings document; a limit is one page, not a stream', async () => {
    expect(await text(await api(2).getRecordings(call({ meetingID: 'nobody' })))).toContain('<messageKey>noRecordings</messageKey>');
    const limited = await api(2).getRecordings(call({ limit: '3', offset: '1' }));
    expect(limited.kind).toBe('xml');
    expect(ids(await text(limited))).toEqual(['r-c', 'r-b', 'r-a']);
  });
});
