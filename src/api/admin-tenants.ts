import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isDomainError } from '../commands/errors';
import { decideTenant, LrsFields, splitSecrets, TenantCommand, TenantView } from '../commands/tenants';
import { WriteSide } from '../commands/write-side';
import { PoolReader } from '../projections/ports';
import { AdminOutcome, AdminRequest, err, missingParam, ok, statusOf, str, truthy } from './admin-kit';
import { LRS_PARAMS, settingJson, tenantJson } from './views/tenant';

/*
 * Scalelite's tenant endpoints (getTenants, getTenantInfo, addTenant,
 * updateTenant, deleteTenant) with their shapes and statuses, plus the tenant
 * settings API Scalelite lacks (issue #1183). Secrets are masked unless asked.
 */

export interface TenantAdminDeps {
  pool: PoolReader;
  writeSide: WriteSide;
  multitenancy: boolean;
  logger: Logger;
}

/** The CLI and scripts send settings' flags as typed; spaces around them do not matter. */
const flag = (v: unknown): boolean => truthy(typeof v === 'string' ? v.trim() : v);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** What decideTenant reads for a command: only the tenants and the setting it names. */
async function tenantView(pool: PoolReader, command: TenantCommand): Promise<TenantView> {
  const name = command.type === 'AddTenant' || command.type === 'UpdateTenant' ? command.name : undefined;
  const tenantId = command.type === 'AddTenant' || command.type === 'RemoveTenantSetting' ? undefined : command.tenantId;
  return {
    tenant: tenantId === undefined ? null : await pool.tenant(tenantId),
    nameHolder: name === undefined ? null : await pool.tenantByName(name),
    setting: command.type === 'RemoveTenantSetting' ? ((await pool.tenantSettings()).find((s) => s.id === command.settingId) ?? null) : null,
  };
}

export class TenantAdmin {
  constructor(private readonly deps: TenantAdminDeps) {}

  private get disabled(): AdminOutcome | null {
    return this.deps.multitenancy ? null : { status: 412, json: { message: 'Multitenancy is disabled' } };
  }

  private async run(req: AdminRequest, command: TenantCommand) {
    return this.deps.writeSide.decide(req.actor, async (pool) => decideTenant(command, await tenantView(pool, command)), req.correlationId);
  }

  async getTenants(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const tenants = (await this.deps.pool.tenants()).sort((a, b) => (a.addedAt < b.addedAt ? -1 : a.addedAt > b.addedAt ? 1 : a.id < b.id ? -1 : 1));
    if (tenants.length === 0) return ok({ message: 'No tenants exist' });
    return ok(tenants.map((t) => tenantJson(t, flag(req.params.show_secrets))));
  }

  async getTenantInfo(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const tenant = await this.deps.pool.tenant(id);
    if (!tenant) return err(404, `Couldn't find Tenant with id=${id}`);
    return ok(tenantJson(tenant, flag(req.params.show_secrets), true));
  }

  async addTenant(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const t = obj(req.params.tenant);
    const name = str(t?.name)?.trim();
    const secrets = splitSecrets(str(t?.secrets) ?? '');
    if (!name || secrets.length === 0) return { status: 400, json: { message: 'Error: both name and secrets are required to create a Tenant' } };
    const tenantId = randomUUID();
    const outcome = await this.run(req, { type: 'AddTenant', tenantId, name, secrets });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    return ok({ tenant: tenantJson((await this.deps.pool.tenant(tenantId))!, true) }, 201);
  }

  async updateTenant(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const t = obj(req.params.tenant);
    if (!t) return missingParam('tenant');
    const name = str(t.name)?.trim();
    const secretsText = str(t.secrets);
    const lrs: LrsFields = {};
    for (const [param, field] of LRS_PARAMS) {
      if (param in t) lrs[field] = t[param] === null ? null : (str(t[param])?.trim() ?? null);
    }
    const outcome = await this.run(req, {
      type: 'UpdateTenant',
      tenantId: id,
      ...(name ? { name } : {}),
      ...(secretsText !== undefined && secretsText.trim() !== '' ? { secrets: splitSecrets(secretsText) } : {}),
      lrs,
    });
    if (isDomainError(outcome)) return err(outcome.error === 'tenantNotFound' ? 404 : 422, outcome.message);
    return ok({ tenant: tenantJson((await this.deps.pool.tenant(id))!, true, true) });
  }

  async deleteTenant(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const outcome = await this.run(req, { type: 'RemoveTenant', tenantId: id });
    if (isDomainError(outcome)) return err(outcome.error === 'tenantNotFound' ? 404 : 422, outcome.message);
    return ok({ success: `Tenant id=${id} was destroyed` });
  }

  async getTenantSettings(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const tenantId = str(req.params.tenant_id) || undefined;
    const [settings, tenants] = await Promise.all([this.deps.pool.tenantSettings(tenantId), this.deps.pool.tenants()]);
    const names = new Map(tenants.map((t) => [t.id, t.name]));
    settings.sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.param < b.param ? -1 : a.param > b.param ? 1 : 0));
    return ok({ settings: settings.map((s) => settingJson(s, names.get(s.tenantId) ?? '')) });
  }

  async addTenantSetting(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const s = obj(req.params.tenant_setting);
    const tenantId = str(s?.tenant_id)?.trim();
    const param = str(s?.param)?.trim();
    const value = str(s?.value);
    const override = s?.override;
    if (!tenantId || !param || value === undefined || override === undefined || override === null || override === '') {
      return { status: 400, json: { message: 'Error: tenant_id, param, value and override are required to create a TenantSetting' } };
    }
    const settingId = randomUUID();
    const outcome = await this.run(req, { type: 'AddTenantSetting', settingId, tenantId, param, value, override: flag(override) });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    const created = (await this.deps.pool.tenantSettings(tenantId)).find((x) => x.id === settingId)!;
    return ok({ tenant_setting: settingJson(created) }, 201);
  }

  async deleteTenantSetting(req: AdminRequest): Promise<AdminOutcome> {
    const off = this.disabled;
    if (off) return off;
    const id = str(req.params.id);
    if (!id) return missingParam('id');
    const outcome = await this.run(req, { type: 'RemoveTenantSetting', settingId: id });
    if (isDomainError(outcome)) return err(statusOf(outcome), outcome.message);
    return ok({ success: 'TenantSetting was successfully deleted.' });
  }
}
