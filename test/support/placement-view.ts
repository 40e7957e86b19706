import { PlacementRequest, PlacementView } from '../../src/commands/placement';
import { PoolState } from '../../src/projections/pool';

/** The voice bridge numbers placements in tests may take, in order. */
export const CANDIDATES = ['111111111', '222222222', '333333333'];

/** What the create handler learns outside the pool. */
export interface Asked {
  /** what BBB said when asked whether the route's meeting still runs (cordoned servers only) */
  existingRunning?: boolean;
  loadMinUserCount?: number;
}

/** The view the create handler loads under the lock (src/api/meetings.ts), here from a pool state. */
export function placementView(pool: PoolState, req: Pick<PlacementRequest, 'meetingId'>, asked: Asked = {}): PlacementView {
  const existing = pool.meetings[req.meetingId] ?? null;
  return {
    existing,
    existingServer: existing ? (pool.servers[existing.serverId] ?? null) : null,
    existingRunning: asked.existingRunning,
    servers: Object.values(pool.servers),
    voiceBridgeCandidates: CANDIDATES,
    voiceBridgesTaken: new Set(CANDIDATES.filter((n) => n in pool.voiceBridges)),
  };
}
