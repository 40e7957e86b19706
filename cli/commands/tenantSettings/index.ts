import { AdminCommand } from '../../base';
import { tenantCall, tenantSettingsListing } from '../../tenants-format';
import type { TenantJson, TenantSettingJson } from '../../../src/api/views/tenant';

export default class TenantSettings extends AdminCommand {
  static override summary = "List every tenant's custom create/join settings (multitenancy).";
  static override examples = ['<%= config.bin %> tenantSettings'];

  async run(): Promise<{ settings: TenantSettingJson[] }> {
    const { flags } = await this.parse(TenantSettings);
    const client = this.client(flags.balancer);
    const listed = await tenantCall<TenantJson[] | { message: string }>(this, client, 'getTenants', 'GET');
    const answer = await tenantCall<{ settings: TenantSettingJson[] }>(this, client, 'getTenantSettings', 'GET');
    for (const line of tenantSettingsListing(Array.isArray(listed) ? listed : [], answer.settings)) {
      if (line.stream === 'stdout') this.log(line.text);
      else this.logToStderr(line.text);
    }
    return answer;
  }
}
