import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, present, tenantCall } from '../../tenants-format';

export default class TenantsRemove extends AdminCommand {
  static override summary = 'Remove a tenant (multitenancy); its settings and recordings are kept.';
  static override examples = ['<%= config.bin %> tenants:remove ID', "<%= config.bin %> 'tenants:remove[ID]'"];
  static override args = { id: Args.string({ description: 'tenant id' }) };

  async run(): Promise<{ success: string }> {
    const { args, flags } = await this.parse(TenantsRemove);
    if (!present(args.id)) return invalidArgs(this, flags.balancer, 'Error: id is required to remove a Tenant');
    const answer = await tenantCall<{ success: string }>(this, this.client(flags.balancer), 'deleteTenant', 'POST', {}, { id: args.id.trim() });
    this.log('Tenant was successfully deleted.');
    return answer;
  }
}
