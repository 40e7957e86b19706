import { DomainEvent } from '../../../src/events/catalog';
import { migrate } from '../../../src/infra/sql/migrations';
import { openPglite } from '../../../src/infra/sql/pglite';
import { SqlRecordingStore } from '../../../src/infra/sql/recording-store';
import { Sql } from '../../../src/infra/sql/sql';
import { evolveRecording, Recording, recordIdOf, TENANT_METADATUM } from '../../../src/projections/recordings';
import { e, given, stored } from '../../support/events';

/*
 * The SQL store only writes what evolveRecordings decides (src/projections/recordings.ts):
 * given a log split into batches of any size, when the store applies them, then each
 * recording is what its events make of it, the set-based tenant assignment included.
 */

jest.setTimeout(30_000);
// PGlite through Node's own loader: runs with or without --experimental-vm-modules (see the helper).
jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());

let sql: Sql;
let store: SqlRecordingStore;

beforeAll(async () => {
  sql = await openPglite(null);
  await migrate(sql);
  store = new SqlRecordingStore(sql, 2_000);
});
afterAll(async () => {
  await store.close();
  await sql.close();
});

const log = given([
  e.recordingImported('rec-1', 'm-1'),
  e.callbacksRegistered('m-2'),
  e.recordingImported('rec-2', 'm-2', { metadata: { [TENANT_METADATUM]: 't-0' } }),
  e.recordingImported('rec-4', 'm-4', { metadata: { [TENANT_METADATUM]: '' } }),
  e.recordingsToTenant('t-1'),
  e.recordingImported('rec-3', 'm-3'),
  e.recordingUpdated('rec-1', { removed: [TENANT_METADATUM], set: { course: 'HIS' } }),
  e.recordingUnpublished('rec-3'),
  e.recordingsToTenant('t-2'),
  e.recordingDeleted('rec-2'),
  e.callbacksRegistered('m-2', 'https://other.example.com/'),
  e.readyNotified('rec-3', 'm-3'),
  e.recordingsToTenant('t-3'),
]);

const reaches = (id: string) => (event: DomainEvent) => recordIdOf(event) === null || recordIdOf(event) === id;
const expected = (id: string): Recording => log.filter(reaches(id)).reduce<Recording | null>(evolveRecording, null)!;

describe('SQL recordings store', () => {
  test.each([1, 2, 4, log.length])('given the log in batches of %i, then each recording and callback is what the events make of it', async (size) => {
    await store.clear();
    const all = stored(log);
    for (let i = 0; i < all.length; i += size) await store.apply(all.slice(i, i + size));
    for (const id of ['rec-1', 'rec-2', 'rec-3', 'rec-4']) expect(await store.recording(id)).toEqual(expected(id));
    expect(await store.query({ states: null, tenantId: 't-2' })).toEqual([expect.objectContaining({ recordId: 'rec-3' }), expect.objectContaining({ recordId: 'rec-1' })]);
    expect(await store.callbacks('m-2')).toEqual({ meetingId: 'm-2', tenantId: null, recordingReadyUrl: 'https://other.example.com/', analyticsCallbackUrl: null });
    expect(await store.checkpoint()).toBe(log.length - 1);
  });
});
