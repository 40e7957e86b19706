import { LIMITS } from '../../../src/events/catalog';
import { combineFormats, MAX_METADATA_XML_CHARS, parseMetadataXml, type ParsedMetadata } from '../../../src/recordings/metadata';

const RECORD_ID = 'b27af2f930d418879550e09c7548d1cdd0be25cf-1504122319984';
const SLIDES = `https://bbb.example.com/presentation/${RECORD_ID}/presentation/d2d9a672040fbde2a47a10bf6c37b6a4b5ae187f-1504122320002/thumbnails`;

/** The shape BBB's presentation publish step writes (pretty-printed by Nokogiri). */
function presentationXml(overrides: { meta?: string; playback?: string; recording?: string; id?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<recording>
  <id>${overrides.id ?? RECORD_ID}</id>
  <state>published</state>
  <published>true</published>
  <start_time>1504122319984</start_time>
  <end_time>1504122655395</end_time>
  <participants>4</participants>
  <meeting id="${RECORD_ID}" externalId="room-42" name="Physics 101" breakout="false"/>
  ${overrides.recording ?? ''}
  <meta>
    <isBreakout>false</isBreakout>
    <meetingName>Physics 101</meetingName>
    <bbb-origin>Greenlight</bbb-origin>
    <bbb-context> Lecture &amp; Lab </bbb-context>
    <meetingId>room-42</meetingId>
    ${overrides.meta ?? ''}
  </meta>
  <playback>
    <format>presentation</format>
    <link>
      https://bbb.example.com/playback/presentation/2.3/${RECORD_ID}?t=5
    </link>
    <processing_time>10915</processing_time>
    <duration>105862</duration>
    <extensions>
      <preview>
        <images>
          <image width="176" height="136" alt="Welcome to">${SLIDES}/thumb-1.png</image>
          <image width="176" height="136" alt="(this slide left blank for use as a whiteboard)">${SLIDES}/thumb-2.png</image>
          <image width="wide" alt="">${SLIDES}/thumb-3.png?v=1</image>
        </images>
      </preview>
    </extensions>
    <size>531235</size>
    ${overrides.playback ?? ''}
  </playback>
  <raw_size>493084</raw_size>
</recording>`;
}

function ok(xml: string): ParsedMetadata {
  const parsed = parseMetadataXml(xml);
  if ('error' in parsed) throw new Error(`expected a parse, got: ${parsed.error}`);
  return parsed;
}

function error(xml: string): string {
  const parsed = parseMetadataXml(xml);
  if (!('error' in parsed)) throw new Error('expected an error');
  return parsed.error;
}

describe('parseMetadataXml', () => {
  it('given a presentation metadata.xml, when parsed, then every field maps as Scalelite maps it', () => {
    expect(ok(presentationXml())).toEqual({
      recordId: RECORD_ID,
      meetingId: 'room-42',
      name: 'Physics 101',
      published: true,
      state: 'published',
      startTime: 1504122319984,
      endTime: 1504122655395,
      participants: 4,
      metadata: { 'bbb-origin': 'Greenlight', 'bbb-context': 'Lecture & Lab' },
      format: {
        format: 'presentation',
        url: `/playback/presentation/2.3/${RECORD_ID}?t=5`,
        length: 2, // 105 862 ms is 1.76 minutes
        processingTime: 10915,
        thumbnails: [
          { url: new URL(`${SLIDES}/thumb-1.png`).pathname, width: 176, height: 136, alt: 'Welcome to' },
          { url: new URL(`${SLIDES}/thumb-2.png`).pathname, width: 176, height: 136, alt: '(this slide left blank for use as a whiteboard)' },
          { url: new URL(`${SLIDES}/thumb-3.png`).pathname, width: null, height: null, alt: '' },
        ],
      },
    });
  });

  it('given numeric-looking ids and values, when parsed, then they stay the exact text', () => {
    const parsed = ok(presentationXml({ id: '0123-0001', meta: '<course-code>007</course-code><ratio>1e5</ratio><flag>true</flag>' }));
    expect(parsed.recordId).toBe('0123-0001');
    expect(parsed.metadata).toMatchObject({ 'course-code': '007', ratio: '1e5', flag: 'true' });
  });

  it('given "available" as state (BBB screenshare quirk), then it reads as published; an empty state reads as null', () => {
    expect(ok(presentationXml().replace('<state>published</state>', '<state>available</state>')).state).toBe('published');
    expect(ok(presentationXml().replace('<state>published</state>', '<state/>')).state).toBeNull();
  });

  it('given published anything but "true", then the recording is unpublished', () => {
    expect(ok(presentationXml().replace('<published>true</published>', '<published>TRUE</published>')).published).toBe(false);
    expect(ok(presentationXml().replace('<published>true</published>', '')).published).toBe(false);
  });

  it('given garbage numbers, when parsed, then they become null or 0 instead of half-numbers', () => {
    const xml = presentationXml()
      .replace('<participants>4</participants>', '<participants>4 people</participants>')
      .replace('<start_time>1504122319984</start_time>', '<start_time>-5</start_time>')
      .replace('<end_time>1504122655395</end_time>', '')
      .replace('<processing_time>10915</processing_time>', '<processing_time>0x10</processing_time>')
      .replace('<duration>105862</duration>', '<duration>soon</duration>');
    const parsed = ok(xml);
    expect([parsed.participants, parsed.startTime, parsed.endTime]).toEqual([null, null, null]);
    expect([parsed.format.processingTime, parsed.format.length]).toEqual([null, 0]);
  });

  it('given a fractional duration, then the length is rounded minutes', () => {
    expect(ok(presentationXml().replace('<duration>105862</duration>', '<duration>89999.6</duration>')).format.length).toBe(1);
    expect(ok(presentationXml().replace('<duration>105862</duration>', '<duration>90000</duration>')).format.length).toBe(2);
  });

  it('given CDATA, numeric character references and comments, then values read as their text', () => {
    const parsed = ok(presentationXml({ meta: '<title><![CDATA[ <b>Café</b> ]]></title><city>Z&#252;rich &#x1F600;</city><!-- note -->' }));
    expect(parsed.metadata['title']).toBe('<b>Café</b>');
    expect(parsed.metadata['city']).toBe('Zürich 😀');
  });

  it('given metadata keys that are JavaScript object internals, then they are plain keys, and __proto__ is dropped', () => {
    const parsed = ok(presentationXml({ meta: '<constructor>c</constructor><toString>t</toString><__proto__>p</__proto__><hasOwnProperty>h</hasOwnProperty>' }));
    expect(Object.getPrototypeOf(parsed.metadata)).toBe(Object.prototype);
    expect(parsed.metadata).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h' });
    expect(Object.keys(parsed.metadata)).not.toContain('__proto__');
  });

  it('given a repeated metadata key, then the last one wins', () => {
    expect(ok(presentationXml({ meta: '<bbb-origin>Moodle</bbb-origin>' })).metadata['bbb-origin']).toBe('Moodle');
  });

  it('given no meetingName, then the name comes from <meeting name=…/>, else it is empty', () => {
    const noName = presentationXml().replace('<meetingName>Physics 101</meetingName>', '');
    expect(ok(noName).name).toBe('Physics 101');
    expect(ok(noName.replace(/<meeting id=[^>]*\/>/, '')).name).toBe('');
  });

  it('given a relative link, then it is kept as a path; given a non-http link, then the format is refused', () => {
    const relative = presentationXml().replace(/<link>[\s\S]*?<\/link>/, '<link>/playback/video/abc/</link>');
    expect(ok(relative).format.url).toBe('/playback/video/abc/');
    expect(error(presentationXml().replace(/<link>[\s\S]*?<\/link>/, '<link>javascript:alert(1)</link>'))).toMatch(/playback\/link/);
  });

  it('given a thumbnail that is not a URL, then only that thumbnail is skipped', () => {
    const parsed = ok(presentationXml().replace(`${SLIDES}/thumb-2.png`, 'mailto:nobody'));
    expect(parsed.format.thumbnails.map((t) => t.url.split('/').pop())).toEqual(['thumb-1.png', 'thumb-3.png']);
  });

  it('given more preview images than the log takes, then the preview is cut to the limit', () => {
    const images = Array.from({ length: LIMITS.thumbnails + 5 }, (_, i) => `<image>https://h/p/${i}.png</image>`).join('');
    const xml = presentationXml().replace(/<images>[\s\S]*<\/images>/, `<images>${images}</images>`);
    expect(ok(xml).format.thumbnails).toHaveLength(LIMITS.thumbnails);
  });

  it.each([
    ['no recording/id', presentationXml().replace(`<id>${RECORD_ID}</id>`, ''), /recording\/id is missing/],
    ['an unsafe recording/id', presentationXml({ id: '../../etc' }), /not a valid record id/],
    ['no meta', presentationXml().replace(/<meta>[\s\S]*<\/meta>/, ''), /recording\/meta is missing/],
    ['no meta/meetingId', presentationXml().replace('<meetingId>room-42</meetingId>', ''), /meetingId is missing/],
    ['a blank meetingId', presentationXml().replace('<meetingId>room-42</meetingId>', '<meetingId>  </meetingId>'), /meetingId is missing/],
    ['no playback', presentationXml().replace(/<playback>[\s\S]*<\/playback>/, ''), /recording\/playback is missing/],
    ['no playback/format', presentationXml().replace('<format>presentation</format>', ''), /playback\/format is missing/],
    ['no playback/link', presentationXml().replace(/<link>[\s\S]*?<\/link>/, ''), /playback\/link is missing/],
    ['a format name the log refuses', presentationXml().replace('<format>presentation</format>', '<format>pre sentation</format>'), /format/],
    ['another root element', '<response><id>x</id></response>', /no <recording> root/],
    ['malformed XML', '<recording><id>x</recording>', /not well-formed/],
    ['not XML at all', 'PK\u0003\u0004 zip bytes', /not well-formed/],
    ['an empty document', '', /not well-formed/],
    ['a DOCTYPE', `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>${presentationXml().replace(/^<\?xml[^>]*\?>/, '')}`, /DOCTYPE/],
    ['a raw NUL character', presentationXml({ meta: '<x>a\u0000b</x>' }), /NUL/],
    ['a metadata value longer than the log takes', presentationXml({ meta: `<big>${'x'.repeat(LIMITS.metadataValue + 1)}</big>` }), /metadata/],
  ])('given %s, when parsed, then it is an error value with a readable reason', (_case, xml, reason) => {
    expect(error(xml)).toMatch(reason);
  });

  it('given a document beyond the size bound, then it is refused before parsing', () => {
    expect(error(`<recording>${' '.repeat(MAX_METADATA_XML_CHARS)}</recording>`)).toMatch(/larger than/);
  });

  it('given absurdly deep nesting, then it is an error value, not a crash', () => {
    const deep = `${'<a>'.repeat(5000)}x${'</a>'.repeat(5000)}`;
    expect(() => parseMetadataXml(presentationXml({ meta: `<deep>${deep}</deep>` }))).not.toThrow();
    expect('error' in parseMetadataXml(presentationXml({ meta: `<deep>${deep}</deep>` }))).toBe(true);
  });
});

describe('combineFormats', () => {
  const videoXml = presentationXml({ meta: '<bbb-origin>Video-wins-not</bbb-origin><only-video>v</only-video>' })
    .replace('<format>presentation</format>', '<format>video</format>')
    .replace('<participants>4</participants>', '<participants>9</participants>')
    .replace(/<link>[\s\S]*?<\/link>/, `<link>https://bbb.example.com/playback/video/${RECORD_ID}/</link>`)
    .replace(/<extensions>[\s\S]*<\/extensions>/, '');

  it('given the formats of one tarball, when combined, then recording fields come from the first format by name and formats are sorted', () => {
    const combined = combineFormats([ok(videoXml), ok(presentationXml())]);
    if ('error' in combined) throw new Error(combined.error);
    expect(combined.formats.map((f) => f.format)).toEqual(['presentation', 'video']);
    expect(combined.recording.participants).toBe(4);
    expect(combined.recording.metadata).toEqual({ 'bbb-origin': 'Greenlight', 'bbb-context': 'Lecture & Lab', 'only-video': 'v' });
    expect(combined.formats[1]).toEqual({ format: 'video', url: `/playback/video/${RECORD_ID}/`, length: 2, processingTime: 10915, thumbnails: [] });
  });

  it('given formats of different recordings, then it is an error naming both ids', () => {
    const other = ok(presentationXml({ id: 'ffff-1' }).replace('<format>presentation</format>', '<format>video</format>'));
    const combined = combineFormats([ok(presentationXml()), other]);
    expect(combined).toEqual({ error: expect.stringMatching(/different recordings.*ffff-1/) });
  });

  it('given the same format twice, then it is an error', () => {
    expect(combineFormats([ok(presentationXml()), ok(presentationXml())])).toEqual({ error: expect.stringMatching(/presentation appears twice/) });
  });

  it('given nothing, then it is an error', () => {
    expect(combineFormats([])).toEqual({ error: expect.stringMatching(/no playback format/) });
  });

  it('given merged metadata beyond the entry limit, then the log would refuse it, so it is an error', () => {
    const half = Math.ceil(LIMITS.metadataEntries / 2) + 1;
    const keys = (prefix: string) => Array.from({ length: half }, (_, i) => `<${prefix}${i}>v</${prefix}${i}>`).join('');
    const a = ok(presentationXml({ meta: keys('a') }));
    const b = ok(videoXml.replace('<only-video>v</only-video>', keys('b')));
    expect(combineFormats([a, b])).toEqual({ error: expect.stringMatching(/metadata/) });
  });
});
