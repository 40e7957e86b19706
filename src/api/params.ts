import { lastValues } from '../commands/param-policy';

/** Request parameters in the order the client sent them, one value per name (the last one, as Rails keeps). */
export type Params = Array<[string, string]>;

export function mergeParams(...sources: Array<Iterable<[string, string]>>): Params {
  const all: Array<[string, string]> = [];
  for (const source of sources) for (const entry of source) all.push(entry);
  return lastValues(all);
}

export const getParam = (params: Params, name: string): string | undefined => params.find(([k]) => k === name)?.[1];

/** A non-blank parameter value, trimmed of nothing: BBB treats whitespace-only as missing. */
export function presentParam(params: Params, name: string): string | undefined {
  const v = getParam(params, name);
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

export const withoutParams = (params: Params, names: readonly string[]): Params => params.filter(([k]) => !names.includes(k));

export function setParam(params: Params, name: string, value: string): Params {
  return params.some(([k]) => k === name) ? params.map(([k, v]) => [k, k === name ? value : v]) : [...params, [name, value]];
}

/** Names Rails adds or the checksum uses: never forwarded to BBB. */
export const RESERVED_PARAMS = ['checksum', 'format', 'controller', 'action'];
