import { emptyPool, Meeting, PoolChanges, PoolKeys, PoolState, Server, Tenant, TenantSetting, tenantNameKey } from '../../projections/pool';
import { CheckpointConflictError, PoolStore } from '../../projections/ports';
import { SnapshottablePool } from '../../projections/snapshots';
import { CheckpointWaiters } from '../../projections/waiters';

/** The pool read model in process memory: the embedded default, restored at start from its snapshot and the log. */
export class MemoryPoolStore implements PoolStore, SnapshottablePool {
  private serversById = new Map<string, Server>();
  private meetingsById = new Map<string, Meeting>();
  private meetingsByServer = new Map<string, Set<string>>();
  private voiceBridgeOwners = new Map<string, string>();
  private tenantsById = new Map<string, Tenant>();
  private settingsById = new Map<string, TenantSetting>();
  private tenantIdsByName = new Map<string, string>();
  private applied = -1;
  private readonly waiters = new CheckpointWaiters(() => this.applied);

  constructor(private readonly defaultTimeoutMs = 10_000) {}

  async checkpoint(): Promise<number> {
    return this.applied;
  }

  waitFor(offset: number, timeoutMs = this.defaultTimeoutMs): Promise<void> {
    return this.waiters.wait(offset, timeoutMs);
  }

  async server(id: string): Promise<Server | null> {
    return this.serversById.get(id) ?? null;
  }

  async servers(): Promise<Server[]> {
    return [...this.serversById.values()];
  }

  async meeting(meetingId: string): Promise<Meeting | null> {
    return this.meetingsById.get(meetingId) ?? null;
  }

  async meetings(): Promise<Meeting[]> {
    return [...this.meetingsById.values()];
  }

  async meetingsOnServer(serverId: string): Promise<Meeting[]> {
    return [...(this.meetingsByServer.get(serverId) ?? [])].map((id) => this.meetingsById.get(id)!).filter(Boolean);
  }

  async voiceBridgesTaken(numbers: string[]): Promise<Set<string>> {
    return new Set(numbers.filter((n) => this.voiceBridgeOwners.has(n)));
  }

  async voiceBridge(number: string): Promise<string | null> {
    return this.voiceBridgeOwners.get(number) ?? null;
  }

  async tenant(id: string): Promise<Tenant | null> {
    return this.tenantsById.get(id) ?? null;
  }

  async tenants(): Promise<Tenant[]> {
    return [...this.tenantsById.values()];
  }

  async tenantByName(name: string): Promise<Tenant | null> {
    const id = this.tenantIdsByName.get(tenantNameKey(name));
    return id === undefined ? null : (this.tenantsById.get(id) ?? null);
  }

  async tenantSettings(tenantId?: string): Promise<TenantSetting[]> {
    const all = [...this.settingsById.values()];
    return tenantId === undefined ? all : all.filter((s) => s.tenantId === tenantId);
  }

  async loadSlice(keys: PoolKeys): Promise<PoolState> {
    const slice = emptyPool();
    const names = new Set(keys.tenantNames);
    for (const id of keys.tenants) {
      const t = this.tenantsById.get(id);
      if (t) {
        slice.tenants[id] = t;
        names.add(tenantNameKey(t.name));
      }
    }
    for (const n of names) {
      const id = this.tenantIdsByName.get(n);
      if (id !== undefined) slice.tenantNames[n] = id;
    }
    for (const id of keys.tenantSettings) {
      const setting = this.settingsById.get(id);
      if (setting) slice.tenantSettings[id] = setting;
    }
    for (const id of keys.servers) {
      const s = this.serversById.get(id);
      if (s) slice.servers[id] = s;
    }
    const voiceBridges = new Set(keys.voiceBridges);
    for (const id of keys.meetings) {
      const m = this.meetingsById.get(id);
      if (m) {
        slice.meetings[id] = m;
        voiceBridges.add(m.voiceBridge);
      }
    }
    for (const n of voiceBridges) {
      const owner = this.voiceBridgeOwners.get(n);
      if (owner !== undefined) slice.voiceBridges[n] = owner;
    }
    return slice;
  }

  async commit(changes: PoolChanges, checkpoint: number, expected: number): Promise<void> {
    if (expected !== this.applied) throw new CheckpointConflictError(expected, this.applied);
    for (const { key, value } of changes.servers.put) this.serversById.set(key, value);
    for (const { key } of changes.servers.remove) this.serversById.delete(key);
    for (const { key, previous } of changes.meetings.remove) {
      this.meetingsById.delete(key);
      this.unindex(previous);
    }
    for (const { key, value, previous } of changes.meetings.put) {
      if (previous) this.unindex(previous);
      this.meetingsById.set(key, value);
      let onServer = this.meetingsByServer.get(value.serverId);
      if (!onServer) this.meetingsByServer.set(value.serverId, (onServer = new Set()));
      onServer.add(key);
    }
    for (const { key } of changes.voiceBridges.remove) this.voiceBridgeOwners.delete(key);
    for (const { key, value } of changes.voiceBridges.put) this.voiceBridgeOwners.set(key, value);
    for (const { key } of changes.tenants.remove) this.tenantsById.delete(key);
    for (const { key, value } of changes.tenants.put) this.tenantsById.set(key, value);
    for (const { key } of changes.tenantSettings.remove) this.settingsById.delete(key);
    for (const { key, value } of changes.tenantSettings.put) this.settingsById.set(key, value);
    for (const { key } of changes.tenantNames.remove) this.tenantIdsByName.delete(key);
    for (const { key, value } of changes.tenantNames.put) this.tenantIdsByName.set(key, value);
    this.applied = checkpoint;
    this.waiters.advanced();
  }

  private unindex(meeting: Meeting): void {
    const onServer = this.meetingsByServer.get(meeting.serverId);
    onServer?.delete(meeting.meetingId);
    if (onServer && onServer.size === 0) this.meetingsByServer.delete(meeting.serverId);
  }

  async snapshot(): Promise<PoolState> {
    return this.snapshotAt().state;
  }

  snapshotAt(): { state: PoolState; checkpoint: number } {
    const state = {
      servers: Object.fromEntries(this.serversById),
      meetings: Object.fromEntries(this.meetingsById),
      voiceBridges: Object.fromEntries(this.voiceBridgeOwners),
      tenants: Object.fromEntries(this.tenantsById),
      tenantSettings: Object.fromEntries(this.settingsById),
      tenantNames: Object.fromEntries(this.tenantIdsByName),
    };
    return { state, checkpoint: this.applied };
  }

  async replaceAll(state: PoolState, checkpoint: number): Promise<void> {
    // The tables go, the checkpoint stays until the commit: nobody ever sees an empty model at -1 in between.
    const at = this.applied;
    this.clearTables();
    const all = <T>(table: Record<string, T>) => ({ put: Object.entries(table).map(([key, value]) => ({ key, value })), remove: [] });
    await this.commit(
      {
        servers: all(state.servers),
        meetings: all(state.meetings),
        voiceBridges: all(state.voiceBridges),
        tenants: all(state.tenants),
        tenantSettings: all(state.tenantSettings),
        tenantNames: all(state.tenantNames),
      },
      checkpoint,
      at,
    );
  }

  async clear(): Promise<void> {
    this.clearTables();
    this.applied = -1;
  }

  private clearTables(): void {
    this.serversById.clear();
    this.meetingsById.clear();
    this.meetingsByServer.clear();
    this.voiceBridgeOwners.clear();
    this.tenantsById.clear();
    this.settingsById.clear();
    this.tenantIdsByName.clear();
  }
}
