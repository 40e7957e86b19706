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
