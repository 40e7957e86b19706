import { hostname, userInfo } from 'node:os';
import { request } from 'undici';
import { ChecksumAlgorithm, checksumOf, encodeQuery } from './bbb/checksum';
import { parseXml, XmlNode } from './bbb/xml';

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
  constructor(private readonly options: AdminClientOptions) {}

  async call<T = unknown>(action: string, method: 'GET' | 'POST', query: Record<string, string | undefined> = {}, body?: unknown): Promise<T> {
    const params = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined);
    const qs = encodeQuery(params);
    const checksum = checksumOf(this.options.algorithm ?? 'sha256', action, qs, this.options.secret);
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/scalelite/api/${action}?${qs ? `${qs}&` : ''}checksum=${checksum}`;
    let status: number;
    let text: string;
    let type: string;
    try {
      const res = await request(url, {
        method,
        headers: {
          'x-scalelite-actor': this.options.actor ?? defaultActor(),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        headersTimeout: this.options.timeoutMs ?? 120_000,
        bodyTimeout: this.options.timeoutMs ?? 120_000,
      });
      status = res.statusCode;
      type = String(res.headers['content-type'] ?? '');
      text = await res.body.text();
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new AdminClientError(`Cannot reach the balancer at ${this.options.baseUrl} (${code ?? (err as Error).message}). Is it running? Start it with: scalelite start`);
    }
    if (type.includes('xml')) {
      const response = parseXml(text)?.response as XmlNode | undefined;
      const key = String(response?.messageKey ?? 'unknown');
      const message = String(response?.message ?? text);
      if (key === 'checksumError') {
        throw new AdminClientError('The balancer rejected our signature (checksumError): set LOADBALANCER_SECRET to the secret the balancer uses.', status);
      }
      throw new AdminClientError(`${key}: ${message}`, status);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AdminClientError(`Unexpected answer from ${url.split('?')[0]} (HTTP ${status}): ${text.slice(0, 200)}`, status);
    }
    if (status >= 400) {
      const message = (json as { error?: string; message?: string }).error ?? (json as { message?: string }).message ?? `HTTP ${status}`;
      throw new AdminClientError(message, status);
    }
    return json as T;
  }
}
