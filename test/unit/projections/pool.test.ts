import { DomainEvent } from '../../../src/events/catalog';
import { diffPool, emptyPool, evolve, isEmptyChange, isJoinable, isSelectable, PoolState, touchedBy } from '../../../src/projections/pool';
import { at, e, given, liveServer, poolAfter, project, secretOf, server, T0, urlOf } from '../../support/events';

/** Apply `then` after `before`, with times following on from the given events. */
function after(before: Parameters<typeof given>[0], then: Parameters<typeof given>[0]): { before: PoolState; after: PoolState; events: DomainEvent[] } {
  const all = given([...before, ...then]);
  const beforeState = project(all.slice(0, before.length));
  return { before: beforeState, after: project(all.slice(before.length), beforeState), events: all.slice(before.length) };
}

describe('evolve: servers', () => {
  test('ServerAdded: a new server is disabled, offline, with no load and zero stats', () => {
    const state = poolAfter([e.serverAdded('bbb-1', { loadMultiplier: 2, tag: 'test' })]);
    expect(state.servers['bbb-1']).toEqual({
      id: 'bbb-1',
      url: urlOf('bbb-1'),
      secret: secretOf('bbb-1'),
      tag: 'test',
      loadMultiplier: 2,
      state: 'disabled',
      online: false,
      load: null,
      meetings: 0,
      users: 0,
      largestMeeting: 0,
      videos: 0,
      bbbVersion: '',
      addedAt: at(T0),
      changedAt: at(T0),
    });
    expect(state.meetings).toEqual({});
    expect(state.voiceBridges).toEqual({});
  });

  test('ServerUpdated merges only the given fields and keeps addedAt', () => {
    const { after: state } = after([e.serverAdded('bbb-1', { tag: 'test', loadMultiplier: 2 })], [e.serverUpdated('bbb-1', { secret: 'new-secret' })]);
    expect(state.servers['bbb-1']).toMatchObject({ url: urlOf('bbb-1'), secret: 'new-secret', tag: 'test', loadMultiplier: 2, addedAt: at(T0), changedAt: at(T0 + 1000) });
  });

  test('ServerUpdated sets url, multiplier and tag', () => {
    const { after: state } = after([e.serverAdded('bbb-1')], [e.serverUpdated('bbb-1', { url: 'https://other.example.com/bigbluebutton/api', loadMultiplier: 3.5, tag: 'blue' })]);
    expect(state.servers['bbb-1']).toMatchObject({ url: 'https://other.example.com/bigbluebutton/api', secret: secretOf('bbb-1'), loadMultiplier: 3.5, tag: 'blue' });
  });

  test('ServerUpdated with tag null removes the tag; without tag keeps it', () => {
    const removed = after([e.serverAdded('bbb-1', { tag: 'test' })], [e.serverUpdated('bbb-1', { tag: null })]).after;
    expect(removed.servers['bbb-1'].tag).toBeNull();
    const kept = after([e.serverAdded('bbb-1', { tag: 'test' })], [e.serverUpdated('bbb-1', { loadMultiplier: 2 })]).after;
    expect(kept.servers['bbb-1'].tag).toBe('test');
  });

  test.each([
    ['ServerEnabled', e.serverEnabled('bbb-1'), 'enabled'],
    ['ServerCordoned', e.serverCordoned('bbb-1'), 'cordoned'],
    ['ServerDisabled', e.serverDisabled('bbb-1'), 'disabled'],
    ['ServerDisabled (drained)', e.serverDisabled('bbb-1', 'drained'), 'disabled'],
  ] as const)('%s sets the state and changedAt', (_name, event, expected) => {
    const { after: state } = after([...liveServer('bbb-1', 4)], [event]);
    expect(state.servers['bbb-1'].state).toBe(expected);
    expect(state.servers['bbb-1'].changedAt).toBe(at(T0 + 4000));
    // the health axis is independent of the administrative state
    expect(state.servers['bbb-1'].online).toBe(true);
  });

  test('cordoning keeps the load (Scalelite moves it to cordoned_server_load)', () => {
    const { after: state } = after([...liveServer('bbb-1', 4)], [e.serverCordoned('bbb-1')]);
    expect(state.servers['bbb-1'].load).toBe(4);
  });

  test('ServerRemoved removes the server but not its meetings (the poller reconciles orphans)', () => {
    const { after: state } = after([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '111' })], [e.serverRemoved('bbb-1')]);
    expect(state.servers).toEqual({});
    expect(Object.keys(state.meetings)).toEqual(['m-1']);
    expect(state.voiceBridges).toEqual({ '111': 'm-1' });
  });

  test('ServerPanicked changes nothing by itself (its MeetingEnded and ServerDisabled do)', () => {
    const { before, after: state } = after([...liveServer('bbb-1', 3)], [e.serverPanicked('bbb-1')]);
    expect(isEmptyChange(diffPool(before, state))).toBe(true);
    expect(state).toEqual(before);
  });

  test('ServerPolled sets load, stats and version', () => {
    const { after: state } = after([...liveServer('bbb-1', 3)], [e.serverPolled('bbb-1', 42.5, { meetings: 3, users: 20, largestMeeting: 12, videos: 4, bbbVersion: '3.0.1' })]);
    expect(state.servers['bbb-1']).toMatchObject({ load: 42.5, meetings: 3, users: 20, largestMeeting: 12, videos: 4, bbbVersion: '3.0.1', changedAt: at(T0 + 4000) });
  });

  test('ServerWentOnline sets online; the load stays unknown until a poll measures it', () => {
    const { after: state } = after([e.serverAdded('bbb-1'), e.serverEnabled('bbb-1')], [e.wentOnline('bbb-1')]);
    expect(state.servers['bbb-1']).toMatchObject({ online: true, load: null });
    expect(isSelectable(state.servers['bbb-1'])).toBe(false);
  });

  test('ServerWentOffline sets offline, load unknown and zero stats, keeping the version', () => {
    const { after: state } = after(
      [...liveServer('bbb-1', 3), e.serverPolled('bbb-1', 30, { meetings: 2, users: 9, largestMeeting: 6, videos: 2, bbbVersion: '2.7.4' })],
      [e.wentOffline('bbb-1')],
    );
    expect(state.servers['bbb-1']).toMatchObject({ online: false, load: null, meetings: 0, users: 0, largestMeeting: 0, videos: 0, bbbVersion: '2.7.4', state: 'enabled' });
  });

  describe('events about a server that is not in the pool change nothing', () => {
    const events = [
      e.serverUpdated('ghost', { tag: 'x' }),
      e.serverEnabled('ghost'),
      e.serverCordoned('ghost'),
      e.serverDisabled('ghost'),
      e.serverRemoved('ghost'),
      e.serverPanicked('ghost'),
      e.serverPolled('ghost', 5),
      e.wentOnline('ghost'),
      e.wentOffline('ghost'),
      e.meetingEnded('m-1', 'ghost'),
    ];
    test.each(events.map((d) => [d.type, d] as const))('%s', (_type, event) => {
      const { before, after: state } = after([...liveServer('bbb-1', 3)], [event]);
      expect(state).toEqual(before);
      expect(diffPool(before, state).servers).toEqual({ put: [], remove: [] });
    });

    test('a removed server stays removed whatever follows', () => {
      const state = poolAfter([...liveServer('bbb-1', 3), e.serverRemoved('bbb-1'), e.serverEnabled('bbb-1'), e.wentOnline('bbb-1'), e.serverPolled('bbb-1', 1)]);
      expect(state.servers).toEqual({});
    });
  });
});

describe('evolve: meetings', () => {
  test('MeetingPlaced adds the route and the voice bridge, and counts the estimate on a server with a known load', () => {
    const { after: state } = after(
      [...liveServer('bbb-1', 10)],
      [e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1', voiceBridge: '712345678', moderatorPassword: 'secret-pw', loadEstimate: 15 })],
    );
    expect(state.meetings['m-1']).toEqual({
      meetingId: 'm-1',
      serverId: 'bbb-1',
      tenantId: 't-1',
      voiceBridge: '712345678',
      moderatorPassword: 'secret-pw',
      loadEstimate: 15,
      placedAt: at(T0 + 4000),
    });
    expect(state.voiceBridges).toEqual({ '712345678': 'm-1' });
    expect(state.servers['bbb-1'].load).toBe(25);
  });

  test('MeetingAdopted routes the meeting where it runs, adding nothing to the load the same poll measured', () => {
    const { after: state } = after([...liveServer('bbb-1', 10)], [e.meetingAdopted('m-1', 'bbb-1', { tenantId: 't-1', moderatorPassword: 'mp' })]);
    expect(state.meetings['m-1']).toEqual({
      meetingId: 'm-1',
      serverId: 'bbb-1',
      tenantId: 't-1',
      voiceBridge: '71234',
      moderatorPassword: 'mp',
      loadEstimate: 0,
      placedAt: at(T0 + 4000),
    });
    expect(state.voiceBridges).toEqual({ '71234': 'm-1' });
    expect(state.servers['bbb-1'].load).toBe(10);
  });

  test('MeetingPlaced for a server the pool no longer has records the route, for the orphan reconciliation to end', () => {
    const { after: state } = after([...liveServer('bbb-1', 0), e.serverRemoved('bbb-1')], [e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '42' })]);
    expect(state.servers).toEqual({});
    expect(state.meetings['m-1'].serverId).toBe('bbb-1');
    expect(state.voiceBridges).toEqual({ '42': 'm-1' });
  });

  test('MeetingPlaced on a server whose load is unknown adds no load', () => {
    const { after: state } = after([e.serverAdded('bbb-1'), e.serverCordoned('bbb-1')], [e.meetingPlaced('m-1', 'bbb-1', { loadEstimate: 15 })]);
    expect(state.servers['bbb-1'].load).toBeNull();
    expect(state.meetings['m-1'].serverId).toBe('bbb-1');
  });

  test('a burst of placements adds up until the next poll measures the server', () => {
    const state = poolAfter([
      ...liveServer('bbb-1', 0),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1', loadEstimate: 15 }),
      e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '2', loadEstimate: 30 }),
    ]);
    expect(state.servers['bbb-1'].load).toBe(45);
    const polled = poolAfter([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1', loadEstimate: 15 }), e.serverPolled('bbb-1', 2)]);
    expect(polled.servers['bbb-1'].load).toBe(2);
  });

  test('a re-placement with the same voice bridge moves the route and keeps the voice bridge', () => {
    const { after: state } = after(
      [...liveServer('bbb-1', 0), ...liveServer('bbb-2', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' }), e.wentOffline('bbb-1')],
      [e.meetingPlaced('m-1', 'bbb-2', { voiceBridge: '555', previousServerId: 'bbb-1', loadEstimate: 15 })],
    );
    expect(state.meetings['m-1']).toMatchObject({ serverId: 'bbb-2', voiceBridge: '555', placedAt: at(T0 + 10_000) });
    expect(state.voiceBridges).toEqual({ '555': 'm-1' });
    expect(state.servers['bbb-2'].load).toBe(15);
  });

  test('a re-placement with another voice bridge frees the old number', () => {
    const { after: state } = after([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' })], [e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '666' })]);
    expect(state.voiceBridges).toEqual({ '666': 'm-1' });
  });

  test('a re-placement does not free an old number that another meeting holds', () => {
    const { after: state } = after(
      [...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' }), e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '555' })],
      [e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '666' })],
    );
    expect(state.voiceBridges).toEqual({ '555': 'm-2', '666': 'm-1' });
  });

  test('MeetingEnded removes the route and its voice bridge', () => {
    const { after: state } = after(
      [...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' }), e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '777' })],
      [e.meetingEnded('m-1', 'bbb-1', 'end')],
    );
    expect(Object.keys(state.meetings)).toEqual(['m-2']);
    expect(state.voiceBridges).toEqual({ '777': 'm-2' });
  });

  test('MeetingEnded does not change the server load (the next poll does)', () => {
    const { before, after: state } = after([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1')], [e.meetingEnded('m-1', 'bbb-1')]);
    expect(diffPool(before, state).servers).toEqual({ put: [], remove: [] });
  });

  test('MeetingEnded for an earlier placement on another server keeps the newer route', () => {
    const { before, after: state } = after(
      [
        ...liveServer('bbb-1', 0),
        ...liveServer('bbb-2', 0),
        e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' }),
        e.meetingPlaced('m-1', 'bbb-2', { voiceBridge: '555', previousServerId: 'bbb-1' }),
      ],
      [e.meetingEnded('m-1', 'bbb-1', 'notRunning')],
    );
    expect(isEmptyChange(diffPool(before, state))).toBe(true);
    expect(state).toEqual(before);
    expect(state.meetings['m-1'].serverId).toBe('bbb-2');
    expect(state.voiceBridges).toEqual({ '555': 'm-1' });
  });

  test('MeetingEnded of an unknown meeting changes nothing', () => {
    const { before, after: state } = after([...liveServer('bbb-1', 0)], [e.meetingEnded('nope', 'bbb-1')]);
    expect(isEmptyChange(diffPool(before, state))).toBe(true);
    expect(state).toEqual(before);
  });

  test('MeetingEnded keeps a voice bridge that another meeting holds', () => {
    const { after: state } = after(
      [...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' }), e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '555' })],
      [e.meetingEnded('m-1', 'bbb-1')],
    );
    expect(state.voiceBridges).toEqual({ '555': 'm-2' });
  });

  test('a route can be placed again after it ended', () => {
    const state = poolAfter([
      ...liveServer('bbb-1', 0),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '555' }),
      e.meetingEnded('m-1', 'bbb-1'),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '888' }),
    ]);
    expect(state.meetings['m-1'].voiceBridge).toBe('888');
    expect(state.voiceBridges).toEqual({ '888': 'm-1' });
  });

  test('evolve never mutates the state it is given', () => {
    const events = given([
      ...liveServer('bbb-1', 0),
      e.serverUpdated('bbb-1', { tag: 'x' }),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1' }),
      e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '2' }),
      e.serverCordoned('bbb-1'),
      e.meetingEnded('m-1', 'bbb-1'),
      e.wentOffline('bbb-1'),
      e.serverRemoved('bbb-1'),
    ]);
    let state = emptyPool();
    for (const ev of events) {
      const frozen = JSON.stringify(state);
      const next = evolve(state, ev);
      expect(JSON.stringify(state)).toBe(frozen);
      state = next;
    }
  });
});

describe('touchedBy', () => {
  test('names the servers, meeting and voice bridge an event reads or writes', () => {
    const [placed, ended, enabled] = given([
      e.meetingPlaced('m-1', 'bbb-2', { voiceBridge: '999', previousServerId: 'bbb-1' }),
      e.meetingEnded('m-1', 'bbb-2'),
      e.serverEnabled('bbb-3'),
    ]);
    const none = { tenants: [], tenantSettings: [], tenantNames: [] };
    expect(touchedBy(placed)).toEqual({ servers: ['bbb-2', 'bbb-1'], meetings: ['m-1'], voiceBridges: ['999'], ...none });
    expect(touchedBy(ended)).toEqual({ servers: ['bbb-2'], meetings: ['m-1'], voiceBridges: [], ...none });
    expect(touchedBy(enabled)).toEqual({ servers: ['bbb-3'], meetings: [], voiceBridges: [], ...none });
  });

  test('names the tenant, its new name and the setting a tenant event touches', () => {
    const [added, setting] = given([e.tenantAdded('t-1', 'Math'), e.tenantSettingAdded('s-1', 't-1', 'record', 'false')]);
    expect(touchedBy(added)).toMatchObject({ tenants: ['t-1'], tenantNames: ['math'], tenantSettings: [] });
    expect(touchedBy(setting)).toMatchObject({ tenants: ['t-1'], tenantSettings: ['s-1'] });
  });
});

describe('evolve: tenants', () => {
  test('given a tenant renamed, then the new name resolves to it and the old one to nothing', () => {
    const state = poolAfter([e.tenantAdded('t-1', 'math'), e.tenantUpdated('t-1', { name: 'Physics', lrsEndpoint: 'https://lrs.example.com' })]);
    expect(state.tenantNames).toEqual({ physics: 't-1' });
    expect(state.tenants['t-1']).toMatchObject({ name: 'Physics', secrets: ['math-secret'], lrsEndpoint: 'https://lrs.example.com', lrsPassword: null });
  });

  test('given a tenant removed, then its name is free; its settings stay (as in Scalelite)', () => {
    const state = poolAfter([e.tenantAdded('t-1', 'math'), e.tenantSettingAdded('s-1', 't-1', 'record', 'false'), e.tenantRemoved('t-1')]);
    expect(state.tenants).toEqual({});
    expect(state.tenantNames).toEqual({});
    expect(Object.keys(state.tenantSettings)).toEqual(['s-1']);
  });

  test('given a setting removed, then it is gone', () => {
    const state = poolAfter([e.tenantAdded('t-1', 'math'), e.tenantSettingAdded('s-1', 't-1', 'record', 'false'), e.tenantSettingRemoved('s-1', 't-1')]);
    expect(state.tenantSettings).toEqual({});
  });
});

describe('diffPool', () => {
  test('no change, no writes', () => {
    const state = poolAfter([...liveServer('bbb-1', 0)]);
    const changes = diffPool(state, state);
    expect(isEmptyChange(changes)).toBe(true);
  });

  test('puts changed and new entities (with what they replace) and removes the gone ones', () => {
    const before = poolAfter([...liveServer('bbb-1', 0), ...liveServer('bbb-2', 0), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '111' })]);
    const events = given([e.meetingEnded('m-1', 'bbb-1'), e.meetingPlaced('m-2', 'bbb-2', { voiceBridge: '222' }), e.serverRemoved('bbb-1')], { start: T0 + 60_000 });
    const afterState = project(events, before);
    const changes = diffPool(before, afterState);
    expect(isEmptyChange(changes)).toBe(false);
    expect(changes.servers.put).toEqual([{ key: 'bbb-2', value: afterState.servers['bbb-2'], previous: before.servers['bbb-2'] }]);
    expect(changes.servers.remove).toEqual([{ key: 'bbb-1', previous: before.servers['bbb-1'] }]);
    expect(changes.meetings.put).toEqual([{ key: 'm-2', value: afterState.meetings['m-2'] }]);
    expect(changes.meetings.put[0]).not.toHaveProperty('previous');
    expect(changes.meetings.remove).toEqual([{ key: 'm-1', previous: before.meetings['m-1'] }]);
    expect(changes.voiceBridges).toEqual({ put: [{ key: '222', value: 'm-2' }], remove: [{ key: '111', previous: 'm-1' }] });
  });

  test('compares entities by identity: an equal copy is a put, the same object is not', () => {
    const before = poolAfter([...liveServer('bbb-1', 0)]);
    const copy: PoolState = { ...before, servers: { 'bbb-1': { ...before.servers['bbb-1'] } } };
    expect(diffPool(before, copy).servers.put).toHaveLength(1);
    expect(diffPool(before, { ...before }).servers.put).toHaveLength(0);
  });

  test('a voice bridge moved to another meeting is a put with the previous owner', () => {
    const before: PoolState = { ...emptyPool(), voiceBridges: { '5': 'm-1' } };
    const afterState: PoolState = { ...emptyPool(), voiceBridges: { '5': 'm-2' } };
    expect(diffPool(before, afterState).voiceBridges).toEqual({ put: [{ key: '5', value: 'm-2', previous: 'm-1' }], remove: [] });
  });
});

describe('isSelectable and isJoinable (Scalelite §2.2)', () => {
  test.each([
    ['enabled, online, load known', server('s'), true, true],
    ['enabled, online, load 0', server('s', { load: 0 }), true, true],
    ['enabled, online, load unknown', server('s', { load: null }), false, true],
    ['enabled, offline', server('s', { online: false, load: null }), false, false],
    ['cordoned, online', server('s', { state: 'cordoned', load: 3 }), false, true],
    ['cordoned, offline', server('s', { state: 'cordoned', online: false }), false, false],
    ['disabled, online', server('s', { state: 'disabled', load: 3 }), false, false],
    ['disabled, offline', server('s', { state: 'disabled', online: false, load: null }), false, false],
  ] as const)('%s: selectable %s, joinable %s', (_why, s, selectable, joinable) => {
    expect(isSelectable(s)).toBe(selectable);
    expect(isJoinable(s)).toBe(joinable);
  });
});
