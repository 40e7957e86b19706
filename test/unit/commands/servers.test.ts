import { EventDraft } from '../../../src/events/catalog';
import { isDomainError } from '../../../src/commands/errors';
import { decideServer, normaliseTag, ServerCommand } from '../../../src/commands/servers';
import { e, liveServer, meetingsOn, poolAfter } from '../../support/events';
import { given, onPool, validEvents, when } from '../../support/decide';

/** decideServer against the pool the given events build: the server the command names, and its meetings. */
const servers = onPool(decideServer, (pool, command: ServerCommand) => {
  const server = pool.servers[command.serverId] ?? null;
  return { server, meetingsOnServer: server ? meetingsOn(pool, server.id) : [] };
});

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
    when(servers, add()).then([
      { type: 'ServerAdded', data: { serverId: 'bbb-1', url: 'https://bbb-1.example.com/bigbluebutton/api', secret: 's3cr3t', loadMultiplier: 1, tag: null } },
    ]);
  });

  test('keeps the given multiplier and a trimmed tag', () => {
    when(servers, add({ loadMultiplier: 2.5, tag: '  test  ' })).then([{ type: 'ServerAdded', data: expect.objectContaining({ loadMultiplier: 2.5, tag: 'test' }) }]);
  });

  test.each([[''], ['   '], [null]])('an empty tag (%p) means no tag', (tag) => {
    expect(when(servers, add({ tag })).thenEvents()[0].data).toMatchObject({ tag: null });
  });

  test('accepts http as well as https', () => {
    expect(when(servers, add({ url: 'http://10.0.0.5/bigbluebutton/api' })).thenEvents()).toHaveLength(1);
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
    when(servers, add(over)).thenError(error, message);
  });

  test('given a server with that id: serverExists', () => {
    given([e.serverAdded('bbb-1')])
      .when(servers, add())
      .thenError('serverExists', "Server already exists with id 'bbb-1'");
  });

  test('given a removed server with that id: may be added again', () => {
    expect(
      given([e.serverAdded('bbb-1'), e.serverRemoved('bbb-1')])
        .when(servers, add())
        .thenEvents(),
    ).toHaveLength(1);
  });

  // A decision must answer with an error rather than return an event the catalogue rejects:
  // log.append would throw and the admin API would fail with a 500.
  test.each([
    ['a URL over 2048 characters', { url: `https://bbb-1.example.com/${'a'.repeat(2100)}` }],
    ['a secret over 512 characters', { secret: 's'.repeat(600) }],
    ['a tag over 255 characters', { tag: 't'.repeat(300) }],
  ])('%s gives a domain error, not an event the catalogue rejects', (_why, over) => {
    const decision = when(servers, add(over)).decision;
    expect(isDomainError(decision) || validEvents(decision.events)).toBe(true);
  });
});

describe('UpdateServer', () => {
  const existing = [e.serverAdded('bbb-1', { tag: 'test', loadMultiplier: 2 })];

  test('given no such server: serverNotFound', () => {
    when(servers, update({ secret: 'x' })).thenError('serverNotFound', "Couldn't find server with id=bbb-1");
  });

  test('records only the fields that change', () => {
    given(existing)
      .when(servers, update({ url: 'https://new.example.com/bigbluebutton/api', secret: 'new', loadMultiplier: 2, tag: 'test' }))
      .then([{ type: 'ServerUpdated', data: { serverId: 'bbb-1', url: 'https://new.example.com/bigbluebutton/api', secret: 'new' } }]);
  });

  test('a new multiplier and a new tag', () => {
    given(existing)
      .when(servers, update({ loadMultiplier: 0.5, tag: 'other' }))
      .then([{ type: 'ServerUpdated', data: { serverId: 'bbb-1', loadMultiplier: 0.5, tag: 'other' } }]);
  });

  test.each([[null], [''], ['  ']])('tag %p removes the tag', (tag) => {
    given(existing)
      .when(servers, update({ tag }))
      .then([{ type: 'ServerUpdated', data: { serverId: 'bbb-1', tag: null } }]);
  });

  test('removing the tag of an untagged server is a no-op', () => {
    given([e.serverAdded('bbb-1')])
      .when(servers, update({ tag: null }))
      .then([]);
  });

  test('a no-op update produces no events', () => {
    given(existing).when(servers, update({})).then([]);
    expect(
      given(existing)
        .when(servers, update({ url: 'https://bbb-1.example.com/bigbluebutton/api', secret: 'secret-bbb-1', loadMultiplier: 2, tag: ' test ' }))
        .thenEvents(),
    ).toEqual([]);
  });

  test.each([
    ['multiplier 0', { loadMultiplier: 0 }, 'invalidLoadMultiplier', 'Load-multiplier must be a non-zero number'],
    ['a negative multiplier', { loadMultiplier: -1 }, 'invalidLoadMultiplier', 'Load-multiplier must be a non-zero number'],
    ['a NaN multiplier', { loadMultiplier: Number.NaN }, 'invalidLoadMultiplier', 'Load-multiplier must be a non-zero number'],
    ['a bad URL', { url: 'bbb-2.example.com' }, 'invalidServer', 'Server URL must start with http:// or https://'],
    ['an empty secret', { secret: '' }, 'invalidServer', 'Server secret must not be empty'],
  ])('%s: error, no events', (_why, over, error, message) => {
    given(existing).when(servers, update(over)).thenError(error, message);
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
      given([e.serverAdded('bbb-1'), ...history])
        .when(servers, update({ state: change }))
        .then(expected);
    });

    test('field changes come first, then the state change', () => {
      given(existing)
        .when(servers, update({ tag: 'x', state: 'enable' }))
        .then([
          { type: 'ServerUpdated', data: { serverId: 'bbb-1', tag: 'x' } },
          { type: 'ServerEnabled', data: { serverId: 'bbb-1' } },
        ]);
    });

    test('an invalid field stops the state change too', () => {
      given(existing)
        .when(servers, update({ loadMultiplier: 0, state: 'enable' }))
        .thenError('invalidLoadMultiplier');
    });
  });
});

describe('RemoveServer', () => {
  test('given a server: removed (its meetings are left for the orphan reconciliation)', () => {
    given([...liveServer('bbb-1', 0), e.meetingPlaced('m-1', 'bbb-1')])
      .when(servers, { type: 'RemoveServer', serverId: 'bbb-1' })
      .then([e.serverRemoved('bbb-1')]);
  });

  test('given no such server: serverNotFound', () => {
    when(servers, { type: 'RemoveServer', serverId: 'bbb-9' }).thenError('serverNotFound', "Couldn't find server with id=bbb-9");
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
    given(withMeetings)
      .when(servers, panic(false))
      .then([
        e.meetingEnded('m-1', 'bbb-1', 'panic'),
        e.meetingEnded('m-2', 'bbb-1', 'panic'),
        e.serverPanicked('bbb-1', { keepState: false, endCalls: true, meetingsCleared: 2 }),
        e.serverDisabled('bbb-1', 'panic'),
      ]);
  });

  test('keepState: no ServerDisabled', () => {
    given(withMeetings)
      .when(servers, panic(true, false))
      .then([
        e.meetingEnded('m-1', 'bbb-1', 'panic'),
        e.meetingEnded('m-2', 'bbb-1', 'panic'),
        e.serverPanicked('bbb-1', { keepState: true, endCalls: false, meetingsCleared: 2 }),
      ]);
  });

  test('given an already disabled server: no second ServerDisabled', () => {
    given([...withMeetings, e.serverDisabled('bbb-1')])
      .when(servers, panic(false))
      .then([
        e.meetingEnded('m-1', 'bbb-1', 'panic'),
        e.meetingEnded('m-2', 'bbb-1', 'panic'),
        e.serverPanicked('bbb-1', { keepState: false, endCalls: true, meetingsCleared: 2 }),
      ]);
  });

  test('given a cordoned server with no meetings: panicked and disabled', () => {
    given([...liveServer('bbb-1', 0), e.serverCordoned('bbb-1')])
      .when(servers, panic(false))
      .then([e.serverPanicked('bbb-1', { keepState: false, endCalls: true, meetingsCleared: 0 }), e.serverDisabled('bbb-1', 'panic')]);
  });

  test('given no such server: serverNotFound', () => {
    when(servers, panic(false)).thenError('serverNotFound');
  });

  test("applying the panic leaves the other servers' meetings alone", () => {
    const decision = given(withMeetings).when(servers, panic(false)).thenEvents();
    const state = poolAfter([...withMeetings, ...decision]);
    expect(Object.keys(state.meetings)).toEqual(['m-3']);
    expect(state.voiceBridges).toEqual({ '3': 'm-3' });
    expect(state.servers['bbb-1'].state).toBe('disabled');
  });
});

describe('DisableServer', () => {
  const withMeetings = [...liveServer('bbb-1', 30), e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1' }), e.meetingPlaced('m-2', 'bbb-1', { voiceBridge: '2' })];

  test('without endMeetings: only disables, meetings keep running', () => {
    given(withMeetings)
      .when(servers, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: false })
      .then([e.serverDisabled('bbb-1', 'admin')]);
  });

  test('with endMeetings: ends each meeting with reason admin, then disables', () => {
    given(withMeetings)
      .when(servers, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: true })
      .then([e.meetingEnded('m-1', 'bbb-1', 'admin'), e.meetingEnded('m-2', 'bbb-1', 'admin'), e.serverDisabled('bbb-1', 'admin')]);
  });

  test('given a disabled server: nothing without endMeetings, only the ends with it', () => {
    const disabled = [...withMeetings, e.serverDisabled('bbb-1')];
    given(disabled).when(servers, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: false }).then([]);
    given(disabled)
      .when(servers, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: true })
      .then([e.meetingEnded('m-1', 'bbb-1', 'admin'), e.meetingEnded('m-2', 'bbb-1', 'admin')]);
  });

  test('given no such server: serverNotFound', () => {
    when(servers, { type: 'DisableServer', serverId: 'bbb-1', endMeetings: true }).thenError('serverNotFound');
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
