import {
  checkEvent,
  currentVersion,
  DomainEvent,
  draft,
  EVENT_TYPES,
  eventSchemas,
  InvalidEventError,
  parseEvent,
  readEvent,
  stamp,
  subjectKey,
  subjectsOf,
  upcasters,
} from '../../../src/events/catalog';
import { ActorSchema, EnvelopeSchema, systemActor } from '../../../src/events/envelope';
import { adminActor, e, given, idSequence, T0, uuid } from '../../support/events';

/** One valid event of every type, as JSON would bring it back from the log. */
const oneOfEach = (): DomainEvent[] =>
  given([
    e.serverAdded('bbb-1', { tag: 'test', loadMultiplier: 2.5 }),
    e.serverUpdated('bbb-1', { url: 'https://bbb-1b.example.com/bigbluebutton/api', tag: null }),
    e.serverEnabled('bbb-1'),
    e.serverCordoned('bbb-1'),
    e.serverDisabled('bbb-1', 'drained'),
    e.serverRemoved('bbb-1'),
    e.serverPanicked('bbb-1', { keepState: true, endCalls: false, meetingsCleared: 3 }),
    e.serverPolled('bbb-1', 12.5, { meetings: 2, users: 7, largestMeeting: 5, videos: 1 }),
    e.wentOnline('bbb-1'),
    e.wentOffline('bbb-1', 'timeout'),
    e.pollFailed('bbb-1', 'checksumError', "the server's secret does not match (checksumError)"),
    e.pollRecovered('bbb-1'),
    e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1', previousServerId: 'bbb-0', considered: [{ serverId: 'bbb-1', load: 0 }] }),
    e.meetingEnded('m-1', 'bbb-1', 'notRunning'),
    e.meetingAdopted('m-2', 'bbb-1'),
    e.tenantAdded('t-1', 'math'),
    e.tenantUpdated('t-1', { name: 'physics', secrets: ['a', 'b'], lrsEndpoint: 'https://lrs.example.com', kcPassword: null }),
    e.tenantRemoved('t-1'),
    e.tenantSettingAdded('s-1', 't-1', 'record', 'false', true),
    e.tenantSettingRemoved('s-1', 't-1'),
    e.callbacksRegistered('m-1'),
    e.recordingImported('rec-1', 'm-1'),
    e.importFailed('rec-2.tar'),
    draft('RecordingMigrated', {
      recordId: 'rec-3',
      meetingId: 'm-1',
      tenantId: null,
      name: 'A lecture',
      published: false,
      protected: true,
      state: 'deleted',
      startTime: 1_700_000_000_000,
      endTime: null,
      participants: null,
      publishUpdated: true,
      metadata: {},
      formats: [],
      source: 'scalelite postgres://db/scalelite',
    }),
    e.recordingPublished('rec-1'),
    e.recordingUnpublished('rec-1'),
    e.recordingUpdated('rec-1', { set: { course: 'HIS101' }, removed: ['old'], protected: true }),
    e.recordingDeleted('rec-1'),
    e.recordingsToTenant('t-1'),
    e.readyNotified('rec-1', 'm-1'),
    e.readModelRebuilt(),
    e.unreadable(),
  ]);

const json = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value));

describe('the event catalogue', () => {
  test('has one schema per listed type, every one at version 1 today', () => {
    expect(EVENT_TYPES.sort()).toEqual(Object.keys(eventSchemas).sort());
    expect(new Set(oneOfEach().map((ev) => ev.type))).toEqual(new Set(EVENT_TYPES));
    for (const type of EVENT_TYPES) expect(currentVersion[type]).toBe(1);
  });
});

describe('parseEvent', () => {
  test.each(oneOfEach().map((ev) => [ev.type, ev] as const))('round-trips a valid %s through JSON', (_type, ev) => {
    expect(parseEvent(json(ev))).toEqual(ev);
  });

  test('keeps the correlation id and drops envelope fields it does not know', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    const parsed = parseEvent({ ...json(ev), correlationId: 'req-7', extra: 'ignored' });
    expect(parsed.correlationId).toBe('req-7');
    expect(parsed).not.toHaveProperty('extra');
  });

  test('drops data fields the schema does not know', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    expect(parseEvent({ ...json(ev), data: { serverId: 'bbb-1', secretStuff: 'x' } }).data).toEqual({ serverId: 'bbb-1' });
  });

  describe('rejects an invalid envelope', () => {
    const [valid] = given([e.serverEnabled('bbb-1')]);
    test.each<[string, unknown]>([
      ['not an object', 'ServerEnabled'],
      ['null', null],
      ['an id that is not a uuid', { ...json(valid), id: 'event-1' }],
      ['a missing id', { ...json(valid), id: undefined }],
      ['an empty type', { ...json(valid), type: '' }],
      ['version 0', { ...json(valid), version: 0 }],
      ['a fractional version', { ...json(valid), version: 1.5 }],
      ['a time that is not ISO', { ...json(valid), at: 'yesterday' }],
      ['an unknown actor kind', { ...json(valid), actor: { kind: 'robot', name: 'r2' } }],
      ['an actor without a name', { ...json(valid), actor: { kind: 'admin', name: '' } }],
      ['a correlation id over 200 characters', { ...json(valid), correlationId: 'x'.repeat(201) }],
    ])('%s', (_why, raw) => {
      expect(() => parseEvent(raw)).toThrow(InvalidEventError);
      expect(() => parseEvent(raw)).toThrow(/invalid event envelope/);
    });
  });

  test('accepts a time with an offset', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    expect(parseEvent({ ...json(ev), at: '2024-05-01T12:00:00+02:00' }).at).toBe('2024-05-01T12:00:00+02:00');
  });

  test('rejects an unknown event type, naming it', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    expect(() => parseEvent({ ...json(ev), type: 'ServerExploded' })).toThrow(new InvalidEventError('unknown event type ServerExploded'));
    // a name every object has is not an event type either
    expect(() => parseEvent({ ...json(ev), type: 'toString' })).toThrow(/unknown event type toString/);
  });

  describe('rejects invalid data', () => {
    const cases: Array<[string, DomainEvent['type'], Record<string, unknown>]> = [
      ['ServerAdded without a secret', 'ServerAdded', { serverId: 's', url: 'https://s', loadMultiplier: 1, tag: null }],
      ['ServerAdded with an empty secret', 'ServerAdded', { serverId: 's', url: 'https://s', secret: '', loadMultiplier: 1, tag: null }],
      ['ServerAdded with multiplier 0', 'ServerAdded', { serverId: 's', url: 'https://s', secret: 'x', loadMultiplier: 0, tag: null }],
      ['ServerAdded with a negative multiplier', 'ServerAdded', { serverId: 's', url: 'https://s', secret: 'x', loadMultiplier: -1, tag: null }],
      ['ServerAdded with an empty tag', 'ServerAdded', { serverId: 's', url: 'https://s', secret: 'x', loadMultiplier: 1, tag: '' }],
      ['ServerEnabled with an empty server id', 'ServerEnabled', { serverId: '' }],
      ['ServerDisabled with an unknown reason', 'ServerDisabled', { serverId: 's', reason: 'bored' }],
      ['ServerPolled with a negative load', 'ServerPolled', { serverId: 's', load: -1, meetings: 0, users: 0, largestMeeting: 0, videos: 0, bbbVersion: '' }],
      ['ServerPolled with fractional users', 'ServerPolled', { serverId: 's', load: 1, meetings: 0, users: 1.5, largestMeeting: 0, videos: 0, bbbVersion: '' }],
      [
        'MeetingPlaced with a voice bridge that is not digits',
        'MeetingPlaced',
        {
          meetingId: 'm',
          serverId: 's',
          tenantId: null,
          voiceBridge: '12a45',
          moderatorPassword: null,
          loadEstimate: 15,
          tag: null,
          considered: [],
        },
      ],
      [
        'MeetingPlaced considering more than 10 servers',
        'MeetingPlaced',
        {
          meetingId: 'm',
          serverId: 's',
          tenantId: null,
          voiceBridge: '12345',
          moderatorPassword: null,
          loadEstimate: 15,
          tag: null,
          considered: Array.from({ length: 11 }, (_, i) => ({ serverId: `s${i}`, load: 0 })),
        },
      ],
      ['MeetingEnded with an unknown reason', 'MeetingEnded', { meetingId: 'm', serverId: 's', reason: 'boredom' }],
    ];
    test.each(cases)('%s', (_why, type, data) => {
      const raw = { id: uuid(1), type, version: 1, at: new Date(T0).toISOString(), actor: adminActor, data };
      expect(() => parseEvent(raw)).toThrow(new RegExp(`^invalid ${type}:`));
    });
  });

  test('rejects an event newer than this build knows', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    expect(() => parseEvent({ ...json(ev), version: 2 })).toThrow(new InvalidEventError('ServerEnabled v2 is newer than this build knows (v1)'));
  });

  describe('upcasting an old version', () => {
    const savedVersion = currentVersion.ServerEnabled;
    afterEach(() => {
      currentVersion.ServerEnabled = savedVersion;
      delete upcasters.ServerEnabled;
      currentVersion.ServerPolled = 1;
      delete upcasters.ServerPolled;
    });

    test('applies each upcaster in turn and returns the current version', () => {
      // v1 {serverId: 'bbb'} -> v2 {server: 'bbb'} -> v3 {serverId: 'bbb-up'}: only v3 passes today's schema
      currentVersion.ServerEnabled = 3;
      const calls: number[] = [];
      upcasters.ServerEnabled = {
        1: (d) => {
          calls.push(1);
          return { server: (d as { serverId: string }).serverId };
        },
        2: (d) => {
          calls.push(2);
          return { serverId: `${(d as { server: string }).server}-up` };
        },
      };
      const [ev] = given([e.serverEnabled('bbb')]); // stamped at today's version 3
      const parsed = parseEvent({ ...json(ev), version: 1 });
      expect(calls).toEqual([1, 2]);
      expect(parsed).toEqual({ ...ev, version: 3, data: { serverId: 'bbb-up' } });
      // an event already at the current version is not upcast
      calls.length = 0;
      expect(parseEvent({ ...json(ev), version: 3 })).toEqual({ ...ev, version: 3 });
      expect(calls).toEqual([]);
    });

    test('the upcast data is validated against the current schema', () => {
      currentVersion.ServerPolled = 2;
      upcasters.ServerPolled = { 1: (d) => ({ ...(d as object), load: -5 }) };
      const [ev] = given([e.serverPolled('bbb', 3)]);
      expect(() => parseEvent({ ...json(ev), version: 1 })).toThrow(/^invalid ServerPolled:/);
    });

    test('an old version without an upcaster is rejected', () => {
      currentVersion.ServerEnabled = 2;
      const [ev] = given([e.serverEnabled('bbb')]);
      expect(() => parseEvent({ ...json(ev), version: 1 })).toThrow(new InvalidEventError('no upcaster for ServerEnabled v1'));
    });

    test('stamp writes the current version', () => {
      currentVersion.ServerEnabled = 2;
      const [ev] = stamp([draft('ServerEnabled', { serverId: 'bbb' })], adminActor, new Date(T0), idSequence());
      expect(ev.version).toBe(2);
    });
  });
});

describe('subjectsOf and subjectKey', () => {
  test('a server event is about its server', () => {
    const d = e.serverEnabled('bbb-1');
    expect(subjectsOf(d)).toEqual({ serverId: 'bbb-1' });
    expect(subjectKey(d)).toBe('server:bbb-1');
  });

  test('a meeting event is about its meeting, its server and its tenant, and ordered by the meeting', () => {
    const d = e.meetingPlaced('m-1', 'bbb-1', { tenantId: 't-1' });
    expect(subjectsOf(d)).toEqual({ serverId: 'bbb-1', meetingId: 'm-1', tenantId: 't-1' });
    expect(subjectKey(d)).toBe('meeting:m-1');
  });

  test('a null tenant is no subject', () => {
    expect(subjectsOf(e.meetingPlaced('m-1', 'bbb-1', { tenantId: null }))).toEqual({ serverId: 'bbb-1', meetingId: 'm-1' });
    expect(subjectsOf(e.meetingEnded('m-1', 'bbb-1'))).toEqual({ serverId: 'bbb-1', meetingId: 'm-1' });
  });

  test('works on stamped events as on drafts', () => {
    const [ev] = given([e.meetingEnded('m-2', 'bbb-2')]);
    expect(subjectKey(ev)).toBe('meeting:m-2');
  });

  test('tenant key, then pool key, when there is neither meeting nor server', () => {
    // no event type of today has only a tenant; the function must still order such facts by tenant
    const tenantOnly = { type: 'ServerEnabled', data: { tenantId: 't-9' } } as never;
    expect(subjectKey(tenantOnly)).toBe('tenant:t-9');
    const nothing = { type: 'ServerEnabled', data: {} } as never;
    expect(subjectsOf(nothing)).toEqual({});
    expect(subjectKey(nothing)).toBe('pool');
  });
});

describe('stamp', () => {
  test('gives every draft an id, the current version, the time, the actor and the correlation id', () => {
    const drafts = [e.serverEnabled('bbb-1'), e.serverCordoned('bbb-2')];
    const events = stamp(drafts, adminActor, new Date(T0), idSequence(7), 'req-1');
    expect(events).toEqual([
      { id: uuid(7), type: 'ServerEnabled', version: 1, at: '2024-05-01T10:00:00.000Z', actor: adminActor, correlationId: 'req-1', data: { serverId: 'bbb-1' } },
      { id: uuid(8), type: 'ServerCordoned', version: 1, at: '2024-05-01T10:00:00.000Z', actor: adminActor, correlationId: 'req-1', data: { serverId: 'bbb-2' } },
    ]);
  });

  test('has no correlationId key without a correlation id', () => {
    const [ev] = stamp([e.serverEnabled('bbb-1')], systemActor, new Date(T0), idSequence());
    expect(ev).not.toHaveProperty('correlationId');
    expect(ev.actor).toEqual({ kind: 'system', name: 'scalelite' });
  });

  test('stamped events pass the catalogue', () => {
    const events = stamp([e.serverAdded('bbb-1'), e.meetingPlaced('m', 'bbb-1')], adminActor, new Date(T0), idSequence(), 'c');
    for (const ev of events) expect(parseEvent(json(ev))).toEqual(ev);
  });

  test('no drafts, no events', () => {
    expect(stamp([], adminActor, new Date(T0), idSequence())).toEqual([]);
  });
});

describe('the envelope schemas', () => {
  test('every actor kind is accepted', () => {
    for (const kind of ['admin', 'api', 'poller', 'importer', 'system']) expect(ActorSchema.safeParse({ kind, name: 'x' }).success).toBe(true);
  });

  test('data may be anything at envelope level', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    expect(EnvelopeSchema.safeParse({ ...json(ev), data: 42 }).success).toBe(true);
  });
});

describe('what every store can hold', () => {
  const placed = (meetingId: string) => json(given([e.meetingPlaced(meetingId, 'bbb-1')])[0]);

  test.each([
    ['a NUL in a meetingID', 'poison\u0000x', /data\.meetingId holds a NUL character/],
    ['a lone high surrogate', 'a\uD800b', /data\.meetingId holds a lone UTF-16 surrogate/],
    ['a lone low surrogate', '\uDC00ab', /lone UTF-16 surrogate/],
  ])('given %s, the write side refuses the event naming the field', (_case, meetingId, message) => {
    expect(() => checkEvent(placed(meetingId))).toThrow(InvalidEventError);
    expect(() => checkEvent(placed(meetingId))).toThrow(message);
  });

  test('a surrogate pair (an emoji) is ordinary text', () => {
    expect(checkEvent(placed('class-\u{1F600}')).data).toMatchObject({ meetingId: 'class-\u{1F600}' });
  });

  test('a NUL in a metadata key or in the actor is refused too', () => {
    const updated = json(given([e.recordingUpdated('rec-1', { set: { 'a\u0000b': 'v' } })])[0]);
    expect(() => checkEvent(updated)).toThrow(/data\.set\.a\uFFFDb has a name holding a NUL character/);
    const byActor = { ...placed('m-1'), actor: { kind: 'admin', name: 'eve\u0000' } };
    expect(() => checkEvent(byActor)).toThrow(/actor\.name holds a NUL/);
  });

  test('a count beyond a PostgreSQL integer is refused (it would stop the recordings projection)', () => {
    const imported = json(given([e.recordingImported('rec-1', 'm-1', { participants: 2 ** 31 })])[0]);
    expect(() => checkEvent(imported)).toThrow(/participants/);
  });

  test('an event written before the refusal reads back with U+FFFD in place, so every projection can apply it', () => {
    expect(parseEvent(placed('poison\u0000x')).data).toMatchObject({ meetingId: 'poison\uFFFDx' });
    expect(parseEvent(placed('a\uD800b')).data).toMatchObject({ meetingId: 'a\uFFFDb' });
  });

  test('EventUnreadable is made by reading only: the write side refuses to append it', () => {
    expect(() => checkEvent(json(given([e.unreadable()])[0]))).toThrow(/never appended/);
  });
});

describe('readEvent', () => {
  test('gives back a readable event as parseEvent does', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    expect(readEvent(json(ev), 7)).toEqual(ev);
  });

  test('turns a record this build cannot read into EventUnreadable with the reason, keeping its id and time', () => {
    const [ev] = given([e.serverEnabled('bbb-1')]);
    const read = readEvent({ ...json(ev), version: 9 }, 7);
    expect(read).toMatchObject({ id: ev.id, at: ev.at, type: 'EventUnreadable', actor: systemActor });
    expect(read.data).toEqual({ reason: 'ServerEnabled v9 is newer than this build knows (v1)', type: 'ServerEnabled' });
  });

  test('a damaged record gets an id from its offset and the epoch as its time', () => {
    const read = readEvent('not an event', 255);
    expect(read).toMatchObject({ id: '00000000-0000-4000-8000-0000000000ff', at: '1970-01-01T00:00:00.000Z', type: 'EventUnreadable' });
    expect(read.data).toMatchObject({ type: null, reason: expect.stringMatching(/invalid event envelope/) });
  });
});
