import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

// A deliberately independent BBB client: signing here must not reuse the
// simulator's checksum code, or a shared bug would make both sides agree.

export type Algo = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export function signedUrl(apiUrl: string, action: string, params: Record<string, string | number | boolean>, secret: string, algo: Algo = 'sha1'): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const checksum = createHash(algo)
    .update(action + query + secret)
    .digest('hex');
  return `${apiUrl}${action}?${query ? `${query}&` : ''}checksum=${checksum}`;
}

const parser = new XMLParser({
  parseTagValue: false,
  ignoreAttributes: true,
  isArray: (name) => ['meeting', 'attendee', 'breakout', 'error'].includes(name),
});

export type Xml = any;

export function parseXml(body: string): Xml {
  return (parser.parse(body) as { response: Xml }).response;
}

export async function getXml(url: string, init?: RequestInit): Promise<{ status: number; body: string; xml: Xml }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const body = await res.text();
  return { status: res.status, body, xml: body.startsWith('<response>') ? parseXml(body) : undefined };
}

/** Element names of the direct children of <response>, in document order. */
export function topLevelElements(body: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (closing) {
      depth--;
      continue;
    }
    if (depth === 1) names.push(name!);
    if (!selfClosing) depth++;
  }
  return names;
}
