import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import express from 'express';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { request } from 'undici';
import { BridgeTarget, checkBasicAuth, DialplanDeps, dialplanResponse, fsapiHandler, fsEscape, maskCallerId, notFoundDocument, regexpEscape } from '../../../src/api/fsapi';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Given meetings by voice bridge, the dial plan dependencies with FSAPI_MAX_DURATION = maxDurationMinutes. */
function deps(bridges: Record<string, BridgeTarget> = {}, maxDurationMinutes = 0): DialplanDeps & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    voiceBridgeMin: 5,
    voiceBridgeMax: 9,
    maxDurationMinutes,
    lookupPin: async (pin) => {
      asked.push(pin);
      return bridges[pin] ?? null;
    },
  };
}

const meeting: BridgeTarget = { meetingId: 'room-1', serverUrl: 'https://bbb1.example.com/bigbluebutton/api' };

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'action' });
type Action = { application: string; data?: string };
interface Parsed {
  section: { name: string; description?: string; context?: { name: string; extension: { name: string; condition: { field: string; expression: string; action: Action[] } } } };
}
function parse(xml: string): Parsed {
  expect(XMLValidator.validate(xml)).toBe(true);
  return (parser.parse(xml) as { document: Parsed & { type: string } }).document;
}
const actions = (xml: string): Action[] => parse(xml).section.context!.extension.condition.action;

describe('checkBasicAuth', () => {
  test.each([
    ['the right user and password', basic('fsapi', 'pw'), true],
    ['a lower-case scheme', `basic ${Buffer.from('fsapi:pw').toString('base64')}`, true],
    ['another user', basic('admin', 'pw'), false],
    ['a wrong password', basic('fsapi', 'pw2'), false],
    ['a password prefix', basic('fsapi', 'p'), false],
    ['no header', undefined, false],
    ['a Bearer token', 'Bearer abc', false],
    ['credentials without a colon', `Basic ${Buffer.from('fsapipw').toString('base64')}`, false],
  ])('given %s, then %p', (_what, header, expected) => {
    expect(checkBasicAuth(header, 'pw')).toBe(expected);
  });

  test('given a password with a colon, then everything after the first colon is the password', () => {
    expect(checkBasicAuth(basic('fsapi', 'a:b'), 'a:b')).toBe(true);
    expect(checkBasicAuth(basic('fsapi', 'a'), 'a:b')).toBe(false);
  });

  test('given an empty configured password, then authentication is off', () => {
    expect(checkBasicAuth(undefined, '')).toBe(true);
    expect(checkBasicAuth(basic('x', 'y'), '')).toBe(true);
  });
});

describe('fsEscape and regexpEscape', () => {
  test.each([
    ['plain', 'plain'],
    ['a${b}', 'a\\${b}'],
    ['a\\b', 'a\\\\b'],
    ['cost $5', 'cost $5'],
    ['\\${x}', '\\\\\\${x}'],
  ])('fsEscape(%p) = %p', (input, expected) => {
    expect(fsEscape(input)).toBe(expected);
  });

  test.each([
    ['5551234', '5551234'],
    ['+4930123', '\\+4930123'],
    ['a.b*c?', 'a\\.b\\*c\\?'],
    ['(1) [2] {3}', '\\(1\\)\\ \\[2\\]\\ \\{3\\}'],
    ['^a$|#-/', '\\^a\\$\\|\\#\\-/'],
    ['a\nb\tc', 'a\\nb\\tc'],
  ])("regexpEscape(%p) = %p (Ruby's Regexp.escape)", (input, expected) => {
    expect(regexpEscape(input)).toBe(expected);
  });
});

describe('maskCallerId', () => {
  test.each([
    ['a number shows all but its last four digits', { name: '5554321', hideNumber: false, hideName: false }, '555XXXX'],
    ['a short number is all X', { name: '123', hideNumber: false, hideName: false }, 'XXX'],
    ['exactly four digits', { name: '1234', hideNumber: false, hideName: false }, 'XXXX'],
    ['a withheld number', { name: '5554321', hideNumber: true, hideName: false }, 'Unavailable'],
    ['a number when only the name is withheld', { name: '5554321', hideNumber: false, hideName: true }, '555XXXX'],
    ['a name', { name: 'Test User', hideNumber: false, hideName: false }, 'Test User'],
    ['a name when only the number is withheld', { name: 'Test User', hideNumber: true, hideName: false }, 'Test User'],
    ['a withheld name', { name: 'Test User', hideNumber: false, hideName: true }, 'Unavailable'],
    ['a name with digits and a plus', { name: '+15551234', hideNumber: false, hideName: false }, '+15551234'],
    ['no name', { name: undefined, hideNumber: false, hideName: false }, 'Unavailable'],
    ['an empty name', { name: '', hideNumber: false, hideName: false }, 'Unavailable'],
    ['a blank name', { name: '   ', hideNumber: false, hideName: false }, 'Unavailable'],
  ])('%s', (_what, caller, expected) => {
    expect(maskCallerId(caller)).toBe(expected);
  });
});

describe('dialplanResponse', () => {
  const call = (over: Record<string, string> = {}) => ({ section: 'dialplan', 'Caller-Destination-Number': '5551234', ...over });

  test('given a non-dialplan section, then the not-found result document', async () => {
    const d = deps();
    const xml = await dialplanResponse(call({ section: 'directory' }), d);
    expect(xml).toBe('<document type="freeswitch/xml">\n  <section name="result">\n    <result status="not found"/>\n  </section>\n</document>\n');
    expect(xml).toBe(notFoundDocument());
    expect(d.asked).toEqual([]);
  });

  test.each([[{}], [{ 'Caller-Destination-Number': '  ' }]])('given no destination number (%p), then not found', async (over) => {
    const params: Record<string, string | undefined> = { section: 'dialplan', ...over };
    expect(await dialplanResponse(params, deps())).toBe(notFoundDocument());
  });

  test('given no pin and FSAPI_MAX_DURATION 60, then the pin prompt, exactly', async () => {
    const xml = await dialplanResponse(call(), deps({}, 60));
    expect(xml).toBe(
      [
        '<document type="freeswitch/xml">',
        '  <section name="dialplan" description="Match DID and Pin for Conference">',
        '    <context name="public">',
        '      <extension name="match_did_and_prompt_for_pin">',
        '        <condition field="destination_number" expression="^5551234$">',
        '          <action application="answer"/>',
        '          <action application="sched_hangup" data="+3600 normal_clearing"/>',
        '          <action application="sleep" data="500"/>',
        '          <action application="playback" data="ivr/ivr-welcome.wav"/>',
        '          <action application="sleep" data="200"/>',
        '          <action application="play_and_get_digits" data="5 9 3 7000 # conference/conf-enter_conf_pin.wav conference/conf-bad-pin.wav pin \\d+"/>',
        '          <action application="transfer" data="${pin} XML public"/>',
        '        </condition>',
        '      </extension>',
        '    </context>',
        '  </section>',
        '</document>',
        '',
      ].join('\n'),
    );
  });

  test('given no pin and no maximum duration, then no sched_hangup', async () => {
    const xml = await dialplanResponse(call({ variable_pin: ' ' }), deps({}, 0));
    expect(actions(xml).map((a) => a.application)).toEqual(['answer', 'sleep', 'playback', 'sleep', 'play_and_get_digits', 'transfer']);
  });

  test('given VOICE_BRIDGE_MIN/MAX, then play_and_get_digits uses them', async () => {
    const xml = await dialplanResponse(call(), { ...deps(), voiceBridgeMin: 7, voiceBridgeMax: 10 });
    expect(actions(xml).find((a) => a.application === 'play_and_get_digits')!.data).toMatch(/^7 10 3 7000 # /);
  });

  test('given a pin that matches no meeting, then the reprompt, with the digit regex intact', async () => {
    const d = deps();
    const xml = await dialplanResponse(call({ variable_pin: '12345' }), d);
    const doc = parse(xml);
    expect(doc.section).toMatchObject({ name: 'dialplan', description: 'Reprompt Pin for Conference', context: { name: 'public', extension: { name: 'reprompt_for_pin' } } });
    expect(actions(xml)).toEqual([
      { application: 'playback', data: 'conference/conf-bad-pin.wav' },
      { application: 'sleep', data: '500' },
      { application: 'play_and_get_digits', data: '5 9 3 7000 # conference/conf-enter_conf_pin.wav conference/conf-bad-pin.wav pin \\d+' },
      { application: 'transfer', data: '${pin} XML public' },
    ]);
    // a five-digit pin has no breakout form
    expect(d.asked).toEqual(['12345']);
  });

  test('given the pin of a meeting, then the bridge to its server', async () => {
    const xml = await dialplanResponse(call({ variable_pin: '123456789', 'Caller-Caller-ID-Name': 'Test User' }), deps({ '123456789': meeting }));
    expect(parse(xml).section).toMatchObject({ name: 'dialplan', description: 'Bridge Call to BBB Server', context: { extension: { name: 'bridge_to_bbb_server' } } });
    expect(parse(xml).section.context!.extension.condition).toMatchObject({ field: 'destination_number', expression: '^5551234$' });
    expect(actions(xml)).toEqual([
      { application: 'set', data: 'meeting_id=room-1' },
      { application: 'set', data: 'effective_caller_id_name=Test User' },
      { application: 'bridge', data: 'sofia/external/123456789@bbb1.example.com' },
    ]);
  });

  test('given a breakout pin (the parent pin plus a digit), then the parent meeting is bridged with the pin as dialled', async () => {
    const d = deps({ '123456789': meeting });
    const xml = await dialplanResponse(call({ variable_pin: '1234567897' }), d);
    expect(d.asked).toEqual(['1234567897', '123456789']);
    expect(actions(xml)).toContainEqual({ application: 'bridge', data: 'sofia/external/1234567897@bbb1.example.com' });
    expect(actions(xml)).toContainEqual({ application: 'set', data: 'effective_caller_id_name=Unavailable' });
  });

  test('given a numeric caller id, then it is masked in the bridge', async () => {
    const xml = await dialplanResponse(call({ variable_pin: '123456789', 'Caller-Caller-ID-Name': '5554321' }), deps({ '123456789': meeting }));
    expect(actions(xml)).toContainEqual({ application: 'set', data: 'effective_caller_id_name=555XXXX' });
  });

  test('given Caller-Privacy-Hide-Name=true, then Unavailable', async () => {
    const xml = await dialplanResponse(
      call({ variable_pin: '123456789', 'Caller-Caller-ID-Name': 'Test User', 'Caller-Privacy-Hide-Name': 'true' }),
      deps({ '123456789': meeting }),
    );
    expect(actions(xml)).toContainEqual({ application: 'set', data: 'effective_caller_id_name=Unavailable' });
  });

  test('given hostile values, then they are FreeSWITCH-escaped and the document stays well-formed XML', async () => {
    const target: BridgeTarget = { meetingId: 'm"<&>${x}', serverUrl: 'https://bbb1.example.com:8443/bigbluebutton/api' };
    const xml = await dialplanResponse(
      call({ 'Caller-Destination-Number': '+49 "30" <1>', variable_pin: '123456789', 'Caller-Caller-ID-Name': 'Eve ${system(rm)}\\' }),
      deps({ '123456789': target }),
    );
    expect(xml).not.toMatch(/<1>|"30"/);
    const doc = parse(xml);
    expect(doc.section.context!.extension.condition.expression).toBe('^\\\\+49\\\\ "30"\\\\ <1>$');
    expect(actions(xml)).toEqual([
      { application: 'set', data: 'meeting_id=m"<&>\\${x}' },
      { application: 'set', data: 'effective_caller_id_name=Eve \\${system(rm)}\\\\' },
      { application: 'bridge', data: 'sofia/external/123456789@bbb1.example.com' },
    ]);
  });

  test('given a line break in a value, then it survives as a character reference', async () => {
    const xml = await dialplanResponse(call({ variable_pin: '123456789', 'Caller-Caller-ID-Name': 'A\nB' }), deps({ '123456789': meeting }));
    expect(xml).toContain('effective_caller_id_name=A&#10;B');
  });
});

describe('fsapiHandler', () => {
  let http: HttpServer;
  let base: string;
  beforeAll(async () => {
    const app = express();
    app.post('/fsapi', fsapiHandler({ ...deps({ '123456789': meeting }), password: 'pw', realm: 'sl.example.com' }));
    app.post('/open', fsapiHandler({ ...deps(), password: '', realm: 'x' }));
    http = app.listen(0, '127.0.0.1');
    await new Promise((r) => http.once('listening', r));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => http.close(r)));

  const form = 'section=dialplan&Caller-Destination-Number=5551234&variable_pin=123456789';
  const post = (path: string, headers: Record<string, string>, body = form) =>
    request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

  test('given no credentials, then 401 with a Basic challenge for the realm', async () => {
    const res = await post('/fsapi', {});
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="sl.example.com"');
    await res.body.dump();
  });

  test('given the fsapi credentials and a form body, then the bridge document as XML', async () => {
    const res = await post('/fsapi', { authorization: basic('fsapi', 'pw') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    expect(await res.body.text()).toContain('sofia/external/123456789@bbb1.example.com');
  });

  test('given a query parameter and a body field of the same name, then the query wins', async () => {
    const res = await post('/fsapi?section=directory', { authorization: basic('fsapi', 'pw') });
    expect(await res.body.text()).toBe(notFoundDocument());
  });

  test('given authentication is off, then no credentials are needed', async () => {
    const res = await post('/open', {}, 'section=dialplan&Caller-Destination-Number=5551234');
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toContain('match_did_and_prompt_for_pin');
  });
});
