import { interpretReply } from '../../../src/infra/bbb/client';
import { tenantMeetings } from '../../../src/api/meetings';

const meeting = (id: string, tenant: string | null, extra = '') =>
  `<meeting><meetingName>${id} &amp; co</meetingName><meetingID>${id}</meetingID>${extra}<metadata><bbb-origin>Moodle</bbb-origin>${tenant === null ? '' : `<tenant-id>${tenant}</tenant-id>`}</metadata></meeting>`;

function reply(body: string) {
  const bytes = Buffer.from(body, 'utf8');
  const r = interpretReply(bytes.toString('utf8'), bytes);
  if (r.kind !== 'success') throw new Error('expected success');
  return r;
}

describe("getMeetings copies each server's <meeting> elements as written", () => {
  test('given an ASCII reply, the tenant’s meetings are the exact bytes the server sent', () => {
    const a = meeting('a', null, '<attendees><attendee><fullName>Ann</fullName></attendee></attendees>');
    const b = meeting('b', ' t1 ');
    const c = meeting('c', '<![CDATA[t1]]>');
    const r = reply(`<?xml version="1.0"?>\n<response>\n  <returncode>SUCCESS</returncode>\n  <meetings>\n    ${a}\n    ${b}\n<!-- x -->${c}\n  </meetings>\n</response>`);
    expect(r.asciiBytes).toBeDefined();
    expect(tenantMeetings(r, '')?.toString()).toBe(a);
    expect(tenantMeetings(r, 't1')?.toString()).toBe(b + c);
    expect(tenantMeetings(r, 't2')).toBeNull();
  });

  test('given meetings that follow one another, then they are one slice of the reply, the whitespace between kept, and nothing is copied', () => {
    const [a, b, c] = [meeting('a', null), meeting('b', null), meeting('c', 't1')];
    const r = reply(`<response><returncode>SUCCESS</returncode><meetings>\n  ${a}\n  ${b}\n  ${c}\n</meetings></response>`);
    const mine = tenantMeetings(r, '')!;
    expect(mine.toString()).toBe(`${a}\n  ${b}`);
    expect(mine.buffer).toBe(r.asciiBytes!.buffer);
    expect(tenantMeetings(r, 't1')?.toString()).toBe(c);
  });

  test('given a reply with non-ASCII text, the meetings are copied whole, characters intact', () => {
    const m = meeting('Ünïcödé-会議-😀', null);
    const r = reply(`<response><returncode>SUCCESS</returncode><meetings>${m}</meetings></response>`);
    expect(r.asciiBytes).toBeUndefined();
    expect(tenantMeetings(r, '')?.toString('utf8')).toBe(m);
  });

  test('given no meetings, or an empty list, there is nothing to copy', () => {
    expect(tenantMeetings(reply('<response><returncode>SUCCESS</returncode><meetings/><messageKey>noMeetings</messageKey></response>'), '')).toBeNull();
    expect(tenantMeetings(reply('<response><returncode>SUCCESS</returncode></response>'), '')).toBeNull();
  });
});
