import { ParkedEvent, ParkedEvents } from '../../src/projections/projector';

/** Parked events kept in an array: for unit tests of the projector without SQL. */
export function parkedInMemory(): ParkedEvents & { entries: ParkedEvent[] } {
  const entries: ParkedEvent[] = [];
  return {
    entries,
    park: async (entry) => void entries.push(entry),
    list: async (limit) => entries.slice(-limit).reverse(),
    count: async () => entries.length,
  };
}
