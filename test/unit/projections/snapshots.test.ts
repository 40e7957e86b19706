import { SNAPSHOT_VERSION, snapshotRefusal } from '../../../src/projections/snapshots';
import { PoolState } from '../../../src/projections/pool';
import { e, given, project } from '../../support/events';

const snapshot = { position: 10, eventId: 'ev-10', version: SNAPSHOT_VERSION, takenAt: '2026-11-25T10:00:00.000Z', state: {} as PoolState };

describe('snapshotRefusal', () => {
  test('a snapshot of this version, within the log, at the event it names, is used', () => {
    expect(snapshotRefusal(snapshot, 10, 'ev-10')).toBeNull();
    expect(snapshotRefusal(snapshot, 500, 'ev-10')).toBeNull();
  });

  test.each([
    [{ ...snapshot, version: SNAPSHOT_VERSION - 1 }, 500, 'ev-10', /state version/],
    [snapshot, 9, null, /beyond the log's last event 9/],
    [snapshot, 500, 'ev-other', /not the one it was taken at/],
    [snapshot, 500, null, /not the one it was taken at/],
  ])('refused: %#', (s, head, id, why) => {
    expect(snapshotRefusal(s, head, id)).toMatch(why);
  });
});

/** Every key a snapshot holds, table by table: what a restore puts back in memory. */
function shape(state: PoolState): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(state).map(([table, rows]) => {
      const first = Object.values(rows as Record<string, unknown>)[0];
      return [table, typeof first === 'object' && first !== null ? Object.keys(first).sort() : [typeof first]];
    }),
  );
}

test('the snapshot state shape is the one SNAPSHOT_VERSION names (when this fails, bump SNAPSHOT_VERSION and update the shape here)', () => {
  const state = project(given([e.serverAdded('s-1'), e.meetingPlaced('m-1', 's-1'), e.tenantAdded('t-1', 'alpha'), e.tenantSettingAdded('ts-1', 't-1', 'record', 'true')]));
  expect({ version: SNAPSHOT_VERSION, shape: shape(state) }).toEqual({
    version: 1,
    shape: {
      servers: ['addedAt', 'bbbVersion', 'changedAt', 'id', 'largestMeeting', 'load', 'loadMultiplier', 'meetings', 'online', 'secret', 'state', 'tag', 'url', 'users', 'videos'],
      meetings: ['loadEstimate', 'meetingId', 'moderatorPassword', 'placedAt', 'serverId', 'tenantId', 'voiceBridge'],
      voiceBridges: ['string'],
      tenants: [
        'addedAt',
        'changedAt',
        'id',
        'kcClientId',
        'kcClientSecret',
        'kcPassword',
        'kcTokenUrl',
        'kcUsername',
        'lrsEndpoint',
        'lrsPassword',
        'lrsUsername',
        'name',
        'secrets',
      ],
      tenantSettings: ['id', 'override', 'param', 'tenantId', 'value'],
      tenantNames: ['string'],
    },
  });
});
