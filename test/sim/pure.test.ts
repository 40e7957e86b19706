import { handleApiCall, parseDocuments, type ApiContext } from '../../src/sim/api';
import { computeChecksum, javaUrlEncode, signQuery, stripChecksum, verifyChecksum } from '../../src/sim/checksum';
import { MeetingRegistry, type EndReason } from '../../src/sim/meetings';
import { apiActionForPath, splitTarget } from '../../src/sim/server';
import { escapeXml, javaDateString, renderError, renderMeetings } from '../../src/sim/xml';
import { topLevelElements } from './helpers';

describe('checksum rules', () => {
  it('given the example of the BBB API docs, then the same sha1', () => {
    const query = 'name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444';
    expect(computeChecksum('create', query, '639259d4-9dd8-4b25-bf01-95f9567eaf4b')).toBe('1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17');
  });

  it('strips the checksum pair wherever it is, by string replacement like GetChecksum', () => {
    expect(stripChecksum('a=1&checksum=abc&b=2', 'abc')).toBe('a=1&b=2');
    expect(stripChecksum('checksum=abc&a=1', 'abc')).toBe('a=1');
    expect(stripChecksum('checksum=abc', 'abc')).toBe('');
  });

  it('verifies any allowed algorithm chosen by length, upper-case hex included', () => {
    const allowed = ['sha1', 'sha512'] as const;
    const signed = signQuery('getMeetings', { a: 'x y' }, 's3cret', 'sha512');
    const checksum = new URLSearchParams(signed).get('checksum')!.toUpperCase();
    const q512 = `a=x%20y&checksum=${checksum}`;
    expect(verifyChecksum({ action: 'getMeetings', rawQuery: q512, checksum, secret: 's3cret', allowed })).toEqual({ ok: true, algorithm: 'sha512' });
    const q256 = signQuery('getMeetings', {}, 's3cret', 'sha256');
    expect(verifyChecksum({ action: 'getMeetings', rawQuery: q256, checksum: q256.slice(9), secret: 's3cret', allowed })).toEqual({ ok: false, reason: 'unsupportedAlgorithm' });
    expect(verifyChecksum({ action: 'getMeetings', rawQuery: '', checksum: undefined, secret: 's3cret', allowed })).toEqual({ ok: false, reason: 'missing' });
  });

  it('encodes like java.net.URLEncoder', () => {
    expect(javaUrlEncode("a b*~'!()é")).toBe('a+b*%7E%27%21%28%29%C3%A9');
  });
});

describe('XML rendering', () => {
  it('escapes every echoed value like FreeMarker auto-escaping', () => {
    expect(escapeXml(`<a href="x">&'\u0001`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
    expect(renderError('k<', 'm&')).toBe('<response>\n<returncode>FAILED</returncode>\n<messageKey>k&lt;</messageKey>\n<message>m&amp;</message>\n</response>');
  });

  it('formats createDate like java.util.Date#toString in UTC', () => {
    expect(javaDateString(1531155809613)).toBe('Mon Jul 09 17:03:29 UTC 2018');
  });

  it('renders the noMeetings variant of getMeetings', () => {
    expect(topLevelElements(renderMeetings([]))).toEqual(['returncode', 'meetings', 'messageKey', 'message']);
  });

  it('reads presentation documents from the modules payload', () => {
    const docs = parseDocuments(
      '<modules><module name="presentation"><document current="true" url="http://x/y.pdf"/></module><module name="other"><document name="z"/></module></modules>',
    );
    expect(docs).toEqual([{ current: true, url: 'http://x/y.pdf' }]);
    expect(parseDocuments('not xml <')).toBeUndefined();
  });
});

describe('request routing', () => {
  it('maps paths to actions and keeps the raw query', () => {
    expect(apiActionForPath('/bigbluebutton/api')).toBe('');
    expect(apiActionForPath('/bigbluebutton/api/create')).toBe('create');
    expect(apiActionForPath('/html5client/join')).toBeUndefined();
    expect(splitTarget('/bigbluebutton/api/join?fullName=A%20b+c&x=%7e#frag')).toEqual({ path: '/bigbluebutton/api/join', rawQuery: 'fullName=A%20b+c&x=%7e' });
  });

  it('handles a call without sockets', () => {
    const ctx: ApiContext = {
      registry: new MeetingRegistry(),
      secret: 'sec',
      allowedAlgorithms: ['sha1'],
      bbbVersion: '3.0.4',
      revealVersion: true,
      baseUrl: 'http://127.0.0.1:1',
      sessions: new Map(),
    };
    const rawQuery = signQuery('create', { name: 'Direct', meetingID: 'direct' }, 'sec');
    const res = handleApiCall(ctx, { method: 'GET', action: 'create', rawQuery, body: Buffer.alloc(0) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/xml;charset=utf-8');
    expect(ctx.registry.find('direct')?.name).toBe('Direct');
  });
});

describe('meeting registry', () => {
  afterEach(() => jest.useRealTimers());

  it('given a create duration, when it runs out, then the meeting ends by itself', () => {
    jest.useFakeTimers();
    const ended: Array<[string, EndReason]> = [];
    const registry = new MeetingRegistry({ onEnded: (m, reason) => ended.push([m.meetingID, reason]) });
    const base = { name: 'Timed', record: false, maxUsers: 0, metadata: [], isBreakout: false, freeJoin: false, documents: [] };
    registry.create({ ...base, meetingID: 'timed', duration: 1 });
    registry.create({ ...base, meetingID: 'open', duration: 0 });
    jest.advanceTimersByTime(59_999);
    expect(ended).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ended).toEqual([['timed', 'duration']]);
    expect(registry.all().map((m) => m.meetingID)).toEqual(['open']);
    registry.dispose();
  });
});
