import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';
import { invalidArgs, present, tenantCall } from '../../tenants-format';
import type { TenantJson } from '../../../src/api/views/tenant';

export default class TenantsUpdateLrsKc extends AdminCommand {
  static override summary = "Set a tenant's xAPI LRS endpoint with Keycloak credentials (multitenancy).";
  static override examples = [
    '<%= config.bin %> tenants:update_lrs_kc ID https://lrs.example.com/xapi/ https://kc.example.com/realms/r/protocol/openid-connect/token CLIENT_ID CLIENT_SECRET USER PASSWORD',
  ];
  static override args = {
    id: Args.string({ description: 'tenant id' }),
    lrsEndpoint: Args.string({ description: 'LRS endpoint URL' }),
    kcTokenUrl: Args.string({ description: 'Keycloak token URL' }),
    kcClientId: Args.string({ description: 'Keycloak client id' }),
    kcClientSecret: Args.string({ description: 'Keycloak client secret' }),
    kcUsername: Args.string({ description: 'Keycloak user name' }),
    kcPassword: Args.string({ description: 'Keycloak password' }),
  };

  async run(): Promise<{ tenant: TenantJson }> {
    const { args, flags } = await this.parse(TenantsUpdateLrsKc);
    const { id, lrsEndpoint, kcTokenUrl, kcClientId, kcClientSecret, kcUsername, kcPassword } = args;
    if (![id, lrsEndpoint, kcTokenUrl, kcClientId, kcClientSecret, kcUsername, kcPassword].every(present)) {
      // Scalelite's text (it leaves out the id, which is required all the same)
      return invalidArgs(this, flags.balancer, 'Error: LRS_ENDPOINT, KC_TOKEN_URL, KC_CLIENT_ID, KC_CLIENT_SECRET, KC_USERNAME, KC_PASSWORD are required to update a Tenant');
    }
    const answer = await tenantCall<{ tenant: TenantJson }>(
      this,
      this.client(flags.balancer),
      'updateTenant',
      'POST',
      {},
      {
        id: id!.trim(),
        tenant: {
          lrs_endpoint: lrsEndpoint,
          kc_token_url: kcTokenUrl,
          kc_client_id: kcClientId,
          kc_client_secret: kcClientSecret,
          kc_username: kcUsername,
          kc_password: kcPassword,
        },
      },
    );
    this.log('OK');
    this.log(`Updated Tenant id: ${answer.tenant.id}`);
    return answer;
  }
}
