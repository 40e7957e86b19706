import type { HistoryEntry } from '../../projections/history';

/** An event of the history as the admin API answers (getEvents, the importer's latest). */
export interface HistoryJson {
  offset: number;
  id: string;
  at: string;
  type: string;
  actor: { kind: string; name: string };
  server_id: string | null;
  meeting_id: string | null;
  tenant_id: string | null;
  correlation_id: string | null;
  /** the event's data as the catalogue defines it for its type (a parked event: `{ parked: reason }`) */
  data: Record<string, unknown>;
}

export function historyJson(entry: HistoryEntry): HistoryJson {
  return {
    offset: entry.offset,
    id: entry.id,
    at: entry.at,
    type: entry.type,
    actor: entry.actor,
    server_id: entry.serverId,
    meeting_id: entry.meetingId,
    tenant_id: entry.tenantId,
    correlation_id: entry.correlationId,
    data: entry.data as Record<string, unknown>,
  };
}
