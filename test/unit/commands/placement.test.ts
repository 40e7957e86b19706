import { createHash } from 'node:crypto';
import { isDomainError } from '../../../src/commands/errors';
import {
  byLoad,
  chooseServer,
  decidePlacement,
  joinTarget,
  parseTag,
  Placement,
  PlacementRequest,
  PlacementView,
  staleRouteReason,
  voiceBridgeCandidates,
} from '../../../src/commands/placement';
import { Server } from '../../../src/projections/pool';
import { e, liveServer, meeting, poolAfter, server } from '../../support/events';
import { expectValidEvents, validEvents } from '../../support/decide';

describe('parseTag (meta_server-tag)', () => {
  test.each([
    [undefined, { tags: [], required: false, display: '' }],
    [null, { tags: [], required: false, display: '' }],
    ['', { tags: [], required: false, display: '' }],
    ['   ', { tags: [], required: false, display: '' }],
    ['!', { tags: [], required: false, display: '' }],
    ['test', { tags: ['test'], required: false, display: 'test' }],
    ['test!', { tags: ['test'], required: true, display: 'test' }],
    [' test ! ', { tags: ['test'], required: true, display: 'test' }],
    ['a;b', { tags: ['a', 'b'], required: false, display: 'a;b' }],
    ['a; b ;;', { tags: ['a', 'b'], required: false, display: 'a; b ;;' }],
    ['a;b!', { tags: ['a', 'b'], required: true, display: 'a;b' }],
    ['none', { tags: ['none'], required: false, display: 'none' }],
  ])('%p', (param, expected) => {
    expect(parseTag(param)).toEqual(expected);
  });
});

/** The example of Scalelite's docs/tags-README (reference §2.4). */
const docsPool = (): Server[] => [
  server('bbb-1', { tag: 'test', load: 3 }),
  server('bbb-2', { load: 2 }),
  server('bbb-3', { load: 0 }),
  server('bbb-4', { tag: 'test2', load: 2 }),
];

function chosen(servers: Server[], tag: string | null | undefined): string {
  const result = chooseServer(servers, parseTag(tag));
  if ('error' in result) return result.error;
  return result.server.id;
}

describe('chooseServer: the Scalelite docs example', () => {
  test.each([
    [undefined, 'bbb-3'],
    ['', 'bbb-3'],
    ['!', 'bbb-3'],
    ['test', 'bbb-1'],
    ['test!', 'bbb-1'],
    ['test;test2', 'bbb-4'],
    ['test;test2!', 'bbb-4'],
    ['none', 'bbb-3'],
    ['none!', 'bbb-3'],
    ['test3', 'bbb-3'],
    ['test3!', 'serverTagUnavailable'],
  ])('tag %p -> %s', (tag, expected) => {
    expect(chosen(docsPool(), tag)).toBe(expected);
    // the order the pool is listed in does not matter
    expect(chosen(docsPool().reverse(), tag)).toBe(expected);
  });

  test('a required tag nobody has: the message names the tags without the !', () => {
    expect(chooseServer(docsPool(), parseTag('test3;test4!'))).toEqual({
      error: 'serverTagUnavailable',
      message: 'There is no available server with the required tag=test3;test4.',
    });
  });

  test('none;test picks the least loaded of the untagged and the test servers', () => {
    expect(chosen(docsPool(), 'none;test')).toBe('bbb-3');
    expect(chosen(docsPool().map((s) => (s.id === 'bbb-3' ? { ...s, load: 9 } : s)), 'none;test')).toBe('bbb-2');
  });

  test('considered lists the candidates in the order they were ranked', () => {
    const result = chooseServer(docsPool(), parseTag(''));
    if ('error' in result) throw new Error(result.message);
    expect(result.considered.map((s) => s.id)).toEqual(['bbb-3', 'bbb-2']);
    const tagged = chooseServer(docsPool(), parseTag('test;test2'));
    if ('error' in tagged) throw new Error(tagged.message);
    expect(tagged.considered.map((s) => s.id)).toEqual(['bbb-4', 'bbb-1']);
  });

  test('considered holds at most 10 servers', () => {
    const many = Array.from({ length: 15 }, (_, i) => server(`s-${String(i).padStart(2, '0')}`, { load: i }));
    const result = chooseServer(many, parseTag(''));
    if ('error' in result) throw new Error(result.message);
    expect(result.considered.map((s) => s.id)).toEqual(many.slice(0, 10).map((s) => s.id));
  });
});

describe('chooseServer: who may be chosen', () => {
  test('an untagged request never goes to a tagged server (Scalelite #1143)', () => {
    expect(chooseServer([server('a', { tag: 'x' }), server('b', { tag: 'y' })], parseTag(''))).toEqual({
      error: 'noServerAvailable',
      message: 'Could not find any available servers.',
    });
    expect(chosen([server('a', { tag: 'x' })], 'other')).toBe('noServerAvailable');
  });

  test('an empty pool: noServerAvailable, even for a required tag', () => {
    expect(chosen([], '')).toBe('noServerAvailable');
    expect(chosen([], 'test!')).toBe('noServerAvailable');
  });

  test('only enabled, online servers with a known load are selectable', () => {
    const pool = [
      server('cordoned', { state: 'cordoned', load: 0 }),
      server('disabled', { state: 'disabled', load: 0 }),
      server('offline', { online: false, load: null }),
      server('unpolled', { load: null }),
      server('busy', { load: 100 }),
    ];
    expect(chosen(pool, '')).toBe('busy');
    expect(chosen(pool.slice(0, 4), '')).toBe('noServerAvailable');
  });

  test('ties are broken by id', () => {
    expect(chosen([server('c', { load: 1 }), server('b', { load: 1 }), server('a', { load: 2 })], '')).toBe('b');
    expect([server('b'), server('a'), server('a')].sort(byLoad).map((s) => s.id)).toEqual(['a', 'a', 'b']);
  });

  test('the least loaded wins, fractional loads included', () => {
    expect(chosen([server('a', { load: 15.5 }), server('b', { load: 15.25 })], '')).toBe('b');
  });
});

describe('voiceBridgeCandidates (Scalelite §5.8)', () => {
  const settings = { length: 9, useExternal: false };

  test('are deterministic per meetingID', () => {
    expect(voiceBridgeCandidates('meeting-a', null, settings)).toEqual(voiceBridgeCandidates('meeting-a', null, settings));
    expect(voiceBridgeCandidates('meeting-a', null, settings)).not.toEqual(voiceBridgeCandidates('meeting-b', null, settings));
  });

  test('derive from SHA-256 of the meetingID', () => {
    const digest = createHash('sha256').update('meeting-a\u00000').digest();
    const first = String((digest[0] % 9) + 1) + Array.from({ length: 8 }, (_, i) => String(digest[i + 1] % 10)).join('');
    expect(voiceBridgeCandidates('meeting-a', null, settings)[0]).toBe(first);
  });

  test.each([5, 7, 9, 12, 40])('length %i: 10 distinct numbers of that length, first digit 1-9', (length) => {
    const candidates = voiceBridgeCandidates('some meeting', null, { length, useExternal: false });
    expect(candidates).toHaveLength(10);
    expect(new Set(candidates).size).toBe(10);
    for (const n of candidates) expect(n).toMatch(new RegExp(`^[1-9][0-9]{${length - 1}}$`));
  });

  test('never 99999 (BBB reserves it for the echo test)', () => {
    for (let i = 0; i < 3000; i++) expect(voiceBridgeCandidates(`m-${i}`, null, { length: 5, useExternal: false })).not.toContain('99999');
  });

  test("the client's own number comes first only when allowed", () => {
    const derived = voiceBridgeCandidates('m', null, settings);
    expect(voiceBridgeCandidates('m', '70001', settings)).toEqual(derived);
    const withExternal = voiceBridgeCandidates('m', '70001', { length: 9, useExternal: true });
    expect(withExternal[0]).toBe('70001');
    expect(withExternal.slice(1)).toEqual(derived);
  });

  test("the client's number is ignored when it is not digits, and not listed twice", () => {
    const derived = voiceBridgeCandidates('m', null, settings);
    expect(voiceBridgeCandidates('m', '12ab', { length: 9, useExternal: true })).toEqual(derived);
    expect(voiceBridgeCandidates('m', '', { length: 9, useExternal: true })).toEqual(derived);
    expect(voiceBridgeCandidates('m', derived[3], { length: 9, useExternal: true })).toEqual([derived[3], ...derived.filter((n) => n !== derived[3])]);
  });

  // Scalelite skips 99999 on every try, the client's own number included (reference §5.8: "99999 is never used").
  test("never 99999, not even as the client's own number", () => {
    expect(voiceBridgeCandidates('m', '99999', { length: 5, useExternal: true })).not.toContain('99999');
  });
});

const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  meetingId: 'm-1',
  tenantId: null,
  tag: null,
  moderatorPassword: null,
  generatedPassword: 'gen12345',
  requestedVoiceBridge: null,
  ...over,
});

const view = (over: Partial<PlacementView> = {}): PlacementView => ({
  existing: null,
  existingServer: null,
  servers: [server('bbb-1', { load: 10 }), server('bbb-2', { load: 5, loadMultiplier: 2 })],
  voiceBridgeCandidates: ['111111111', '222222222', '333333333'],
  voiceBridgesTaken: new Set(),
  ...over,
});

const settings = { loadMinUserCount: 15 };

function placed(result: Placement | ReturnType<typeof decidePlacement>): Extract<Placement, { kind: 'placed' }> {
  if (isDomainError(result)) throw new Error(`expected a placement, got ${result.error}`);
  if (result.kind !== 'placed') throw new Error('expected a new placement, got the existing route');
  expectValidEvents(result.events);
  return result;
}

describe('decidePlacement: a new meeting', () => {
  test('goes to the least loaded server; the estimate is LOAD_MIN_USER_COUNT x its multiplier', () => {
    const result = placed(decidePlacement(request({ tag: null }), view(), settings));
    expect(result.server.id).toBe('bbb-2');
    expect(result.meeting).toEqual({
      meetingId: 'm-1',
      serverId: 'bbb-2',
      tenantId: null,
      voiceBridge: '111111111',
      moderatorPassword: 'gen12345',
      loadEstimate: 30,
    });
    expect(result.events).toEqual([
      e.meetingPlaced('m-1', 'bbb-2', {
        voiceBridge: '111111111',
        moderatorPassword: 'gen12345',
        loadEstimate: 30,
        tag: null,
        considered: [
          { serverId: 'bbb-2', load: 5 },
          { serverId: 'bbb-1', load: 10 },
        ],
      }),
    ]);
    expect(result.events[0].data).not.toHaveProperty('previousServerId');
  });

  test('the request moderator password wins over a generated one', () => {
    expect(placed(decidePlacement(request({ moderatorPassword: 'mine' }), view(), settings)).meeting.moderatorPassword).toBe('mine');
  });

  test('records the tenant and the tag asked for', () => {
    const result = placed(decidePlacement(request({ tenantId: 't-1', tag: 'test;none' }), view(), settings));
    expect(result.events[0].data).toMatchObject({ tenantId: 't-1', tag: 'test;none' });
  });

  test('skips voice bridges that are taken', () => {
    const result = placed(decidePlacement(request(), view({ voiceBridgesTaken: new Set(['111111111', '222222222']) }), settings));
    expect(result.meeting.voiceBridge).toBe('333333333');
  });

  test('all candidates taken: voiceBridgeUnavailable', () => {
    expect(decidePlacement(request(), view({ voiceBridgesTaken: new Set(['111111111', '222222222', '333333333']) }), settings)).toEqual({
      error: 'voiceBridgeUnavailable',
      message: 'Could not allocate a voice bridge for the meeting.',
    });
  });

  test('no server: noServerAvailable; required tag missing: serverTagUnavailable', () => {
    expect(decidePlacement(request(), view({ servers: [] }), settings)).toMatchObject({ error: 'noServerAvailable' });
    expect(decidePlacement(request({ tag: 'gpu!' }), view(), settings)).toMatchObject({ error: 'serverTagUnavailable' });
  });

  test('LOAD_MIN_USER_COUNT 0 gives an estimate of 0', () => {
    expect(placed(decidePlacement(request(), view(), { loadMinUserCount: 0 })).meeting.loadEstimate).toBe(0);
  });

  // Inputs from the client (meetingID, moderatorPW, meta_server-tag) end up in MeetingPlaced; one the
  // catalogue rejects must give an answer, not an exception from log.append (the create would fail with a 500).
  test.each([
    ['a moderatorPW over 1024 characters', request({ moderatorPassword: 'p'.repeat(1100) })],
    ['a meta_server-tag over 1024 characters', request({ tag: 't'.repeat(1100) })],
    ['a meetingID over 256 characters', request({ meetingId: 'm'.repeat(300) })],
  ])('%s gives a domain error or a valid event, never one the catalogue rejects', (_why, req) => {
    const result = decidePlacement(req, view(), settings);
    expect(isDomainError(result) || validEvents(result.events)).toBe(true);
  });
});

describe('decidePlacement: an existing route', () => {
  const existing = meeting('m-1', 'bbb-1', { voiceBridge: '555555555', moderatorPassword: 'stored' });

  test('on a live server: reused, no events, no load added', () => {
    const s = server('bbb-1', { load: 50 });
    const result = decidePlacement(request({ moderatorPassword: 'other' }), view({ existing, existingServer: s }), settings);
    expect(result).toEqual({ kind: 'existing', meeting: existing, server: s, events: [] });
  });

  test('on a cordoned server still running it (or not asked): reused', () => {
    const s = server('bbb-1', { state: 'cordoned' });
    expect(decidePlacement(request(), view({ existing, existingServer: s, existingRunning: true }), settings)).toMatchObject({ kind: 'existing' });
    expect(decidePlacement(request(), view({ existing, existingServer: s }), settings)).toMatchObject({ kind: 'existing' });
  });

  test('of another tenant: meetingOfOtherTenant, whatever its server', () => {
    const theirs = { ...existing, tenantId: 't-1' };
    const expected = { error: 'meetingOfOtherTenant', message: "Couldn't find Meeting with id=m-1 and tenant_id=t-2" };
    expect(decidePlacement(request({ tenantId: 't-2' }), view({ existing: theirs, existingServer: server('bbb-1') }), settings)).toEqual(expected);
    expect(decidePlacement(request({ tenantId: 't-2' }), view({ existing: theirs, existingServer: null }), settings)).toEqual(expected);
    expect(decidePlacement(request({ tenantId: null }), view({ existing: theirs, existingServer: server('bbb-1') }), settings)).toEqual({
      error: 'meetingOfOtherTenant',
      message: "Couldn't find Meeting with id=m-1 and tenant_id=",
    });
  });

  test.each([
    ['offline', server('bbb-1', { online: false, load: null }), undefined, 'server offline'],
    ['disabled', server('bbb-1', { state: 'disabled' }), undefined, 'server disabled'],
    ['removed', null, undefined, 'server removed'],
    ['cordoned and no longer running it', server('bbb-1', { state: 'cordoned' }), false, 'meeting ended on cordoned server'],
  ])('on a server that is %s: placed again, keeping its voice bridge and password', (_why, existingServer, existingRunning, reason) => {
    const v = view({ existing, existingServer, existingRunning, servers: [server('bbb-2', { load: 5 }), server('bbb-3', { load: 7 })] });
    expect(staleRouteReason(v)).toBe(reason);
    const result = placed(decidePlacement(request(), v, settings));
    expect(result.server.id).toBe('bbb-2');
    expect(result.events).toEqual([
      e.meetingPlaced('m-1', 'bbb-2', {
        voiceBridge: '555555555',
        moderatorPassword: 'stored',
        loadEstimate: 15,
        previousServerId: 'bbb-1',
        considered: [
          { serverId: 'bbb-2', load: 5 },
          { serverId: 'bbb-3', load: 7 },
        ],
      }),
    ]);
  });

  test('a re-placement keeps its voice bridge even if the view lists it as taken (by itself)', () => {
    const v = view({ existing, existingServer: null, voiceBridgesTaken: new Set(['555555555', '111111111', '222222222', '333333333']) });
    expect(placed(decidePlacement(request(), v, settings)).meeting.voiceBridge).toBe('555555555');
  });

  test('moderator password precedence: request > existing > generated', () => {
    const v = (m: typeof existing) => view({ existing: m, existingServer: null });
    expect(placed(decidePlacement(request({ moderatorPassword: 'req' }), v(existing), settings)).meeting.moderatorPassword).toBe('req');
    expect(placed(decidePlacement(request(), v(existing), settings)).meeting.moderatorPassword).toBe('stored');
    expect(placed(decidePlacement(request(), v({ ...existing, moderatorPassword: null }), settings)).meeting.moderatorPassword).toBe('gen12345');
  });

  test('a stale route with nowhere to go: noServerAvailable', () => {
    expect(decidePlacement(request(), view({ existing, existingServer: null, servers: [server('bbb-1', { online: false, load: null })] }), settings)).toMatchObject({
      error: 'noServerAvailable',
    });
  });

  test('placed and applied: the pool shows the route on the new server with the estimate added', () => {
    const history = [
      ...liveServer('bbb-1', 0),
      ...liveServer('bbb-2', 4, { loadMultiplier: 2 }),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555555555' }),
      e.wentOffline('bbb-1'),
    ];
    const state = poolAfter(history);
    const current = state.meetings['m-1'];
    const result = placed(
      decidePlacement(request(), view({ existing: current, existingServer: state.servers['bbb-1'], servers: Object.values(state.servers) }), settings),
    );
    const next = poolAfter([...history, ...result.events]);
    expect(next.meetings['m-1']).toMatchObject({ serverId: 'bbb-2', voiceBridge: '555555555' });
    expect(next.voiceBridges).toEqual({ '555555555': 'm-1' });
    expect(next.servers['bbb-2'].load).toBe(4 + 30);
  });
});

describe('staleRouteReason and joinTarget', () => {
  test('no existing route: nothing stale', () => {
    expect(staleRouteReason({ existing: null, existingServer: null })).toBeNull();
  });

  test('a live enabled or cordoned server is not stale', () => {
    const m = meeting('m', 'bbb-1');
    expect(staleRouteReason({ existing: m, existingServer: server('bbb-1') })).toBeNull();
    expect(staleRouteReason({ existing: m, existingServer: server('bbb-1', { state: 'cordoned' }), existingRunning: true })).toBeNull();
  });

  test('joins go to online servers that are not disabled (cordoned is fine)', () => {
    expect(joinTarget(null)).toEqual({ ok: false });
    expect(joinTarget(server('a', { online: false }))).toEqual({ ok: false });
    expect(joinTarget(server('a', { state: 'disabled' }))).toEqual({ ok: false });
    const cordoned = server('a', { state: 'cordoned' });
    expect(joinTarget(cordoned)).toEqual({ ok: true, server: cordoned });
  });
});
