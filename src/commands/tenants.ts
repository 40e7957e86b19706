import { draft, LIMITS, LRS_FIELDS } from '../events/catalog';
import { Tenant, TenantSetting } from '../projections/pool';
import { Decision } from './decision';
import { DomainError, domainError } from './errors';

/*
 * Decisions about tenants and their settings, against the tenants the command names.
 * Beyond Scalelite: a tenant's name is a DNS label (it is the host's first
 * label) and unique, so a second tenant cannot take over the first one's host.
 */

export type LrsFields = Partial<Record<(typeof LRS_FIELDS)[number], string | null>>;

export type TenantCommand =
  | { type: 'AddTenant'; tenantId: string; name: string; secrets: string[] }
  | { type: 'UpdateTenant'; tenantId: string; name?: string; secrets?: string[]; lrs?: LrsFields }
  | { type: 'RemoveTenant'; tenantId: string }
  | { type: 'AddTenantSetting'; settingId: string; tenantId: string; param: string; value: string; override: boolean }
  | { type: 'RemoveTenantSetting'; settingId: string };

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** `a:b:c` as Scalelite keeps tenant secrets. */
export const splitSecrets = (secrets: string): string[] =>
  secrets
    .split(':')
    .map((s) => s.trim())
    .filter(Boolean);

function checkName(name: string): DomainError | null {
  return DNS_LABEL.test(name)
    ? null
    : domainError('invalidTenant', `Tenant name '${name.slice(0, 80)}' must be a DNS label (letters, digits and -, at most 63): it is the first label of the tenant's host`);
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

export interface TenantView {
  /** the tenant the command names (UpdateTenant, RemoveTenant, AddTenantSetting), if it exists */
  tenant: Tenant | null;
  /** the tenant holding the name the command asks for (AddTenant, UpdateTenant with a name), if any */
  nameHolder: Tenant | null;
  /** the setting RemoveTenantSetting names, if it exists */
  setting: TenantSetting | null;
}

/** A name is one tenant's: its host label must not resolve to another. */
function nameTaken(view: TenantView, self: string | null): DomainError | null {
  const holder = view.nameHolder;
  return holder && holder.id !== self ? domainError('tenantExists', `A tenant named ${holder.name} exists already (id=${holder.id})`) : null;
}

const tenantNotFound = (id: string) => domainError('tenantNotFound', `Couldn't find Tenant with id=${id}`);

export function decideTenant(command: TenantCommand, view: TenantView): Decision {
  switch (command.type) {
    case 'AddTenant': {
      const problem = checkName(command.name) ?? checkSecrets(command.secrets) ?? nameTaken(view, null);
      if (problem) return problem;
      return { events: [draft('TenantAdded', { tenantId: command.tenantId, name: command.name, secrets: command.secrets })] };
    }
    case 'UpdateTenant': {
      const tenant = view.tenant;
      if (!tenant) return tenantNotFound(command.tenantId);
      if (command.name !== undefined) {
        const problem = checkName(command.name) ?? nameTaken(view, tenant.id);
        if (problem) return problem;
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
      if (name === undefined && secrets === undefined && Object.keys(changes).length === 0) return { events: [] };
      return { events: [draft('TenantUpdated', { tenantId: tenant.id, ...(name !== undefined ? { name } : {}), ...(secrets !== undefined ? { secrets } : {}), ...changes })] };
    }
    case 'RemoveTenant': {
      const tenant = view.tenant;
      if (!tenant) return tenantNotFound(command.tenantId);
      return { events: [draft('TenantRemoved', { tenantId: tenant.id })] };
    }
    case 'AddTenantSetting': {
      const tenant = view.tenant;
      if (!tenant) return tenantNotFound(command.tenantId);
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(command.param)) return domainError('invalidTenant', `'${command.param.slice(0, 80)}' is not a BBB parameter name`);
      if (command.value.length > LIMITS.metadataValue) return domainError('invalidTenant', `The value is longer than ${LIMITS.metadataValue} characters`);
      return {
        events: [draft('TenantSettingAdded', { settingId: command.settingId, tenantId: tenant.id, param: command.param, value: command.value, override: command.override })],
      };
    }
    case 'RemoveTenantSetting': {
      const setting = view.setting;
      if (!setting) return domainError('tenantSettingNotFound', `Couldn't find TenantSetting with id=${command.settingId}`);
      return { events: [draft('TenantSettingRemoved', { settingId: setting.id, tenantId: setting.tenantId })] };
    }
  }
}
