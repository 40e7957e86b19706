import type { DomainError } from '../commands/errors';
import type { Actor } from '../events/envelope';

/*
 * What every admin handler (servers, tenants, recordings, sync, migration)
 * takes and answers with, and the small readers of Rails-style params they
 * share. The router (admin-routes.ts) turns an AdminOutcome into HTTP.
 */

export interface AdminRequest {
  /** JSON body and query merged (the query wins, as in Rails params) */
  params: Record<string, unknown>;
  actor: Actor;
  correlationId: string;
}

export type AdminOutcome =
  | { status: number; json: unknown }
  | { xmlError: { messageKey: string; message: string } }
  /** a long operation: progress lines, then its result, as newline-delimited JSON */
  | { stream: (progress: (line: unknown) => void) => Promise<unknown> };

export const ok = (json: unknown, status = 200): AdminOutcome => ({ status, json });
export const err = (status: number, message: string): AdminOutcome => ({ status, json: { error: message } });
/** Rails' ParameterMissing, rendered as Scalelite does: the XML internalError. */
export const missingParam = (name: string): AdminOutcome => ({ xmlError: { messageKey: 'internalError', message: `param is missing or the value is empty: ${name}` } });
/** A param as text (JSON numbers included). */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
export const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && ['true', '1', 'yes'].includes(v.toLowerCase()));

/** A refusal's HTTP status, as Scalelite answers it: what names a missing entity is a 404, the rest a 400. */
export function statusOf(e: DomainError): number {
  switch (e.error) {
    case 'serverNotFound':
    case 'meetingNotFound':
    case 'tenantNotFound':
    case 'tenantSettingNotFound':
      return 404;
    default:
      return 400;
  }
}
