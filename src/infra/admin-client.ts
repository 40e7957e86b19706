import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Dispatcher } from 'undici';
import { ChecksumAlgorithm, checksumOf, encodeQuery } from './bbb/checksum';
import { parseXml, XmlNode } from './bbb/xml';

// undici is required on the first call, not at import: a CLI command that fails
// before calling (no secret, --help) then starts without it (~0.1 s).
const loadUndici = (): Promise<typeof import('undici')> => import('undici');

/** Thrown for anything an admin should read: the CLI prints the message and exits non-zero. */
export class AdminClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface AdminClientOptions {
  baseUrl: string;
  secret: string;
  algorithm?: ChecksumAlgorithm;
  actor?: string;
  timeoutMs?: number;
}

export function defaultActor(): string {
  let user = process.env.SUDO_USER || process.env.USER || 'admin';
  try {
    user = userInfo().username || user;
  } catch {
    // no passwd entry (containers): keep the environment's name
  }
  return `${user}@${hostname()}`;
}

/** Talks to a running balancer's admin API, signed like Scalelite's (action + query + secret). */
export class AdminClient {
  /** BIND=unix:///path: the balancer is reached through its socket */
  private readonly socketPath: string | undefined;
  private socketAgent: Dispatcher | undefined;
  private readonly httpBase: string;

  constructor(private readonly options: AdminClientOptions) {
    const socket = /^unix:\/\/(\/.+)$/.exec(options.baseUrl);
    this.socketPath = socket?.[1];
    this.httpBase = socket ? 'http://localhost' : options.baseUrl.replace(/\/+$/, '');
  }

  /** The connection to use: through the Unix socket when there is one (made on first use, like undici itself). */
  private async dispatcher(): Promise<Dispatcher | undefined> {
    if (this.socketPath === undefined) return undefined;
    if (!this.socketAgent) {
      const { Agent } = await loadUndici();
      this.socketAgent = new Agent({ connect: { socketPath: this.socketPath } });
    }
    return this.socketAgent;
  }

  /** A long operation answered as newline-delimited JSON: each progress line to `onLine`, then its result. */
  async stream<T = unknown>(action: string, body: unknown, onLine: (line: Record<string, unknown>) => void): Promise<T> {
    const json = JSON.stringify(body);
    const { url, headers } = this.signed(action, {}, json);
    let res;
    try {
      const { request } = await loadUndici();
      res = await request(url, { method: 'POST', headers, body: json, headersTimeout: 0, bodyTimeout: 0, dispatcher: await this.dispatcher() });
    } catch (err) {
      throw new AdminClientError(`Cannot reach the balancer at ${this.options.baseUrl} (${(err as { code?: string }).code ?? (err as Error).message}). Is it running?`);
    }
    if (!String(res.headers['content-type'] ?? '').includes('ndjson')) {
      const text = await res.body.text();
      throw new AdminClientError(this.errorOf(res.statusCode, String(res.headers['content-type'] ?? ''), text, url));
    }
    let buffered = '';
    let result: T | undefined;
    for await (const chunk of res.body) {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if ('error' in line) throw new AdminClientError(String(line.error));
        if ('result' in line) result = line.result as T;
        else onLine(line);
      }
    }
    if (result === undefined) throw new AdminClientError('The balancer ended the operation without a result.');
    return result;
  }

  /**
   * Scalelite's signature (action + query + secret), with a timestamp and the body's SHA-256
   * in the query it covers: the balancer refuses a call replayed later or with another body.
   */
  private signed(action: string, query: Record<string, string | undefined>, body?: string): { url: string; headers: Record<string, string> } {
    const params = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined);
    params.push(['timestamp', String(Math.floor(Date.now() / 1000))]);
    if (body !== undefined) params.push(['bodySha256', createHash('sha256').update(body).digest('hex')]);
    const qs = encodeQuery(params);
    const checksum = checksumOf(this.options.algorithm ?? 'sha256', action, qs, this.options.secret);
    return {
      url: `${this.httpBase}/scalelite/api/${action}?${qs ? `${qs}&` : ''}checksum=${checksum}`,
      headers: {
        'x-scalelite-actor': this.options.actor ?? defaultActor(),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
    };
  }

  private errorOf(status: number, type: string, text: string, url: string): string {
    if (type.includes('xml')) {
      const response = parseXml(text)?.response as XmlNode | undefined;
      const key = String(response?.messageKey ?? 'unknown');
      if (key === 'checksumError') return 'The balancer rejected our signature (checksumError): set LOADBALANCER_SECRET to the secret the balancer uses.';
      return `${key}: ${String(response?.message ?? text)}`;
    }
    try {
      const json = JSON.parse(text) as { error?: string; message?: string };
      return json.error ?? json.message ?? `HTTP ${status}`;
    } catch {
      return `Unexpected answer from ${url.split('?')[0]} (HTTP ${status}): ${text.slice(0, 200)}`;
    }
  }

  async call<T = unknown>(action: string, method: 'GET' | 'POST', query: Record<string, string | undefined> = {}, body?: unknown): Promise<T> {
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    const { url, headers } = this.signed(action, query, payload);
    let status: number;
    let text: string;
    let type: string;
    try {
      const { request } = await loadUndici();
      const res = await request(url, {
        method,
        headers,
        body: payload,
        headersTimeout: this.options.timeoutMs ?? 120_000,
        bodyTimeout: this.options.timeoutMs ?? 120_000,
        dispatcher: await this.dispatcher(),
      });
      status = res.statusCode;
      type = String(res.headers['content-type'] ?? '');
      text = await res.body.text();
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new AdminClientError(`Cannot reach the balancer at ${this.options.baseUrl} (${code ?? (err as Error).message}). Is it running? Start it with: scalelite start`);
    }
    if (type.includes('xml') || status >= 400) throw new AdminClientError(this.errorOf(status, type, text, url), status);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AdminClientError(this.errorOf(status, type, text, url), status);
    }
    return json as T;
  }
}
