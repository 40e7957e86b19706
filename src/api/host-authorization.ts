import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

/*
 * URL_HOST as Scalelite's config.hosts (docs/scalelite-behaviour.md §1.1): against DNS
 * rebinding, a request naming another host is refused with 403 before anything reads it.
 * With multitenancy, subdomains of URL_HOST are allowed (Rails' `.URL_HOST`). As in Rails,
 * the Host header and, when present, the last X-Forwarded-Host must both be allowed, and
 * paths containing `health_check` are exempt. Unlike Rails: a Host that is an IP address
 * or `localhost` is allowed, because a rebinding attack always carries the attacker's name,
 * and the CLI and probes reach the balancer by its address.
 */

/** host[:port] or [v6]:port → the bare host, lowercased. */
export function bareHost(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) return v.slice(1, v.indexOf(']') < 0 ? undefined : v.indexOf(']'));
  const colon = v.lastIndexOf(':');
  return colon >= 0 && v.indexOf(':') === colon ? v.slice(0, colon) : v;
}

export function hostAllowed(host: string, urlHost: string, multitenancy: boolean): boolean {
  const h = bareHost(host).replace(/\.$/, '');
  const allowed = urlHost.toLowerCase();
  if (h === '') return false;
  if (h === allowed || isIP(h) !== 0 || h === 'localhost') return true;
  return multitenancy && h.endsWith(`.${allowed}`);
}

/** The name a request is refused for, or null when it may pass. */
export function blockedHost(req: IncomingMessage, urlHost: string | undefined, multitenancy: boolean): string | null {
  if (!urlHost) return null;
  const url = req.url ?? '/';
  const path = url.split('?')[0];
  if (path.includes('health_check')) return null;
  const host = req.headers.host ?? '';
  if (!hostAllowed(host, urlHost, multitenancy)) return host;
  const forwarded = req.headers['x-forwarded-host'];
  const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .pop();
  if (last !== undefined && !hostAllowed(last, urlHost, multitenancy)) return last;
  return null;
}

export function refuseHost(res: ServerResponse, host: string): void {
  const body = `Blocked host: ${host.replace(/[^\x20-\x7e]/g, '?').slice(0, 255)}\n`;
  res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
