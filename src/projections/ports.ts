import { Meeting, PoolChanges, PoolKeys, PoolState, Server, Tenant, TenantSetting } from './pool';

/** What the API, the poller and the decisions read: a projection of the log. */
export interface PoolReader {
  /** Offset of the last event applied, -1 before any. */
  checkpoint(): Promise<number>;
  /** Resolves once the event at `offset` is applied (read-your-writes); rejects after `timeoutMs`. */
  waitFor(offset: number, timeoutMs?: number): Promise<void>;
  server(id: string): Promise<Server | null>;
  servers(): Promise<Server[]>;
  meeting(meetingId: string): Promise<Meeting | null>;
  meetings(): Promise<Meeting[]>;
  meetingsOnServer(serverId: string): Promise<Meeting[]>;
  /** Which of these voice bridge numbers are held by a meeting. */
  voiceBridgesTaken(numbers: string[]): Promise<Set<string>>;
  /** The meetingID holding a voice bridge, if any. */
  voiceBridge(number: string): Promise<string | null>;
  tenant(id: string): Promise<Tenant | null>;
  tenants(): Promise<Tenant[]>;
  /** By name, case-insensitively (the host's first label). */
  tenantByName(name: string): Promise<Tenant | null>;
  /** A tenant's settings, or every tenant's. */
  tenantSettings(tenantId?: string): Promise<TenantSetting[]>;
}

/** A store the pool projector writes: a slice in, the changes and the checkpoint out, atomically. */
export interface PoolSliceStore {
  loadSlice(keys: PoolKeys): Promise<PoolState>;
  /**
   * Write the changes and the new checkpoint atomically, only if the checkpoint is
   * still `expected` (else reject: another projector got there first).
   */
  commit(changes: PoolChanges, checkpoint: number, expected: number): Promise<void>;
  checkpoint(): Promise<number>;
  /** Replace the whole model and its checkpoint at once (after a rebuild). */
  replaceAll(state: PoolState, checkpoint: number): Promise<void>;
  /** The whole model, for rebuild comparisons and diagnostics. */
  snapshot(): Promise<PoolState>;
  /** Forget everything, checkpoint included (before a rebuild). */
  clear(): Promise<void>;
}

export type PoolStore = PoolReader & PoolSliceStore;

/** A commit refused because the store's checkpoint is not the one the changes were computed from. */
export class CheckpointConflictError extends Error {
  constructor(expected: number, actual: number | null) {
    super(`the read model is at event ${actual ?? 'unknown'}, not ${expected}: another projector applied these events first`);
  }
}
