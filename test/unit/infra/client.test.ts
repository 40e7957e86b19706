import { createHash } from 'node:crypto';
import { apiBase, interpretReply, signedUrl } from '../../../src/infra/bbb/client';

const hex = (algorithm: string, text: string): string => createHash(algorithm).update(text, 'utf8').digest('hex');

describe('interpretReply', () => {
  test('SUCCESS: the body and the parsed document', () => {
    const body = '<?xml version="1.0"?>\n<response><returncode>SUCCESS</returncode><running>true</running></response>';
    const reply = interpretReply(body);
    expect(reply).toMatchObject({ kind: 'success', body });
    if (reply.kind !== 'success') throw new Error('expected success');
    expect((reply.doc.response as Record<string, unknown>).running).toBe('true');
  });

  test('the document is parsed once, when first read, by a getter the reply does not own', () => {
    const reply = interpretReply('<response><returncode>SUCCESS</returncode><running>false</running></response>');
    if (reply.kind !== 'success') throw new Error('expected success');
    // An own getter is an object V8 allocates in the old generation, which kept every reply's text past young collections.
    expect(Object.getOwnPropertyDescriptor(reply, 'doc')).toBeUndefined();
    expect(reply.doc).toBe(reply.doc);
    expect((reply.doc.response as Record<string, unknown>).running).toBe('false');
  });

  test('values stay strings (no number or boolean parsing)', () => {
    const reply = interpretReply('<response><returncode>SUCCESS</returncode><meetingID>00123</meetingID><voiceBridge>70001</voiceBridge></response>');
    if (reply.kind !== 'success') throw new Error('expected success');
    expect(reply.doc.response).toMatchObject({ meetingID: '00123', voiceBridge: '70001' });
  });

  test('FAILED: messageKey and message', () => {
    expect(
      interpretReply('<response><returncode>FAILED</returncode><messageKey>notFound</messageKey><message>We could not find a meeting with that meeting ID</message></response>'),
    ).toEqual({ kind: 'failed', messageKey: 'notFound', message: 'We could not find a meeting with that meeting ID' });
  });

  test('FAILED without messageKey or message: empty strings', () => {
    expect(interpretReply('<response><returncode>FAILED</returncode></response>')).toEqual({ kind: 'failed', messageKey: '', message: '' });
  });

  test('any returncode other than SUCCESS is a failure', () => {
    expect(interpretReply('<response><returncode>success</returncode><messageKey>k</messageKey><message>m</message></response>')).toEqual({
      kind: 'failed',
      messageKey: 'k',
      message: 'm',
    });
  });

  test('no returncode: invalid', () => {
    expect(interpretReply('<response><running>true</running></response>')).toEqual({ kind: 'invalid', error: 'Response did not include returncode' });
    expect(interpretReply('<response/>')).toEqual({ kind: 'invalid', error: 'Response did not include returncode' });
    expect(interpretReply('<other><returncode>SUCCESS</returncode></other>')).toEqual({ kind: 'invalid', error: 'Response did not include returncode' });
  });

  test('not XML: invalid', () => {
    for (const text of ['', 'Bad Gateway', '{"returncode":"SUCCESS"}', '<response><returncode>SUCCESS</response>']) {
      expect(interpretReply(text)).toEqual({ kind: 'invalid', error: 'Response did not include returncode' });
    }
  });
});

describe('signedUrl', () => {
  const server = { url: 'https://bbb1.example.com/bigbluebutton/api', secret: 'bbb-secret' };

  test('server URL + / + action + signed query', () => {
    const query = 'meetingID=Demo+Meeting&fullName=Ann+%26+Bob&redirect=true';
    expect(
      signedUrl('sha256', server, 'join', [
        ['meetingID', 'Demo Meeting'],
        ['fullName', 'Ann & Bob'],
        ['redirect', 'true'],
      ]),
    ).toBe(`https://bbb1.example.com/bigbluebutton/api/join?${query}&checksum=${hex('sha256', `join${query}bbb-secret`)}`);
  });

  test('a URL already ending in / gets no second one', () => {
    expect(signedUrl('sha1', { ...server, url: 'https://bbb1.example.com/bigbluebutton/api/' }, 'getMeetings', [])).toBe(
      `https://bbb1.example.com/bigbluebutton/api/getMeetings?checksum=${hex('sha1', 'getMeetingsbbb-secret')}`,
    );
  });

  test('the root API call (version): empty action, checksum of the secret alone', () => {
    expect(signedUrl('sha512', server, '', [])).toBe(`https://bbb1.example.com/bigbluebutton/api/?checksum=${hex('sha512', 'bbb-secret')}`);
  });

  test('apiBase', () => {
    expect(apiBase('https://x/api')).toBe('https://x/api/');
    expect(apiBase('https://x/api/')).toBe('https://x/api/');
  });
});
