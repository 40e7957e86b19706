import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, present, updateTenant } from '../../tenants-format';
import type { TenantJson } from '../../../src/api/views/tenant';

export default class TenantsUpdateLrsBasic extends AdminCommand {
  static override summary = "Set a tenant's xAPI LRS endpoint with basic-auth credentials (multitenancy).";
  static override examples = [
    '<%= config.bin %> tenants:update_lrs_basic ID https://lrs.example.com/xapi/ USER PASSWORD',
    "<%= config.bin %> 'tenants:update_lrs_basic[ID,https://lrs.example.com/xapi/,USER,PASSWORD]'",
  ];
  static override args = {
    id: Args.string({ description: 'tenant id' }),
    lrsEndpoint: Args.string({ description: 'LRS endpoint URL' }),
    lrsUsername: Args.string({ description: 'LRS user name' }),
    lrsPassword: Args.string({ description: 'LRS password' }),
  };

  async run(): Promise<{ tenant: TenantJson }> {
    const { args, flags } = await this.parse(TenantsUpdateLrsBasic);
    if (!present(args.id) || !present(args.lrsEndpoint) || !present(args.lrsUsername) || !present(args.lrsPassword)) {
      return invalidArgs(this, flags.balancer, 'Error: id, LRS_ENDPOINT, LRS_USERNAME, LRS_PASSWORD are required to update a Tenant');
    }
    return updateTenant(this, this.client(flags.balancer), args.id, { lrs_endpoint: args.lrsEndpoint, lrs_username: args.lrsUsername, lrs_password: args.lrsPassword });
  }
}
