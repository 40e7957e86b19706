/** Errors are values in the core; the edges turn them into BBB XML, admin JSON or CLI messages. */
export type DomainErrorCode =
  | 'invalidServer'
  | 'serverExists'
  | 'serverNotFound'
  | 'invalidLoadMultiplier'
  | 'invalidState'
  | 'meetingNotFound'
  | 'meetingOfOtherTenant'
  | 'noServerAvailable'
  | 'serverTagUnavailable'
  | 'voiceBridgeUnavailable'
  | 'recordingsNotFound'
  | 'tenantNotFound'
  | 'tenantExists'
  | 'invalidTenant'
  | 'tenantSettingNotFound'
  | 'invalidRequest';

export interface DomainError {
  error: DomainErrorCode;
  message: string;
}

export const domainError = (error: DomainErrorCode, message: string): DomainError => ({ error, message });

export function isDomainError(value: unknown): value is DomainError {
  return typeof value === 'object' && value !== null && typeof (value as DomainError).error === 'string' && typeof (value as DomainError).message === 'string';
}

/**
 * The write side cannot decide now: its read model is stuck or too far behind the log,
 * or the decision lock stayed busy past the caller's deadline. A fault of the system,
 * never of the caller: edges answer it at once and clearly (BBB internalError, admin 503).
 */
export class DecisionUnavailableError extends Error {
  override readonly name = 'DecisionUnavailableError';
}
