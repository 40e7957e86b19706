import { Command } from '@oclif/core';
import { AdminClient, AdminClientError } from '../src/infra/admin-client';
import { outgoingAlgorithm } from '../src/infra/bbb/checksum';
import { adminTarget } from './base';
import type { LrsParam, TenantJson, TenantSettingJson } from '../src/api/views/tenant';

/*
 * Shared by the `tenants*` and `tenantSettings*` commands: Scalelite's printed
 * shapes, its error texts, and the "multitenancy is disabled" abort (the admin
 * API answers every tenant call with 412 when MULTITENANCY_ENABLED is off).
 */

export const MULTITENANCY_DISABLED = 'Multitenancy is disabled, task can not be completed';

/** The xAPI/LRS fields of a tenant, in the order `rake tenants` prints them. */
export const LRS_FIELDS = [
  'lrs_endpoint',
  'lrs_username',
  'lrs_password',
  'kc_token_url',
  'kc_client_id',
  'kc_client_secret',
  'kc_username',
  'kc_password',
] as const satisfies readonly LrsParam[];

/** `rake tenants` block for one tenant: the LRS/Keycloak lines only when set. */
export function tenantBlock(t: TenantJson): string {
  const lines = [`id: ${t.id}`, `\tname: ${t.name}`, `\tsecrets: ${t.secrets}`];
  for (const f of LRS_FIELDS) {
    const v = t[f];
    if (v !== undefined && v !== null && String(v).trim() !== '') lines.push(`\t${f}: ${v}`);
  }
  return lines.join('\n');
}

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * `rake tenantSettings`: per tenant `Tenant: <name>`, then its settings, or (on
 * stderr) `  No custom settings are configured`. Settings whose tenant is gone
 * (Scalelite keeps them when a tenant is removed) are listed last under their
 * tenant id, so that an admin can still find and remove them.
 */
export function tenantSettingsListing(tenants: Array<{ id: string; name: string }>, settings: TenantSettingJson[]): OutputLine[] {
  const out: OutputLine[] = [];
  const settingLines = (s: TenantSettingJson) => {
    out.push({ stream: 'stdout', text: `  id: ${s.id}` });
    out.push({ stream: 'stdout', text: `\tparam: ${s.param}` });
    out.push({ stream: 'stdout', text: `\tvalue: ${s.value}` });
    out.push({ stream: 'stdout', text: `\toverride: ${s.override}` });
  };
  const known = new Set(tenants.map((t) => t.id));
  for (const t of tenants) {
    out.push({ stream: 'stdout', text: `Tenant: ${t.name}` });
    const own = settings.filter((s) => s.tenant_id === t.id);
    if (own.length === 0) out.push({ stream: 'stderr', text: '  No custom settings are configured' });
    own.forEach(settingLines);
  }
  const orphans = settings.filter((s) => !known.has(s.tenant_id));
  for (const tenantId of [...new Set(orphans.map((s) => s.tenant_id))]) {
    out.push({ stream: 'stdout', text: `Tenant: ${tenantId} (no such tenant)` });
    orphans.filter((s) => s.tenant_id === tenantId).forEach(settingLines);
  }
  return out;
}

/** The override argument of `tenantSettings:add`: true/false as booleans, anything else as given. */
export function overrideValue(text: string): boolean | string {
  const v = text.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return text.trim();
}

/** A rake argument counts as given when it is not blank (Rails' `present?`). */
export const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/**
 * Stop with Scalelite's exact text on stderr and exit 1 (oclif's own error
 * printing adds a prefix and wraps long lines); with --json, the usual JSON error.
 */
export function fail(cmd: Command, message: string): never {
  if (cmd.jsonEnabled()) cmd.error(message, { exit: 1 });
  cmd.logToStderr(message);
  return cmd.exit(1);
}

/** An admin API call for a tenant task: 412 becomes Scalelite's abort, other API errors `Error: <message>`. */
export async function tenantCall<T>(
  cmd: Command,
  client: AdminClient,
  action: string,
  method: 'GET' | 'POST',
  query: Record<string, string | undefined> = {},
  body?: unknown,
): Promise<T> {
  try {
    return await client.call<T>(action, method, query, body);
  } catch (err) {
    if (err instanceof AdminClientError) fail(cmd, err.status === 412 ? MULTITENANCY_DISABLED : `Error: ${err.message}`);
    throw err;
  }
}

/** updateTenant with these fields, answered as Scalelite's tenants:update tasks answer. */
export async function updateTenant(cmd: Command, client: AdminClient, id: string, tenant: Record<string, string>): Promise<{ tenant: TenantJson }> {
  const answer = await tenantCall<{ tenant: TenantJson }>(cmd, client, 'updateTenant', 'POST', {}, { id: id.trim(), tenant });
  cmd.log('OK');
  cmd.log(`Updated Tenant id: ${answer.tenant.id}`);
  return answer;
}

/**
 * Missing arguments. Scalelite checks multitenancy before anything else, so
 * ask the balancer first (a disabled balancer answers 412); whatever else
 * happens to that question, the arguments' error is the one printed.
 */
export async function invalidArgs(cmd: Command, balancer: string | undefined, message: string): Promise<never> {
  const { url, secret } = adminTarget(balancer);
  if (secret) {
    const client = new AdminClient({ baseUrl: url, secret, algorithm: outgoingAlgorithm(process.env.LOADBALANCER_CHECKSUM_ALGORITHM), timeoutMs: 10_000 });
    let disabled = false;
    try {
      await client.call('getTenants', 'GET');
    } catch (err) {
      disabled = err instanceof AdminClientError && err.status === 412;
    }
    if (disabled) fail(cmd, MULTITENANCY_DISABLED);
  }
  return fail(cmd, message);
}
