import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, present, tenantCall } from '../../tenants-format';
import type { TenantJson } from '../../../src/api/views/tenant';

export default class TenantsAdd extends AdminCommand {
  static override summary = 'Add a tenant (multitenancy): its name is the subdomain it is served on.';
  static override examples = ['<%= config.bin %> tenants:add bn SECRET1:SECRET2', "<%= config.bin %> 'tenants:add[bn,SECRET1:SECRET2]'"];
  static override args = {
    name: Args.string({ description: 'tenant name (the first label of its host name)' }),
    secrets: Args.string({ description: 'the tenant\'s secrets, separated by ":"' }),
  };

  async run(): Promise<{ tenant: TenantJson }> {
    const { args, flags } = await this.parse(TenantsAdd);
    if (!present(args.name) || !present(args.secrets)) return invalidArgs(this, flags.balancer, 'Error: both name and secrets are required to create a Tenant');
    const answer = await tenantCall<{ tenant: TenantJson }>(this, this.client(flags.balancer), 'addTenant', 'POST', {}, { tenant: { name: args.name, secrets: args.secrets } });
    this.log('OK');
    this.log(`New Tenant id: ${answer.tenant.id}`);
    return answer;
  }
}
