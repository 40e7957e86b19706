import { el } from '../infra/bbb/xml';
import { BbbReply } from '../poller/ports';

/** What a BBB API handler answers, before the edge renders it. */
export type ApiOutcome =
  | { kind: 'xml'; body: string }
  /** a document too large to hold in memory, written as it is made */
  | { kind: 'xmlStream'; chunks: AsyncIterable<string | Buffer> }
  | { kind: 'redirect'; location: string }
  | { kind: 'failed'; messageKey: string; message: string };

export const XML_DECLARATION = '<?xml version="1.0"?>\n';

export const failed = (messageKey: string, message: string): ApiOutcome => ({ kind: 'failed', messageKey, message });
export const xml = (body: string): ApiOutcome => ({ kind: 'xml', body });

export function failedXml(messageKey: string, message: string): string {
  return `${XML_DECLARATION}<response>${el('returncode', 'FAILED')}${el('messageKey', messageKey)}${el('message', message)}</response>`;
}

/** An upstream SUCCESS document goes back unchanged, with an XML declaration as Scalelite re-serialises it. */
export function forwarded(body: string): string {
  const trimmed = body.replace(/^\uFEFF/, '').trimStart();
  return trimmed.startsWith('<?xml') ? trimmed : XML_DECLARATION + trimmed;
}

/** Map an upstream reply: SUCCESS forwarded, FAILED passed through, anything else an internalError. */
export function fromReply(reply: BbbReply, unreachable: string): ApiOutcome {
  switch (reply.kind) {
    case 'success':
      return xml(forwarded(reply.body));
    case 'failed':
      return failed(reply.messageKey, reply.message);
    case 'invalid':
      return failed('internalError', reply.error);
    case 'unreachable':
      return failed('internalError', unreachable);
  }
}

export const errors = {
  checksum: () => failed('checksumError', 'You did not pass the checksum security check'),
  missingMeetingId: () => failed('missingParamMeetingID', 'You must specify a meeting ID for the meeting.'),
  notFound: () => failed('notFound', 'We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?'),
  unsupportedRequest: () => failed('unsupportedRequest', 'This request is not supported.'),
  unsupportedContentType: () => failed('unsupportedContentType', 'POST request Content-Type is missing or unsupported'),
  serverUnavailable: () => failed('serverUnavailable', 'The server for this meeting is disabled/offline.'),
  internal: (message: string) => failed('internalError', message),
};

export const noMeetingsXml = (): string =>
  `${XML_DECLARATION}<response><returncode>SUCCESS</returncode><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message><meetings/></response>`;

export const notRunningXml = (): string => `${XML_DECLARATION}<response><returncode>SUCCESS</returncode><running>false</running></response>`;
