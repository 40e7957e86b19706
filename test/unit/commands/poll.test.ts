import { isDomainError } from '../../../src/commands/errors';
import {
  decideOrphans,
  decidePoll,
  freshHealth,
  ObservedMeeting,
  OrphansView,
  PollOutcome,
  PollSettings,
  PollView,
  readLoad,
  RecordPoll,
  ServerHealth,
  unroutedReported,
} from '../../../src/commands/poll';
import { EventDraft, PollFailureReason } from '../../../src/events/catalog';
import { Meeting, PoolState, Server } from '../../../src/projections/pool';
import { at, e, liveServer, meeting, meetingsOn, poolAfter, server } from '../../support/events';
import { decided, given, onPool, validEvents, when } from '../../support/decide';

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
/** A poll of bbb-1 that began now. */
const polled = (outcome: PollOutcome): RecordPoll => ({ outcome, startedAt: now });

/** The view the poller loads for a server (Poller.decideOn), from a pool state; `health` is the poller's own memory. */
function pollView(pool: PoolState, serverId: string, poll: RecordPoll, previous: ServerHealth): PollView {
  const routes = meetingsOn(pool, serverId);
  const reported = poll.outcome.ok ? unroutedReported(poll.outcome.meetings, routes) : [];
  const routedElsewhere = new Set(reported.filter((id) => pool.meetings[id] && pool.meetings[id].serverId !== serverId));
  return { server: pool.servers[serverId], routes, health: previous, routedElsewhere };
}

/** decidePoll of bbb-1 against the pool the given events build, with what the poller remembers of it. */
const polling = (previous: ServerHealth = freshHealth(), pollSettings: PollSettings = settings) =>
  onPool(
    (poll: RecordPoll, view: PollView) => decidePoll(poll, view, pollSettings),
    (pool, poll) => pollView(pool, 'bbb-1', poll, previous),
  );

/** bbb-1 enabled, online, last polled at load 0 with BBB 2.7.3. */
const live = liveServer('bbb-1', 0);
/** ...whose polls have been failing since (ServerPollFailed was written). */
const failing = [...live, e.pollFailed('bbb-1')];
/** bbb-1 added and enabled, never polled successfully. */
const neverOnline = [e.serverAdded('bbb-1'), e.serverEnabled('bbb-1')];
/** The routes the given events leave on bbb-1. */
const routesAfter = (history: EventDraft[]): Meeting[] => meetingsOn(poolAfter(history), 'bbb-1');

/** For views no events make (times, odd fields): decidePoll on a hand-built server, its decision flattened. */
function poll(s: Server, routes: Meeting[], outcome: PollOutcome, previous: ServerHealth = freshHealth(), pollSettings = settings) {
  const d = decided(decidePoll({ outcome, startedAt: now }, { server: s, routes, health: previous }, pollSettings));
  return { events: d.events, ...d.result };
}

/** An online, enabled server whose last poll saw nothing. */
const polledServer = (over: Partial<Server> = {}): Server => server('bbb-1', { load: 0, bbbVersion: '2.7.3', ...over });

describe('decidePoll: a failed poll', () => {
  test('the first failure says why (ServerPollFailed); below the unhealthy threshold nothing more, one failure counted, successes reset', () => {
    const decision = given(live)
      .when(polling(health({ healthy: 3 })), polled(failure()))
      .then([e.pollFailed('bbb-1')]);
    expect(decision.result.health).toMatchObject({ healthy: 0, unhealthy: 1 });
    expect(decision.result.endCalls).toEqual([]);
  });

  test('failing again for the same reason writes nothing: a server down all day is one event, not one per poll', () => {
    given(failing).when(polling(), polled(failure())).then([]);
    given([...failing, e.wentOffline('bbb-1')])
      .when(polling(), polled(failure()))
      .then([]);
  });

  test('failing for another reason says so: a wrong secret is named as such', () => {
    const why = "the server's secret does not match (checksumError)";
    given(failing)
      .when(polling(), polled(failure(why, 'checksumError')))
      .then([e.pollFailed('bbb-1', 'checksumError', why)]);
  });

  test('at the threshold: every route ends (serverOffline), the server goes offline, BBB end is still tried', () => {
    const history = [...failing, e.meetingPlaced('m-1', 'bbb-1'), e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '2' })];
    const routes = routesAfter(history);
    const decision = given(history)
      .when(polling(health({ unhealthy: 1, seen: seenOf(routes[0]) })), polled(failure('timeout')))
      .then([e.meetingEnded('m-1', 'bbb-1', 'serverOffline'), e.meetingEnded('m-2', 'bbb-1', 'serverOffline'), e.wentOffline('bbb-1', 'timeout')]);
    expect(decision.result.endCalls).toEqual(routes);
    expect(decision.result.health).toEqual(freshHealth());
  });

  test('with threshold 1 the first failure takes it offline, after saying why', () => {
    given(live)
      .when(polling(freshHealth(), { ...settings, unhealthyThreshold: 1 }), polled(failure()))
      .then([e.pollFailed('bbb-1'), e.wentOffline('bbb-1')]);
  });

  test('two failures in a row with the default threshold 2', () => {
    const first = given(live)
      .when(polling(), polled(failure()))
      .then([e.pollFailed('bbb-1')]);
    given([...live, ...first.events])
      .when(polling(first.result.health), polled(failure()))
      .then([e.wentOffline('bbb-1')]);
  });

  test('a success in between restarts the count', () => {
    const first = given(live)
      .when(polling(), polled(failure()))
      .then([e.pollFailed('bbb-1')]);
    const success = given([...live, ...first.events])
      .when(polling(first.result.health), polled(ok()))
      .then([e.pollRecovered('bbb-1')]);
    expect(success.result.health.unhealthy).toBe(0);
    given([...live, ...first.events, ...success.events])
      .when(polling(success.result.health), polled(failure()))
      .then([e.pollFailed('bbb-1')]);
  });

  test('the error kept in the events is cut to 1000 characters', () => {
    given(live)
      .when(polling(health({ unhealthy: 1 })), polled(failure('x'.repeat(5000))))
      .then([e.pollFailed('bbb-1', 'unreachable', 'x'.repeat(1000)), e.wentOffline('bbb-1', 'x'.repeat(1000))]);
  });

  test('while offline: failures are not even counted; only a new reason is told', () => {
    const decision = given([...failing, e.wentOffline('bbb-1')])
      .when(polling(health({ healthy: 1, unhealthy: 5 })), polled(failure()))
      .then([]);
    expect(decision.result.health).toMatchObject({ healthy: 0, unhealthy: 5 });
    given([...live, e.wentOffline('bbb-1')])
      .when(polling(), polled(failure('HTTP 502', 'httpError')))
      .then([e.pollFailed('bbb-1', 'httpError', 'HTTP 502')]);
  });
});

describe('decidePoll: a successful poll', () => {
  const slowToTrust = { ...settings, healthyThreshold: 3 };

  test('while offline, below the healthy threshold: counted, no events', () => {
    const decision = given(neverOnline)
      .when(polling(health({ unhealthy: 1 }), slowToTrust), polled(ok()))
      .then([]);
    expect(decision.result.health).toMatchObject({ healthy: 1, unhealthy: 0 });
    expect(given(neverOnline).when(polling(decision.result.health, slowToTrust), polled(ok())).thenResult().health.healthy).toBe(2);
  });

  test('while offline, reaching the healthy threshold: online, then polled', () => {
    const decision = given(neverOnline)
      .when(polling(health({ healthy: 2 }), slowToTrust), polled(ok([observed('x', { participantCount: 4 })], '2.7.5')))
      .then([e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 4, { meetings: 1, users: 4, largestMeeting: 4, bbbVersion: '2.7.5' })]);
    expect(decision.result.health).toMatchObject({ healthy: 0, unhealthy: 0 });
  });

  test('going online always records a poll, even if the numbers match the stale ones', () => {
    const offline = polledServer({ online: false, load: 0, bbbVersion: '2.7.3' });
    expect(poll(offline, [], ok()).events).toEqual([e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 0)]);
  });

  test('nothing changed: no events', () => {
    given(live).when(polling(), polled(ok())).then([]);
  });

  test('the first success after failures says the polls recovered, also while it is still below the healthy threshold', () => {
    given(failing)
      .when(polling(), polled(ok()))
      .then([e.pollRecovered('bbb-1')]);
    given([...failing, e.wentOffline('bbb-1')])
      .when(polling(freshHealth(), slowToTrust), polled(ok()))
      .then([e.pollRecovered('bbb-1')]);
  });

  test('load, stats or version changed: ServerPolled with the reading', () => {
    const meetings = [observed('a', { participantCount: 5, moderatorCount: 1, videoCount: 2 })];
    given(liveServer('bbb-1', 0, { loadMultiplier: 2 }))
      .when(polling(), polled(ok(meetings)))
      .then([e.serverPolled('bbb-1', 12, { meetings: 1, users: 5, largestMeeting: 5, videos: 2 })]);
    given(live)
      .when(polling(), polled(ok([], '3.0.0')))
      .then([e.serverPolled('bbb-1', 0, { bbbVersion: '3.0.0' })]);
    given([...live, e.serverPolled('bbb-1', 0, { videos: 1 })])
      .when(polling(), polled(ok()))
      .then([e.serverPolled('bbb-1', 0)]);
  });

  test('given a placement, its estimate is corrected by the next poll', () => {
    given([...live, e.meetingPlaced('m-1', 'bbb-1')])
      .when(polling(), polled(ok([observed('m-1')])))
      .then([e.serverPolled('bbb-1', 0, { meetings: 1 })]);
  });

  test('an unknown version (null) keeps the one we had', () => {
    const v26 = (load: number) => [...neverOnline, e.wentOnline('bbb-1'), e.serverPolled('bbb-1', load, { bbbVersion: '2.6.0' })];
    given(v26(0))
      .when(polling(), polled(ok([], null)))
      .then([]);
    given(v26(3))
      .when(polling(), polled(ok([], null)))
      .then([e.serverPolled('bbb-1', 0, { bbbVersion: '2.6.0' })]);
  });

  test('a disabled server is polled too (its numbers stay current)', () => {
    given([...liveServer('bbb-1', 5), e.serverDisabled('bbb-1')])
      .when(polling(), polled(ok()))
      .then([e.serverPolled('bbb-1', 0)]);
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
    given([...liveServer('bbb-1', 3), e.serverCordoned('bbb-1')])
      .when(polling(), polled(ok()))
      .then([e.serverPolled('bbb-1', 0), e.serverDisabled('bbb-1', 'drained')]);
    given([...live, e.serverCordoned('bbb-1')])
      .when(polling(), polled(ok()))
      .then([e.serverDisabled('bbb-1', 'drained')]);
  });

  test('not while BBB still reports meetings, even with load 0', () => {
    const quiet = [observed('m-1', { createTime: minutesAgo(60) })];
    given([...live, e.meetingPlaced('m-1', 'bbb-1'), e.serverPolled('bbb-1', 0, { meetings: 1 }), e.serverCordoned('bbb-1')])
      .when(polling(), polled(ok(quiet)))
      .then([]);
  });

  test('not while it has load', () => {
    const busy = [...neverOnline, e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 2, { meetings: 1, users: 2, largestMeeting: 2 }), e.serverCordoned('bbb-1')];
    given(busy)
      .when(polling(), polled(ok([observed('m-1', { participantCount: 2 })])))
      .then([]);
  });

  test('the last meeting gone: its route ends and the server is disabled', () => {
    const history = [...live, e.meetingPlaced('m-1', 'bbb-1'), e.serverPolled('bbb-1', 5, { meetings: 1 }), e.serverCordoned('bbb-1')];
    given(history)
      .when(polling(health({ seen: seenOf(...routesAfter(history)) })), polled(ok()))
      .then([e.serverPolled('bbb-1', 0), e.meetingEnded('m-1', 'bbb-1', 'notRunning'), e.serverDisabled('bbb-1', 'drained')]);
  });

  test('an enabled or disabled server with load 0 is not drained', () => {
    given(live).when(polling(), polled(ok())).then([]);
    given([...live, e.serverDisabled('bbb-1')])
      .when(polling(), polled(ok()))
      .then([]);
  });

  test('a cordoned server still below the healthy threshold is not drained', () => {
    given([...neverOnline, e.serverCordoned('bbb-1')])
      .when(polling(freshHealth(), { ...settings, healthyThreshold: 2 }), polled(ok()))
      .then([]);
  });
});

describe('decidePoll: what it records must pass the catalogue', () => {
  // A server whose root API reports an odd bbbVersion must not be locked out of the pool: the
  // append would throw on every poll and the server would never come online.
  test('a bbbVersion longer than the catalogue allows does not produce an invalid ServerPolled', () => {
    const decision = given(neverOnline).when(polling(), polled(ok([], 'v'.repeat(150)))).decision;
    expect(isDomainError(decision) || validEvents(decision.events)).toBe(true);
  });
});

describe('decidePoll: meetings running without a route (adoption)', () => {
  const running = (meetingId: string, over: Partial<ObservedMeeting> = {}) => observed(meetingId, { voiceBridge: '71234', moderatorPassword: 'mp', tenantId: null, ...over });
  const adopted = (events: EventDraft[]) => events.filter((ev) => ev.type === 'MeetingAdopted');

  test('given a meeting the server runs that no route knows, the poll routes it there, with the reason', () => {
    expect(
      given(live)
        .when(polling(), polled(ok([running('direct', { tenantId: 't-1' })])))
        .thenEvents(),
    ).toContainEqual(e.meetingAdopted('direct', 'bbb-1', { tenantId: 't-1', moderatorPassword: 'mp' }));
  });

  test('given routes on this server, another server, breakouts and what no event can hold: none of those is adopted', () => {
    const history = [
      ...live,
      ...liveServer('bbb-2', 0),
      e.meetingPlaced('routed-here', 'bbb-1', { voiceBridge: '1' }),
      e.meetingPlaced('routed-elsewhere', 'bbb-2', { voiceBridge: '2' }),
    ];
    const reported = [
      running('routed-here'),
      running('routed-elsewhere'),
      running('a-breakout', { isBreakout: true }),
      running('bad-bridge', { voiceBridge: 'x12' }),
      running('long-tenant', { tenantId: 't'.repeat(300) }),
      running('nul\u0000id'),
    ];
    expect(
      adopted(
        given(history)
          .when(polling(health({ seen: seenOf(...routesAfter(history)) })), polled(ok(reported)))
          .thenEvents(),
      ),
    ).toEqual([]);
  });

  test('given the same meeting reported twice, one adoption', () => {
    expect(
      adopted(
        given(live)
          .when(polling(), polled(ok([running('twice'), running('twice')])))
          .thenEvents(),
      ),
    ).toHaveLength(1);
  });
});

describe('decideOrphans', () => {
  /** The poll pass reads every route and every server. */
  const orphans = onPool(
    (_: null, view: OrphansView) => decideOrphans(view),
    (pool) => ({ routes: Object.values(pool.meetings), serverIds: new Set(Object.keys(pool.servers)) }),
  );

  test('given routes whose server was removed: they end with serverRemoved', () => {
    const history = [
      ...liveServer('bbb-1', 0),
      ...liveServer('bbb-2', 0),
      ...liveServer('gone', 0),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1' }),
      e.meetingPlaced('m-2', 'gone', { voiceBridge: '2' }),
      e.meetingPlaced('m-3', 'bbb-2', { voiceBridge: '3' }),
      e.meetingPlaced('m-4', 'gone', { voiceBridge: '4' }),
      e.serverRemoved('gone'),
    ];
    given(history)
      .when(orphans, null)
      .then([e.meetingEnded('m-2', 'gone', 'serverRemoved'), e.meetingEnded('m-4', 'gone', 'serverRemoved')]);
  });

  test('no orphans, no events', () => {
    given([...live, e.meetingPlaced('m-1', 'bbb-1')])
      .when(orphans, null)
      .then([]);
    when(orphans, null).then([]);
  });
});
