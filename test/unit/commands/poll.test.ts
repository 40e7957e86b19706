import { decideOrphans, decidePoll, freshHealth, ObservedMeeting, PollOutcome, PollSettings, readLoad, ServerHealth } from '../../../src/commands/poll';
import { PollFailureReason } from '../../../src/events/catalog';
import { Meeting, Server } from '../../../src/projections/pool';
import { at, e, meeting, server } from '../../support/events';
import { expectValidEvents, validEvents } from '../../support/decide';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const now = new Date(NOW);
const minutesAgo = (m: number): number => NOW - m * 60_000;

const settings: PollSettings = {
  healthyThreshold: 1,
  unhealthyThreshold: 2,
  loadMinUserCount: 15,
  loadJoinBufferMinutes: 15,
  newMeetingGraceMs: 60_000,
};

const observed = (meetingId: string, over: Partial<ObservedMeeting> = {}): ObservedMeeting => ({
  meetingId,
  isBreakout: false,
  participantCount: 0,
  moderatorCount: 0,
  videoCount: 0,
  createTime: minutesAgo(60),
  ...over,
});

describe('readLoad (Scalelite §2.3)', () => {
  test('no meetings: load 0, zero stats', () => {
    expect(readLoad([], 1, now, settings)).toEqual({ load: 0, meetings: 0, users: 0, largestMeeting: 0, videos: 0 });
  });

  test('attendees = participantCount + moderatorCount (moderators count twice, as in Scalelite)', () => {
    expect(readLoad([observed('a', { participantCount: 20, moderatorCount: 2 })], 1, now, settings).load).toBe(22);
  });

  test('a meeting created within LOAD_JOIN_BUFFER_TIME counts at least LOAD_MIN_USER_COUNT', () => {
    expect(readLoad([observed('a', { participantCount: 3, createTime: minutesAgo(5) })], 1, now, settings).load).toBe(15);
    expect(readLoad([observed('a', { participantCount: 30, moderatorCount: 1, createTime: minutesAgo(5) })], 1, now, settings).load).toBe(31);
  });

  test('an older meeting counts its attendees only', () => {
    expect(readLoad([observed('a', { participantCount: 3, createTime: minutesAgo(16) })], 1, now, settings).load).toBe(3);
    expect(readLoad([observed('a', { createTime: minutesAgo(16) })], 1, now, settings).load).toBe(0);
  });

  test('the buffer boundary: created exactly LOAD_JOIN_BUFFER_TIME ago is no longer new; one second later it is', () => {
    expect(readLoad([observed('a', { participantCount: 1, createTime: minutesAgo(15) })], 1, now, settings).load).toBe(1);
    expect(readLoad([observed('a', { participantCount: 1, createTime: minutesAgo(15) + 1000 })], 1, now, settings).load).toBe(15);
    // createTime is compared in whole seconds, like Scalelite's createTime/1000
    expect(readLoad([observed('a', { participantCount: 1, createTime: minutesAgo(15) + 999 })], 1, now, settings).load).toBe(1);
  });

  test('breakouts add no load but count in the stats', () => {
    const reading = readLoad(
      [
        observed('parent', { participantCount: 10, moderatorCount: 1, videoCount: 2, createTime: minutesAgo(30) }),
        observed('breakout', { isBreakout: true, participantCount: 4, moderatorCount: 0, videoCount: 1, createTime: minutesAgo(1) }),
      ],
      1,
      now,
      settings,
    );
    expect(reading).toEqual({ load: 11, meetings: 2, users: 14, largestMeeting: 10, videos: 3 });
  });

  test('the sum is multiplied by the load multiplier', () => {
    const meetings = [observed('a', { participantCount: 10 }), observed('b', { participantCount: 2, createTime: minutesAgo(1) })];
    expect(readLoad(meetings, 2.5, now, settings).load).toBe((10 + 15) * 2.5);
  });

  test('stats: users = sum of participantCount, largest = max participantCount, videos = sum', () => {
    const reading = readLoad(
      [observed('a', { participantCount: 7, moderatorCount: 2, videoCount: 3 }), observed('b', { participantCount: 12, moderatorCount: 1, videoCount: 0 })],
      3,
      now,
      settings,
    );
    expect(reading).toEqual({ load: (9 + 13) * 3, meetings: 2, users: 19, largestMeeting: 12, videos: 3 });
  });

  test('LOAD_MIN_USER_COUNT and LOAD_JOIN_BUFFER_TIME come from the settings', () => {
    const custom = { ...settings, loadMinUserCount: 5, loadJoinBufferMinutes: 60 };
    expect(readLoad([observed('a', { participantCount: 1, createTime: minutesAgo(30) })], 1, now, custom).load).toBe(5);
    expect(readLoad([observed('a', { participantCount: 1, createTime: minutesAgo(30) })], 1, now, { ...settings, loadJoinBufferMinutes: 0 }).load).toBe(1);
  });
});

const ok = (meetings: ObservedMeeting[] = [], bbbVersion: string | null = '2.7.3'): PollOutcome => ({ ok: true, meetings, bbbVersion });
const failure = (error = 'connect ECONNREFUSED', reason: PollFailureReason = 'unreachable'): PollOutcome => ({ ok: false, reason, error });
const health = (over: Partial<ServerHealth> = {}): ServerHealth => ({ ...freshHealth(), ...over });
/** The poller's memory of having seen these routes (meetingID -> the placement seen). */
const seenOf = (...routes: Meeting[]): Map<string, string> => new Map(routes.map((r) => [r.meetingId, r.placedAt]));

/** An online, enabled server whose last poll saw nothing. */
const polledServer = (over: Partial<Server> = {}): Server => server('bbb-1', { load: 0, bbbVersion: '2.7.3', ...over });
/** The same server, whose polls have been failing for this reason (ServerPollFailed was written). */
const failingServer = (over: Partial<Server> = {}, reason: PollFailureReason = 'unreachable'): Server =>
  polledServer({ pollFailure: { reason, error: 'connect ECONNREFUSED', since: at(NOW - 60_000) }, ...over });

function poll(s: Server, routes: Meeting[], outcome: PollOutcome, previous: ServerHealth = freshHealth(), pollSettings = settings) {
  const decision = decidePoll(s, routes, outcome, previous, now, pollSettings);
  expectValidEvents(decision.events);
  return decision;
}

describe('decidePoll: a failed poll', () => {
  test('the first failure says why (ServerPollFailed); below the unhealthy threshold nothing more, one failure counted, successes reset', () => {
    const decision = poll(polledServer(), [], failure(), health({ healthy: 3 }));
    expect(decision.events).toEqual([e.pollFailed('bbb-1')]);
    expect(decision.health).toMatchObject({ healthy: 0, unhealthy: 1 });
    expect(decision.endCalls).toEqual([]);
  });

  test('failing again for the same reason writes nothing: a server down all day is one event, not one per poll', () => {
    expect(poll(failingServer(), [], failure()).events).toEqual([]);
    expect(poll(failingServer({ online: false, load: null }), [], failure()).events).toEqual([]);
  });

  test('failing for another reason says so: a wrong secret is named as such', () => {
    const decision = poll(failingServer(), [], failure("the server's secret does not match (checksumError)", 'checksumError'));
    expect(decision.events).toEqual([e.pollFailed('bbb-1', 'checksumError', "the server's secret does not match (checksumError)")]);
  });

  test('at the threshold: every route ends (serverOffline), the server goes offline, BBB end is still tried', () => {
    const routes = [meeting('m-1', 'bbb-1'), meeting('m-2', 'bbb-1', { voiceBridge: '2' })];
    const decision = poll(failingServer(), routes, failure('timeout'), health({ unhealthy: 1, seen: seenOf(routes[0]) }));
    expect(decision.events).toEqual([e.meetingEnded('m-1', 'bbb-1', 'serverOffline'), e.meetingEnded('m-2', 'bbb-1', 'serverOffline'), e.wentOffline('bbb-1', 'timeout')]);
    expect(decision.endCalls).toEqual(routes);
    expect(decision.health).toEqual(freshHealth());
  });

  test('with threshold 1 the first failure takes it offline, after saying why', () => {
    const decision = poll(polledServer(), [], failure(), freshHealth(), { ...settings, unhealthyThreshold: 1 });
    expect(decision.events).toEqual([e.pollFailed('bbb-1'), e.wentOffline('bbb-1')]);
  });

  test('two failures in a row with the default threshold 2', () => {
    const first = poll(polledServer(), [], failure());
    expect(first.events).toEqual([e.pollFailed('bbb-1')]);
    const second = poll(failingServer(), [], failure(), first.health);
    expect(second.events).toEqual([e.wentOffline('bbb-1')]);
  });

  test('a success in between restarts the count', () => {
    const first = poll(polledServer(), [], failure());
    const success = poll(failingServer(), [], ok(), first.health);
    expect(success.health.unhealthy).toBe(0);
    expect(poll(failingServer(), [], failure(), success.health).events).toEqual([]);
  });

  test('the error kept in the events is cut to 1000 characters', () => {
    const decision = poll(polledServer(), [], failure('x'.repeat(5000)), health({ unhealthy: 1 }));
    expect(decision.events).toEqual([e.pollFailed('bbb-1', 'unreachable', 'x'.repeat(1000)), e.wentOffline('bbb-1', 'x'.repeat(1000))]);
  });

  test('while offline: failures are not even counted; only a new reason is told', () => {
    const decision = poll(failingServer({ online: false, load: null }), [], failure(), health({ healthy: 1, unhealthy: 5 }));
    expect(decision.events).toEqual([]);
    expect(decision.health).toMatchObject({ healthy: 0, unhealthy: 5 });
    expect(poll(polledServer({ online: false, load: null }), [], failure('HTTP 502', 'httpError')).events).toEqual([e.pollFailed('bbb-1', 'httpError', 'HTTP 502')]);
  });
});

describe('decidePoll: a successful poll', () => {
  const offline = (over: Partial<Server> = {}) => polledServer({ online: false, load: null, bbbVersion: '', ...over });

  test('while offline, below the healthy threshold: counted, no events', () => {
    const decision = poll(offline(), [], ok(), health({ unhealthy: 1 }), { ...settings, healthyThreshold: 3 });
    expect(decision.events).toEqual([]);
    expect(decision.health).toMatchObject({ healthy: 1, unhealthy: 0 });
    expect(poll(offline(), [], ok(), decision.health, { ...settings, healthyThreshold: 3 }).health.healthy).toBe(2);
  });

  test('while offline, reaching the healthy threshold: online, then polled', () => {
    const decision = poll(offline(), [], ok([observed('x', { participantCount: 4 })], '2.7.5'), health({ healthy: 2 }), { ...settings, healthyThreshold: 3 });
    expect(decision.events).toEqual([e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 4, { meetings: 1, users: 4, largestMeeting: 4, bbbVersion: '2.7.5' })]);
    expect(decision.health).toMatchObject({ healthy: 0, unhealthy: 0 });
  });

  test('going online always records a poll, even if the numbers match the stale ones', () => {
    const decision = poll(offline({ load: 0, bbbVersion: '2.7.3' }), [], ok());
    expect(decision.events).toEqual([e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 0)]);
  });

  test('nothing changed: no events', () => {
    expect(poll(polledServer(), [], ok()).events).toEqual([]);
  });

  test('the first success after failures says the polls recovered, also while it is still below the healthy threshold', () => {
    expect(poll(failingServer(), [], ok()).events).toEqual([e.pollRecovered('bbb-1')]);
    const offline = failingServer({ online: false, load: null });
    expect(poll(offline, [], ok(), freshHealth(), { ...settings, healthyThreshold: 3 }).events).toEqual([e.pollRecovered('bbb-1')]);
  });

  test('load, stats or version changed: ServerPolled with the reading', () => {
    const meetings = [observed('a', { participantCount: 5, moderatorCount: 1, videoCount: 2 })];
    expect(poll(polledServer({ loadMultiplier: 2 }), [], ok(meetings)).events).toEqual([
      e.serverPolled('bbb-1', 12, { meetings: 1, users: 5, largestMeeting: 5, videos: 2 }),
    ]);
    expect(poll(polledServer(), [], ok([], '3.0.0')).events).toEqual([e.serverPolled('bbb-1', 0, { bbbVersion: '3.0.0' })]);
    expect(poll(polledServer({ videos: 1 }), [], ok()).events).toEqual([e.serverPolled('bbb-1', 0)]);
  });

  test('a placement estimate is corrected by the next poll', () => {
    expect(poll(polledServer({ load: 15 }), [], ok()).events).toEqual([e.serverPolled('bbb-1', 0)]);
  });

  test('an unknown version (null) keeps the one we had', () => {
    expect(poll(polledServer({ bbbVersion: '2.6.0' }), [], ok([], null)).events).toEqual([]);
    expect(poll(polledServer({ bbbVersion: '2.6.0', load: 3 }), [], ok([], null)).events).toEqual([e.serverPolled('bbb-1', 0, { bbbVersion: '2.6.0' })]);
  });

  test('a disabled server is polled too (its numbers stay current)', () => {
    expect(poll(polledServer({ state: 'disabled', load: 5 }), [], ok()).events).toEqual([e.serverPolled('bbb-1', 0)]);
  });
});

describe('decidePoll: routes the server no longer reports', () => {
  const old = (id: string) => meeting(id, 'bbb-1', { placedAt: at(NOW - 10 * 60_000) });
  const fresh = (id: string) => meeting(id, 'bbb-1', { placedAt: at(NOW - 5_000) });

  test('a reported route is remembered as seen', () => {
    const decision = poll(polledServer(), [fresh('m-1')], ok([observed('m-1')]));
    expect(decision.events.filter((ev) => ev.type === 'MeetingEnded')).toEqual([]);
    expect(decision.health.seen).toEqual(seenOf(fresh('m-1')));
  });

  test('a route seen before and now missing ends with notRunning', () => {
    const decision = poll(polledServer(), [fresh('m-1')], ok(), health({ seen: seenOf(fresh('m-1')) }));
    expect(decision.events).toEqual([e.meetingEnded('m-1', 'bbb-1', 'notRunning')]);
    expect(decision.health.seen).toEqual(new Map());
  });

  test('a route never seen ends only once it is older than the grace period', () => {
    expect(poll(polledServer(), [fresh('m-1')], ok()).events).toEqual([]);
    expect(poll(polledServer(), [old('m-1')], ok()).events).toEqual([e.meetingEnded('m-1', 'bbb-1', 'notRunning')]);
    const edge = meeting('m-1', 'bbb-1', { placedAt: at(NOW - 60_000) });
    expect(poll(polledServer(), [edge], ok()).events).toEqual([]);
    const past = meeting('m-1', 'bbb-1', { placedAt: at(NOW - 60_001) });
    expect(poll(polledServer(), [past], ok()).events).toEqual([e.meetingEnded('m-1', 'bbb-1', 'notRunning')]);
  });

  test('a route placed after the poll began is left alone', () => {
    const later = meeting('m-1', 'bbb-1', { placedAt: at(NOW + 2_000) });
    expect(poll(polledServer(), [later], ok()).events).toEqual([]);
  });

  test('ends come after the ServerPolled, in route order; reported routes stay', () => {
    const decision = poll(polledServer(), [old('m-1'), old('m-2'), old('m-3')], ok([observed('m-2', { participantCount: 2 })]));
    expect(decision.events).toEqual([
      e.serverPolled('bbb-1', 2, { meetings: 1, users: 2, largestMeeting: 2 }),
      e.meetingEnded('m-1', 'bbb-1', 'notRunning'),
      e.meetingEnded('m-3', 'bbb-1', 'notRunning'),
    ]);
    expect(decision.health.seen).toEqual(seenOf(old('m-2')));
  });

  test('seen forgets meetings that are no longer routed to this server', () => {
    const decision = poll(polledServer(), [fresh('m-2')], ok([observed('m-2')]), health({ seen: seenOf(fresh('m-1'), fresh('m-2')) }));
    expect(decision.health.seen).toEqual(seenOf(fresh('m-2')));
  });

  test('a breakout reported under its own id does not keep anything else alive', () => {
    const decision = poll(polledServer(), [old('parent')], ok([observed('breakout-1', { isBreakout: true })]));
    expect(decision.events).toContainEqual(e.meetingEnded('parent', 'bbb-1', 'notRunning'));
  });

  test('the previous health is not mutated', () => {
    const previous = health({ seen: seenOf(fresh('m-1')) });
    poll(polledServer(), [fresh('m-1')], ok(), previous);
    poll(polledServer(), [fresh('m-2')], ok([observed('m-2')]), previous);
    expect(previous).toEqual(health({ seen: seenOf(fresh('m-1')) }));
  });

  // A meetingID that ended (API end) and was created again before the next poll: the new route was
  // placed a few seconds ago and the server has not reported it yet (the create is still on its way).
  // It is within the grace period and this placement was never seen, but `seen` is keyed by meetingID,
  // so the old placement's sighting ends the new route as notRunning and joins answer notFound.
  test('a meetingID seen in an earlier placement does not end its new, unreported route within the grace period', () => {
    const first = poll(polledServer(), [old('m-1')], ok([observed('m-1')]));
    expect(first.health.seen).toEqual(seenOf(old('m-1')));
    // ended through the API, then created again 5 s ago: a new route (new placedAt) for the same meetingID
    const second = poll(polledServer(), [fresh('m-1')], ok([]), first.health);
    expect(second.events).toEqual([]);
  });
});

describe('decidePoll: draining a cordoned server', () => {
  test('load 0 and no meetings: disabled (drained), after the poll is recorded', () => {
    expect(poll(polledServer({ state: 'cordoned', load: 3 }), [], ok()).events).toEqual([e.serverPolled('bbb-1', 0), e.serverDisabled('bbb-1', 'drained')]);
    expect(poll(polledServer({ state: 'cordoned' }), [], ok()).events).toEqual([e.serverDisabled('bbb-1', 'drained')]);
  });

  test('not while BBB still reports meetings, even with load 0', () => {
    const quiet = [observed('m-1', { createTime: minutesAgo(60) })];
    const decision = poll(polledServer({ state: 'cordoned', meetings: 1 }), [meeting('m-1', 'bbb-1')], ok(quiet));
    expect(decision.events).toEqual([]);
  });

  test('not while it has load', () => {
    expect(poll(polledServer({ state: 'cordoned', load: 2, meetings: 1, users: 2, largestMeeting: 2 }), [], ok([observed('m-1', { participantCount: 2 })])).events).toEqual([]);
  });

  test('the last meeting gone: its route ends and the server is disabled', () => {
    const decision = poll(polledServer({ state: 'cordoned', load: 5, meetings: 1 }), [meeting('m-1', 'bbb-1')], ok(), health({ seen: seenOf(meeting('m-1', 'bbb-1')) }));
    expect(decision.events).toEqual([e.serverPolled('bbb-1', 0), e.meetingEnded('m-1', 'bbb-1', 'notRunning'), e.serverDisabled('bbb-1', 'drained')]);
  });

  test('an enabled or disabled server with load 0 is not drained', () => {
    expect(poll(polledServer(), [], ok()).events).toEqual([]);
    expect(poll(polledServer({ state: 'disabled' }), [], ok()).events).toEqual([]);
  });

  test('a cordoned server still below the healthy threshold is not drained', () => {
    const decision = poll(polledServer({ state: 'cordoned', online: false, load: null }), [], ok(), freshHealth(), { ...settings, healthyThreshold: 2 });
    expect(decision.events).toEqual([]);
  });
});

describe('decidePoll: what it records must pass the catalogue', () => {
  // A server whose root API reports an odd bbbVersion must not be locked out of the pool: the
  // append would throw on every poll and the server would never come online.
  test('a bbbVersion longer than the catalogue allows does not produce an invalid ServerPolled', () => {
    const decision = decidePoll(polledServer({ online: false, load: null }), [], ok([], 'v'.repeat(150)), freshHealth(), now, settings);
    expect(validEvents(decision.events)).toBe(true);
  });
});

describe('decidePoll: meetings running without a route (adoption)', () => {
  const running = (meetingId: string, over: Partial<ObservedMeeting> = {}) => observed(meetingId, { voiceBridge: '71234', moderatorPassword: 'mp', tenantId: null, ...over });

  test('given a meeting the server runs that no route knows, the poll routes it there, with the reason', () => {
    const decision = poll(polledServer(), [], ok([running('direct', { tenantId: 't-1' })]));
    expect(decision.events).toContainEqual(e.meetingAdopted('direct', 'bbb-1', { tenantId: 't-1', moderatorPassword: 'mp' }));
  });

  test('given routes on this server, another server, breakouts and what no event can hold: none of those is adopted', () => {
    const routes = [meeting('routed-here', 'bbb-1')];
    const reported = [
      running('routed-here'),
      running('routed-elsewhere'),
      running('a-breakout', { isBreakout: true }),
      running('bad-bridge', { voiceBridge: 'x12' }),
      running('long-tenant', { tenantId: 't'.repeat(300) }),
      running('nul\u0000id'),
    ];
    const decision = decidePoll(polledServer(), routes, ok(reported), health({ seen: seenOf(...routes) }), now, settings, new Set(['routed-elsewhere']));
    expectValidEvents(decision.events);
    expect(decision.events.filter((ev) => ev.type === 'MeetingAdopted')).toEqual([]);
  });

  test('given the same meeting reported twice, one adoption', () => {
    expect(poll(polledServer(), [], ok([running('twice'), running('twice')])).events.filter((ev) => ev.type === 'MeetingAdopted')).toHaveLength(1);
  });
});

describe('decideOrphans', () => {
  test('routes whose server is gone end with serverRemoved', () => {
    const routes = [meeting('m-1', 'bbb-1'), meeting('m-2', 'gone'), meeting('m-3', 'bbb-2'), meeting('m-4', 'gone')];
    const events = decideOrphans(routes, new Set(['bbb-1', 'bbb-2']));
    expectValidEvents(events);
    expect(events).toEqual([e.meetingEnded('m-2', 'gone', 'serverRemoved'), e.meetingEnded('m-4', 'gone', 'serverRemoved')]);
  });

  test('no orphans, no events', () => {
    expect(decideOrphans([meeting('m-1', 'bbb-1')], new Set(['bbb-1']))).toEqual([]);
    expect(decideOrphans([], new Set())).toEqual([]);
  });
});
