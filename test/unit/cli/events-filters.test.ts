import { actorFilter, eventTypes } from '../../../cli/commands/events';
import { EVENT_TYPES } from '../../../src/events/catalog';

describe('events --actor takes what the ACTOR column shows', () => {
  test.each([
    ['admin:alice@lb1', { kind: 'admin', name: 'alice@lb1' }],
    ['poller:poller', { kind: 'poller', name: 'poller' }],
    ['importer:recording-importer', { kind: 'importer', name: 'recording-importer' }],
    ['system:projector', { kind: 'system', name: 'projector' }],
    // an API actor's name holds colons of its own
    ['api:bbb-api@::ffff:127.0.0.1', { kind: 'api', name: 'bbb-api@::ffff:127.0.0.1' }],
  ])('kind:name %s → %j', (flag, expected) => {
    expect(actorFilter(flag)).toEqual(expected);
  });

  test.each([
    ['alice@lb1'],
    ['bbb-api@::1'],
    // not a kind: the whole value is the name
    ['robot:alice'],
    ['Admin:alice'],
    [':alice'],
  ])('a bare name %s stays whole', (flag) => {
    expect(actorFilter(flag)).toEqual({ kind: null, name: flag });
  });

  test('a kind with nothing after it names no actor', () => {
    expect(actorFilter('admin:')).toEqual({ kind: 'admin', name: '' });
  });
});

describe('events --type knows the catalogue', () => {
  test('given known types in any case: the catalogue spelling, each once', () => {
    expect(eventTypes('serverwentoffline, ServerWentOnline,SERVERWENTOFFLINE')).toEqual({ types: ['ServerWentOffline', 'ServerWentOnline'] });
  });

  test('given every type of the catalogue: all of them', () => {
    expect(eventTypes(EVENT_TYPES.join(','))).toEqual({ types: EVENT_TYPES });
  });

  test('given an unknown type among known ones: the unknown ones, and no filter', () => {
    expect(eventTypes('ServerAdded,Bogus,ServerRemovd')).toEqual({ unknown: ['Bogus', 'ServerRemovd'] });
  });

  test('given only commas and spaces: no types, so no filter', () => {
    expect(eventTypes(' , ')).toEqual({ types: [] });
  });
});
