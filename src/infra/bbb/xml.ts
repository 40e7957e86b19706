import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** XML escaping for every value we echo into a document. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** An element with escaped text content. */
export const el = (name: string, value: string | number | boolean): string => `<${name}>${escapeXml(String(value))}</${name}>`;

const plainParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, trimValues: true });

export type XmlNode = Record<string, unknown>;

/** Parse a BBB reply into plain objects (all values strings); null when it is not XML. */
export function parseXml(text: string): XmlNode | null {
  if (XMLValidator.validate(text) !== true) return null;
  try {
    return plainParser.parse(text) as XmlNode;
  } catch {
    return null;
  }
}

/* Order-preserving form: for documents we rebuild (getMeetings aggregation) without losing anything. */
const orderedOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  processEntities: true,
} as const;
const orderedParser = new XMLParser(orderedOptions);
const orderedBuilder = new XMLBuilder({ ...orderedOptions, suppressEmptyNode: false, format: false });

export type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export function parseOrdered(text: string): OrderedNode[] | null {
  if (XMLValidator.validate(text) !== true) return null;
  try {
    return orderedParser.parse(text) as OrderedNode[];
  } catch {
    return null;
  }
}

export function buildOrdered(nodes: OrderedNode[]): string {
  return orderedBuilder.build(nodes) as string;
}

/** The element name of an ordered node. */
export const nameOf = (node: OrderedNode): string => Object.keys(node).find((k) => k !== ':@')!;
export const childrenOf = (node: OrderedNode): OrderedNode[] => (node[nameOf(node)] as OrderedNode[]) ?? [];

/** Text of a direct child element (including CDATA), or undefined. */
export function childText(node: OrderedNode, name: string): string | undefined {
  const child = childrenOf(node).find((c) => nameOf(c) === name);
  if (!child) return undefined;
  return textOf(child);
}

export function textOf(node: OrderedNode): string {
  return childrenOf(node)
    .map((c) => {
      const n = nameOf(c);
      if (n === '#text') return String(c['#text']);
      if (n === '#cdata') return childrenOf(c).map((t) => String(t['#text'] ?? '')).join('');
      return '';
    })
    .join('');
}
