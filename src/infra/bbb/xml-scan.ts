/*
 * A lean reader for BBB replies: one pass over the text that checks it is
 * well-formed enough to trust (one root, every tag closed by its own name,
 * quoted attributes, closed comments and CDATA, no DOCTYPE) and records where
 * each element starts and ends. Nothing is copied or decoded until asked.
 *
 * Why not fast-xml-parser here: the balancer reads every poll and every
 * getMeetings reply of the whole pool, and building an object tree of each
 * (then rebuilding XML from it) was ~60% of the CPU of those paths and blocked
 * the event loop for ~0.5 s on a 100-server getMeetings (issue 9). Knowing the
 * offsets lets getMeetings copy a server's <meeting> elements byte for byte and
 * lets the poller read the six numbers the load formula needs.
 * fast-xml-parser still parses the few replies whose fields are read by name
 * (BbbReply.doc, lazily).
 */

export interface XmlElement {
  name: string;
  /** offset of '<' of the start tag */
  start: number;
  /** offset just after the start tag's '>' */
  contentStart: number;
  /** offset of the end tag's '<' (contentStart for an empty element) */
  contentEnd: number;
  /** offset just after the end tag's '>' */
  end: number;
  children: XmlElement[];
}

/** A scanned document: its text and its root element. */
export interface ScannedXml {
  text: string;
  root: XmlElement;
}

const LT = 60; // <
const GT = 62; // >
const SLASH = 47; // /
const QUOTE = 34; // "
const APOS = 39; // '
const BANG = 33; // !
const QUESTION = 63; // ?

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
/** Name characters as far as BBB's documents go: ASCII letters, digits, - _ . : and any non-ASCII character. */
const isNameChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 58 || c > 127;
const isNameStart = (c: number): boolean => isNameChar(c) && !(c >= 48 && c <= 57) && c !== 45 && c !== 46;

function onlySpace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i += 1) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/**
 * The elements of a document, or null when it is not a well-formed XML document.
 * Elements deeper than `recordDepth` (the root is at 0) are checked as every other
 * but not recorded: a getMeetings reply's attendees' fields are most of its elements,
 * and no reader needs them, so they cost no object (issue 9: the garbage of recording
 * them was a quarter of a 100-server getMeetings' CPU). textOf still reads the text of
 * an element whose children were left out.
 */
export function scanXml(text: string, recordDepth = Infinity): ScannedXml | null {
  const length = text.length;
  // The open elements: where each one's name lies, and the element when it is recorded.
  const nameStarts: number[] = [];
  const nameEnds: number[] = [];
  const open: Array<XmlElement | null> = [];
  let root: XmlElement | null = null;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    const lt = text.indexOf('<', i);
    const textEnd = lt === -1 ? length : lt;
    // Outside the root only whitespace may stand between the markup.
    if (open.length === 0 && !onlySpace(text, i, textEnd)) return null;
    if (lt === -1) break;
    const next = text.charCodeAt(lt + 1);
    if (next === QUESTION) {
      // the XML declaration, or a processing instruction anywhere: skipped
      const close = text.indexOf('?>', lt + 2);
      if (close === -1) return null;
      i = close + 2;
      continue;
    }
    if (next === BANG) {
      if (text.startsWith('<!--', lt)) {
        const close = text.indexOf('-->', lt + 4);
        if (close === -1) return null;
        i = close + 3;
        continue;
      }
      if (text.startsWith('<![CDATA[', lt)) {
        if (open.length === 0) return null;
        const close = text.indexOf(']]>', lt + 9);
        if (close === -1) return null;
        i = close + 3;
        continue;
      }
      // DOCTYPE and declarations: BBB never sends them, and refusing them means no entity expansion to fear.
      return null;
    }
    if (next === SLASH) {
      const gt = text.indexOf('>', lt + 2);
      if (gt === -1) return null;
      let nameEnd = gt;
      while (nameEnd > lt + 2 && isSpace(text.charCodeAt(nameEnd - 1))) nameEnd -= 1;
      if (open.length === 0) return null;
      const element = open.pop()!;
      if (!sameText(text, lt + 2, nameEnd, nameStarts.pop()!, nameEnds.pop()!)) return null;
      if (element) {
        element.contentEnd = lt;
        element.end = gt + 1;
      }
      i = gt + 1;
      continue;
    }
    // A start tag: its name, then attributes whose quoted values may hold '>' or '/'.
    let j = lt + 1;
    if (!isNameStart(text.charCodeAt(j))) return null;
    while (j < length && isNameChar(text.charCodeAt(j))) j += 1;
    const nameEnd = j;
    let gt = -1;
    let selfClosing = false;
    while (j < length) {
      const c = text.charCodeAt(j);
      if (c === QUOTE || c === APOS) {
        const close = text.indexOf(c === QUOTE ? '"' : "'", j + 1);
        if (close === -1) return null;
        j = close + 1;
        continue;
      }
      if (c === LT) return null;
      if (c === GT) {
        gt = j;
        break;
      }
      if (c === SLASH) {
        if (text.charCodeAt(j + 1) !== GT) return null;
        selfClosing = true;
        gt = j + 1;
        break;
      }
      j += 1;
    }
    if (gt === -1) return null;
    const depth = open.length;
    if (depth === 0 && root !== null) return null; // a second root
    let element: XmlElement | null = null;
    if (depth <= recordDepth) {
      element = { name: text.slice(lt + 1, nameEnd), start: lt, contentStart: gt + 1, contentEnd: gt + 1, end: gt + 1, children: [] };
      if (depth === 0) root = element;
      else open[depth - 1]!.children.push(element);
    }
    if (!selfClosing) {
      nameStarts.push(lt + 1);
      nameEnds.push(nameEnd);
      open.push(element);
    }
    i = gt + 1;
  }
  if (open.length > 0 || root === null) return null;
  return { text, root };
}

/** Whether text[a, aEnd) and text[b, bEnd) hold the same characters (an end tag's name and its start tag's), without slicing either. */
function sameText(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  if (aEnd - a !== bEnd - b) return false;
  for (let k = 0; k < aEnd - a; k += 1) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** Where the element starting at `lt` ends, in a document already found well-formed: for the children a scan left out. */
function endOfElement(text: string, lt: number): number {
  let depth = 0;
  let i = lt;
  for (;;) {
    const at = text.indexOf('<', i);
    if (at === -1) return text.length;
    const next = text.charCodeAt(at + 1);
    if (next === QUESTION) i = text.indexOf('?>', at + 2) + 2;
    else if (text.startsWith('<!--', at)) i = text.indexOf('-->', at + 4) + 3;
    else if (text.startsWith('<![CDATA[', at)) i = text.indexOf(']]>', at + 9) + 3;
    else if (next === SLASH) {
      i = text.indexOf('>', at + 2) + 1;
      depth -= 1;
    } else {
      // a start tag: past its quoted attribute values to its '>'
      let j = at + 1;
      for (;;) {
        const c = text.charCodeAt(j);
        if (c === QUOTE || c === APOS) j = text.indexOf(c === QUOTE ? '"' : "'", j + 1) + 1;
        else if (c === GT) break;
        else j += 1;
      }
      i = j + 1;
      if (text.charCodeAt(j - 1) !== SLASH) depth += 1;
    }
    if (depth === 0) return i;
  }
}

/** The first direct child of that name. */
export function childNamed(element: XmlElement, name: string): XmlElement | undefined {
  for (const child of element.children) if (child.name === name) return child;
  return undefined;
}

/** The element's markup exactly as the document holds it. */
export const outerXml = (doc: ScannedXml, element: XmlElement): string => doc.text.slice(element.start, element.end);

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.charCodeAt(0) === 35) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref] ?? whole;
  });
}

/**
 * The text of an element as fast-xml-parser's trimValues reads it: each run of
 * text trimmed and its entities decoded, CDATA taken as is, comments and child
 * elements' markup left out.
 */
export function textOf(doc: ScannedXml, element: XmlElement): string {
  const { text } = doc;
  let out = '';
  let i = element.contentStart;
  const end = element.contentEnd;
  let child = 0;
  while (i < end) {
    const lt = text.indexOf('<', i);
    const stop = lt === -1 || lt > end ? end : lt;
    out += decodeEntities(text.slice(i, stop).trim());
    if (stop === end) break;
    if (text.startsWith('<![CDATA[', lt)) {
      const close = text.indexOf(']]>', lt + 9);
      out += text.slice(lt + 9, close);
      i = close + 3;
    } else if (text.startsWith('<!--', lt)) {
      i = text.indexOf('-->', lt + 4) + 3;
    } else if (text.charCodeAt(lt + 1) === QUESTION) {
      i = text.indexOf('?>', lt + 2) + 2;
    } else {
      // a child element: skip its whole markup (the scan knows where it ends, unless it left it out)
      while (child < element.children.length && element.children[child]!.start < lt) child += 1;
      const inner = element.children[child];
      i = inner && inner.start === lt ? inner.end : endOfElement(text, lt);
    }
  }
  return out;
}

/** The text of a direct child, or undefined when there is none. */
export function childText(doc: ScannedXml, element: XmlElement, name: string): string | undefined {
  const child = childNamed(element, name);
  return child === undefined ? undefined : textOf(doc, child);
}
