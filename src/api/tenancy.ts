import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Request } from 'express';
import type { PoolReader } from '../projections/ports';
import type { Tenant } from '../projections/pool';

/*
 * Which tenant a request is for (MULTITENANCY_ENABLED): the first DNS label of
 * the host the client called. The BBB API, the analytics callback and
 * playback all resolve it here.
 */

/** The host the client called, without its port, lowercased (a trusted proxy's X-Forwarded-Host first). */
export function hostOf(req: IncomingMessage): string {
  const r = req as Partial<Request>;
  const host = typeof r.hostname === 'string' && r.hostname !== '' ? r.hostname : (req.headers.host ?? '').replace(/:\d+$/, '');
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * The tenant label of a host: its first DNS label, or null for the bare URL_HOST,
 * an IP address or a single-label name (localhost). Scalelite leaves the bare
 * host unusable with multitenancy (issue #968); here it keeps the LB secrets.
 */
export function tenantLabel(host: string, urlHost: string | undefined): string | null {
  if (host === '' || (urlHost && host === urlHost.toLowerCase())) return null;
  if (isIP(host) || !host.includes('.')) return null;
  return host.split('.')[0];
}

/**
 * The tenant a request is for: null without multitenancy or on the bare host,
 * 'unknown' for a label no tenant has.
 */
export async function requestTenant(
  req: IncomingMessage,
  pool: Pick<PoolReader, 'tenantByName'>,
  settings: { multitenancy: boolean; urlHost?: string },
): Promise<Tenant | null | 'unknown'> {
  if (!settings.multitenancy) return null;
  const label = tenantLabel(hostOf(req), settings.urlHost);
  if (label === null) return null;
  return (await pool.tenantByName(label)) ?? 'unknown';
}
