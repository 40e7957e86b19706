import { XMLParser, XMLValidator } from 'fast-xml-parser';

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
