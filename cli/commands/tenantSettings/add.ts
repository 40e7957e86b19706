import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, overrideValue, present, tenantCall } from '../../tenants-format';
import type { TenantSettingJson } from '../../../src/api/views/tenant';

export default class TenantSettingsAdd extends AdminCommand {
  static override summary = 'Add a create/join parameter default (override false) or override (true) for a tenant.';
  static override description =
    'PARAM is a BBB create or join parameter (e.g. record, welcome, meta_server-tag). Precedence: DEFAULT_* < tenant default < request < OVERRIDE_* < tenant override.';
  static override examples = ['<%= config.bin %> tenantSettings:add TENANT_ID record false true', "<%= config.bin %> 'tenantSettings:add[TENANT_ID,meta_server-tag,big,false]'"];
  static override args = {
    tenantId: Args.string({ description: 'tenant id' }),
    param: Args.string({ description: 'BBB create/join parameter name' }),
    value: Args.string({ description: 'its value' }),
    override: Args.string({ description: "true: override the request's value; false: a default" }),
  };

  async run(): Promise<{ tenant_setting: TenantSettingJson }> {
    const { args, flags } = await this.parse(TenantSettingsAdd);
    const { tenantId, param, value, override } = args;
    if (!present(tenantId) || !present(param) || !present(value) || !present(override)) {
      return invalidArgs(this, flags.balancer, 'Error: tenant_id, param, value and override are required to create a TenantSetting');
    }
    const answer = await tenantCall<{ tenant_setting: TenantSettingJson }>(
      this,
      this.client(flags.balancer),
      'addTenantSetting',
      'POST',
      {},
      {
        tenant_setting: { tenant_id: tenantId.trim(), param, value, override: overrideValue(override) },
      },
    );
    this.log('OK');
    this.log(`New TenantSetting id: ${answer.tenant_setting.id}`);
    return answer;
  }
}
