/*
 * Who may act alone across processes. Both the poller (one active poller) and
 * the recordings (one active importer, one retention pass) hold a lease, and
 * neither room should reach into the other for it: the port sits here, in a
 * room of its own below both, that depends on nothing. The Redis adapter is in
 * src/infra/redis/redis-lock.ts.
 */

/** One active holder across processes. */
export interface Lease {
  /** take the lease if free, renew it if held; false when someone else holds it */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** In one process there is nobody to share with: the lease is always ours. */
export const soleLease: Lease = { acquire: async () => true, release: async () => undefined };
