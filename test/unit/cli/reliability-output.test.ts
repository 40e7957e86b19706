import { detail } from '../../../cli/commands/events';
import { statusNotes } from '../../../cli/commands/status';
import { historyEntry } from '../../../src/projections/history';
import { historyJson } from '../../../src/api/views/history';
import { parkedJson, rebuiltJson } from '../../../src/api/views/status';
import { draft, EventDraft } from '../../../src/events/catalog';
import { e, given, stored } from '../../support/events';

/** An event as getEvents answers it. */
const row = (draft: EventDraft) => historyJson(historyEntry(stored(given([draft]), 1)[0]));

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
            parkedJson({ projection: 'history', offset: 17, eventId: 'e17', type: 'MeetingPlaced', reason: 'value too long', parkedAt: '2026-11-28T10:00:00Z' }),
            parkedJson({ projection: '*', offset: 9, eventId: 'e9', type: 'ServerExploded', reason: 'unknown event type ServerExploded', parkedAt: '2026-11-28T09:00:00Z' }),
          ],
        },
        rebuilds: [rebuiltJson(historyEntry(stored(given([e.readModelRebuilt('pool', 'lost')], { start: Date.parse('2026-11-28T10:05:00.000Z') }))[0]))],
      }),
    ).toEqual([
      '2 events parked: a read model could not apply them; the events after were applied.',
      '  event 17 (MeetingPlaced), not in the history read model: value too long',
      '  event 9 (ServerExploded), unreadable by this version: unknown event type ServerExploded',
      '2026-11-28T10:05:00.000Z: the pool read model rebuilt itself from the log (it held event -1 of 41).',
    ]);
  });

  test('events describes a rebuild, an unreadable record and a parked entry', () => {
    expect(detail(row(e.readModelRebuilt('pool', 'lost')))).toBe('the pool read model held event -1 of 41: rebuilt from the log');
    expect(detail(row(draft('ReadModelRebuilt', { projection: 'history', reason: 'foreign', found: 99, expected: 3, head: 3 })))).toBe(
      'the history read model held another log (event 99, log at 3): cleared and rebuilt',
    );
    expect(detail(row(e.unreadable('unknown event type ServerExploded')))).toBe('ServerExploded this version cannot read: unknown event type ServerExploded');
    // the history keeps a parked event's place with the reason instead of its data
    expect(detail({ ...row(e.meetingPlaced('m1', 'bbb1')), data: { parked: 'value too long' } })).toBe('parked (not applied): value too long');
  });
});
