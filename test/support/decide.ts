import { Decided, Decision } from '../../src/commands/decision';
import { DomainErrorCode, isDomainError } from '../../src/commands/errors';
import { checkEvent, DomainEvent, EventDraft, stamp } from '../../src/events/catalog';
import { PoolState } from '../../src/projections/pool';
import { evolveRecording, Recording, recordIdOf } from '../../src/recordings/model';
import { adminActor, given as stamped, idSequence, project, StampOptions, T0 } from './events';

/*
 * Decider tests read given / when / then (STYLE.md §11):
 *
 *   given([e.serverAdded('bbb-1')]).when(servers, { type: 'RemoveServer', serverId: 'bbb-1' }).then([e.serverRemoved('bbb-1')]);
 *   given([]).when(servers, { type: 'RemoveServer', serverId: 'bbb-1' }).thenError('serverNotFound');
 *
 * The view a decider reads is built from the given events through the real evolve,
 * never by hand, and every event it returns is checked against the catalogue (an
 * event the log refuses would fail the append instead of answering).
 */

/** A decider as a test drives it: its settings bound, its view built from the given events. */
export interface DeciderUnderTest<C, V, T> {
  decide: (command: C, view: V) => Decision<T>;
  /** the view the caller would load for this command, from the state the given events build */
  view: (events: DomainEvent[], command: C) => V;
}

/** A decider of the pool: its view is read off the pool the given events build (src/projections/pool.ts). */
export function onPool<C, V, T>(decide: (command: C, view: V) => Decision<T>, view: (pool: PoolState, command: C) => V): DeciderUnderTest<C, V, T> {
  return { decide, view: (events, command) => view(project(events), command) };
}

/** The recordings the events build (evolveRecording), by recordId; an assignment to a tenant reaches each. */
export function recordingsAfter(events: DomainEvent[]): Map<string, Recording> {
  const recordings = new Map<string, Recording>();
  for (const event of events) {
    const ids = event.type === 'RecordingsAssignedToTenant' ? [...recordings.keys()] : [recordIdOf(event)].filter((id): id is string => id !== null);
    for (const id of ids) {
      const next = evolveRecording(recordings.get(id) ?? null, event);
      if (next) recordings.set(id, next);
      else recordings.delete(id);
    }
  }
  return recordings;
}

/** A decider of recordings: its view is read off the recordings the given events build. */
export function onRecordings<C, V, T>(decide: (command: C, view: V) => Decision<T>, view: (recordings: Map<string, Recording>, command: C) => V): DeciderUnderTest<C, V, T> {
  return { decide, view: (events, command) => view(recordingsAfter(events), command) };
}

/** A decider that reads nothing: what it is asked is all it needs. */
export function asked<C, T>(decide: (command: C) => Decision<T>): DeciderUnderTest<C, null, T> {
  return { decide: (command) => decide(command), view: () => null };
}

/** Given these events (stamped as the write side would: one second apart from T0, unless told)... */
export function given(drafts: readonly EventDraft[], options?: StampOptions) {
  const events = stamped([...drafts], options);
  return {
    /** ...when the decider is asked this: what it decided. */
    when<C, V, T>(decider: DeciderUnderTest<C, V, T>, command: C): Outcome<T> {
      return new Outcome(decider.decide(command, decider.view(events, command)));
    },
  };
}

/** Given no events. */
export const when = <C, V, T>(decider: DeciderUnderTest<C, V, T>, command: C): Outcome<T> => given([]).when(decider, command);

export class Outcome<T> {
  constructor(readonly decision: Decision<T>) {}

  /** Decided exactly these events, in this order. The decision, for its result. */
  then(expected: readonly EventDraft[]): Decided<T> {
    // `then` makes this a thenable: awaiting it by mistake would call then(resolve, reject).
    if (!Array.isArray(expected)) throw new Error('an Outcome is not a promise: call .then([...expected events])');
    const decided = this.decided();
    expect(decided.events).toEqual(expected);
    return decided;
  }

  /** Decided (no refusal): its events, each checked against the catalogue, for looser expectations. */
  thenEvents(): EventDraft[] {
    return this.decided().events;
  }

  /** Decided (no refusal): what the caller is told. */
  thenResult(): T {
    return this.decided().result as T;
  }

  /** Refused with this error (and this message, when given). */
  thenError(error: DomainErrorCode | (string & {}), message?: string | RegExp): void {
    const decision = this.decision;
    if (!isDomainError(decision)) throw new Error(`expected ${error}, got events ${JSON.stringify(decision.events.map((ev) => ev.type))}`);
    expect(decision.error).toBe(error);
    if (typeof message === 'string') expect(decision.message).toBe(message);
    else if (message) expect(decision.message).toMatch(message);
  }

  /** The decision, which must not be a refusal, with its events checked against the catalogue. */
  decided(): Decided<T> {
    return decided(this.decision);
  }
}

/** A decision that must not be a refusal, its events checked against the catalogue. */
export function decided<T>(decision: Decision<T>): Decided<T> {
  if (isDomainError(decision)) throw new Error(`expected a decision, got ${decision.error}: ${decision.message}`);
  expectValidEvents(decision.events);
  return decision;
}

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
