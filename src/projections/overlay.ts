import { DomainEvent } from '../events/catalog';
import { emptyPool, evolveAll, Meeting, PoolState, Server, Tenant, TenantSetting, tenantNameKey, touchedBy } from './pool';
import { PoolReader } from './ports';

/*
 * The pool as the read model holds it plus events decided but not yet appended: what
 * the next decision of a batch must see (issue 9). Several placements decided in one
 * hold of the lock and appended together still spread exactly, because each sees the
 * routes and load estimates of those before it.
 *
 * Only what the events touch is kept here (loaded from the read model first, then
 * evolved by the same evolve as the projection); every other read goes to the read model.
 */
export class PoolOverlay implements PoolReader {
  private slice: PoolState = emptyPool();
  /** keys whose value is the slice's, present or deleted */
  private readonly touched = {
    servers: new Set<string>(),
    meetings: new Set<string>(),
    voiceBridges: new Set<string>(),
    tenants: new Set<string>(),
    tenantNames: new Set<string>(),
    tenantSettings: new Set<string>(),
  };

  constructor(private readonly base: PoolReader) {}

  /**
   * Events decided on this view, in order: later reads include them. A key counts as
   * touched only once read: a read that fails leaves the overlay as it was before that key.
   */
  async apply(events: DomainEvent[]): Promise<void> {
    for (const event of events) {
      await this.load(event);
      this.slice = evolveAll(this.slice, [event]);
    }
  }

  private async load(event: DomainEvent): Promise<void> {
    const keys = touchedBy(event);
    const { base, slice, touched } = this;
    for (const id of keys.servers) {
      if (touched.servers.has(id)) continue;
      const server = await base.server(id);
      touched.servers.add(id);
      if (server) slice.servers[id] = server;
    }
    for (const id of keys.meetings) {
      if (touched.meetings.has(id)) continue;
      const meeting = await base.meeting(id);
      touched.meetings.add(id);
      if (!meeting) continue;
      slice.meetings[id] = meeting;
      // its voice bridge comes with it: a move or an end frees it
      await this.loadVoiceBridge(meeting.voiceBridge);
    }
    for (const number of keys.voiceBridges) await this.loadVoiceBridge(number);
    for (const id of keys.tenants) {
      if (touched.tenants.has(id)) continue;
      const tenant = await base.tenant(id);
      touched.tenants.add(id);
      if (!tenant) continue;
      slice.tenants[id] = tenant;
      await this.loadTenantName(tenant.name);
    }
    for (const name of keys.tenantNames) await this.loadTenantName(name);
    if (keys.tenantSettings.length > 0 && (event.type === 'TenantSettingAdded' || event.type === 'TenantSettingRemoved')) {
      const { tenantId } = event.data;
      const settings = await base.tenantSettings(tenantId);
      for (const setting of settings) {
        if (touched.tenantSettings.has(setting.id)) continue;
        touched.tenantSettings.add(setting.id);
        slice.tenantSettings[setting.id] = setting;
      }
      for (const id of keys.tenantSettings) touched.tenantSettings.add(id);
    }
  }

  private async loadVoiceBridge(number: string): Promise<void> {
    if (this.touched.voiceBridges.has(number)) return;
    const holder = await this.base.voiceBridge(number);
    this.touched.voiceBridges.add(number);
    if (holder !== null) this.slice.voiceBridges[number] = holder;
  }

  private async loadTenantName(name: string): Promise<void> {
    const key = tenantNameKey(name);
    if (this.touched.tenantNames.has(key)) return;
    const tenant = await this.base.tenantByName(name);
    this.touched.tenantNames.add(key);
    if (tenant) this.slice.tenantNames[key] = tenant.id;
  }

  checkpoint(): Promise<number> {
    return this.base.checkpoint();
  }

  waitFor(offset: number, timeoutMs?: number): Promise<void> {
    return this.base.waitFor(offset, timeoutMs);
  }

  async server(id: string): Promise<Server | null> {
    return this.touched.servers.has(id) ? (this.slice.servers[id] ?? null) : this.base.server(id);
  }

  async servers(): Promise<Server[]> {
    return merged(await this.base.servers(), this.touched.servers, this.slice.servers, (s) => s.id);
  }

  async meeting(meetingId: string): Promise<Meeting | null> {
    return this.touched.meetings.has(meetingId) ? (this.slice.meetings[meetingId] ?? null) : this.base.meeting(meetingId);
  }

  async meetings(): Promise<Meeting[]> {
    return merged(await this.base.meetings(), this.touched.meetings, this.slice.meetings, (m) => m.meetingId);
  }

  async meetingsOnServer(serverId: string): Promise<Meeting[]> {
    const here = Object.fromEntries(Object.entries(this.slice.meetings).filter(([, m]) => m.serverId === serverId));
    return merged(await this.base.meetingsOnServer(serverId), this.touched.meetings, here, (m) => m.meetingId);
  }

  async voiceBridgesTaken(numbers: string[]): Promise<Set<string>> {
    const taken = await this.base.voiceBridgesTaken(numbers.filter((n) => !this.touched.voiceBridges.has(n)));
    for (const n of numbers) if (this.touched.voiceBridges.has(n) && this.slice.voiceBridges[n] !== undefined) taken.add(n);
    return taken;
  }

  async voiceBridge(number: string): Promise<string | null> {
    return this.touched.voiceBridges.has(number) ? (this.slice.voiceBridges[number] ?? null) : this.base.voiceBridge(number);
  }

  async tenant(id: string): Promise<Tenant | null> {
    return this.touched.tenants.has(id) ? (this.slice.tenants[id] ?? null) : this.base.tenant(id);
  }

  async tenants(): Promise<Tenant[]> {
    return merged(await this.base.tenants(), this.touched.tenants, this.slice.tenants, (t) => t.id);
  }

  async tenantByName(name: string): Promise<Tenant | null> {
    const key = tenantNameKey(name);
    if (!this.touched.tenantNames.has(key)) return this.base.tenantByName(name);
    const id = this.slice.tenantNames[key];
    return id === undefined ? null : this.tenant(id);
  }

  async tenantSettings(tenantId?: string): Promise<TenantSetting[]> {
    const mine = Object.fromEntries(Object.entries(this.slice.tenantSettings).filter(([, s]) => tenantId === undefined || s.tenantId === tenantId));
    return merged(await this.base.tenantSettings(tenantId), this.touched.tenantSettings, mine, (s) => s.id);
  }
}

/** The overlay a WriteSide batches pool decisions with. */
export function poolOverlay(base: PoolReader): { view: PoolReader; apply(events: DomainEvent[]): Promise<void> } {
  const overlay = new PoolOverlay(base);
  return { view: overlay, apply: (events) => overlay.apply(events) };
}

/** The read model's list with the slice's version of each touched entity (in place), deleted ones left out, new ones last. */
function merged<T>(from: T[], touched: Set<string>, slice: Record<string, T>, keyOf: (item: T) => string): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (const item of from) {
    const key = keyOf(item);
    seen.add(key);
    if (!touched.has(key)) out.push(item);
    else if (slice[key] !== undefined) out.push(slice[key]);
  }
  for (const [key, item] of Object.entries(slice)) if (!seen.has(key)) out.push(item);
  return out;
}
