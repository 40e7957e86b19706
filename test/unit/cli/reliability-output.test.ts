import { detail } from '../../../cli/commands/events';
import { statusNotes } from '../../../cli/commands/status';

const row = (type: string, data: Record<string, unknown>) => ({
  offset: 1,
  at: '2026-11-28T10:00:00.000Z',
  type,
  actor: { kind: 'system', name: 'projector' },
  server_id: null,
  meeting_id: null,
  tenant_id: null,
  data,
});

describe('what the CLI says of parked events and self-rebuilt read models', () => {
  test('given none, status adds nothing under the table', () => {
    expect(statusNotes({ servers: [], parked: { count: 0, latest: [] }, rebuilds: [] })).toEqual([]);
  });

  test('given parked events and a rebuild, status names each with its reason', () => {
    expect(
      statusNotes({
        servers: [],
        parked: {
          count: 2,
          latest: [
            { projection: 'history', offset: 17, type: 'MeetingPlaced', reason: 'value too long', parked_at: '2026-11-28T10:00:00Z' },
            { projection: '*', offset: 9, type: 'ServerExploded', reason: 'unknown event type ServerExploded', parked_at: '2026-11-28T09:00:00Z' },
          ],
        },
        rebuilds: [{ at: '2026-11-28T10:05:00.000Z', projection: 'pool', reason: 'lost', found: -1, expected: 41 }],
      }),
    ).toEqual([
      '2 events parked: a read model could not apply them; the events after were applied.',
      '  event 17 (MeetingPlaced), not in the history read model: value too long',
      '  event 9 (ServerExploded), unreadable by this version: unknown event type ServerExploded',
      '2026-11-28T10:05:00.000Z: the pool read model rebuilt itself from the log (it held event -1 of 41).',
    ]);
  });

  test('events describes a rebuild, an unreadable record and a parked entry', () => {
    expect(detail(row('ReadModelRebuilt', { projection: 'pool', reason: 'lost', found: -1, expected: 41, head: 42 }))).toBe(
      'the pool read model held event -1 of 41: rebuilt from the log',
    );
    expect(detail(row('ReadModelRebuilt', { projection: 'history', reason: 'foreign', found: 99, expected: 3, head: 3 }))).toBe(
      'the history read model held another log (event 99, log at 3): cleared and rebuilt',
    );
    expect(detail(row('EventUnreadable', { type: 'ServerExploded', reason: 'unknown event type ServerExploded' }))).toBe(
      'ServerExploded this version cannot read: unknown event type ServerExploded',
    );
    expect(detail(row('MeetingPlaced', { parked: 'value too long' }))).toBe('parked (not applied): value too long');
  });
});
