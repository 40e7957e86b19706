import { EventDraft } from '../../../src/events/catalog';
import { isDomainError } from '../../../src/commands/errors';
import { Decision, decideServer, normaliseTag, ServerCommand } from '../../../src/commands/servers';
import { e, liveServer, meetingsOn, poolAfter } from '../../support/events';
import { expectValidEvents, validEvents } from '../../support/decide';

/** Given these events, when this command: the decision against the pool they build. */
function when(givenEvents: EventDraft[], command: ServerCommand): Decision {
  const state = poolAfter(givenEvents);
  const server = state.servers[command.serverId] ?? null;
  return decideServer(command, { server, meetingsOnServer: server ? meetingsOn(state, server.id) : [] });
}

function thenEvents(decision: Decision): EventDraft[] {
  if (isDomainError(decision)) throw new Error(`expected events, got ${decision.error}: ${decision.message}`);
  expectValidEvents(decision.events);
  return decision.events;
}

const add = (over: Partial<Extract<ServerCommand, { type: 'AddServer' }>> = {}): ServerCommand => ({
  type: 'AddServer',
  serverId: 'bbb-1',
  url: 'https://bbb-1.example.com/bigbluebutton/api',
  secret: 's3cr3t',
  ...over,
});
const update = (over: Omit<Extract<ServerCommand, { type: 'UpdateServer' }>, 'type' | 'serverId'>, serverId = 'bbb-1'): ServerCommand => ({
  type: 'UpdateServer',
  serverId,
  ...over,
});

describe('AddServer', () => {
  test('given nothing, adds the server with multiplier 1 and no tag by default', () => {
    expect(thenEvents(when([], add()))).toEqual([
      { type: 'ServerAdded', data: { serverId: 'bbb-1', url: 'https://bbb-1.example.com/bigbluebutton/api', secret: 's3cr3t', loadMultiplier: 1, tag: null } },
    ]);
  });

  test('keeps the given multiplier and a trimmed tag', () => {
    expect(thenEvents(when([], add({ loadMultiplier: 2.5, tag: '  test  ' })))).toEqual([
      { type: 'ServerAdded', data: expect.objectContaining({ loadMultiplier: 2.5, tag: 'test' }) },
    ]);
  });

  test.each([[''], ['   '], [null]])('an empty tag (%p) means no tag', (tag) => {
    expect(thenEvents(when([], add({ tag })))[0].data).toMatchObject({ tag: null });
  });

  test('accepts http as well as https', () => {
    expect(thenEvents(when([], add({ url: 'http://10.0.0.5/bigbluebutton/api' })))).toHaveLength(1);
  });

  test.each([
    ['no URL', { url: '' }, 'invalidServer', 'Server needs a URL and a secret'],
    ['no secret', { secret: '' }, 'invalidServer', 'Server needs a URL and a secret'],
    ['a URL without a scheme', { url: 'bbb-1.example.com/bigbluebutton/api' }, 'invalidServer', 'Server URL must start with http:// or https://'],
    ['an ftp URL', { url: 'ftp://bbb-1.example.com/' }, 'invalidServer', 'Server URL must start with http:// or https://'],
    ['a URL that does not parse', { url: 'https://' }, 'invalidServer', 'Server URL must start with http:// or https://'],
    ['multiplier 0', { loadMultiplier: 0 }, 'invalidLoadMultiplier', 'Load-multiplier must be a positive number'],
    ['a negative multiplier', { loadMultiplier: -2 }, 'invalidLoadMultiplier', 'Load-multiplier must be a positive number'],
    ['a NaN multiplier', { loadMultiplier: Number.NaN }, 'invalidLoadMultiplier', 'Load-multiplier must be a positive number'],
    ['an infinite multiplier', { loadMultiplier: Number.POSITIVE_INFINITY }, 'invalidLoadMultiplier', 'Load-multiplier must be a positive number'],
  ])('%s: error, no events', (_why, over, error, message) => {
    expect(when([], add(over))).toEqual({ error, message });
  });

  test('given a server with that id: serverExists', () => {
    expect(when([e.serverAdded('bbb-1')], add())).toEqual({ error: 'serverExists', message: "Server already exists with id 'bbb-1'" });
  });

  test('given a removed server with that id: may be added again', () => {
    expect(thenEvents(when([e.serverAdded('bbb-1'), e.serverRemoved('bbb-1')], add()))).toHaveLength(1);
  });

  // A decision must answer with an error rather than return an event the catalogue rejects:
  // log.append would throw and the admin API would fail with a 500.
  test.each([
    ['a URL over 2048 characters', { url: `https://bbb-1.example.com/${'a'.repeat(2100)}` }],
    ['a secret over 512 characters', { secret: 's'.repeat(600) }],
    ['a tag over 255 characters', { tag: 't'.repeat(300) }],
  ])('%s gives a domain error, not an event the catalogue rejects', (_why, over) => {
    const decision = when([], add(over));
    expect(isDomainError(decision) || validEvents(decision.events)).toBe(true);
  });
});

describe('UpdateServer', () => {
  const existing = [e.serverAdded('bbb-1', { tag: 'test', loadMultiplier: 2 })];

  test('given no such server: serverNotFound', () => {
    expect(when([], update({ secret: 'x' }))).toEqual({ error: 'serverNotFound', message: "Couldn't find server with id=bbb-1" });
  });

  test('records only the fields that change', () => {
    expect(thenEvents(when(existing, update({ url: 'https://new.example.com/bigbluebutton/api', secret: 'new', loadMultiplier: 2, tag: 'test' })))).toEqual([
      { type: 'ServerUpdated', data: { serverId: 'bbb-1', url: 'https://new.example.com/bigbluebutton/api', secret: 'new' } },
    ]);
  });

  test('a new multiplier and a new tag', () => {
    expect(thenEvents(when(existing, update({ loadMultiplier: 0.5, tag: 'other' })))).toEqual([
      { type: 'ServerUpdated', data: { serverId: 'bbb-1', loadMultiplier: 0.5, tag: 'other' } },
    ]);
  });

  test.each([[null], [''], ['  ']])('tag %p removes the tag', (tag) => {
    expect(thenEvents(when(existing, update({ tag })))).toEqual([{ type: 'ServerUpdated', data: { serverId: 'bbb-1', tag: null } }]);
  });

  test('removing the tag of an untagged server is a no-op', () => {
    expect(thenEvents(when([e.serverAdded('bbb-1')], update({ tag: null })))).toEqual([]);
  });

  test('a no-op update produces no events', () => {
    expect(thenEvents(when(existing, update({})))).toEqual([]);
    expect(
      thenEvents(when(existing, update({ url: 'https://bbb-1.example.com/bigbluebutton/api', secret: 'secret-bbb-1', loadMultiplier: 2, tag: ' test ' }))),
    ).toEqual([]);
  });

  test.each([
    ['multiplier 0', { loadMultiplier: 0 }, 'invalidLoadMultiplier', 'Load-multiplier must be a non-zero number'],
    ['a negative multiplier', { loadMultiplier: -1 }, 'invalidLoadMultiplier', 'Load-multiplier must be a non-zero number'],
    ['a NaN multiplier', { loadMultiplier: Number.NaN }, 'invalidLoadMultiplier', 'Load-multiplier must be a non-zero number'],
    ['a bad URL', { url: 'bbb-2.example.com' }, 'invalidServer', 'Server URL must start with http:// or https://'],
    ['an empty secret', { secret: '' }, 'invalidServer', 'Server secret must not be empty'],
  ])('%s: error, no events', (_why, over, error, message) => {
    expect(when(existing, update(over))).toEqual({ error, message });
  });

  describe('state changes', () => {
    test.each([
      ['disabled', [] as EventDraft[], 'enable', [e.serverEnabled('bbb-1')]],
      ['disabled', [], 'cordon', [e.serverCordoned('bbb-1')]],
      ['disabled', [], 'disable', []],
      ['enabled', [e.serverEnabled('bbb-1')], 'enable', []],
      ['enabled', [e.serverEnabled('bbb-1')], 'cordon', [e.serverCordoned('bbb-1')]],
      ['enabled', [e.serverEnabled('bbb-1')], 'disable', [e.serverDisabled('bbb-1', 'admin')]],
      ['cordoned', [e.serverCordoned('bbb-1')], 'enable', [e.serverEnabled('bbb-1')]],
      ['cordoned', [e.serverCordoned('bbb-1')], 'cordon', []],
      ['cordoned', [e.serverCordoned('bbb-1')], 'disable', [e.serverDisabled('bbb-1', 'admin')]],
    ] as const)('given a %s server, when %s: %j', (_from, history, change, expected) => {
      expect(thenEvents(when([e.serverAdded('bbb-1'), ...history], update({ state: change })))).toEqual(expected);
    });

    test('field changes come first, then the state change', () => {
      expect(thenEvents(when(existing, update({ tag: 'x', state: 'enable' })))).toEqual([
        { type: 'ServerUpdated', data: { serverId: 'bbb-1', tag: 'x' } },
        { type: 'ServerEnabled', data: { serverId: 'bbb-1' } },
      ]);
    });

    test('an invalid field stops the state change too', () => {
      expect(when(existing, update({ loadMultiplier: 0, state: 'enable' }))).toMatchObject({ error: 'invalidLoadMultiplier' });
    });
  });
});

describe('RemoveServer', () => {
  test('given a server: removed (its meetings are left for the orphan reconciliation)', () => {
    expect(thenEvents(when([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1')], { type: 'RemoveServer', serverId: 'bbb-1' }))).toEqual([
      e.serverRemoved('bbb-1'),
    ]);
  });

  test('given no such server: serverNotFound', () => {
    expect(when([], { type: 'RemoveServer', serverId: 'bbb-9' })).toEqual({ error: 'serverNotFound', message: "Couldn't find server with id=bbb-9" });
  });
});

describe('PanicServer', () => {
  const withMeetings = [
    ...liveServer('bbb-1', 30),
    ...liveServer('bbb-2', 0),
    e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1' }),
    e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '2' }),
    e.meetingPlaced('m-3', 'bbb-2', { voiceBridge: '3' }),
  ];
  const panic = (keepState: boolean, endCalls = true): ServerCommand => ({ type: 'PanicServer', serverId: 'bbb-1', keepState, endCalls });

  test('ends each of its meetings with reason panic, records the panic, then disables it', () => {
    expect(thenEvents(when(withMeetings, panic(false)))).toEqual([
      e.meetingEnded('m-1', 'bbb-1', 'panic'),
      e.meetingEnded('m-2', 'bbb-1', 'panic'),
      e.serverPanicked('bbb-1', { keepState: false, endCalls: true, meetingsCleared: 2 }),
      e.serverDisabled('bbb-1', 'panic'),
    ]);
  });

  test('keepState: no ServerDisabled', () => {
    expect(thenEvents(when(withMeetings, panic(true, false)))).toEqual([
      e.meetingEnded('m-1', 'bbb-1', 'panic'),
      e.meetingEnded('m-2', 'bbb-1', 'panic'),
      e.serverPanicked('bbb-1', { keepState: true, endCalls: false, meetingsCleared: 2 }),
    ]);
  });

  test('given an already disabled server: no second ServerDisabled', () => {
    expect(thenEvents(when([...withMeetings, e.serverDisabled('bbb-1')], panic(false)))).toEqual([
      e.meetingEnded('m-1', 'bbb-1', 'panic'),
      e.meetingEnded('m-2', 'bbb-1', 'panic'),
      e.serverPanicked('bbb-1', { keepState: false, endCalls: true, meetingsCleared: 2 }),
    ]);
  });

  test('given a cordoned server with no meetings: panicked and disabled', () => {
    expect(thenEvents(when([...liveServer('bbb-1', 0), e.serverCordoned('bbb-1')], panic(false)))).toEqual([
      e.serverPanicked('bbb-1', { keepState: false, endCalls: true, meetingsCleared: 0 }),
      e.serverDisabled('bbb-1', 'panic'),
    ]);
  });

  test('given no such server: serverNotFound', () => {
    expect(when([], panic(false))).toMatchObject({ error: 'serverNotFound' });
  });

  test('applying the panic leaves the other servers\' meetings alone', () => {
    const decision = thenEvents(when(withMeetings, panic(false)));
    const state = poolAfter([...withMeetings, ...decision]);
    expect(Object.keys(state.meetings)).toEqual(['m-3']);
    expect(state.voiceBridges).toEqual({ '3': 'm-3' });
    expect(state.servers['bbb-1'].state).toBe('disabled');
  });
});

describe('DisableServer', () => {
  const withMeetings = [...liveServer('bbb-1', 30), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1' }), e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '2' })];

  test('without endMeetings: only disables, meetings keep running', () => {
    expect(thenEvents(when(withMeetings, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: false }))).toEqual([e.serverDisabled('bbb-1', 'admin')]);
  });

  test('with endMeetings: ends each meeting with reason admin, then disables', () => {
    expect(thenEvents(when(withMeetings, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: true }))).toEqual([
      e.meetingEnded('m-1', 'bbb-1', 'admin'),
      e.meetingEnded('m-2', 'bbb-1', 'admin'),
      e.serverDisabled('bbb-1', 'admin'),
    ]);
  });

  test('given a disabled server: nothing without endMeetings, only the ends with it', () => {
    const disabled = [...withMeetings, e.serverDisabled('bbb-1')];
    expect(thenEvents(when(disabled, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: false }))).toEqual([]);
    expect(thenEvents(when(disabled, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: true }))).toEqual([
      e.meetingEnded('m-1', 'bbb-1', 'admin'),
      e.meetingEnded('m-2', 'bbb-1', 'admin'),
    ]);
  });

  test('given no such server: serverNotFound', () => {
    expect(when([], { type: 'DisableServer', serverId: 'bbb-1', endMeetings: true })).toMatchObject({ error: 'serverNotFound' });
  });
});

describe('normaliseTag', () => {
  test.each([
    [undefined, undefined],
    [null, null],
    ['', null],
    ['  ', null],
    [' a ', 'a'],
    ['a b', 'a b'],
  ])('%p -> %p', (input, expected) => {
    expect(normaliseTag(input)).toBe(expected);
  });
});
