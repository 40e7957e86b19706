import { getParam, mergeParams, presentParam, RESERVED_PARAMS, setParam, withoutParams } from '../../../src/api/params';

describe('request params', () => {
  test('mergeParams: one value per name, the last one, at the place the name first appeared', () => {
    const query: Array<[string, string]> = [
      ['meetingID', 'q'],
      ['name', 'n'],
    ];
    const body: Array<[string, string]> = [
      ['record', 'true'],
      ['meetingID', 'b'],
    ];
    expect(mergeParams(query, body)).toEqual([
      ['meetingID', 'b'],
      ['name', 'n'],
      ['record', 'true'],
    ]);
    expect(
      mergeParams([
        ['a', '1'],
        ['a', '2'],
      ]),
    ).toEqual([['a', '2']]);
    expect(mergeParams()).toEqual([]);
    expect(mergeParams(new URLSearchParams('x=1&y=2&x=3'))).toEqual([
      ['x', '3'],
      ['y', '2'],
    ]);
  });

  test('getParam: the value or undefined; names are case-sensitive', () => {
    const params: Array<[string, string]> = [
      ['meetingID', 'm'],
      ['empty', ''],
    ];
    expect(getParam(params, 'meetingID')).toBe('m');
    expect(getParam(params, 'meetingid')).toBeUndefined();
    expect(getParam(params, 'empty')).toBe('');
  });

  test('presentParam: blank (empty or whitespace) counts as missing; a value is not trimmed', () => {
    const params: Array<[string, string]> = [
      ['a', ''],
      ['b', '   '],
      ['c', ' x '],
    ];
    expect(presentParam(params, 'a')).toBeUndefined();
    expect(presentParam(params, 'b')).toBeUndefined();
    expect(presentParam(params, 'c')).toBe(' x ');
    expect(presentParam(params, 'd')).toBeUndefined();
  });

  test('withoutParams drops the names, keeps the order of the rest', () => {
    const params: Array<[string, string]> = [
      ['checksum', 'c'],
      ['meetingID', 'm'],
      ['format', 'xml'],
      ['name', 'n'],
    ];
    expect(withoutParams(params, RESERVED_PARAMS)).toEqual([
      ['meetingID', 'm'],
      ['name', 'n'],
    ]);
    expect(withoutParams(params, [])).toEqual(params);
  });

  test('setParam replaces in place, or appends; it does not mutate', () => {
    const params: Array<[string, string]> = [
      ['a', '1'],
      ['voiceBridge', '7'],
      ['b', '2'],
    ];
    expect(setParam(params, 'voiceBridge', '123456789')).toEqual([
      ['a', '1'],
      ['voiceBridge', '123456789'],
      ['b', '2'],
    ]);
    expect(setParam(params, 'moderatorPW', 'pw')).toEqual([...params, ['moderatorPW', 'pw']]);
    expect(params).toEqual([
      ['a', '1'],
      ['voiceBridge', '7'],
      ['b', '2'],
    ]);
  });

  test('reserved names are the ones Rails adds and the checksum', () => {
    expect([...RESERVED_PARAMS].sort()).toEqual(['action', 'checksum', 'controller', 'format']);
  });
});
