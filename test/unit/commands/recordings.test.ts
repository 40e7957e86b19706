import { decideDelete, decideImport, decidePublish, decideUpdate, ImportedRecording } from '../../../src/commands/recordings';
import { DomainEvent, EventDraft } from '../../../src/events/catalog';
import { evolveRecording, Recording } from '../../../src/recordings/model';
import { e, given } from '../../support/events';

/** The recording after these events (given … then state). */
function recordingAfter(drafts: EventDraft[], recordId = 'rec-1'): Recording | null {
  return given(drafts)
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

  test('a new recording takes BBB\'s published flag', () => {
    expect(decideImport(null, imported(), settings, 'rec-1.tar').data).toMatchObject({ published: true, protected: false, state: 'published', source: 'rec-1.tar' });
  });

  test('RECORDING_IMPORT_UNPUBLISHED imports unpublished, and the state says so (Scalelite keeps "published")', () => {
    expect(decideImport(null, imported(), { ...settings, importUnpublished: true }, 'x').data).toMatchObject({ published: false, state: 'unpublished' });
  });

  test('a publish choice made through the API survives a re-import', () => {
    const current = recordingAfter([e.recordingImported('rec-1', 'm-1'), e.recordingUnpublished('rec-1')]);
    expect(decideImport(current, imported(), settings, 'x').data).toMatchObject({ published: false });
  });

  test('PROTECTED_RECORDINGS_ENABLED protects every import; the tenant comes from the metadata', () => {
    expect(decideImport(null, imported({ metadata: { 'tenant-id': 't-9' } }), { ...settings, protectedEnabled: true }, 'x').data).toMatchObject({
      protected: true,
      tenantId: 't-9',
    });
  });
});

describe('decidePublish / decideUpdate / decideDelete', () => {
  const rec = recordingAfter([e.recordingImported('rec-1', 'm-1')])!;

  test('publishing what is published decides nothing; unpublishing decides one event', () => {
    expect(decidePublish([rec], true)).toEqual([]);
    expect(decidePublish([rec], false)).toEqual([{ type: 'RecordingUnpublished', data: { recordId: 'rec-1' } }]);
  });

  test('nothing publishable is notFound (a deleted recording is not)', () => {
    const deleted = recordingAfter([e.recordingImported('rec-1', 'm-1'), e.recordingDeleted('rec-1')])!;
    expect(decidePublish([deleted], true)).toMatchObject({ error: 'recordingsNotFound' });
    expect(decidePublish([], true)).toMatchObject({ error: 'recordingsNotFound' });
  });

  test('an update of ids that are not all known changes nothing', () => {
    expect(decideUpdate(['rec-1', 'rec-2'], [rec], { metadata: [['a', 'b']] })).toEqual({ events: [], updated: false });
  });

  test('an update sets and removes; protect applies to the first listed recording only', () => {
    const other = { ...rec, recordId: 'rec-2' };
    const decided = decideUpdate(['rec-1', 'rec-2'], [rec, other], { metadata: [['course', 'HIS'], ['bbb-origin', '']], protect: true });
    expect(decided).toEqual({
      updated: true,
      events: [
        { type: 'RecordingUpdated', data: { recordId: 'rec-1', set: { course: 'HIS' }, removed: ['bbb-origin'], protected: true } },
        { type: 'RecordingUpdated', data: { recordId: 'rec-2', set: { course: 'HIS' }, removed: ['bbb-origin'] } },
      ],
    });
  });

  test('an over-long metadata key is refused', () => {
    expect(decideUpdate(['rec-1'], [rec], { metadata: [['k'.repeat(300), 'v']] })).toMatchObject({ error: 'invalidRequest' });
  });

  test('delete decides one event per found recording; none found is notFound', () => {
    expect(decideDelete([rec])).toEqual([{ type: 'RecordingDeleted', data: { recordId: 'rec-1' } }]);
    expect(decideDelete([])).toMatchObject({ error: 'recordingsNotFound' });
  });
});
