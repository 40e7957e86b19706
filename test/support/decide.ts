import { checkEvent, EventDraft, stamp } from '../../src/events/catalog';
import { adminActor, idSequence, T0 } from './events';

/** Every event a decision returns must pass the catalogue, or the append would throw instead of answering. */
export function expectValidEvents(drafts: EventDraft[]): void {
  for (const ev of stamp(drafts, adminActor, new Date(T0), idSequence())) {
    expect(() => checkEvent(JSON.parse(JSON.stringify(ev)))).not.toThrow();
  }
}

/** Whether a decision's events would pass the catalogue. */
export function validEvents(drafts: EventDraft[]): boolean {
  try {
    for (const ev of stamp(drafts, adminActor, new Date(T0), idSequence())) checkEvent(JSON.parse(JSON.stringify(ev)));
    return true;
  } catch {
    return false;
  }
}
