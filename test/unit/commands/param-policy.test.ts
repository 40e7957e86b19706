import fc from 'fast-check';
import {
  applyParamPolicy,
  capDuration,
  emptyParamPolicy,
  isParamConfigError,
  lastValues,
  ParamPolicy,
  parseNameList,
  parseParamList,
  resolveServerTag,
  rubyToI,
  TenantParamSetting,
} from '../../../src/commands/param-policy';

/** The five places a value can come from, lowest precedence first (reference §5.2). */
const LEVELS = ['env default', 'tenant default', 'request', 'env override', 'tenant override'] as const;
type Level = (typeof LEVELS)[number];

interface Given {
  request: Array<[string, string]>;
  env: ParamPolicy;
  tenant: TenantParamSetting[];
}

/** Given the parameter `name` set to a distinct value at each of `levels`. */
function givenAt(name: string, levels: Level[]): Given {
  const g: Given = { request: [], env: emptyParamPolicy(), tenant: [] };
  for (const level of levels) {
    const value = `from ${level}`;
    switch (level) {
      case 'env default':
        g.env.defaults[name] = value;
        break;
      case 'env override':
        g.env.overrides[name] = value;
        break;
      case 'request':
        g.request.push([name, value]);
        break;
      case 'tenant default':
        g.tenant.push({ param: name, value, override: false });
        break;
      case 'tenant override':
        g.tenant.push({ param: name, value, override: true });
        break;
    }
  }
  return g;
}

const pairs: Array<[Level, Level]> = [];
for (let i = 0; i < LEVELS.length; i++) for (let j = i + 1; j < LEVELS.length; j++) pairs.push([LEVELS[i], LEVELS[j]]);

describe('parseParamList (DEFAULT_/OVERRIDE_*_PARAMS)', () => {
  test('given k=v pairs, when parsed, then each name maps to its value, split on the first =', () => {
    const parsed = parseParamList('record=true,welcome=a=b,meta_x=', 'DEFAULT_CREATE_PARAMS');
    expect(isParamConfigError(parsed)).toBe(false);
    expect({ ...parsed }).toEqual({ record: 'true', welcome: 'a=b', meta_x: '' });
  });

  test('given unset or blank, then no params', () => {
    expect({ ...parseParamList(undefined, 'X') }).toEqual({});
    expect({ ...parseParamList('', 'X') }).toEqual({});
    expect({ ...parseParamList(' , ,', 'X') }).toEqual({});
  });

  test('given blank entries and spaces around names, then blanks are skipped and names trimmed; values kept as written', () => {
    expect({ ...parseParamList('a=1,, b=2 ,', 'X') }).toEqual({ a: '1', b: '2 ' });
  });

  test('given a name twice, then the last value wins', () => {
    expect({ ...parseParamList('a=1,a=2', 'X') }).toEqual({ a: '2' });
  });

  test('given __proto__ as a name, then it is an ordinary key and pollutes nothing', () => {
    const parsed = parseParamList('__proto__=x,constructor=y', 'X') as Record<string, string>;
    expect(parsed.__proto__).toBe('x');
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test.each([
    ['record', "DEFAULT_CREATE_PARAMS: entry 'record' has no '='"],
    ['a=1,record', "DEFAULT_CREATE_PARAMS: entry 'record' has no '='"],
    ['=true', "DEFAULT_CREATE_PARAMS: entry '=true' has no parameter name"],
    [' =true', "DEFAULT_CREATE_PARAMS: entry '=true' has no parameter name"],
  ])('given %p, then a configuration error naming the variable', (value, message) => {
    const parsed = parseParamList(value, 'DEFAULT_CREATE_PARAMS');
    expect(isParamConfigError(parsed)).toBe(true);
    expect(isParamConfigError(parsed) && parsed.message).toContain(message);
  });
});

describe('parseNameList (*_EXCLUDE_PARAMS)', () => {
  test.each([
    [undefined, []],
    ['', []],
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    [' a , ,b,a,', ['a', 'b']],
  ])('%p → %p', (value, expected) => {
    expect(parseNameList(value)).toEqual(expected);
  });
});

describe('applyParamPolicy: precedence, pairwise', () => {
  test.each(pairs)('given the param at %s and at %s, then the second wins', (lower, higher) => {
    const g = givenAt('record', [lower, higher]);
    expect(applyParamPolicy(g.request, g.env, g.tenant)).toEqual([['record', `from ${higher}`]]);
  });

  test.each(pairs)('given the param at %s and at %s in the other order of listing, then still the higher wins', (lower, higher) => {
    const g = givenAt('record', [higher, lower]);
    expect(applyParamPolicy(g.request, g.env, g.tenant)).toEqual([['record', `from ${higher}`]]);
  });

  test('given all five levels, then the tenant override wins', () => {
    const g = givenAt('record', [...LEVELS]);
    expect(applyParamPolicy(g.request, g.env, g.tenant)).toEqual([['record', 'from tenant override']]);
  });

  test.each(LEVELS.map((l) => [l]))('given the param only at %s, then that value is forwarded', (level) => {
    const g = givenAt('record', [level]);
    expect(applyParamPolicy(g.request, g.env, g.tenant)).toEqual([['record', `from ${level}`]]);
  });
});

describe('applyParamPolicy: shape of the result', () => {
  const env = (over: Partial<ParamPolicy>): ParamPolicy => ({ ...emptyParamPolicy(), ...over });

  test('given no policy, then the request passes through unchanged and in order', () => {
    const request: Array<[string, string]> = [
      ['name', 'Demo'],
      ['meetingID', 'm1'],
      ['record', 'true'],
    ];
    expect(applyParamPolicy(request, emptyParamPolicy(), [])).toEqual(request);
  });

  test('given defaults the request lacks, then they are appended after the request, env ones first', () => {
    const out = applyParamPolicy(
      [
        ['meetingID', 'm1'],
        ['record', 'true'],
      ],
      env({ defaults: { record: 'false', welcome: 'hi' } }),
      [{ param: 'logo', value: 'l.png', override: false }],
    );
    expect(out).toEqual([
      ['meetingID', 'm1'],
      ['record', 'true'],
      ['welcome', 'hi'],
      ['logo', 'l.png'],
    ]);
  });

  test('given an override of a param the request has, then its value is replaced in place', () => {
    const out = applyParamPolicy(
      [
        ['record', 'true'],
        ['meetingID', 'm1'],
      ],
      env({ overrides: { record: 'false', maxParticipants: '50' } }),
      [],
    );
    expect(out).toEqual([
      ['record', 'false'],
      ['meetingID', 'm1'],
      ['maxParticipants', '50'],
    ]);
  });

  test('given a request value that is empty, then it still beats a default (presence is by name)', () => {
    expect(applyParamPolicy([['record', '']], env({ defaults: { record: 'true' } }), [])).toEqual([['record', '']]);
  });

  test('given a repeated request param, then one entry at the first position with the last value', () => {
    const out = applyParamPolicy(
      [
        ['a', '1'],
        ['b', 'x'],
        ['a', '2'],
      ],
      emptyParamPolicy(),
      [],
    );
    expect(out).toEqual([
      ['a', '2'],
      ['b', 'x'],
    ]);
  });

  test('given excluded names, then the client value is dropped', () => {
    const out = applyParamPolicy(
      [
        ['meetingID', 'm1'],
        ['logoutURL', 'https://evil.example'],
      ],
      env({ exclude: ['logoutURL'] }),
      [],
    );
    expect(out).toEqual([['meetingID', 'm1']]);
  });

  test('given an excluded name with an operator default, then the default is forwarded instead of the client value', () => {
    const out = applyParamPolicy([['record', 'true']], env({ exclude: ['record'], defaults: { record: 'false' } }), []);
    expect(out).toEqual([['record', 'false']]);
  });

  test('given meta_server-tag in every policy source, then the merge leaves the request value alone', () => {
    const g = givenAt('meta_server-tag', ['env default', 'tenant default', 'env override', 'tenant override']);
    expect(applyParamPolicy([['meta_server-tag', 'mine']], g.env, g.tenant)).toEqual([['meta_server-tag', 'mine']]);
    expect(applyParamPolicy([], g.env, g.tenant)).toEqual([]);
  });

  test('given a tenant setting twice, then the later one counts', () => {
    const out = applyParamPolicy([], emptyParamPolicy(), [
      { param: 'record', value: 'a', override: true },
      { param: 'record', value: 'b', override: true },
    ]);
    expect(out).toEqual([['record', 'b']]);
  });

  test('given no policy and a repeated param, then its inputs are left as they were', () => {
    const request: Array<[string, string]> = [
      ['a', '1'],
      ['a', '2'],
    ];
    expect(applyParamPolicy(request, emptyParamPolicy(), [])).toEqual([['a', '2']]);
    expect(request).toEqual([
      ['a', '1'],
      ['a', '2'],
    ]);
  });

  test('does not modify its inputs', () => {
    const request: Array<[string, string]> = [['record', 'true']];
    const policy = env({ overrides: { record: 'false' } });
    applyParamPolicy(request, policy, []);
    expect(request).toEqual([['record', 'true']]);
    expect(policy.overrides).toEqual({ record: 'false' });
  });
});

describe('resolveServerTag: precedence, pairwise', () => {
  const resolve = (g: Given) => resolveServerTag(g.request.find(([k]) => k === 'meta_server-tag')?.[1], g.env, g.tenant);

  test.each(pairs)('given a tag at %s and at %s, then the second wins', (lower, higher) => {
    expect(resolve(givenAt('meta_server-tag', [lower, higher]))).toBe(`from ${higher}`);
  });

  test.each(pairs)('given the tag at %s and a blank one at %s, then the first (non-blank) wins', (lower, higher) => {
    const g = givenAt('meta_server-tag', [lower]);
    const blank = givenAt('meta_server-tag', [higher]);
    const merged: Given = {
      request: [...g.request, ...blank.request.map(([k]) => [k, '  '] as [string, string])],
      env: {
        defaults: { ...g.env.defaults, ...Object.fromEntries(Object.keys(blank.env.defaults).map((k) => [k, ''])) },
        overrides: { ...g.env.overrides, ...Object.fromEntries(Object.keys(blank.env.overrides).map((k) => [k, ''])) },
        exclude: [],
      },
      tenant: [...g.tenant, ...blank.tenant.map((s) => ({ ...s, value: ' ' }))],
    };
    expect(resolve(merged)).toBe(`from ${lower}`);
  });

  test('given no tag anywhere, then undefined', () => {
    expect(resolveServerTag(undefined, emptyParamPolicy(), [])).toBeUndefined();
    expect(resolveServerTag('', emptyParamPolicy(), [])).toBeUndefined();
  });

  test('given a required tag, then it is returned as written (the ! is for parseTag)', () => {
    expect(resolveServerTag('gpu!', emptyParamPolicy(), [])).toBe('gpu!');
  });
});

describe('capDuration (MAX_MEETING_DURATION)', () => {
  test.each([
    // [duration, max, expected]
    [undefined, 0, undefined],
    ['500', 0, '500'],
    [undefined, 120, '120'],
    ['', 120, '120'],
    ['0', 120, '120'],
    ['abc', 120, '120'],
    ['60', 120, '60'],
    ['120', 120, '120'],
    ['121', 120, '120'],
    ['99999999999999999999999', 120, '120'],
    [' 30', 120, '30'],
    ['30min', 120, '30'],
    ['+45', 120, '45'],
    ['-5', 120, '120'],
  ])('duration %p with max %p → %p', (duration, max, expected) => {
    expect(capDuration(duration, max)).toBe(expected);
  });
});

describe("rubyToI (Ruby's String#to_i)", () => {
  test.each([
    ['42', 42],
    ['  42abc', 42],
    ['+7', 7],
    ['-7', -7],
    ['1_000', 1000],
    ['1__0', 1],
    ['0x1A', 0],
    ['1e3', 1],
    ['', 0],
    ['x1', 0],
  ])('%p → %p', (value, expected) => {
    expect(rubyToI(value)).toBe(expected);
  });
});

describe('lastValues', () => {
  test('given any params, short or long, then what a Map set in order keeps: first position, last value', () => {
    const names = fc.constantFrom('a', 'b', 'c', 'meetingID', 'fullName', '__proto__', 'constructor', '');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(names, fc.string()), fc.string()), { maxLength: 80 }), (entries) => {
        expect(lastValues(entries)).toEqual([...new Map(entries)]);
      }),
      { numRuns: 2000 },
    );
  });
});
