import { Args, Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, present, updateTenant } from '../../tenants-format';
import type { TenantJson } from '../../../src/api/views/tenant';

export default class TenantsUpdate extends AdminCommand {
  static override summary = 'Rename a tenant or change its secrets (multitenancy).';
  static override description = 'Blank values are kept. Rake form: tenants:update[id,name,secrets].';
  static override examples = [
    '<%= config.bin %> tenants:update ID newname',
    '<%= config.bin %> tenants:update ID --secrets NEW1:NEW2',
    "<%= config.bin %> 'tenants:update[ID,,NEW1:NEW2]'",
  ];
  static override args = {
    id: Args.string({ description: 'tenant id' }),
    name: Args.string({ description: 'new name (rake form)' }),
    secrets: Args.string({ description: 'new secrets, separated by ":" (rake form)' }),
  };
  static override flags = {
    name: Flags.string({ description: 'new name' }),
    secrets: Flags.string({ description: 'new secrets, separated by ":"' }),
  };

  async run(): Promise<{ tenant: TenantJson }> {
    const { args, flags } = await this.parse(TenantsUpdate);
    const name = flags.name ?? args.name;
    const secrets = flags.secrets ?? args.secrets;
    if (!present(args.id) || !(present(name) || present(secrets))) {
      return invalidArgs(this, flags.balancer, 'Error: id and either name or secrets are required to update a Tenant');
    }
    return updateTenant(this, this.client(flags.balancer), args.id, { ...(present(name) ? { name } : {}), ...(present(secrets) ? { secrets } : {}) });
  }
}
