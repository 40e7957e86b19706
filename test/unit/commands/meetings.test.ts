import { CreateCallbacks, CreateMeeting, decideCreate, decideEndMeeting, decideEndMeetings, EndMeeting, EndMeetings } from '../../../src/commands/meetings';
import { decidePlacement, PlacementView } from '../../../src/commands/placement';
import { draft } from '../../../src/events/catalog';
import { e, liveServer, poolAfter } from '../../support/events';
import { given, onPool, when } from '../../support/decide';
import { placementView } from '../../support/placement-view';

const settings = { loadMinUserCount: 15 };
const READY = 'https://lms.example.com/ready';
const ANALYTICS = 'https://lms.example.com/analytics';

const noCallbacks: CreateCallbacks = { recordingReadyUrl: null, analyticsCallbackUrl: null };
const create = (callbacks: Partial<CreateCallbacks> = {}, over: Partial<CreateMeeting> = {}): CreateMeeting => ({
  meetingId: 'm-1',
  tenantId: null,
  tag: null,
  moderatorPassword: null,
  generatedPassword: 'gen12345',
  requestedVoiceBridge: null,
  callbacks: { ...noCallbacks, ...callbacks },
  ...over,
});

/** decideCreate against the view the create handler loads, from the pool the given events build. */
const creating = onPool(
  (command: CreateMeeting, view: PlacementView) => decideCreate(command, view, settings),
  (pool, command) => placementView(pool, command),
);

const registered = (over: Partial<CreateCallbacks> = {}, tenantId: string | null = null) =>
  draft('MeetingCallbacksRegistered', { meetingId: 'm-1', tenantId, recordingReadyUrl: READY, analyticsCallbackUrl: null, ...over });

describe('decideCreate: the placement and the callback URLs, in one decision', () => {
  const pool = liveServer('bbb-1', 0);

  test('given a pool, a create without callbacks decides exactly the placement', () => {
    const decided = given(pool).when(creating, create()).thenEvents();
    const placement = decidePlacement(create(), placementView(poolAfter(pool), create()), settings);
    expect(placement).toMatchObject({ events: decided });
    expect(given(pool).when(creating, create()).thenResult().callbacks).toEqual({ kept: 'none' });
  });

  test('a new meeting with a recording-ready URL: MeetingPlaced, then MeetingCallbacksRegistered', () => {
    const decided = given(pool)
      .when(creating, create({ recordingReadyUrl: READY }))
      .then([e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '111111111', moderatorPassword: 'gen12345', considered: [{ serverId: 'bbb-1', load: 0 }] }), registered()]);
    expect(decided.result).toMatchObject({ placement: { kind: 'placed', server: { id: 'bbb-1' } }, callbacks: { kept: 'registered' } });
  });

  test('given a live route, a create with callbacks reuses it and only registers them', () => {
    const decided = given([...pool, e.meetingPlaced('m-1', 'bbb-1')])
      .when(creating, create({ recordingReadyUrl: READY, analyticsCallbackUrl: ANALYTICS }))
      .then([registered({ analyticsCallbackUrl: ANALYTICS })]);
    expect(decided.result.placement).toMatchObject({ kind: 'existing', server: { id: 'bbb-1' } });
  });

  test('the URLs are kept trimmed, with the tenant of the meeting', () => {
    given([...pool, e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1' })])
      .when(creating, create({ recordingReadyUrl: `  ${READY} ` }, { tenantId: 't-1' }))
      .then([registered({}, 't-1')]);
  });

  test('a URL the log cannot hold costs the create its callbacks, not its meeting, and says why', () => {
    const routed = [...pool, e.meetingPlaced('m-1', 'bbb-1')];
    const blank = given(routed)
      .when(creating, create({ recordingReadyUrl: '   ' }))
      .then([]);
    expect(blank.result.callbacks).toEqual({ kept: 'notKept', why: expect.stringMatching(/^MeetingCallbacksRegistered: recordingReadyUrl /) });
    const long = given(pool)
      .when(creating, create({ analyticsCallbackUrl: `https://lms.example.com/${'a'.repeat(3000)}` }))
      .thenEvents();
    expect(long.map((ev) => ev.type)).toEqual(['MeetingPlaced']);
  });

  test('a refused placement registers nothing', () => {
    when(creating, create({ recordingReadyUrl: READY })).thenError('noServerAvailable');
    given([...pool, e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1' })])
      .when(creating, create({ recordingReadyUrl: READY }, { tenantId: 't-2' }))
      .thenError('meetingOfOtherTenant');
  });
});

describe('decideEndMeeting: BBB confirmed the end', () => {
  const ending = onPool(decideEndMeeting, (pool, command: EndMeeting) => ({ route: pool.meetings[command.meetingId] ?? null }));
  const routed = [...liveServer('bbb-1', 0), ...liveServer('bbb-2', 0), e.meetingPlaced('m-1', 'bbb-1')];

  test('given the route BBB was asked about: it ends (reason end)', () => {
    given(routed)
      .when(ending, { meetingId: 'm-1', serverId: 'bbb-1' })
      .then([e.meetingEnded('m-1', 'bbb-1', 'end')]);
  });

  test('given the route gone, or moved to another server meanwhile: nothing', () => {
    given([...routed, e.meetingEnded('m-1', 'bbb-1')])
      .when(ending, { meetingId: 'm-1', serverId: 'bbb-1' })
      .then([]);
    given([...routed, e.meetingEnded('m-1', 'bbb-1'), e.meetingPlaced('m-1', 'bbb-2')])
      .when(ending, { meetingId: 'm-1', serverId: 'bbb-1' })
      .then([]);
  });
});

describe('decideEndMeetings: the admin ends meetings', () => {
  /** The routes the admin handler loads: every one, or those of the named meetings. */
  const ending = onPool(decideEndMeetings, (pool, command: EndMeetings) => ({
    routes: command.meetingIds === undefined ? Object.values(pool.meetings) : command.meetingIds.flatMap((id) => pool.meetings[id] ?? []),
  }));
  const routed = [
    ...liveServer('bbb-1', 0),
    ...liveServer('bbb-2', 0),
    e.meetingPlaced('m-1', 'bbb-1', { voiceBridge: '1' }),
    e.meetingPlaced('m-2', 'bbb-2', { voiceBridge: '2' }),
  ];

  test('none named: every route ends (reason admin)', () => {
    const decided = given(routed)
      .when(ending, {})
      .then([e.meetingEnded('m-1', 'bbb-1', 'admin'), e.meetingEnded('m-2', 'bbb-2', 'admin')]);
    expect(decided.result.unknown).toEqual([]);
    expect(decided.result.ended.map((m) => m.meetingId)).toEqual(['m-1', 'm-2']);
  });

  test('named: those with a route end, the others are unknown', () => {
    const decided = given(routed)
      .when(ending, { meetingIds: ['m-2', 'nope'] })
      .then([e.meetingEnded('m-2', 'bbb-2', 'admin')]);
    expect(decided.result).toMatchObject({ ended: [{ meetingId: 'm-2' }], unknown: ['nope'] });
  });

  test('given no routes: nothing to end', () => {
    when(ending, {}).then([]);
  });
});
