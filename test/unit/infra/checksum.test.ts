import { createHash } from 'node:crypto';
import {
  algorithmOf,
  checksumOf,
  checksumParam,
  ChecksumPolicy,
  encodeQuery,
  outgoingAlgorithm,
  parseAlgorithms,
  queryWithoutChecksum,
  signedQuery,
  verifyChecksum,
} from '../../../src/infra/bbb/checksum';

/** Computed here with node:crypto, independently of the code under test. */
const hex = (algorithm: string, text: string): string => createHash(algorithm).update(text, 'utf8').digest('hex');

const all: ChecksumPolicy = { secrets: ['test-1', 'test-2'], allowed: new Set(['sha1', 'sha256', 'sha384', 'sha512']) };
/** Scalelite's own list (docs/scalelite-behaviour.md §1.3): no SHA-384. */
const scalelites: ChecksumPolicy = { ...all, allowed: new Set(['sha1', 'sha256', 'sha512']) };

describe('algorithmOf (the algorithm is guessed from the length)', () => {
  test.each([
    [hex('sha1', 'x'), 'sha1'],
    [hex('sha256', 'x'), 'sha256'],
    [hex('sha384', 'x'), 'sha384'],
    [hex('sha512', 'x'), 'sha512'],
    ['a'.repeat(40), 'sha1'],
    ['0'.repeat(64), 'sha256'],
    ['9'.repeat(96), 'sha384'],
    ['f'.repeat(128), 'sha512'],
  ])('%s -> %s', (checksum, expected) => {
    expect(algorithmOf(checksum)).toBe(expected);
  });

  test.each([
    ['empty', ''],
    ['39 characters', 'a'.repeat(39)],
    ['41 characters', 'a'.repeat(41)],
    ['95 characters', 'a'.repeat(95)],
    ['97 characters', 'a'.repeat(97)],
    ['sha384 in uppercase', hex('sha384', 'x').toUpperCase()],
    ['32 characters (md5)', hex('md5', 'x')],
    ['uppercase hex', hex('sha1', 'x').toUpperCase()],
    ['one uppercase digit', `A${'a'.repeat(39)}`],
    ['not hex', 'g'.repeat(40)],
    ['hex with a space', ` ${'a'.repeat(39)}`],
  ])('%s -> null', (_why, checksum) => {
    expect(algorithmOf(checksum)).toBeNull();
  });
});

describe('queryWithoutChecksum (string surgery, no re-encoding)', () => {
  test.each([
    ['at the end', 'meetingID=abc&name=x%20y&checksum=V', 'meetingID=abc&name=x%20y'],
    ['at the start', 'checksum=V&meetingID=abc', 'meetingID=abc'],
    ['in the middle', 'a=1&checksum=V&b=2', 'a=1&b=2'],
    ['alone', 'checksum=V', ''],
    ['absent', 'a=1&b=2', 'a=1&b=2'],
  ])('%s', (_where, query, expected) => {
    expect(queryWithoutChecksum(query, 'V')).toBe(expected);
  });

  test('encodings are kept byte for byte', () => {
    expect(queryWithoutChecksum('name=A+B%2Bc&x=%7e&checksum=V', 'V')).toBe('name=A+B%2Bc&x=%7e');
  });

  test('a checksum parameter with another value is left alone', () => {
    expect(queryWithoutChecksum('checksum=W&a=1', 'V')).toBe('checksum=W&a=1');
  });
});

describe('checksumParam', () => {
  test('from the query, the last one when repeated', () => {
    expect(checksumParam('a=1&checksum=abc', {})).toBe('abc');
    expect(checksumParam('checksum=one&checksum=two', {})).toBe('two');
  });

  test('the query wins over the form body', () => {
    expect(checksumParam('checksum=fromquery', { checksum: 'frombody' })).toBe('fromquery');
  });

  test('from the body when the query has none', () => {
    expect(checksumParam('meetingID=x', { checksum: 'frombody' })).toBe('frombody');
  });

  test('from a query already parsed, as from the raw one', () => {
    expect(checksumParam([...new URLSearchParams('checksum=one&a=1&checksum=two')], {})).toBe('two');
    expect(checksumParam([['meetingID', 'x']], { checksum: 'frombody' })).toBe('frombody');
    expect(checksumParam([['checksum', '']], {})).toBeNull();
  });

  test('missing or empty: null', () => {
    expect(checksumParam('', {})).toBeNull();
    expect(checksumParam('checksum=', {})).toBeNull();
    expect(checksumParam('', { checksum: '' })).toBeNull();
  });
});

describe('verifyChecksum (reference §1.3)', () => {
  test('the spec example: a POST whose params are all in the body hashes action + secret', () => {
    const checksum = hex('sha1', 'getMeetingInfo' + 'test-2');
    expect(verifyChecksum(all, 'getMeetingInfo', '', checksum)).toBe(true);
  });

  test('action + query without the checksum + secret, each algorithm, any secret', () => {
    const query = 'meetingID=Demo+Meeting&name=%C3%A9l%C3%A8ve&redirect=true';
    for (const algorithm of ['sha1', 'sha256', 'sha384', 'sha512']) {
      for (const secret of ['test-1', 'test-2']) {
        const checksum = hex(algorithm, `join${query}${secret}`);
        expect(verifyChecksum(all, 'join', `${query}&checksum=${checksum}`, checksum)).toBe(true);
        expect(verifyChecksum(all, 'join', `checksum=${checksum}&${query}`, checksum)).toBe(true);
      }
    }
  });

  test('the checksum placed in the middle of the query', () => {
    const checksum = hex('sha256', 'createa=1&b=2test-1');
    expect(verifyChecksum(all, 'create', `a=1&checksum=${checksum}&b=2`, checksum)).toBe(true);
  });

  test('another secret, action, query or algorithm fails', () => {
    const query = 'meetingID=m1';
    const checksum = hex('sha256', `getMeetingInfo${query}test-1`);
    const raw = `${query}&checksum=${checksum}`;
    expect(verifyChecksum({ ...all, secrets: ['other'] }, 'getMeetingInfo', raw, checksum)).toBe(false);
    expect(verifyChecksum(all, 'isMeetingRunning', raw, checksum)).toBe(false);
    expect(verifyChecksum(all, 'getMeetingInfo', `meetingID=m2&checksum=${checksum}`, checksum)).toBe(false);
    expect(verifyChecksum({ ...all, allowed: new Set(['sha1', 'sha512']) }, 'getMeetingInfo', raw, checksum)).toBe(false);
  });

  test('a checksum that differs from the right one in any single character fails', () => {
    const query = 'meetingID=m1';
    const checksum = hex('sha256', `join${query}test-1`);
    for (let i = 0; i < checksum.length; i++) {
      const wrong = checksum.slice(0, i) + (checksum[i] === '0' ? '1' : '0') + checksum.slice(i + 1);
      expect(verifyChecksum(all, 'join', `${query}&checksum=${wrong}`, wrong)).toBe(false);
    }
  });

  test('the query as received, not re-encoded: %20 and + are different strings', () => {
    const checksum = hex('sha1', 'createname=a%20btest-1');
    expect(verifyChecksum(all, 'create', `name=a%20b&checksum=${checksum}`, checksum)).toBe(true);
    expect(verifyChecksum(all, 'create', `name=a+b&checksum=${checksum}`, checksum)).toBe(false);
  });

  test('an uppercase checksum fails even though the digest matches', () => {
    const checksum = hex('sha1', 'getMeetingstest-1').toUpperCase();
    expect(verifyChecksum(all, 'getMeetings', `checksum=${checksum}`, checksum)).toBe(false);
  });

  test('no checksum, or no secrets: fails', () => {
    expect(verifyChecksum(all, 'getMeetings', '', null)).toBe(false);
    expect(verifyChecksum(all, 'getMeetings', '', '')).toBe(false);
    const checksum = hex('sha1', 'getMeetings');
    expect(verifyChecksum({ secrets: [], allowed: all.allowed }, 'getMeetings', `checksum=${checksum}`, checksum)).toBe(false);
  });

  test('a length no algorithm has fails', () => {
    const checksum = hex('sha224', 'getMeetingstest-1');
    expect(verifyChecksum(all, 'getMeetings', `checksum=${checksum}`, checksum)).toBe(false);
  });

  test('a SHA-384 checksum (BBB 2.6+) passes when allowed and fails when the allowed list leaves it out', () => {
    const query = 'meetingID=m1&name=Room';
    const checksum = hex('sha384', `create${query}test-2`);
    const raw = `${query}&checksum=${checksum}`;
    expect(verifyChecksum(all, 'create', raw, checksum)).toBe(true);
    expect(verifyChecksum({ ...all, allowed: new Set(['sha384']) }, 'create', raw, checksum)).toBe(true);
    expect(verifyChecksum(scalelites, 'create', raw, checksum)).toBe(false);
    // the SHA-384 digest of another secret is no better than any other wrong checksum
    const wrong = hex('sha384', `create${query}other`);
    expect(verifyChecksum(all, 'create', `${query}&checksum=${wrong}`, wrong)).toBe(false);
  });
});

describe('checksumOf', () => {
  test('hex digest of action + query + secret', () => {
    expect(checksumOf('sha1', 'getMeetingInfo', '', 'test-2')).toBe(hex('sha1', 'getMeetingInfotest-2'));
    expect(checksumOf('sha512', 'create', 'a=1', 's')).toBe(hex('sha512', 'createa=1s'));
    expect(checksumOf('sha384', 'create', 'a=1', 's')).toBe(hex('sha384', 'createa=1s'));
  });
});

describe('outgoingAlgorithm and parseAlgorithms (reference §1.4)', () => {
  test.each([
    [undefined, 'sha256'],
    ['', 'sha256'],
    ['   ', 'sha256'],
    ['SHA1', 'sha1'],
    ['SHA1:SHA256', 'sha256'],
    ['SHA1:SHA256:SHA512', 'sha512'],
    ['sha512:sha1', 'sha512'],
    ['SHA256:SHA1', 'sha256'],
    ['SHA384', 'sha384'],
    ['SHA1:SHA256:SHA384', 'sha384'],
    ['SHA384:SHA512', 'sha512'],
    ['MD5', 'sha256'],
  ])('setting %p signs outgoing calls with %s', (setting, expected) => {
    expect(outgoingAlgorithm(setting)).toBe(expected);
  });

  test('unset or blank accepts all four, as BBB 2.6+ does', () => {
    expect(parseAlgorithms(undefined)).toEqual(new Set(['sha1', 'sha256', 'sha384', 'sha512']));
    expect(parseAlgorithms(' ')).toEqual(new Set(['sha1', 'sha256', 'sha384', 'sha512']));
  });

  test("a ':'-list, case-insensitive, unknown names dropped", () => {
    expect(parseAlgorithms('SHA256: sha512 :MD5')).toEqual(new Set(['sha256', 'sha512']));
    expect(parseAlgorithms('MD5')).toEqual(new Set());
    expect(parseAlgorithms('sha384:SHA1')).toEqual(new Set(['sha384', 'sha1']));
  });
});

describe('encodeQuery (BBB form encoding)', () => {
  test('space as +, A-Za-z0-9*-._ kept, everything else percent-encoded (UTF-8, uppercase hex)', () => {
    expect(
      encodeQuery([
        ['name', 'a b'],
        ['keep', 'AZaz09*-._'],
        ['enc', "~!'()&=+/?#,;:@$é"],
      ]),
    ).toBe('name=a+b&keep=AZaz09*-._&enc=%7E%21%27%28%29%26%3D%2B%2F%3F%23%2C%3B%3A%40%24%C3%A9');
  });

  test('names are encoded too, order is kept, repeats are kept', () => {
    expect(
      encodeQuery([
        ['meta_a b', '1'],
        ['z', '2'],
        ['a', '3'],
        ['z', '4'],
      ]),
    ).toBe('meta_a+b=1&z=2&a=3&z=4');
  });

  test('no params: empty string; empty values stay', () => {
    expect(encodeQuery([])).toBe('');
    expect(encodeQuery([['welcome', '']])).toBe('welcome=');
  });
});

describe('signedQuery', () => {
  test('query + &checksum= hash(action + query + secret)', () => {
    const query = 'meetingID=Demo+Meeting&fullName=J%C3%BCrgen';
    expect(
      signedQuery(
        'sha256',
        'join',
        [
          ['meetingID', 'Demo Meeting'],
          ['fullName', 'Jürgen'],
        ],
        'bbb-secret',
      ),
    ).toBe(`${query}&checksum=${hex('sha256', `join${query}bbb-secret`)}`);
  });

  test('no params: just the checksum of action + secret', () => {
    expect(signedQuery('sha1', 'getMeetings', [], 's3cret')).toBe(`checksum=${hex('sha1', 'getMeetingss3cret')}`);
    expect(signedQuery('sha512', '', [], 's3cret')).toBe(`checksum=${hex('sha512', 's3cret')}`);
    expect(signedQuery('sha384', '', [], 's3cret')).toBe(`checksum=${hex('sha384', 's3cret')}`);
  });

  test('what we sign, we verify', () => {
    for (const algorithm of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      const raw = signedQuery(
        algorithm,
        'create',
        [
          ['meetingID', 'x y'],
          ['name', 'Ünïcode & more'],
        ],
        'test-1',
      );
      const checksum = checksumParam(raw, {});
      expect(verifyChecksum(all, 'create', raw, checksum)).toBe(true);
    }
  });
});
