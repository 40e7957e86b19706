import { decidePoolMigration, decideRecordingsMigration, PoolBatch, PoolMigrationView, ScaleliteRecording, ScaleliteServer } from '../../../src/commands/migration';
import { EventDraft } from '../../../src/events/catalog';
import { PoolState } from '../../../src/projections/pool';
import { evolveRecording, Recording } from '../../../src/recordings/model';
import { expectValidEvents } from '../../support/decide';
import { given, poolAfter } from '../../support/events';

/*
 * The migration's decisions: Scalelite's state against ours; what is in place
 * already appends nothing, what cannot be held is skipped with the reason.
 */

const viewOf = (pool: PoolState): PoolMigrationView => ({
  servers: new Map(Object.entries(pool.servers)),
  meetings: new Map(Object.entries(pool.meetings)),
  tenants: new Map(Object.entries(pool.tenants)),
  tenantSettings: new Map(Object.entries(pool.tenantSettings)),
});
const batch = (over: Partial<PoolBatch>): PoolBatch => ({ servers: [], tenants: [], tenantSettings: [], meetings: [], ...over });
const scaleliteServer = (id: string, over: Partial<ScaleliteServer> = {}): ScaleliteServer => ({
  id,
  url: `https://${id}.example.com/bigbluebutton/api`,
  secret: `secret-${id}`,
  tag: null,
  loadMultiplier: '1.0',
  state: 'enabled',
  online: true,
  load: 7,
  meetings: 1,
  users: 7,
  largestMeeting: 7,
  videos: 0,
  bbbVersion: '2.7.3',
  ...over,
});
const types = (events: EventDraft[]) => events.map((e) => e.type);

describe('decidePoolMigration', () => {
  test('given an empty pool: a cordoned online server is added, cordoned, online with its load; then its meeting is routed', () => {
    const out = decidePoolMigration(
      batch({
        servers: [scaleliteServer('a', { state: 'cordoned', tag: 'eu', loadMultiplier: '2.5' })],
        meetings: [{ meetingId: 'm', serverId: 'a', voiceBridge: '712345678', moderatorPassword: 'mp', tenantId: '' }],
      }),
      viewOf(poolAfter([])),
    );
    expect(types(out.events)).toEqual(['ServerAdded', 'ServerCordoned', 'ServerWentOnline', 'ServerPolled', 'MeetingPlaced']);
    expectValidEvents(out.events);
    const pool = poolAfter(out.events);
    expect(pool.servers.a).toMatchObject({ state: 'cordoned', tag: 'eu', loadMultiplier: 2.5, online: true, load: 7 });
    expect(pool.meetings.m).toMatchObject({ serverId: 'a', voiceBridge: '712345678', tenantId: null, moderatorPassword: 'mp' });
  });

  test('given the same state here: nothing is appended and every item is unchanged', () => {
    const b = batch({ servers: [scaleliteServer('a')], meetings: [{ meetingId: 'm', serverId: 'a', voiceBridge: '712345678', moderatorPassword: 'mp', tenantId: null }] });
    const first = decidePoolMigration(b, viewOf(poolAfter([])));
    const again = decidePoolMigration(b, viewOf(poolAfter(first.events)));
    expect(again.events).toEqual([]);
    expect(again.result.items.map((i) => i.outcome)).toEqual(['unchanged', 'unchanged']);
  });

  test('given a server changed in Scalelite since: only what an admin sets follows (not what polls observe)', () => {
    const here = poolAfter(decidePoolMigration(batch({ servers: [scaleliteServer('a')] }), viewOf(poolAfter([]))).events);
    const out = decidePoolMigration(batch({ servers: [scaleliteServer('a', { tag: 'us', state: 'disabled', online: false, load: null })] }), viewOf(here));
    expect(out.events).toEqual([
      { type: 'ServerUpdated', data: { serverId: 'a', tag: 'us' } },
      { type: 'ServerDisabled', data: { serverId: 'a', reason: 'admin' } },
    ]);
    expect(out.result.items).toEqual([{ kind: 'server', id: 'a', outcome: 'updated' }]);
  });

  test('what cannot be held is left out with the reason: expired and stale routes, taken voice bridges, bad tenant names, orphan settings', () => {
    const out = decidePoolMigration(
      batch({
        servers: [scaleliteServer('a', { loadMultiplier: '-1' })],
        tenants: [
          { id: 't1', name: 'under_score', secrets: 's', holdsName: true, lrs: {} },
          { id: 't2', name: 'alpha', secrets: 's', holdsName: false, lrs: {} },
          { id: 't3', name: 'alpha', secrets: 's1:s2', holdsName: true, lrs: { lrsEndpoint: '' } },
        ],
        tenantSettings: [
          { id: 's1', tenantId: 't1', param: 'record', value: 'true', override: false },
          { id: 's2', tenantId: 't3', param: 'record', value: 'true', override: true },
        ],
        meetings: [
          { meetingId: 'expired', serverId: null, voiceBridge: null, moderatorPassword: null, tenantId: null },
          { meetingId: 'stale', serverId: 'gone', voiceBridge: '1', moderatorPassword: null, tenantId: null },
          { meetingId: 'm1', serverId: 'a', voiceBridge: '5', moderatorPassword: null, tenantId: 't3' },
          { meetingId: 'm2', serverId: 'a', voiceBridge: '5', moderatorPassword: null, tenantId: null },
        ],
      }),
      viewOf(poolAfter([])),
    );
    expectValidEvents(out.events);
    const outcome = Object.fromEntries(out.result.items.map((i) => [`${i.kind}:${i.id}`, i.outcome]));
    expect(outcome).toEqual({
      'server:a': 'attention',
      'tenant:t3': 'imported',
      'tenant:t1': 'attention',
      'tenant:t2': 'attention',
      'tenantSetting:s1': 'skipped',
      'tenantSetting:s2': 'imported',
      'meeting:expired': 'skipped',
      'meeting:stale': 'skipped',
      'meeting:m1': 'imported',
      'meeting:m2': 'attention',
    });
    expect(poolAfter(out.events).servers.a.loadMultiplier).toBe(1);
    expect(poolAfter(out.events).tenants.t3).toMatchObject({ secrets: ['s1', 's2'], lrsEndpoint: null });
  });
});

const scaleliteRecording = (recordId: string, over: Partial<ScaleliteRecording> = {}): ScaleliteRecording => ({
  recordId,
  meetingId: 'meeting',
  name: 'A lecture',
  published: true,
  protected: false,
  publishUpdated: false,
  state: 'published',
  startTime: 1_700_000_000_000,
  endTime: 1_700_000_600_000,
  participants: 4,
  metadata: { 'bbb-context': 'Course', 'tenant-id': 't1' },
  formats: [
    { format: 'video', url: '/playback/video/r/', length: 10, processingTime: null, thumbnails: [] },
    { format: 'presentation', url: '/playback/presentation/2.3/r', length: 10, processingTime: 120, thumbnails: [{ url: '/p/1.png', width: 176, height: 136, alt: 'Slide 1' }] },
  ],
  ...over,
});

/** The recordings index after these events, as the SQL projection evolves it. */
function recordingsAfter(events: EventDraft[]): Map<string, Recording> {
  const out = new Map<string, Recording>();
  for (const e of given(events)) {
    const id = (e.data as { recordId: string }).recordId;
    const next = evolveRecording(out.get(id) ?? null, e);
    if (next) out.set(id, next);
  }
  return out;
}

describe('decideRecordingsMigration', () => {
  test('given new recordings of every kind (a deleted one has no formats): each becomes one RecordingMigrated, as it was', () => {
    const out = decideRecordingsMigration(
      {
        recordings: [scaleliteRecording('r1'), scaleliteRecording('r2', { state: 'deleted', metadata: {}, formats: [], protected: true, publishUpdated: true })],
        source: 'scalelite postgres://db/scalelite',
      },
      new Map(),
    );
    expect(types(out.events)).toEqual(['RecordingMigrated', 'RecordingMigrated']);
    expectValidEvents(out.events);
    const index = recordingsAfter(out.events);
    expect(index.get('r1')).toMatchObject({ state: 'published', published: true, metadata: { 'tenant-id': 't1' }, readyPending: false });
    expect(index.get('r1')!.formats.map((f) => f.format)).toEqual(['presentation', 'video']);
    expect(index.get('r2')).toMatchObject({ state: 'deleted', protected: true, publishUpdated: true, formats: [] });
  });

  test('given the same recordings here: nothing is appended; a change made in Scalelite since is one event', () => {
    const rows = [scaleliteRecording('r1'), scaleliteRecording('r2')];
    const index = recordingsAfter(decideRecordingsMigration({ recordings: rows, source: 's' }, new Map()).events);
    expect(decideRecordingsMigration({ recordings: rows, source: 's' }, index).events).toEqual([]);
    const changed = decideRecordingsMigration(
      { recordings: [scaleliteRecording('r1', { published: false, state: 'unpublished', publishUpdated: true }), rows[1]], source: 's' },
      index,
    );
    expect(changed.result.items.map((i) => i.outcome)).toEqual(['updated', 'unchanged']);
  });

  test('a recording this balancer cannot hold is left out, naming the field; one without a meeting is skipped', () => {
    const out = decideRecordingsMigration(
      {
        recordings: [
          scaleliteRecording('r1', { formats: [{ format: 'has space', url: '/x', length: 1, processingTime: null, thumbnails: [] }] }),
          scaleliteRecording('r2', { meetingId: null }),
        ],
        source: 's',
      },
      new Map(),
    );
    expect(out.events).toEqual([]);
    expect(out.result.items[0]).toMatchObject({ outcome: 'attention', reason: expect.stringContaining('formats.0.format') });
    expect(out.result.items[1]).toMatchObject({ outcome: 'skipped' });
  });
});
