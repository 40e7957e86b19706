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
