import { errors, failed, failedXml, forwarded, fromReply, noMeetingsXml, notRunningXml, xml, XML_DECLARATION } from '../../../src/api/responses';
import { interpretReply } from '../../../src/infra/bbb/client';

describe('failedXml', () => {
  test("Scalelite's FAILED envelope with a declaration", () => {
    expect(failedXml('checksumError', 'You did not pass the checksum security check')).toBe(
      '<?xml version="1.0"?>\n<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey><message>You did not pass the checksum security check</message></response>',
    );
  });

  test('escapes what it echoes', () => {
    expect(failedXml('a<b', `x & "y" 'z' </message><evil/>`)).toBe(
      `${XML_DECLARATION}<response><returncode>FAILED</returncode><messageKey>a&lt;b</messageKey><message>x &amp; &quot;y&quot; &apos;z&apos; &lt;/message&gt;&lt;evil/&gt;</message></response>`,
    );
  });
});

describe('forwarded', () => {
  const body = '<response><returncode>SUCCESS</returncode></response>';

  test('adds a declaration when missing', () => {
    expect(forwarded(body)).toBe(`<?xml version="1.0"?>\n${body}`);
  });

  test('keeps an existing declaration, adding none', () => {
    const withDeclaration = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
    expect(forwarded(withDeclaration)).toBe(withDeclaration);
  });

  test('a BOM and leading whitespace go', () => {
    expect(forwarded(`\uFEFF  \n<?xml version="1.0"?>${body}`)).toBe(`<?xml version="1.0"?>${body}`);
    expect(forwarded(`\n\n${body}`)).toBe(`${XML_DECLARATION}${body}`);
  });

  test('the rest of the document is untouched', () => {
    const odd = `<response><returncode>SUCCESS</returncode><x a='1'>  spaced  </x><![CDATA[<raw>]]></response>\n`;
    expect(forwarded(odd)).toBe(XML_DECLARATION + odd);
  });
});

describe('fromReply', () => {
  test('SUCCESS: the body forwarded', () => {
    const body = '<response><returncode>SUCCESS</returncode><running>true</running></response>';
    expect(fromReply(interpretReply(body), 'Unable to access meeting on server.')).toEqual(xml(XML_DECLARATION + body));
  });

  test('FAILED: messageKey and message passed through', () => {
    expect(fromReply({ kind: 'failed', messageKey: 'notFound', message: 'no such meeting' }, 'x')).toEqual(failed('notFound', 'no such meeting'));
  });

  test('not a BBB answer: internalError with its reason', () => {
    expect(fromReply({ kind: 'invalid', error: 'Response did not include returncode' }, 'x')).toEqual({
      kind: 'failed',
      messageKey: 'internalError',
      message: 'Response did not include returncode',
    });
  });

  test('unreachable: internalError with the message the caller chose, not the network error', () => {
    expect(fromReply({ kind: 'unreachable', error: 'ECONNREFUSED 10.0.0.1:443' }, 'Unable to create meeting on server.')).toEqual(
      failed('internalError', 'Unable to create meeting on server.'),
    );
  });
});

describe('canned answers (reference §1.2)', () => {
  test.each([
    [errors.checksum(), 'checksumError', 'You did not pass the checksum security check'],
    [errors.missingMeetingId(), 'missingParamMeetingID', 'You must specify a meeting ID for the meeting.'],
    [errors.notFound(), 'notFound', 'We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?'],
    [errors.unsupportedRequest(), 'unsupportedRequest', 'This request is not supported.'],
    [errors.unsupportedContentType(), 'unsupportedContentType', 'POST request Content-Type is missing or unsupported'],
    [errors.serverUnavailable(), 'serverUnavailable', 'The server for this meeting is disabled/offline.'],
    [errors.internal('Could not find any available servers.'), 'internalError', 'Could not find any available servers.'],
  ])('%j', (outcome, messageKey, message) => {
    expect(outcome).toEqual({ kind: 'failed', messageKey, message });
  });

  test('no meetings and not running', () => {
    expect(noMeetingsXml()).toBe(
      '<?xml version="1.0"?>\n<response><returncode>SUCCESS</returncode><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message><meetings/></response>',
    );
    expect(notRunningXml()).toBe('<?xml version="1.0"?>\n<response><returncode>SUCCESS</returncode><running>false</running></response>');
  });
});
