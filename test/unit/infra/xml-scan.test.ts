import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { childNamed, childText, outerXml, scanXml, textOf, XmlElement } from '../../../src/infra/bbb/xml-scan';

const escape = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A generated element: what it is, and how a server could write it. */
interface Tree {
  name: string;
  text: string;
  cdata: boolean;
  attribute: string | null;
  children: Tree[];
}

const names = fc.constantFrom('response', 'meeting', 'meetingID', 'metadata', 'tenant-id', 'bbb-origin', 'x_1', 'a.b', 'ns:tag');
const texts = fc.string({ maxLength: 12 }).map((t) => t.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff]/g, '').replace(/]]>/g, ''));
const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.record({
    name: names,
    text: texts,
    cdata: fc.boolean(),
    attribute: fc.option(fc.constantFrom('a="1"', "b='x > y'", 'c="/>"'), { nil: null }),
    children: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant<Tree[]>([]), fc.array(tie('tree') as fc.Arbitrary<Tree>, { maxLength: 3 })),
  }),
})).tree;

function write(t: Tree): string {
  const attr = t.attribute ? ` ${t.attribute}` : '';
  if (t.children.length === 0) return `<${t.name}${attr}>${t.cdata ? `<![CDATA[${t.text}]]>` : escape(t.text)}</${t.name}>`;
  return `<${t.name}${attr}><!-- note -->${t.children.map(write).join('\n')}</${t.name}>`;
}

function shape(e: XmlElement): unknown {
  return { name: e.name, children: e.children.map(shape) };
}
function expected(t: Tree): unknown {
  return { name: t.name, children: t.children.map(expected) };
}

describe('scanXml', () => {
  test('given any well-formed document, it finds every element where it is, and the text as written', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const text = `<?xml version="1.0" encoding="UTF-8"?>\n${write(t)}\n`;
        expect(XMLValidator.validate(text)).toBe(true);
        const scanned = scanXml(text);
        expect(scanned).not.toBeNull();
        expect(shape(scanned!.root)).toEqual(expected(t));
        expect(outerXml(scanned!, scanned!.root)).toBe(write(t));
        const leaves: Array<[Tree, XmlElement]> = [];
        const walk = (g: Tree, e: XmlElement) => (g.children.length === 0 ? leaves.push([g, e]) : g.children.forEach((c, i) => walk(c, e.children[i]!)));
        walk(t, scanned!.root);
        for (const [g, e] of leaves) expect(textOf(scanned!, e)).toBe(g.cdata ? g.text : g.text.trim());
      }),
    );
  });

  test('the text of a field matches what fast-xml-parser reads (entities, CDATA, character references)', () => {
    const text =
      '<response><returncode>SUCCESS</returncode><a> x &amp; y &lt;z&gt; &quot;q&apos; </a><e>&#65;&#x42;&#0;</e><b><![CDATA[<raw> & ]]></b><c/><d><!-- c --> v </d></response>';
    const parsed = new XMLParser({ parseTagValue: false, trimValues: true }).parse(text).response;
    const scanned = scanXml(text)!;
    for (const name of ['returncode', 'a', 'b', 'd']) expect(childText(scanned, scanned.root, name)).toBe(String(parsed[name]));
    // character references are XML too, though fast-xml-parser leaves them as written by default; a reference to NUL is not
    expect(childText(scanned, scanned.root, 'e')).toBe('AB&#0;');
    expect(childText(scanned, scanned.root, 'c')).toBe('');
    expect(childText(scanned, scanned.root, 'missing')).toBeUndefined();
    expect(childNamed(scanned.root, 'c')).toMatchObject({ contentStart: text.indexOf('<c/>') + 4, end: text.indexOf('<c/>') + 4 });
  });

  test.each([
    ['', 'empty'],
    ['Bad Gateway', 'no markup'],
    ['{"returncode":"SUCCESS"}', 'JSON'],
    ['<response><returncode>SUCCESS</response>', 'an end tag that names another element'],
    ['<response>', 'an element never closed'],
    ['<a/><b/>', 'two roots'],
    ['text<a/>', 'text before the root'],
    ['<a/>text', 'text after the root'],
    ['<a><!-- never closed</a>', 'an open comment'],
    ['<a><![CDATA[ never closed</a>', 'an open CDATA section'],
    ['<a b="never closed></a>', 'an open attribute value'],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', 'a DOCTYPE'],
    ['<1a/>', 'a name starting with a digit'],
    ['<a></a ', 'an end tag without >'],
    ['<a/ >', 'a stray slash'],
    ['</a>', 'an end tag alone'],
  ])('refuses %j (%s)', (text) => {
    expect(scanXml(text)).toBeNull();
  });

  test('whatever the bytes, it answers (an element tree or null) and never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          tree.map(write).chain((d) => fc.nat(d.length).map((n) => d.slice(0, n))),
        ),
        (text) => {
          const scanned = scanXml(text);
          if (scanned) expect(scanned.root.end).toBeLessThanOrEqual(text.length);
        },
      ),
    );
  });
});

describe('scanXml with a record depth', () => {
  /** The recorded elements' shape, cut at the depth. */
  const cut = (e: XmlElement, depth: number): unknown => ({ name: e.name, start: e.start, end: e.end, children: depth === 0 ? [] : e.children.map((c) => cut(c, depth - 1)) });

  test('given any document, then the same verdict as a full scan, the same elements down to the depth, and the same text of every recorded element', () => {
    const piece = fc.constantFrom('<a>', '</a>', '<b x="/>">', '</b>', '<c/>', 'text', '&amp;', '<![CDATA[<z>]]>', '<!-- <a> -->', '<?pi?>', ' ', '<', '>');
    const doc = fc.oneof(
      tree.map((t) => `<?xml version="1.0"?>\n${write(t)}`),
      fc.array(piece, { maxLength: 14 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(doc, fc.integer({ min: 0, max: 4 }), (text, depth) => {
        const full = scanXml(text);
        const limited = scanXml(text, depth);
        expect(limited === null).toBe(full === null);
        if (!full || !limited) return;
        expect(cut(limited.root, depth)).toEqual(cut(full.root, depth));
        const walk = (f: XmlElement, l: XmlElement, d: number): void => {
          expect(textOf(limited, l)).toBe(textOf(full, f));
          if (d < depth) f.children.forEach((c, k) => walk(c, l.children[k]!, d + 1));
        };
        walk(full.root, limited.root, 0);
      }),
      { numRuns: 2000 },
    );
  });

  test("given a busy server's getMeetings, then a meeting's fields and its tenant are read, and its attendees' fields are not recorded", () => {
    const attendee = (n: number) => `<attendee>a<userID>u${n}</userID><fullName>User ${n}</fullName> b <role>VIEWER</role><customdata/>c</attendee>`;
    const text = `<response><returncode>SUCCESS</returncode><meetings><meeting><meetingID>m1</meetingID><participantCount>2</participantCount><attendees>${attendee(1)}${attendee(2)}</attendees><metadata><tenant-id>t1</tenant-id></metadata></meeting></meetings></response>`;
    const scanned = scanXml(text, 4)!;
    const meeting = childNamed(childNamed(scanned.root, 'meetings')!, 'meeting')!;
    expect(childText(scanned, meeting, 'participantCount')).toBe('2');
    expect(childText(scanned, childNamed(meeting, 'metadata')!, 'tenant-id')).toBe('t1');
    const attendees = childNamed(meeting, 'attendees')!;
    expect(attendees.children.map((a) => a.children.length)).toEqual([0, 0]);
    // its own text, its children's left out, as a full scan reads it
    expect(textOf(scanned, attendees.children[0]!)).toBe('abc');
    expect(outerXml(scanned, attendees.children[1]!)).toBe(attendee(2));
  });
});
