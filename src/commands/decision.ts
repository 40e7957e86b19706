import { EventDraft } from '../events/catalog';
import { DomainError } from './errors';

/*
 * The one shape of a decision. A decider is a pure, synchronous function of what it
 * is asked (a command, or the facts to record), the view the caller loaded for it
 * (inside WriteSide.decide, under the decision lock) and its settings:
 *
 *   decideX(command: X, view: XView, settings?: XSettings): Decision<T>
 *
 * It returns the events that record what it decided (none when nothing changes) and,
 * when the caller needs one, a result; or a refusal as a value (errors.ts). A decider
 * that never refuses says so by returning Decided<T>. The callback WriteSide.decide
 * takes returns the same shape, so a caller can hand a decider's answer straight on.
 */

/**
 * What was decided. `result` may be left out exactly when T admits undefined
 * (Decided, with no T, is a decision that only records events).
 */
export type Decided<T = undefined> = undefined extends T ? { events: EventDraft[]; result?: T } : { events: EventDraft[]; result: T };

export type Decision<T = undefined> = Decided<T> | DomainError;
