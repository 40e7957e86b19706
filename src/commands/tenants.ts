import { draft, EventDraft, LIMITS, LRS_FIELDS } from '../events/catalog';
import { PoolReader } from '../projections/ports';
import { DomainError, domainError } from './errors';

/*
 * Decisions about tenants and their settings, against the pool read model.
 * Beyond Scalelite: a tenant's name is a DNS label (it is the host's first
 * label) and unique, so a second tenant cannot take over the first one's host.
 */

export type LrsFields = Partial<Record<(typeof LRS_FIELDS)[number], string | null>>;

export type TenantCommand =
  | { kind: 'AddTenant'; tenantId: string; name: string; secrets: string[] }
  | { kind: 'UpdateTenant'; tenantId: string; name?: string; secrets?: string[]; lrs?: LrsFields }
  | { kind: 'RemoveTenant'; tenantId: string }
  | { kind: 'AddTenantSetting'; settingId: string; tenantId: string; param: string; value: string; override: boolean }
  | { kind: 'RemoveTenantSetting'; settingId: string };

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** `a:b:c` as Scalelite keeps tenant secrets. */
export const splitSecrets = (secrets: string): string[] =>
  secrets
    .split(':')
    .map((s) => s.trim())
    .filter(Boolean);

function checkName(name: string): DomainError | null {
  return DNS_LABEL.test(name) ? null : domainError('invalidTenant', `Tenant name '${name.slice(0, 80)}' must be a DNS label (letters, digits and -, at most 63): it is the first label of the tenant's host`);
}

function checkSecrets(secrets: string[]): DomainError | null {
  if (secrets.length === 0) return domainError('invalidTenant', 'A tenant needs at least one secret');
  if (secrets.length > 20) return domainError('invalidTenant', 'A tenant has at most 20 secrets');
  if (secrets.some((s) => s.length > LIMITS.secret)) return domainError('invalidTenant', `A secret is at most ${LIMITS.secret} characters`);
  return null;
}

function checkUrl(field: string, value: string | null | undefined): DomainError | null {
  if (value === null || value === undefined || value === '') return null;
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return null;
  } catch {
    // fall through
  }
  return domainError('invalidTenant', `${field} must be an http(s) URL`);
}

/** A name is one tenant's: its host label must not resolve to another. */
async function nameTaken(pool: PoolReader, name: string, self: string | null): Promise<DomainError | null> {
  const holder = await pool.tenantByName(name);
  return holder && holder.id !== self ? domainError('tenantExists', `A tenant named ${holder.name} exists already (id=${holder.id})`) : null;
}

export async function decideTenant(command: TenantCommand, pool: PoolReader): Promise<EventDraft[] | DomainError> {
  switch (command.kind) {
    case 'AddTenant': {
      const problem = checkName(command.name) ?? checkSecrets(command.secrets);
      if (problem) return problem;
      const taken = await nameTaken(pool, command.name, null);
      if (taken) return taken;
      return [draft('TenantAdded', { tenantId: command.tenantId, name: command.name, secrets: command.secrets })];
    }
    case 'UpdateTenant': {
      const tenant = await pool.tenant(command.tenantId);
      if (!tenant) return domainError('tenantNotFound', `Couldn't find Tenant with id=${command.tenantId}`);
      if (command.name !== undefined) {
        const problem = checkName(command.name);
        if (problem) return problem;
        const taken = await nameTaken(pool, command.name, tenant.id);
        if (taken) return taken;
      }
      if (command.secrets !== undefined) {
        const problem = checkSecrets(command.secrets);
        if (problem) return problem;
      }
      const lrs = command.lrs ?? {};
      for (const field of ['lrsEndpoint', 'kcTokenUrl'] as const) {
        const problem = checkUrl(field === 'lrsEndpoint' ? 'lrs_endpoint' : 'kc_token_url', lrs[field]);
        if (problem) return problem;
      }
      const changes: LrsFields = {};
      for (const field of LRS_FIELDS) {
        const value = lrs[field];
        if (value === undefined) continue;
        const next = value === '' ? null : value;
        if (next !== tenant[field]) changes[field] = next;
      }
      const name = command.name !== undefined && command.name !== tenant.name ? command.name : undefined;
      const secrets = command.secrets !== undefined && command.secrets.join(':') !== tenant.secrets.join(':') ? command.secrets : undefined;
      if (name === undefined && secrets === undefined && Object.keys(changes).length === 0) return [];
      return [draft('TenantUpdated', { tenantId: tenant.id, ...(name !== undefined ? { name } : {}), ...(secrets !== undefined ? { secrets } : {}), ...changes })];
    }
    case 'RemoveTenant': {
      const tenant = await pool.tenant(command.tenantId);
      if (!tenant) return domainError('tenantNotFound', `Couldn't find Tenant with id=${command.tenantId}`);
      return [draft('TenantRemoved', { tenantId: tenant.id })];
    }
    case 'AddTenantSetting': {
      const tenant = await pool.tenant(command.tenantId);
      if (!tenant) return domainError('tenantNotFound', `Couldn't find Tenant with id=${command.tenantId}`);
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(command.param)) return domainError('invalidTenant', `'${command.param.slice(0, 80)}' is not a BBB parameter name`);
      if (command.value.length > LIMITS.metadataValue) return domainError('invalidTenant', `The value is longer than ${LIMITS.metadataValue} characters`);
      return [
        draft('TenantSettingAdded', { settingId: command.settingId, tenantId: tenant.id, param: command.param, value: command.value, override: command.override }),
      ];
    }
    case 'RemoveTenantSetting': {
      const setting = (await pool.tenantSettings()).find((s) => s.id === command.settingId);
      if (!setting) return domainError('tenantSettingNotFound', `Couldn't find TenantSetting with id=${command.settingId}`);
      return [draft('TenantSettingRemoved', { settingId: setting.id, tenantId: setting.tenantId })];
    }
  }
}
