import { Agent, request } from 'undici';
import { ChecksumAlgorithm, signedQuery } from './checksum';
import { parseXml, XmlNode } from './xml';

export interface BbbEndpoint {
  /** API base, e.g. https://bbb1.example.com/bigbluebutton/api */
  url: string;
  secret: string;
}

export type BbbReply =
  | { kind: 'success'; body: string; doc: XmlNode }
  | { kind: 'failed'; messageKey: string; message: string }
  | { kind: 'unreachable'; error: string }
  | { kind: 'invalid'; error: string };

export interface BbbCallOptions {
  /** XML body (pre-uploaded slides, insertDocument): sent as a POST */
  body?: string;
  /** reduced timeouts, for servers believed offline (Scalelite §1.4) */
  short?: boolean;
}

export type Params = Array<[string, string]>;

export interface BbbClientSettings {
  algorithm: ChecksumAlgorithm;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  userAgent?: string;
}

export const apiBase = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

/** A signed URL for a BBB API call (join redirects use it without calling). */
export function signedUrl(algorithm: ChecksumAlgorithm, server: BbbEndpoint, action: string, params: Params): string {
  return `${apiBase(server.url)}${action}?${signedQuery(algorithm, action, params, server.secret)}`;
}

/** How the balancer talks to BBB servers (the undici client below, or anything that behaves like it). */
export interface BbbGateway {
  call(server: BbbEndpoint, action: string, params: Params, options?: BbbCallOptions): Promise<BbbReply>;
  signedUrl(server: BbbEndpoint, action: string, params: Params): string;
}

/** Calls BBB servers: signed with each server's secret, keep-alive connections, bounded by timeouts. */
export class BbbClient implements BbbGateway {
  private readonly agent: Agent;
  private readonly shortAgent: Agent;
  private readonly shortResponseMs: number;

  constructor(private readonly settings: BbbClientSettings) {
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const read = settings.responseTimeoutMs;
    this.shortResponseMs = clamp(read / 10, 500, read);
    this.agent = new Agent({ connect: { timeout: settings.connectTimeoutMs }, keepAliveTimeout: 30_000, connections: 64 });
    this.shortAgent = new Agent({ connect: { timeout: clamp(read / 10, 200, read) }, keepAliveTimeout: 30_000, connections: 16 });
  }

  signedUrl(server: BbbEndpoint, action: string, params: Params): string {
    return signedUrl(this.settings.algorithm, server, action, params);
  }

  async call(server: BbbEndpoint, action: string, params: Params, options: BbbCallOptions = {}): Promise<BbbReply> {
    const url = this.signedUrl(server, action, params);
    const timeout = options.short ? this.shortResponseMs : this.settings.responseTimeoutMs;
    let text: string;
    try {
      const res = await request(url, {
        method: options.body === undefined ? 'GET' : 'POST',
        body: options.body,
        headers: {
          ...(options.body === undefined ? {} : { 'content-type': 'application/xml' }),
          'user-agent': this.settings.userAgent ?? 'scalelite-es',
        },
        dispatcher: options.short ? this.shortAgent : this.agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      text = await res.body.text();
      if (res.statusCode >= 400) return { kind: 'unreachable', error: `HTTP ${res.statusCode}` };
    } catch (err) {
      return { kind: 'unreachable', error: describe(err) };
    }
    return interpretReply(text);
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.shortAgent.close()]);
  }
}

/** Read a BBB reply: SUCCESS, a FAILED to pass through, or something that is not a BBB answer. */
export function interpretReply(text: string): BbbReply {
  const doc = parseXml(text);
  const response = doc?.response as XmlNode | undefined;
  if (!doc || typeof response !== 'object' || response === null) return { kind: 'invalid', error: 'Response did not include returncode' };
  const returncode = response.returncode;
  if (typeof returncode !== 'string') return { kind: 'invalid', error: 'Response did not include returncode' };
  if (returncode === 'SUCCESS') return { kind: 'success', body: text, doc };
  return {
    kind: 'failed',
    messageKey: typeof response.messageKey === 'string' ? response.messageKey : '',
    message: typeof response.message === 'string' ? response.message : '',
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return [code, err.message, cause?.code].filter(Boolean).join(': ');
  }
  return String(err);
}
