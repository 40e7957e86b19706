import { DomainEvent, EventDraft } from '../../../src/events/catalog';
import {
  changesRecordings,
  evolveRecording,
  evolveRecordings,
  Recording,
  recordIdOf,
  RecordingsChanges,
  recordingsTouchedBy,
  RegisteredCallbacks,
  tenantOf,
  TENANT_METADATUM,
} from '../../../src/projections/recordings';
import { at, e, given, T0 } from '../../support/events';

/*
 * The recordings read model's rules, without a store: given the events before, when a
 * batch is applied, then what the batch writes, and what the model becomes once a store
 * has written it as RecordingsChanges prescribes (`written` below does that, in memory).
 */

interface Model {
  recordings: Map<string, Recording>;
  callbacks: Map<string, RegisteredCallbacks>;
}

const emptyModel = (): Model => ({ recordings: new Map(), callbacks: new Map() });

/** What a store holds after writing the changes: the sets first, then callbacks, then whole recordings. */
function written(model: Model, changes: RecordingsChanges): Model {
  const recordings = new Map(model.recordings);
  for (const { tenantId, at: time } of changes.assignments) {
    for (const [id, r] of recordings) if (!tenantOf(r)) recordings.set(id, { ...r, metadata: { ...r.metadata, [TENANT_METADATUM]: tenantId }, updatedAt: time });
  }
  const callbacks = new Map(model.callbacks);
  for (const c of changes.callbacks) callbacks.set(c.meetingId, c);
  for (const r of changes.put) recordings.set(r.recordId, r);
  for (const id of changes.remove) recordings.delete(id);
  return { recordings, callbacks };
}

/** A batch as a store applies it: the recordings it names loaded first. */
function changesOf(model: Model, batch: DomainEvent[]): RecordingsChanges {
  const loaded = new Map(recordingsTouchedBy(batch).map((id) => [id, model.recordings.get(id) ?? null]));
  return evolveRecordings(loaded, batch);
}

const applied = (model: Model, batch: DomainEvent[]): Model => written(model, changesOf(model, batch));

/** Stamp `before` then `batch` (times follow on), and apply `before` one event at a time. */
function scenario(before: EventDraft[], batch: EventDraft[]): { model: Model; batch: DomainEvent[] } {
  const all = given([...before, ...batch]);
  const model = all.slice(0, before.length).reduce((m, event) => applied(m, [event]), emptyModel());
  return { model, batch: all.slice(before.length) };
}

const tenantIdOf = (model: Model, recordId: string) => tenantOf(model.recordings.get(recordId)!);

describe('recordings read model: meeting callbacks', () => {
  test('given a create that registered callbacks, then the meeting keeps its URLs, tenant and the time they were registered', () => {
    const { model, batch } = scenario([], [e.callbacksRegistered('m-1', 'https://lms.example.com/ready')]);
    const changes = changesOf(model, batch);
    expect(changes).toEqual({
      assignments: [],
      callbacks: [{ meetingId: 'm-1', tenantId: null, recordingReadyUrl: 'https://lms.example.com/ready', analyticsCallbackUrl: null, registeredAt: at(T0) }],
      put: [],
      remove: [],
    });
  });

  test('given a meeting registered again, in the same batch or a later one, then the latest registration replaces the earlier', () => {
    const inOneBatch = scenario([], [e.callbacksRegistered('m-1', 'https://a.example.com/'), e.callbacksRegistered('m-1', 'https://b.example.com/')]);
    expect(changesOf(inOneBatch.model, inOneBatch.batch).callbacks).toEqual([
      expect.objectContaining({ recordingReadyUrl: 'https://b.example.com/', registeredAt: at(T0 + 1000) }),
    ]);
    const later = scenario([e.callbacksRegistered('m-1', 'https://a.example.com/')], [e.callbacksRegistered('m-1', null)]);
    expect(applied(later.model, later.batch).callbacks.get('m-1')).toMatchObject({ recordingReadyUrl: null, registeredAt: at(T0 + 1000) });
  });
});

describe('recordings read model: recordings:addToTenant', () => {
  test('given recordings in the store, when assigned to a tenant, then the change is one set (no recording loaded) and those of no tenant get it', () => {
    const { model, batch } = scenario(
      [
        e.recordingImported('rec-1', 'm-1'),
        e.recordingImported('rec-2', 'm-2', { metadata: { [TENANT_METADATUM]: 't-0' } }),
        e.recordingImported('rec-3', 'm-3', { metadata: { [TENANT_METADATUM]: '' } }),
      ],
      [e.recordingsToTenant('t-1')],
    );
    expect(recordingsTouchedBy(batch)).toEqual([]);
    const changes = changesOf(model, batch);
    expect(changes).toEqual({ assignments: [{ tenantId: 't-1', at: at(T0 + 3000) }], callbacks: [], put: [], remove: [] });
    const after = written(model, changes);
    expect(['rec-1', 'rec-2', 'rec-3'].map((id) => tenantIdOf(after, id))).toEqual(['t-1', 't-0', 't-1']);
    expect(after.recordings.get('rec-1')!.updatedAt).toBe(at(T0 + 3000));
    expect(after.recordings.get('rec-2')).toEqual(model.recordings.get('rec-2'));
  });

  test('given recordings the batch brings around an assignment, then those before it get the tenant and those after it do not', () => {
    const { model, batch } = scenario(
      [e.recordingImported('rec-old', 'm-0')],
      [e.recordingImported('rec-1', 'm-1'), e.recordingsToTenant('t-1'), e.recordingImported('rec-2', 'm-2'), e.recordingUpdated('rec-old', { set: { course: 'HIS' } })],
    );
    const changes = changesOf(model, batch);
    // the batch's own recordings are written whole, already folded through the assignment
    expect(changes.put.map((r) => [r.recordId, tenantOf(r)])).toEqual([
      ['rec-1', 't-1'],
      ['rec-old', 't-1'],
      ['rec-2', null],
    ]);
    const after = written(model, changes);
    expect(after.recordings.get('rec-old')!.metadata).toEqual({ 'bbb-origin': 'Moodle', [TENANT_METADATUM]: 't-1', course: 'HIS' });
  });

  test('given a recording whose tenant is removed after the assignment, then it stays of no tenant', () => {
    const { model, batch } = scenario([e.recordingImported('rec-1', 'm-1')], [e.recordingsToTenant('t-1'), e.recordingUpdated('rec-1', { removed: [TENANT_METADATUM] })]);
    expect(tenantIdOf(applied(model, batch), 'rec-1')).toBeNull();
  });
});

describe('recordings read model: batches', () => {
  test('given events about recordings the store lacks, then nothing is written', () => {
    const { model, batch } = scenario(
      [],
      [e.recordingPublished('rec-1'), e.recordingUpdated('rec-1', { set: { a: 'b' } }), e.recordingDeleted('rec-1'), e.readyNotified('rec-1', 'm-1')],
    );
    expect(changesOf(model, batch)).toEqual({ assignments: [], callbacks: [], put: [], remove: [] });
  });

  test("given the pool's events and a refused tarball, then the model names, loads and writes nothing", () => {
    const { model, batch } = scenario([], [e.serverAdded('bbb-1'), e.meetingPlaced('m-1', 'bbb-1'), e.tenantAdded('t-1', 'alpha'), e.importFailed('x.tar'), e.readModelRebuilt()]);
    expect(batch.filter(changesRecordings)).toEqual([]);
    expect(recordingsTouchedBy(batch)).toEqual([]);
    expect(changesOf(model, batch)).toEqual({ assignments: [], callbacks: [], put: [], remove: [] });
  });

  test('a recording named several times in a batch is loaded once and written once, as the last event left it', () => {
    const { model, batch } = scenario([], [e.recordingImported('rec-1', 'm-1'), e.recordingUnpublished('rec-1'), e.recordingPublished('rec-1')]);
    expect(recordingsTouchedBy(batch)).toEqual(['rec-1']);
    const { put } = changesOf(model, batch);
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({ published: true, publishUpdated: true, updatedAt: at(T0 + 2000) });
  });

  test('the recordings handed in are not changed', () => {
    const { model, batch } = scenario([e.recordingImported('rec-1', 'm-1')], [e.recordingsToTenant('t-1'), e.recordingDeleted('rec-1')]);
    const loaded = new Map([['rec-1', model.recordings.get('rec-1')!]]);
    const copy = structuredClone(loaded);
    evolveRecordings(loaded, batch);
    expect(loaded).toEqual(copy);
  });

  test('given any split of the log into batches, then the model is what its events make of each recording one by one', () => {
    const log = given([
      e.recordingImported('rec-1', 'm-1'),
      e.callbacksRegistered('m-2'),
      e.recordingImported('rec-2', 'm-2', { metadata: { [TENANT_METADATUM]: 't-0' } }),
      e.recordingsToTenant('t-1'),
      e.recordingImported('rec-3', 'm-3'),
      e.recordingUpdated('rec-1', { removed: [TENANT_METADATUM], set: { course: 'HIS' } }),
      e.recordingUnpublished('rec-3'),
      e.recordingsToTenant('t-2'),
      e.recordingDeleted('rec-2'),
      e.callbacksRegistered('m-2', 'https://other.example.com/'),
      e.readyNotified('rec-3', 'm-3'),
    ]);
    // each recording folded through its own events and those about every recording
    const reaches = (id: string) => (event: DomainEvent) => recordIdOf(event) === null || recordIdOf(event) === id;
    const expected = new Map(['rec-1', 'rec-2', 'rec-3'].map((id) => [id, log.filter(reaches(id)).reduce<Recording | null>(evolveRecording, null)!]));
    for (const size of [1, 2, 3, 5, log.length]) {
      let model = emptyModel();
      for (let i = 0; i < log.length; i += size) model = applied(model, log.slice(i, i + size));
      expect([size, model.recordings]).toEqual([size, expected]);
      expect([size, model.callbacks.get('m-2')?.recordingReadyUrl]).toEqual([size, 'https://other.example.com/']);
    }
  });
});
