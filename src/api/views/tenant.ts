import type { LrsFields } from '../../commands/tenants';
import type { Tenant, TenantSetting } from '../../projections/pool';
import { SECRET_MASK } from './scalars';

/** A tenant's xAPI/LRS fields: the param Scalelite names it by, the field here, whether it is a secret. */
export const LRS_PARAMS = [
  ['lrs_endpoint', 'lrsEndpoint', false],
  ['lrs_username', 'lrsUsername', false],
  ['lrs_password', 'lrsPassword', true],
  ['kc_token_url', 'kcTokenUrl', false],
  ['kc_client_id', 'kcClientId', false],
  ['kc_client_secret', 'kcClientSecret', true],
  ['kc_username', 'kcUsername', false],
  ['kc_password', 'kcPassword', true],
] as const satisfies ReadonlyArray<readonly [string, keyof LrsFields, boolean]>;

export type LrsParam = (typeof LRS_PARAMS)[number][0];

/**
 * A tenant as the admin API answers: its secrets joined with ':' (or masked);
 * getTenantInfo and updateTenant add every LRS field (null when unset).
 */
export type TenantJson = { id: string; name: string; secrets: string } & Partial<Record<LrsParam, string | null>>;

export function tenantJson(t: Tenant, showSecrets: boolean, full = false): TenantJson {
  const base = { id: t.id, name: t.name, secrets: showSecrets ? t.secrets.join(':') : SECRET_MASK };
  if (!full) return base;
  return {
    ...base,
    ...Object.fromEntries(LRS_PARAMS.map(([param, field, secret]) => [param, t[field] === null ? null : secret && !showSecrets ? SECRET_MASK : t[field]])),
  };
}

/** A tenant setting as the admin API answers; getTenantSettings names its tenant. */
export interface TenantSettingJson {
  id: string;
  tenant_id: string;
  /** getTenantSettings: the tenant's name ('' when the tenant is gone) */
  tenant_name?: string;
  param: string;
  value: string;
  override: boolean;
}

export function settingJson(s: TenantSetting, tenantName?: string): TenantSettingJson {
  return { id: s.id, tenant_id: s.tenantId, ...(tenantName !== undefined ? { tenant_name: tenantName } : {}), param: s.param, value: s.value, override: s.override };
}
