import { createHash } from 'node:crypto';
import { isDomainError } from '../../../src/commands/errors';
import {
  byLoad,
  chooseServer,
  decidePlacement,
  joinTarget,
  parseTag,
  PlacementRequest,
  PlacementView,
  routeDecides,
  staleRouteReason,
  voiceBridgeCandidates,
} from '../../../src/commands/placement';
import { EventData, EventDraft } from '../../../src/events/catalog';
import { Server } from '../../../src/projections/pool';
import { e, liveServer, meeting, poolAfter, server } from '../../support/events';
import { Asked, CANDIDATES, placementView } from '../../support/placement-view';
import { given, onPool, validEvents, when } from '../../support/decide';

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
    expect(
      chosen(
        docsPool().map((s) => (s.id === 'bbb-3' ? { ...s, load: 9 } : s)),
        'none;test',
      ),
    ).toBe('bbb-2');
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

const placing = (asked: Asked = {}) =>
  onPool(
    (req: PlacementRequest, view: PlacementView) => decidePlacement(req, view, { loadMinUserCount: asked.loadMinUserCount ?? 15 }),
    (pool, req) => placementView(pool, req, asked),
  );

/** bbb-1 at load 10, bbb-2 at load 5 with multiplier 2. */
const twoServers = [...liveServer('bbb-1', 10), ...liveServer('bbb-2', 5, { loadMultiplier: 2 })];

describe('decidePlacement: a new meeting', () => {
  test('goes to the least loaded server; the estimate is LOAD_MIN_USER_COUNT x its multiplier', () => {
    const decided = given(twoServers)
      .when(placing(), request({ tag: null }))
      .then([
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
    expect(decided.result).toMatchObject({ kind: 'placed', server: { id: 'bbb-2' } });
    expect(decided.result.meeting).toEqual({
      meetingId: 'm-1',
      serverId: 'bbb-2',
      tenantId: null,
      voiceBridge: '111111111',
      moderatorPassword: 'gen12345',
      loadEstimate: 30,
    });
    expect(decided.events[0].data).not.toHaveProperty('previousServerId');
  });

  test('the request moderator password wins over a generated one', () => {
    expect(
      given(twoServers)
        .when(placing(), request({ moderatorPassword: 'mine' }))
        .thenResult().meeting.moderatorPassword,
    ).toBe('mine');
  });

  test('records the tenant and the tag asked for', () => {
    expect(
      given(twoServers)
        .when(placing(), request({ tenantId: 't-1', tag: 'test;none' }))
        .thenEvents()[0].data,
    ).toMatchObject({ tenantId: 't-1', tag: 'test;none' });
  });

  test('given meetings holding voice bridges: skips them', () => {
    const holders = [e.meetingPlaced('a', 'bbb-1', { voiceBridge: '111111111' }), e.meetingPlaced('b', 'bbb-1', { voiceBridge: '222222222' })];
    expect(
      given([...twoServers, ...holders])
        .when(placing(), request())
        .thenResult().meeting.voiceBridge,
    ).toBe('333333333');
  });

  test('given every candidate taken: voiceBridgeUnavailable', () => {
    const holders = CANDIDATES.map((n, i) => e.meetingPlaced(`held-${i}`, 'bbb-1', { voiceBridge: n }));
    given([...twoServers, ...holders])
      .when(placing(), request())
      .thenError('voiceBridgeUnavailable', 'Could not allocate a voice bridge for the meeting.');
  });

  test('no server: noServerAvailable; required tag missing: serverTagUnavailable', () => {
    when(placing(), request()).thenError('noServerAvailable');
    given(twoServers)
      .when(placing(), request({ tag: 'gpu!' }))
      .thenError('serverTagUnavailable');
  });

  test('LOAD_MIN_USER_COUNT 0 gives an estimate of 0', () => {
    expect(
      given(twoServers)
        .when(placing({ loadMinUserCount: 0 }), request())
        .thenResult().meeting.loadEstimate,
    ).toBe(0);
  });

  // Inputs from the client (meetingID, moderatorPW, meta_server-tag) end up in MeetingPlaced; one the
  // catalogue rejects must give an answer, not an exception from log.append (the create would fail with a 500).
  test.each([
    ['a moderatorPW over 1024 characters', request({ moderatorPassword: 'p'.repeat(1100) })],
    ['a meta_server-tag over 1024 characters', request({ tag: 't'.repeat(1100) })],
    ['a meetingID over 256 characters', request({ meetingId: 'm'.repeat(300) })],
  ])('%s gives a domain error or a valid event, never one the catalogue rejects', (_why, req) => {
    const decision = given(twoServers).when(placing(), req).decision;
    expect(isDomainError(decision) || validEvents(decision.events)).toBe(true);
  });
});

describe('decidePlacement: an existing route', () => {
  const routed = [...liveServer('bbb-1', 50), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555555555', moderatorPassword: 'stored' })];
  const elsewhere = [...liveServer('bbb-2', 5), ...liveServer('bbb-3', 7)];

  test('on a live server: reused, no events, no load added', () => {
    const decided = given(routed)
      .when(placing(), request({ moderatorPassword: 'other' }))
      .then([]);
    expect(decided.result).toMatchObject({ kind: 'existing', meeting: { meetingId: 'm-1', serverId: 'bbb-1', moderatorPassword: 'stored' }, server: { id: 'bbb-1', load: 65 } });
  });

  test('on a cordoned server still running it (or not asked): reused', () => {
    const cordoned = [...routed, e.serverCordoned('bbb-1')];
    expect(
      given(cordoned)
        .when(placing({ existingRunning: true }), request())
        .then([]).result,
    ).toMatchObject({ kind: 'existing' });
    expect(given(cordoned).when(placing(), request()).then([]).result).toMatchObject({ kind: 'existing' });
  });

  test('of another tenant: meetingOfOtherTenant, whatever its server', () => {
    const theirs = [...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1' })];
    given(theirs)
      .when(placing(), request({ tenantId: 't-2' }))
      .thenError('meetingOfOtherTenant', "Couldn't find Meeting with id=m-1 and tenant_id=t-2");
    given([...theirs, e.serverRemoved('bbb-1')])
      .when(placing(), request({ tenantId: 't-2' }))
      .thenError('meetingOfOtherTenant', "Couldn't find Meeting with id=m-1 and tenant_id=t-2");
    given(theirs)
      .when(placing(), request({ tenantId: null }))
      .thenError('meetingOfOtherTenant', "Couldn't find Meeting with id=m-1 and tenant_id=");
  });

  test.each([
    ['offline', e.wentOffline('bbb-1'), undefined, 'server offline'],
    ['disabled', e.serverDisabled('bbb-1'), undefined, 'server disabled'],
    ['removed', e.serverRemoved('bbb-1'), undefined, 'server removed'],
    ['cordoned and no longer running it', e.serverCordoned('bbb-1'), false, 'meeting ended on cordoned server'],
  ])('on a server that is %s: placed again, keeping its voice bridge and password', (_why, change, existingRunning, reason) => {
    const history = [...routed, ...elsewhere, change];
    expect(staleRouteReason(placementView(poolAfter(history), request(), { existingRunning }))).toBe(reason);
    const decided = given(history)
      .when(placing({ existingRunning }), request())
      .then([
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
    expect(decided.result).toMatchObject({ kind: 'placed', server: { id: 'bbb-2' } });
  });

  test('a re-placement keeps its voice bridge even though the pool lists it as taken (by itself)', () => {
    const holders = CANDIDATES.map((n, i) => e.meetingPlaced(`held-${i}`, 'bbb-2', { voiceBridge: n }));
    const history = [...routed, ...elsewhere, ...holders, e.serverRemoved('bbb-1')];
    expect(given(history).when(placing(), request()).thenResult().meeting.voiceBridge).toBe('555555555');
  });

  test('moderator password precedence: request > existing > generated', () => {
    const removed = (over: Partial<EventData<'MeetingPlaced'>> = {}) => [...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', over), ...elsewhere, e.serverRemoved('bbb-1')];
    expect(
      given(removed({ moderatorPassword: 'stored' }))
        .when(placing(), request({ moderatorPassword: 'req' }))
        .thenResult().meeting.moderatorPassword,
    ).toBe('req');
    expect(
      given(removed({ moderatorPassword: 'stored' }))
        .when(placing(), request())
        .thenResult().meeting.moderatorPassword,
    ).toBe('stored');
    expect(
      given(removed({ moderatorPassword: null }))
        .when(placing(), request())
        .thenResult().meeting.moderatorPassword,
    ).toBe('gen12345');
  });

  test('a stale route with nowhere to go: noServerAvailable', () => {
    given([...routed, e.wentOffline('bbb-1')])
      .when(placing(), request())
      .thenError('noServerAvailable');
  });

  test('placed and applied: the pool shows the route on the new server with the estimate added', () => {
    const history = [
      ...liveServer('bbb-1', 0),
      ...liveServer('bbb-2', 4, { loadMultiplier: 2 }),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555555555' }),
      e.wentOffline('bbb-1'),
    ];
    const decided = given(history).when(placing(), request()).thenEvents();
    const next = poolAfter([...history, ...decided]);
    expect(next.meetings['m-1']).toMatchObject({ serverId: 'bbb-2', voiceBridge: '555555555' });
    expect(next.voiceBridges).toEqual({ '555555555': 'm-1' });
    expect(next.servers['bbb-2'].load).toBe(4 + 30);
  });
});

describe('routeDecides: what the caller need not load', () => {
  test('a route to reuse as it is reads no server of the pool; a stale one, or none, does', () => {
    const route = (history: EventDraft[]) => placementView(poolAfter(history), request());
    const routed = [...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1')];
    expect(routeDecides(route(routed))).toBe(true);
    expect(routeDecides(route([...routed, e.wentOffline('bbb-1')]))).toBe(false);
    expect(routeDecides(route(liveServer('bbb-1', 0)))).toBe(false);
  });

  test('whatever the pool holds, a decision the route decides is the one made without the servers', () => {
    const routed = [...liveServer('bbb-1', 0), ...liveServer('bbb-2', 0), e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1' })];
    for (const req of [request({ tenantId: 't-1' }), request({ tenantId: 't-2' })]) {
      const full = placementView(poolAfter(routed), req);
      expect(routeDecides(full)).toBe(true);
      const lean = { ...full, servers: [], voiceBridgesTaken: new Set<string>() };
      expect(decidePlacement(req, lean, { loadMinUserCount: 15 })).toEqual(decidePlacement(req, full, { loadMinUserCount: 15 }));
    }
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
