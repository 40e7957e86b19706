import type { EventData } from '../../events/catalog';
import type { IgnoredVariable } from '../../infra/scalelite-env';
import type { HistoryEntry } from '../../projections/history';
import type { ParkedEvent } from '../../projections/projector';
import type { ServerJson } from './server';

/** An event a projection could not apply, as `status` lists it. */
export interface ParkedJson {
  projection: string;
  offset: number;
  event_id: string;
  type: string;
  reason: string;
  parked_at: string;
}

export function parkedJson(p: ParkedEvent): ParkedJson {
  return { projection: p.projection, offset: p.offset, event_id: p.eventId, type: p.type, reason: p.reason, parked_at: p.parkedAt };
}

/** A read model that rebuilt itself from the log: when, and the ReadModelRebuilt event's reasons. */
export type RebuiltJson = { at: string } & EventData<'ReadModelRebuilt'>;

export function rebuiltJson(entry: HistoryEntry): RebuiltJson {
  return { at: entry.at, ...(entry.data as EventData<'ReadModelRebuilt'>) };
}

/**
 * getStatus: the servers and the checkpoint; now, with what needs an admin's eye
 * (parked events, rebuilds, ignored variables); with `at`, the time and the
 * number of meetings routed then instead.
 */
export interface StatusJson {
  servers: ServerJson[];
  checkpoint: number;
  parked?: { count: number; latest: ParkedJson[] };
  rebuilds?: RebuiltJson[];
  ignored_variables?: IgnoredVariable[];
  at?: string;
  meetings?: number;
}
