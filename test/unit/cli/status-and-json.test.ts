import { serverJson, ServerJson } from '../../../src/api/views/server';
import { byAddition } from '../../../src/projections/pool';
import { serverOut, statusTable, totalsRow } from '../../../cli/format';
import { e, poolAfter } from '../../support/events';

/** The servers as the admin API answers, built from what happened to them. */
function serversAfter(...drafts: Parameters<typeof poolAfter>[0]): ServerJson[] {
  return Object.values(poolAfter(drafts).servers)
    .sort(byAddition)
    .map((s) => serverJson(s, false));
}

const busyAndIdleAndGone = () =>
  serversAfter(
    e.serverAdded('bbb1', { tag: 'big' }),
    e.serverEnabled('bbb1'),
    e.wentOnline('bbb1'),
    e.serverPolled('bbb1', 23, { meetings: 3, users: 20, largestMeeting: 12, videos: 4 }),
    e.serverAdded('bbb2', { loadMultiplier: 2.5 }),
    e.serverEnabled('bbb2'),
    e.wentOnline('bbb2'),
    e.serverPolled('bbb2', 7.5, { meetings: 2, users: 9, largestMeeting: 5, videos: 1 }),
    e.serverAdded('bbb3'),
  );

describe('the status table ends with a totals row (Scalelite #162)', () => {
  test('given three servers, one never polled: meetings, users and videos summed, the largest meeting of any, how many are online', () => {
    const lines = statusTable(busyAndIdleAndGone()).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4].split(/\s{2,}/)).toEqual(['TOTAL', '2/3 online', '5', '29', '12', '5']);
  });

  test('given the servers: the header and server rows are the table they were, and every column stays aligned under its header', () => {
    const servers = busyAndIdleAndGone();
    const lines = statusTable(servers).split('\n');
    expect(lines.slice(0, 4).map((l) => l.split(/\s{2,}/))).toEqual([
      ['HOSTNAME', 'STATE', 'STATUS', 'MEETINGS', 'USERS', 'LARGEST MEETING', 'VIDEOS', 'LOAD', 'BBB VERSION', 'TAG'],
      ['bbb1.example.com', 'enabled', 'online', '3', '20', '12', '4', '23', '2.7.3', 'big'],
      ['bbb2.example.com', 'enabled', 'online', '2', '9', '5', '1', '7.5', '2.7.3'],
      ['bbb3.example.com', 'disabled', 'offline', '0', '0', '0', '0', 'unavailable'],
    ]);
    // the cell that starts where its column's header starts
    const under = (line: string, column: string) => line.slice(lines[0].indexOf(column)).split(/\s{2,}/)[0];
    const columns = ['HOSTNAME', 'STATE', 'STATUS', 'MEETINGS', 'USERS', 'LARGEST MEETING', 'VIDEOS', 'LOAD', 'BBB VERSION', 'TAG'];
    expect(columns.map((c) => under(lines[3], c))).toEqual(['bbb3.example.com', 'disabled', 'offline', '0', '0', '0', '0', 'unavailable', '', '']);
    expect(columns.map((c) => under(lines[4], c))).toEqual(['TOTAL', '', '2/3 online', '5', '29', '12', '5', '', '', '']);
  });

  test('given no servers: the header alone, as before', () => {
    expect(statusTable([])).toBe('HOSTNAME  STATE  STATUS  MEETINGS  USERS  LARGEST MEETING  VIDEOS  LOAD  BBB VERSION  TAG');
  });

  test('given every server offline: 0/N online and zero counts', () => {
    const servers = serversAfter(e.serverAdded('bbb1'), e.serverAdded('bbb2'));
    expect(totalsRow(servers)).toEqual(['TOTAL', '', '0/2 online', '0', '0', '0', '0', '', '', '']);
  });
});

describe('--json gives each server field one type', () => {
  test('given a polled server: load and load_multiplier as numbers', () => {
    const [busy, weighted] = busyAndIdleAndGone().map(serverOut);
    expect(busy).toMatchObject({ load: 23, load_multiplier: 1 });
    expect(weighted).toMatchObject({ load: 7.5, load_multiplier: 2.5 });
  });

  test('given a server without a load (the admin API says "unavailable"): null', () => {
    const never = busyAndIdleAndGone()[2];
    expect(never.load).toBe('unavailable');
    expect(serverOut(never).load).toBeNull();
    const offline = serversAfter(e.serverAdded('bbb1'), e.serverEnabled('bbb1'), e.wentOnline('bbb1'), e.serverPolled('bbb1', 4), e.wentOffline('bbb1'))[0];
    expect(serverOut(offline).load).toBeNull();
  });

  test('every field keeps one type across servers in every state, and the admin API answer is left as it was', () => {
    const answers = busyAndIdleAndGone();
    const before = JSON.stringify(answers);
    const out = answers.map(serverOut);
    expect(JSON.stringify(answers)).toBe(before);
    const typeOf = (v: unknown) => (v === null ? 'null' : typeof v);
    for (const key of Object.keys(out[0]) as Array<keyof (typeof out)[number]>) {
      const types = new Set(out.map((s) => typeOf(s[key])));
      types.delete('null');
      expect([key, types.size <= 1]).toEqual([key, true]);
    }
    expect(Object.keys(out[0])).toEqual(Object.keys(answers[0]));
  });
});
