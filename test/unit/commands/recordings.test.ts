import {
  decideAssignToTenant,
  decideDelete,
  decideImport,
  decideImportFailed,
  decidePublish,
  decideUpdate,
  DeleteRecordings,
  ImportedRecording,
  ImportRecording,
  ImportSettings,
  ImportView,
  PublishRecordings,
} from '../../../src/commands/recordings';
import { DomainEvent, draft, EventDraft } from '../../../src/events/catalog';
import { evolveRecording, Recording } from '../../../src/recordings/model';
import { asked, given, onRecordings, recordingsAfter, when } from '../../support/decide';
import { e, given as stamped } from '../../support/events';

/** The recording after these events (given … then state). */
function recordingAfter(drafts: EventDraft[], recordId = 'rec-1'): Recording | null {
  return stamped(drafts)
    .filter((ev: DomainEvent) => (ev.data as { recordId?: string }).recordId === recordId || ev.type === 'RecordingsAssignedToTenant')
    .reduce<Recording | null>((r, ev) => evolveRecording(r, ev), null);
}

const imported = (over: Partial<ImportedRecording> = {}): ImportedRecording => ({
  recordId: 'rec-1',
  meetingId: 'm-1',
  name: 'History',
  published: true,
  state: 'published',
  startTime: 1,
  endTime: 2,
  participants: 4,
  metadata: { 'bbb-origin': 'Moodle' },
  formats: [{ format: 'video', url: '/playback/video/rec-1/', length: 3, processingTime: null, thumbnails: [] }],
  ...over,
});

describe('evolveRecording', () => {
  test('given two imports, then formats and metadata are merged, newest wins', () => {
    const r = recordingAfter([
      e.recordingImported('rec-1', 'm-1', { metadata: { a: '1', b: '2' } }),
      e.recordingImported('rec-1', 'm-1', {
        metadata: { b: '3' },
        formats: [{ format: 'video', url: '/playback/video/rec-1/', length: 5, processingTime: null, thumbnails: [] }],
      }),
    ])!;
    expect(r.metadata).toEqual({ a: '1', b: '3' });
    expect(r.formats.map((f) => f.format)).toEqual(['presentation', 'video']);
  });

  test('given an unpublish, then published is false, the state says so and the choice is remembered', () => {
    expect(recordingAfter([e.recordingImported('rec-1', 'm-1'), e.recordingUnpublished('rec-1')])).toMatchObject({
      published: false,
      state: 'unpublished',
      publishUpdated: true,
    });
  });

  test('given an update, then metadata is set and removed and protection changes', () => {
    const r = recordingAfter([
      e.recordingImported('rec-1', 'm-1', { metadata: { old: 'x', keep: 'y' } }),
      e.recordingUpdated('rec-1', { set: { course: 'HIS' }, removed: ['old'], protected: true }),
    ])!;
    expect(r.metadata).toEqual({ keep: 'y', course: 'HIS' });
    expect(r.protected).toBe(true);
  });

  test('given a delete, then the recording stays as deleted, without metadata or formats', () => {
    expect(recordingAfter([e.recordingImported('rec-1', 'm-1'), e.recordingDeleted('rec-1')])).toMatchObject({ state: 'deleted', metadata: {}, formats: [] });
  });

  test('given recordings assigned to a tenant, then one without a tenant gets it, one with a tenant keeps its own', () => {
    expect(recordingAfter([e.recordingImported('rec-1', 'm-1'), e.recordingsToTenant('t-1')])!.metadata['tenant-id']).toBe('t-1');
    expect(recordingAfter([e.recordingImported('rec-1', 'm-1', { metadata: { 'tenant-id': 't-0' } }), e.recordingsToTenant('t-1')])!.metadata['tenant-id']).toBe('t-0');
  });

  test('given an import, a recording-ready callback is owed until a notification answers it', () => {
    expect(recordingAfter([e.recordingImported('rec-1', 'm-1')])!.readyPending).toBe(true);
    expect(recordingAfter([e.recordingImported('rec-1', 'm-1'), e.readyNotified('rec-1', 'm-1')])!.readyPending).toBe(false);
  });

  test('events about a recording that does not exist change nothing', () => {
    expect(recordingAfter([e.recordingPublished('rec-1'), e.recordingUpdated('rec-1', { set: { a: 'b' } }), e.recordingDeleted('rec-1')])).toBeNull();
  });
});

describe('decideImport', () => {
  const settings = { importUnpublished: false, protectedEnabled: false };
  /** decideImport against the index the given events build: the recording as it knows it. */
  const importing = (over: Partial<ImportSettings> = {}) =>
    onRecordings(
      (command: ImportRecording, view: ImportView) => decideImport(command, view, { ...settings, ...over }),
      (recordings, command) => ({ current: recordings.get(command.recording.recordId) ?? null }),
    );
  const tarball = (over: Partial<ImportedRecording> = {}, source = 'rec-1.tar'): ImportRecording => ({ recording: imported(over), source });

  test("given nothing, a new recording takes BBB's published flag", () => {
    const event = when(importing(), tarball()).thenEvents()[0];
    expect(event).toMatchObject({ type: 'RecordingImported', data: { published: true, protected: false, state: 'published', source: 'rec-1.tar' } });
    expect(when(importing(), tarball()).thenResult()).toEqual({ published: true, known: false });
  });

  test('RECORDING_IMPORT_UNPUBLISHED imports unpublished, and the state says so (Scalelite keeps "published")', () => {
    expect(when(importing({ importUnpublished: true }), tarball()).thenEvents()[0].data).toMatchObject({ published: false, state: 'unpublished' });
  });

  test('given a recording unpublished through the API, that choice survives a re-import', () => {
    const outcome = given([e.recordingImported('rec-1', 'm-1'), e.recordingUnpublished('rec-1')]).when(importing(), tarball());
    expect(outcome.thenEvents()[0].data).toMatchObject({ published: false });
    expect(outcome.thenResult()).toEqual({ published: false, known: true });
  });

  test('given a recording with metadata, a re-import keeps it and adds its own (the event carries only the new)', () => {
    const outcome = given([e.recordingImported('rec-1', 'm-1', { metadata: { 'tenant-id': 't-1', course: 'HIS' } })]).when(
      importing(),
      tarball({ metadata: { 'bbb-origin': 'Moodle' } }),
    );
    expect(outcome.thenEvents()[0].data).toMatchObject({ tenantId: 't-1', metadata: { 'bbb-origin': 'Moodle' } });
  });

  test('PROTECTED_RECORDINGS_ENABLED protects every import; the tenant comes from the metadata', () => {
    expect(when(importing({ protectedEnabled: true }), tarball({ metadata: { 'tenant-id': 't-9' } })).thenEvents()[0].data).toMatchObject({
      protected: true,
      tenantId: 't-9',
    });
  });

  test('the source is cut to what the log keeps', () => {
    expect(when(importing(), tarball({}, `${'x'.repeat(2000)}.tar`)).thenEvents()[0].data).toMatchObject({ source: 'x'.repeat(1024) });
  });

  test('what a tarball says that the log would refuse is refused here, before any file moves', () => {
    when(importing(), tarball({ meetingId: '' })).thenError('invalidRequest', /meetingId/);
  });
});

describe('decideImportFailed', () => {
  const failing = asked(decideImportFailed);

  test('records the tarball, why, and where it went, cut to what the log keeps', () => {
    when(failing, { source: 'rec-1.tar', reason: 'not a tar archive', movedTo: '/spool/failed/rec-1.tar' }).then([
      draft('RecordingImportFailed', { source: 'rec-1.tar', reason: 'not a tar archive', movedTo: '/spool/failed/rec-1.tar' }),
    ]);
    expect(when(failing, { source: 's'.repeat(3000), reason: 'r'.repeat(5000), movedTo: null }).thenEvents()[0].data).toEqual({
      source: 's'.repeat(1024),
      reason: 'r'.repeat(2000),
      movedTo: null,
    });
  });
});

/** The recordings the command names, in its order (the caller's scope is its business). */
const named = (recordings: Map<string, Recording>, command: { recordIds: string[] }): Recording[] =>
  command.recordIds.map((id) => recordings.get(id)).filter((r): r is Recording => r !== undefined);

describe('decidePublish', () => {
  const publishing = onRecordings((command: PublishRecordings & { recordIds: string[] }, found: Recording[]) => decidePublish(command, found), named);
  const imported1 = [e.recordingImported('rec-1', 'm-1')];

  test('given a published recording: publishing decides nothing; unpublishing decides one event', () => {
    given(imported1)
      .when(publishing, { recordIds: ['rec-1'], publish: true })
      .then([]);
    given(imported1)
      .when(publishing, { recordIds: ['rec-1'], publish: false })
      .then([e.recordingUnpublished('rec-1')]);
  });

  test('only the recordings whose flag changes get an event', () => {
    given([...imported1, e.recordingImported('rec-2', 'm-1'), e.recordingUnpublished('rec-2')])
      .when(publishing, { recordIds: ['rec-1', 'rec-2'], publish: true })
      .then([e.recordingPublished('rec-2')]);
  });

  test('nothing publishable is notFound (a deleted recording is not)', () => {
    given([...imported1, e.recordingDeleted('rec-1')])
      .when(publishing, { recordIds: ['rec-1'], publish: true })
      .thenError('recordingsNotFound', 'We could not find recordings');
    when(publishing, { recordIds: ['rec-1'], publish: true }).thenError('recordingsNotFound');
  });
});

describe('decideUpdate', () => {
  const updating = onRecordings(decideUpdate, named);
  const two = [e.recordingImported('rec-1', 'm-1'), e.recordingImported('rec-2', 'm-1')];

  test('given ids that are not all known: nothing changes, not updated', () => {
    const decided = given([e.recordingImported('rec-1', 'm-1')])
      .when(updating, { recordIds: ['rec-1', 'rec-2'], update: { metadata: [['a', 'b']] } })
      .then([]);
    expect(decided.result).toEqual({ updated: false });
  });

  test('sets and removes; protect applies to the first listed recording only', () => {
    const decided = given(two)
      .when(updating, {
        recordIds: ['rec-1', 'rec-2'],
        update: {
          metadata: [
            ['course', 'HIS'],
            ['bbb-origin', ''],
          ],
          protect: true,
        },
      })
      .then([
        e.recordingUpdated('rec-1', { set: { course: 'HIS' }, removed: ['bbb-origin'], protected: true }),
        e.recordingUpdated('rec-2', { set: { course: 'HIS' }, removed: ['bbb-origin'] }),
      ]);
    expect(decided.result).toEqual({ updated: true });
  });

  test('a value already there decides nothing, yet answers updated, as Scalelite does', () => {
    const decided = given(two)
      .when(updating, { recordIds: ['rec-1'], update: { metadata: [['bbb-origin', 'Moodle']] } })
      .then([]);
    expect(decided.result).toEqual({ updated: true });
  });

  test('an over-long metadata key is refused', () => {
    given(two)
      .when(updating, { recordIds: ['rec-1'], update: { metadata: [['k'.repeat(300), 'v']] } })
      .thenError('invalidRequest');
  });
});

describe('decideDelete', () => {
  const deleting = onRecordings((command: DeleteRecordings & { recordIds: string[] }, found: Recording[]) => decideDelete(command, found), named);
  const two = [e.recordingImported('r-1', 'm-1'), e.recordingImported('r-2', 'm-1')];

  test('given recordings, when deleted by an LMS, then each is a RecordingDeleted without a reason', () => {
    given(two)
      .when(deleting, { recordIds: ['r-1', 'r-2'] })
      .then([e.recordingDeleted('r-1'), e.recordingDeleted('r-2')]);
  });

  test('given recordings, when purged, then each event carries the reason', () => {
    given(two)
      .when(deleting, { recordIds: ['r-1', 'r-2'], reason: 'purge: older than 2y' })
      .then([draft('RecordingDeleted', { recordId: 'r-1', reason: 'purge: older than 2y' }), draft('RecordingDeleted', { recordId: 'r-2', reason: 'purge: older than 2y' })]);
  });

  test('given a deleted recording: deleted again (its files may still be on disk)', () => {
    given([...two, e.recordingDeleted('r-1')])
      .when(deleting, { recordIds: ['r-1'] })
      .then([e.recordingDeleted('r-1')]);
  });

  test('given none, then recordingsNotFound', () => {
    when(deleting, { recordIds: ['r-1'] }).thenError('recordingsNotFound', 'We could not find recordings');
  });
});

describe('decideAssignToTenant', () => {
  test('one event; the projection gives every recording without a tenant to the tenant', () => {
    const events = when(asked(decideAssignToTenant), { tenantId: 't-1' }).then([e.recordingsToTenant('t-1')]).events;
    const after = recordingsAfter(stamped([e.recordingImported('rec-1', 'm-1'), e.recordingImported('rec-2', 'm-1', { metadata: { 'tenant-id': 't-0' } }), ...events]));
    expect([...after.values()].map((r) => r.metadata['tenant-id'])).toEqual(['t-1', 't-0']);
  });
});
