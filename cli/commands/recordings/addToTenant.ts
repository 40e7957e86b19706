import { Args } from '@oclif/core';
import { AdminCommand } from '../../base';

export default class RecordingsAddToTenant extends AdminCommand {
  static override summary = 'Attach every recording that has no tenant to this tenant (when moving to multitenancy).';
  static override args = { tenantId: Args.string({ description: 'the tenant id' }) };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(RecordingsAddToTenant);
    if (!args.tenantId || args.tenantId.trim() === '') this.error('No tenant ID was provided', { exit: 1 });
    const result = await this.client(flags.balancer).call<{ success: string; recordings: number }>('addRecordingsToTenant', 'POST', { tenant_id: args.tenantId.trim() });
    this.log(result.success);
    return result;
  }
}
