import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { escapeXml } from '../infra/bbb/xml';
import type { PoolReader } from '../projections/ports';
import { mergeParams } from './params';
import { rawQuery, readBody, readFormFields } from './request';

/*
 * The FreeSWITCH mod_xml_curl dial plan endpoint (`POST /fsapi`, reference
 * §5.7). A dial-in gateway asks what to do with a call; we answer with a
 * dialplan document: prompt for the conference pin, prompt again, or bridge
 * the call to the BBB server that holds the meeting with that voice bridge.
 *
 * The documents reproduce Scalelite's (element names, descriptions, extension
 * names, action order) so a gateway configured for Scalelite behaves the same.
 * Scalelite renders them with Builder: two-space indent, no XML declaration.
 */

export const FSAPI_USER = 'fsapi';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * HTTP Basic check for user `fsapi`. An empty password turns the check off
 * (Scalelite's FSAPI_PASSWORD=""). Both parts are compared through digests so
 * the time taken reveals neither the password nor its length.
 */
export function checkBasicAuth(authorization: string | undefined, password: string): boolean {
  if (password === '') return true;
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const userOk = timingSafeEqual(sha256(decoded.slice(0, colon)), sha256(FSAPI_USER));
  const passwordOk = timingSafeEqual(sha256(decoded.slice(colon + 1)), sha256(password));
  return userOk && passwordOk;
}

/**
 * Escape a value for a FreeSWITCH dialplan string: `${` would start a variable
 * expansion, so it is written `\${`, and backslashes are doubled so the
 * unescaping FreeSWITCH then runs gives the value back. A lone `$` is left
 * alone: FreeSWITCH only unescapes strings that contain `${` or an escape.
 */
export const fsEscape = (s: string): string => s.replace(/\\|\$\{/g, (m) => `\\${m}`);

/**
 * Ruby's Regexp.escape, which Scalelite applies to the destination number
 * before putting it in the condition's regular expression (so `+4930…`
 * matches a literal plus).
 */
export function regexpEscape(s: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\f': '\\f', '\v': '\\v', ' ': '\\ ' };
  return s.replace(/[.*?+^$|()[\]{}\\#\- \n\t\r\f\v]/g, (c) => named[c] ?? `\\${c}`);
}

/**
 * An attribute value: XML-escaped, with line breaks and tabs as character
 * references so attribute normalisation cannot turn them into spaces, and
 * characters XML 1.0 forbids replaced (Builder writes '*').
 */
function attr(value: string): string {
  return escapeXml(value)
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;')
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '*')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '*');
}

type Attrs = Array<[string, string]>;
interface XmlElement {
  name: string;
  attrs: Attrs;
  children: XmlElement[];
}
const elem = (name: string, attrs: Attrs, children: XmlElement[] = []): XmlElement => ({ name, attrs, children });

function render(e: XmlElement, depth = 0): string {
  const pad = '  '.repeat(depth);
  const attrs = e.attrs.map(([k, v]) => ` ${k}="${attr(v)}"`).join('');
  if (e.children.length === 0) return `${pad}<${e.name}${attrs}/>\n`;
  return `${pad}<${e.name}${attrs}>\n${e.children.map((c) => render(c, depth + 1)).join('')}${pad}</${e.name}>\n`;
}

const action = (application: string, data?: string): XmlElement =>
  elem(
    'action',
    data === undefined
      ? [['application', application]]
      : [
          ['application', application],
          ['data', data],
        ],
  );

/** A one-extension dialplan matching the called number exactly. */
function dialplan(description: string, extension: string, destination: string, actions: XmlElement[]): string {
  const condition = elem(
    'condition',
    [
      ['field', 'destination_number'],
      ['expression', `^${fsEscape(regexpEscape(destination))}$`],
    ],
    actions,
  );
  return render(
    elem(
      'document',
      [['type', 'freeswitch/xml']],
      [
        elem(
          'section',
          [
            ['name', 'dialplan'],
            ['description', description],
          ],
          [elem('context', [['name', 'public']], [elem('extension', [['name', extension]], [condition])])],
        ),
      ],
    ),
  );
}

/** "Not found": FreeSWITCH falls back to its own dial plan. */
export const notFoundDocument = (): string =>
  render(elem('document', [['type', 'freeswitch/xml']], [elem('section', [['name', 'result']], [elem('result', [['status', 'not found']])])]));

export interface PinPromptSettings {
  voiceBridgeMin: number;
  voiceBridgeMax: number;
  /** minutes before the call is hung up; 0 = never */
  maxDurationMinutes: number;
}

/**
 * Collect the pin into the channel variable `pin` (3 tries, 7 s each, '#'
 * ends input) and run the dial plan again, which then asks us with
 * variable_pin set.
 */
const collectPin = (s: PinPromptSettings): XmlElement[] => [
  action('play_and_get_digits', `${s.voiceBridgeMin} ${s.voiceBridgeMax} 3 7000 # conference/conf-enter_conf_pin.wav conference/conf-bad-pin.wav pin \\d+`),
  action('transfer', '${pin} XML public'),
];

export function pinPromptDocument(destination: string, s: PinPromptSettings): string {
  const seconds = Math.floor(s.maxDurationMinutes * 60);
  return dialplan('Match DID and Pin for Conference', 'match_did_and_prompt_for_pin', destination, [
    action('answer'),
    // Set once, on the first pass: the limit covers the whole call.
    ...(seconds > 0 ? [action('sched_hangup', `+${seconds} normal_clearing`)] : []),
    action('sleep', '500'),
    action('playback', 'ivr/ivr-welcome.wav'),
    action('sleep', '200'),
    ...collectPin(s),
  ]);
}

/**
 * The pin matched no meeting: say so and ask again. Scalelite's template
 * writes the digit regex in a Ruby double-quoted string as "\d+", which Ruby
 * reads as "d+", so after one wrong pin no pin is ever accepted; we send \d+.
 */
export function repromptDocument(destination: string, s: PinPromptSettings): string {
  return dialplan('Reprompt Pin for Conference', 'reprompt_for_pin', destination, [action('playback', 'conference/conf-bad-pin.wav'), action('sleep', '500'), ...collectPin(s)]);
}

export interface BridgeTarget {
  meetingId: string;
  /** the API URL of the meeting's server; the call goes to its host */
  serverUrl: string;
}

export function bridgeDocument(destination: string, pin: string, target: BridgeTarget, callerIdName: string): string {
  return dialplan('Bridge Call to BBB Server', 'bridge_to_bbb_server', destination, [
    action('set', `meeting_id=${fsEscape(target.meetingId)}`),
    action('set', `effective_caller_id_name=${fsEscape(callerIdName)}`),
    // The pin as dialled: a breakout room's number is its parent's plus one digit, and BBB's FreeSWITCH knows it by that.
    action('bridge', `sofia/external/${fsEscape(pin)}@${fsEscape(hostOf(target.serverUrl))}`),
  ]);
}

/** The host of a server URL (IPv6 keeps its brackets, as SIP URIs need). */
function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/**
 * The caller name BBB shows for a dial-in user. A number (Caller-ID name made
 * of digits) is shown with its last four digits hidden unless the caller
 * withheld it; a name is shown unless withheld; otherwise "Unavailable".
 */
export function maskCallerId(caller: { name: string | undefined; hideNumber: boolean; hideName: boolean }): string {
  const name = caller.name ?? '';
  let shown = '';
  if (name !== '' && /^[0-9]+$/.test(name)) {
    if (!caller.hideNumber) shown = name.slice(0, Math.max(0, name.length - 4)).padEnd(name.length, 'X');
  } else if (!caller.hideName) {
    shown = name;
  }
  return shown.trim() === '' ? 'Unavailable' : shown;
}

export interface DialplanDeps extends PinPromptSettings {
  /** the meeting holding this voice bridge, and its server's URL; null when none */
  lookupPin(pin: string): Promise<BridgeTarget | null>;
}

const blank = (v: string | undefined): boolean => v === undefined || v.trim() === '';

/** Breakout rooms dial their parent's number plus one digit; BBB's numbers are at least 5 digits. */
const BREAKOUT_MIN_PIN_LENGTH = 6;

/** The answer to one mod_xml_curl request (its form fields, one value per name). */
export async function dialplanResponse(params: Record<string, string | undefined>, deps: DialplanDeps): Promise<string> {
  if (params.section !== 'dialplan') return notFoundDocument();
  const destination = params['Caller-Destination-Number'];
  if (destination === undefined || blank(destination)) return notFoundDocument();
  const pin = params.variable_pin;
  if (pin === undefined || blank(pin)) return pinPromptDocument(destination, deps);
  const target = (await deps.lookupPin(pin)) ?? (pin.length >= BREAKOUT_MIN_PIN_LENGTH ? await deps.lookupPin(pin.slice(0, -1)) : null);
  if (!target) return repromptDocument(destination, deps);
  const callerId = maskCallerId({
    name: params['Caller-Caller-ID-Name'],
    hideNumber: params['Caller-Privacy-Hide-Number'] === 'true',
    hideName: params['Caller-Privacy-Hide-Name'] === 'true',
  });
  return bridgeDocument(destination, pin, target, callerId);
}

/** A pin's meeting and the URL of the server holding it, from the read model. */
export function pinLookup(pool: Pick<PoolReader, 'voiceBridge' | 'meeting' | 'server'>): DialplanDeps['lookupPin'] {
  return async (pin) => {
    const meetingId = await pool.voiceBridge(pin);
    const meeting = meetingId ? await pool.meeting(meetingId) : null;
    const server = meeting ? await pool.server(meeting.serverId) : null;
    return meeting && server ? { meetingId: meeting.meetingId, serverUrl: server.url } : null;
  };
}

export interface FsapiHandlerOptions extends DialplanDeps {
  /** FSAPI_PASSWORD; '' turns authentication off */
  password: string;
  /** the Basic realm (Scalelite: URL_HOST) */
  realm: string;
}

/** mod_xml_curl posts every channel variable; a few kilobytes in practice. */
const MAX_FSAPI_BODY = 1024 * 1024;

/**
 * The express handler for `POST /fsapi`: Basic auth, then the dial plan for
 * the posted fields (query parameters win over body fields, as in Rails).
 */
export function fsapiHandler(options: FsapiHandlerOptions): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  const realm = options.realm.replace(/"/g, '');
  return async (req, res, next) => {
    try {
      if (!checkBasicAuth(req.headers.authorization, options.password)) {
        res.status(401).set('WWW-Authenticate', `Basic realm="${realm}"`).type('text/plain').send('HTTP Basic: Access denied.\n');
        return;
      }
      const body = await readBody(req, MAX_FSAPI_BODY);
      const form = await readFormFields(req, body);
      const params = Object.fromEntries(mergeParams(form, new URLSearchParams(rawQuery(req))));
      const document = await dialplanResponse(params, options);
      res.status(200).type('application/xml').send(document);
    } catch (err) {
      next(err);
    }
  };
}
