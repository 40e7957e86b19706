import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, present, tenantCall } from '../../tenants-format';

export default class TenantSettingsRemove extends AdminCommand {
  static override summary = 'Remove a tenant setting (multitenancy).';
  static override examples = ['<%= config.bin %> tenantSettings:remove SETTING_ID', "<%= config.bin %> 'tenantSettings:remove[SETTING_ID]'"];
  static override args = { id: Args.string({ description: 'setting id (see `tenantSettings`)' }) };

  async run(): Promise<{ success: string }> {
    const { args, flags } = await this.parse(TenantSettingsRemove);
    if (!present(args.id)) return invalidArgs(this, flags.balancer, 'Error: id is required to remove a TenantSetting');
    const answer = await tenantCall<{ success: string }>(this, this.client(flags.balancer), 'deleteTenantSetting', 'POST', {}, { id: args.id.trim() });
    this.log('TenantSetting was successfully deleted.');
    return answer;
  }
}
