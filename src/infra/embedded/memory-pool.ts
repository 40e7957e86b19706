import { emptyPool, Meeting, PoolChanges, PoolKeys, PoolState, Server } from '../../projections/pool';
import { CheckpointConflictError, PoolStore } from '../../projections/ports';
import { CheckpointWaiters } from '../../projections/waiters';

/** The pool read model in process memory: the embedded default, rebuilt from the log at start. */
export class MemoryPoolStore implements PoolStore {
  private serversById = new Map<string, Server>();
  private meetingsById = new Map<string, Meeting>();
  private meetingsByServer = new Map<string, Set<string>>();
  private voiceBridgeOwners = new Map<string, string>();
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

  async loadSlice(keys: PoolKeys): Promise<PoolState> {
    const slice = emptyPool();
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
    this.applied = checkpoint;
    this.waiters.advanced();
  }

  private unindex(meeting: Meeting): void {
    const onServer = this.meetingsByServer.get(meeting.serverId);
    onServer?.delete(meeting.meetingId);
    if (onServer && onServer.size === 0) this.meetingsByServer.delete(meeting.serverId);
  }

  async snapshot(): Promise<PoolState> {
    return {
      servers: Object.fromEntries(this.serversById),
      meetings: Object.fromEntries(this.meetingsById),
      voiceBridges: Object.fromEntries(this.voiceBridgeOwners),
    };
  }

  async replaceAll(state: PoolState, checkpoint: number): Promise<void> {
    await this.clear();
    await this.commit(
      {
        servers: { put: Object.entries(state.servers).map(([key, value]) => ({ key, value })), remove: [] },
        meetings: { put: Object.entries(state.meetings).map(([key, value]) => ({ key, value })), remove: [] },
        voiceBridges: { put: Object.entries(state.voiceBridges).map(([key, value]) => ({ key, value })), remove: [] },
      },
      checkpoint,
      -1,
    );
  }

  async clear(): Promise<void> {
    this.serversById.clear();
    this.meetingsById.clear();
    this.meetingsByServer.clear();
    this.voiceBridgeOwners.clear();
    this.applied = -1;
  }
}
