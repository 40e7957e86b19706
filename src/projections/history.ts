import { StoredEvent, subjectsOf } from '../events/catalog';
import { Projection } from './projector';

/*
 * The history projection: every event, indexed by time, type, server, meeting
 * and actor, for `scalelite events` and time travel. Secrets never reach it.
 */

const SECRET_FIELDS = new Set(['secret', 'secrets', 'moderatorPassword', 'password', 'lrsPassword', 'kcClientSecret', 'kcPassword']);
export const REDACTED = '[redacted]';

/** A copy of event data with every secret field replaced. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_FIELDS.has(k) && v !== null && v !== undefined ? REDACTED : redact(v)]));
  }
  return value;
}

export interface HistoryEntry {
  offset: number;
  id: string;
  type: string;
  at: string;
  actor: { kind: string; name: string };
  serverId: string | null;
  meetingId: string | null;
  tenantId: string | null;
  correlationId: string | null;
  data: unknown;
}

export function historyEntry({ offset, event }: StoredEvent): HistoryEntry {
  const s = subjectsOf(event);
  return {
    offset,
    id: event.id,
    type: event.type,
    at: event.at,
    actor: event.actor,
    serverId: s.serverId ?? null,
    meetingId: s.meetingId ?? null,
    tenantId: s.tenantId ?? null,
    correlationId: event.correlationId ?? null,
    data: redact(event.data),
  };
}

export interface HistoryQuery {
  serverId?: string;
  meetingId?: string;
  tenantId?: string;
  /** events about this recording (import, publish, update, delete, callback) */
  recordId?: string;
  types?: string[];
  actor?: string;
  /** admin, api, poller, importer or system */
  actorKind?: string;
  since?: string;
  until?: string;
  /** only entries after this offset (paging forward) */
  afterOffset?: number;
  limit: number;
  /** newest first (default) or oldest first */
  order?: 'asc' | 'desc';
}

export interface HistoryStore {
  checkpoint(): Promise<number>;
  /** Resolves once the events up to `offset` are in the history (rejects after the timeout). */
  waitFor(offset: number, timeoutMs?: number): Promise<void>;
  apply(batch: StoredEvent[]): Promise<void>;
  /** Keep a parked event's place: its id, type, time and actor, with the reason instead of its data. */
  skip(stored: StoredEvent, reason: string): Promise<void>;
  /** Forget every entry (the history belonged to another log). */
  clear(): Promise<void>;
  query(q: HistoryQuery): Promise<HistoryEntry[]>;
}

/**
 * Resolves once the history holds every event the log holds now. The history is projected
 * apart from the pool (by the projector role, in production), so a read of it waits here
 * to include the caller's own change.
 */
export async function historyCaughtUp(history: HistoryStore, logHead: () => Promise<number>, timeoutMs?: number): Promise<void> {
  const head = await logHead();
  if (head >= 0) await history.waitFor(head, timeoutMs);
}

/** The history store as a projection the projector feeds. */
export const historyProjection = (history: HistoryStore): Projection => ({
  name: 'history',
  checkpoint: () => history.checkpoint(),
  apply: (batch) => history.apply(batch),
  skip: (stored, reason) => history.skip(stored, reason),
  clear: () => history.clear(),
});
