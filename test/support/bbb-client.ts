import { createHash } from 'node:crypto';
import { request } from 'undici';

/** A BBB API client as an LMS would be: signs with the balancer's secret, reads XML. */
export class LmsClient {
  constructor(
    readonly baseUrl: string,
    readonly secret: string,
    readonly algorithm: 'sha1' | 'sha256' | 'sha384' | 'sha512' = 'sha256',
  ) {}

  query(action: string, params: Record<string, string> | Array<[string, string]> = {}): string {
    const qs = new URLSearchParams(params as Record<string, string>).toString();
    const checksum = createHash(this.algorithm)
      .update(action + qs + this.secret)
      .digest('hex');
    return qs ? `${qs}&checksum=${checksum}` : `checksum=${checksum}`;
  }

  url(action: string, params: Record<string, string> | Array<[string, string]> = {}): string {
    return `${this.baseUrl}/bigbluebutton/api/${action}?${this.query(action, params)}`;
  }

  async get(action: string, params: Record<string, string> | Array<[string, string]> = {}) {
    return this.raw(this.url(action, params));
  }

  async raw(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
    const res = await request(url, { method: (init.method ?? 'GET') as 'GET', body: init.body, headers: init.headers });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  }
}

/** The text of the first <name> element of an XML document (enough for assertions). */
export function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1];
}

export function tags(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1]);
}
