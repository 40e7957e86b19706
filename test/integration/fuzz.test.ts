import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { request } from 'undici';
import { XMLValidator } from 'fast-xml-parser';
import { checksumOf } from '../../src/infra/bbb/checksum';
import { Harness, startHarness, TEST_SECRET } from '../support/harness';

jest.setTimeout(300_000);

/*
 * A bounded fuzz of every door the balancer opens: the BBB API, the admin API, playback
 * and /fsapi, with random (often hostile) parameters, bodies and paths, signed and not.
 * Whatever arrives: no 5xx, a BBB API answer is always a BBB XML document, nothing is
 * logged as an error, and afterwards the balancer is healthy and its read model is what
 * the log says.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

const BBB_ACTIONS = [
  'create',
  'join',
  'end',
  'isMeetingRunning',
  'getMeetingInfo',
  'getMeetings',
  'getRecordings',
  'publishRecordings',
  'updateRecordings',
  'deleteRecordings',
  'insertDocument',
  'nope',
  '',
];
const PARAM_NAMES = [
  'meetingID',
  'name',
  'fullName',
  'password',
  'moderatorPW',
  'attendeePW',
  'recordID',
  'publish',
  'meta_x',
  'meta_bbb-recording-ready-url',
  'meta_server-tag',
  'limit',
  'offset',
  'state',
  'role',
  'checksum',
  'duration',
  'voiceBridge',
];
const ADMIN_ACTIONS = [
  'getServers',
  'getServerInfo',
  'addServer',
  'updateServer',
  'deleteServer',
  'panicServer',
  'getStatus',
  'getEvents',
  'getMeetingRoutes',
  'getMeetingRoute',
  'getTenants',
  'addTenant',
  'getRecordingList',
  'nope',
];

/** Text a hostile client would send: any Unicode (lone surrogates too), NUL, separators, escapes. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\ud800', '%', '%zz', '%c0%ae', '../../etc/passwd', '<x>&amp;', 'true', '-1', '99999999999999999999', 'a'.repeat(300), ',', '😀'),
  fc.string({ maxLength: 12 }),
);
/** A path segment with possibly malformed percent-escapes (kept to characters a request line may carry). */
const pathSegment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~%-]{0,20}$/), fc.constantFrom('%c0%ae%c0%ae', '%', '%E0%A4%A', '..', '%00', '%2e%2e', 'presentation', 'video'));
const contentTypes = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/xml',
  'application/json',
  'text/plain',
  '',
);

const encode = (params: Array<[string, string]>) =>
  params.map(([k, v]) => `${encodeURIComponent(k.replace(/[\ud800-\udfff]/g, '?'))}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '?'))}`).join('&');

describe('fuzzing every door of the balancer', () => {
  let h: Harness;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startHarness({ servers: 2, logLines: logs, env: { FSAPI_PASSWORD: 'fs' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const send = async (path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const res = await request(`${h.balancer.url}${path}`, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers: init.headers });
    const text = await res.body.text();
    return { status: res.statusCode, text, type: String(res.headers['content-type'] ?? '') };
  };

  test('the BBB API answers any call with a BBB document (or a redirect), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BBB_ACTIONS),
        fc.array(fc.tuple(fc.constantFrom(...PARAM_NAMES), hostileText), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom('GET', 'POST'),
        contentTypes,
        fc.option(
          hostileText.map((t) => t.replace(/[\ud800-\udfff]/g, '?')),
          { nil: undefined },
        ),
        async (action, params, signed, method, contentType, body) => {
          const query = encode(params);
          const full = signed ? `${query}${query ? '&' : ''}checksum=${checksumOf('sha256', action, query, TEST_SECRET)}` : query;
          const res = await send(`/bigbluebutton/api/${action}?${full}`, {
            method,
            body: method === 'POST' ? (body ?? '') : undefined,
            headers: method === 'POST' && contentType ? { 'content-type': contentType } : {},
          });
          expect(res.status).toBeLessThan(500);
          if (res.status === 200) {
            expect(XMLValidator.validate(res.text)).toBe(true);
            expect(res.text).toMatch(/<returncode>(SUCCESS|FAILED)<\/returncode>/);
          } else expect([302, 413]).toContain(res.status);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('the admin API answers any signed call with JSON or a BBB document, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ADMIN_ACTIONS),
        fc.array(fc.tuple(fc.constantFrom('id', 'meeting', 'server', 'limit', 'type', 'at', 'actor'), hostileText), { maxLength: 3 }),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({ server: fc.record({ url: hostileText, secret: hostileText, load_multiplier: fc.oneof(fc.double(), hostileText) }) }),
          fc.record({ id: hostileText }),
        ),
        async (action, params, json) => {
          const body = JSON.stringify(json);
          const query = `${encode(params)}${params.length ? '&' : ''}timestamp=${Math.floor(Date.now() / 1000)}&bodySha256=${createHash('sha256').update(body).digest('hex')}`;
          const res = await send(`/scalelite/api/${action}?${query}&checksum=${checksumOf('sha256', action, query, TEST_SECRET)}`, {
            method: action.startsWith('get') ? 'GET' : 'POST',
            body: action.startsWith('get') ? undefined : body,
            headers: action.startsWith('get') ? {} : { 'content-type': 'application/json' },
          });
          expect(res.status).toBeLessThan(500);
          if (res.type.includes('json')) expect(() => JSON.parse(res.text)).not.toThrow();
          else if (res.type.includes('ndjson')) expect(res.text.length).toBeGreaterThan(0);
          else expect(XMLValidator.validate(res.text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('playback paths with any segments, malformed escapes included, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/recording', '/presentation', '/video', '/playback/presentation/2.3', '/playback/video', '/recording/screenshare', '/podcast', ''),
        fc.array(pathSegment, { minLength: 1, maxLength: 4 }),
        fc.option(hostileText, { nil: undefined }),
        async (prefix, segments, token) => {
          const query = token === undefined ? '' : `?token=${encodeURIComponent(token.replace(/[\ud800-\udfff]/g, '?'))}`;
          const res = await send(`${prefix}/${segments.join('/')}${query}`);
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('/fsapi answers any post, with or without its password, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.constantFrom('section', 'Caller-Caller-ID-Number', 'variable_pin', 'Hunt-Destination-Number', 'variable_meeting', 'x'), hostileText), {
          maxLength: 6,
        }),
        contentTypes,
        async (authorized, fields, contentType) => {
          const res = await send('/fsapi', {
            method: 'POST',
            body: encode(fields),
            headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(authorized ? { authorization: `Basic ${Buffer.from('fsapi:fs').toString('base64')}` } : {}) },
          });
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('afterwards: nothing was logged as an error, the balancer is healthy, and its read model is what the log says', async () => {
    const errors = logs.filter((l) => Number(l.level) >= 50);
    expect(errors.map((l) => l.msg)).toEqual([]);
    expect((await send('/health_check')).text).toBe('success');
    const rebuilt = await h.rebuild();
    expect(rebuilt.differences).toEqual([]);
  });
});
