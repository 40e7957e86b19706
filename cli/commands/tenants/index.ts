import { Flags } from '@oclif/core';
import { AdminCommand } from '../../base';
import { tenantBlock, tenantCall } from '../../tenants-format';
import type { TenantJson } from '../../../src/api/views/tenant';

export default class Tenants extends AdminCommand {
  static override summary = 'List the tenants (multitenancy), secrets hidden unless --show-secrets.';
  static override description = 'Per tenant its id, name, secrets and LRS/Keycloak settings when set, then the total.';
  static override examples = ['<%= config.bin %> tenants', '<%= config.bin %> tenants --show-secrets'];
  static override flags = { 'show-secrets': Flags.boolean({ description: "print the tenants' secrets and LRS passwords" }) };

  async run(): Promise<TenantJson[]> {
    const { flags } = await this.parse(Tenants);
    const client = this.client(flags.balancer);
    const query = flags['show-secrets'] ? { show_secrets: 'true' } : {};
    const listed = await tenantCall<TenantJson[] | { message: string }>(this, client, 'getTenants', 'GET', query);
    const tenants: TenantJson[] = [];
    // getTenants has id, name and secrets; the LRS fields `rake tenants` prints come with each tenant's info.
    for (const t of Array.isArray(listed) ? listed : []) {
      tenants.push(await tenantCall<TenantJson>(this, client, 'getTenantInfo', 'GET', { id: t.id, ...query }));
    }
    for (const t of tenants) this.log(tenantBlock(t));
    this.log(`Total number of tenants: ${tenants.length}`);
    return tenants;
  }
}
