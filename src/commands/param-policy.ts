/*
 * Operator policy over the parameters create and join forward to BBB:
 * DEFAULT_*_PARAMS, OVERRIDE_*_PARAMS, *_EXCLUDE_PARAMS and the per-tenant
 * settings (reference §5.2, §5.3), the server-tag resolution (§1.5 create
 * step 2) and the MAX_MEETING_DURATION cap (§5.4).
 *
 * Pure functions. Configuration is parsed once at start; a malformed entry is
 * a value naming the variable, so the process can refuse to start instead of
 * silently forwarding a parameter named " record" (Scalelite splits without
 * trimming).
 */

/** The create parameter that picks the server pool; resolved apart from the merge (§1.5 create step 2). */
export const SERVER_TAG_PARAM = 'meta_server-tag';

export interface ParamPolicy {
  /** used when the request does not carry the parameter */
  defaults: Record<string, string>;
  /** replace whatever the request carries */
  overrides: Record<string, string>;
  /** names dropped from what the client sent */
  exclude: string[];
}

export const emptyParamPolicy = (): ParamPolicy => ({ defaults: Object.create(null), overrides: Object.create(null), exclude: [] });

/** A tenant setting as the store keeps it (Scalelite: override is the string "true" or anything else). */
export interface TenantParamSetting {
  param: string;
  value: string;
  override: boolean;
}

export interface ParamConfigError {
  error: 'invalidConfiguration';
  message: string;
}

export const isParamConfigError = (v: unknown): v is ParamConfigError => typeof v === 'object' && v !== null && (v as ParamConfigError).error === 'invalidConfiguration';

/**
 * `k1=v1,k2=v2`: split on ',', then on the first '=' (so values may hold '='
 * but never ','). Blank entries are skipped so a trailing comma is harmless;
 * an entry with no '=' or no name is refused (Scalelite crashes at boot on the
 * first and forwards a nameless parameter on the second). Names are trimmed
 * because BBB names never hold spaces and `a=1, b=2` is a common way to write
 * the list; values are kept exactly, spaces included. A name given twice keeps
 * its last value.
 */
export function parseParamList(value: string | undefined, name: string): Record<string, string> | ParamConfigError {
  // No prototype: a parameter called __proto__ or constructor is just a name here.
  const out: Record<string, string> = Object.create(null);
  if (value === undefined) return out;
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) return { error: 'invalidConfiguration', message: `${name}: entry '${entry.trim()}' has no '=' (expected name=value,name=value)` };
    const key = entry.slice(0, eq).trim();
    if (key === '') return { error: 'invalidConfiguration', message: `${name}: entry '${entry.trim()}' has no parameter name (expected name=value,name=value)` };
    out[key] = entry.slice(eq + 1);
  }
  return out;
}

/** `p1,p2`: trimmed, blanks skipped, duplicates kept once. */
export function parseNameList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [
    ...new Set(
      value
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
    ),
  ];
}

/** A tenant's settings as default and override maps; a param set twice keeps the last setting, as Scalelite's hash does. */
function tenantMaps(settings: readonly TenantParamSetting[]): { defaults: Map<string, string>; overrides: Map<string, string> } {
  const defaults = new Map<string, string>();
  const overrides = new Map<string, string>();
  for (const s of settings) (s.override ? overrides : defaults).set(s.param, s.value);
  return { defaults, overrides };
}

/**
 * The parameters to forward, by precedence (lowest → highest):
 * env DEFAULT < tenant default < request < env OVERRIDE < tenant override.
 *
 * - Repeated request names collapse to one entry at the position of the first
 *   occurrence with the value of the last, which is what Rails' params hash
 *   hands Scalelite (and what `mergeParams` in src/api/params.ts produces).
 * - Exclusion filters what the client sent. Operator defaults and overrides
 *   still apply to an excluded name: Scalelite merges them after it has
 *   dropped the excluded params, so "exclude record, default record=false"
 *   takes the choice away from the client rather than losing the default.
 * - A request value that is present but empty still beats a default: presence
 *   is by name, as in Scalelite's hash merge.
 * - `meta_server-tag` in defaults, overrides and tenant settings is ignored:
 *   `resolveServerTag` consumes those, and the caller sets the forwarded tag
 *   to the chosen server's. The request's own value passes through untouched.
 * - Order: the request's order, then defaults the request lacked (env ones
 *   first), then overrides it lacked; overridden values are replaced in place.
 *
 * Scalelite applies this merge last, after it has set voiceBridge, moderatorPW,
 * duration and meta_tenant-*, so an override of those beats the balancer's own
 * values. Call this on the client's params before setting those instead.
 */
export function applyParamPolicy(request: ReadonlyArray<readonly [string, string]>, env: ParamPolicy, tenantSettings: readonly TenantParamSetting[] = []): Array<[string, string]> {
  // No policy (the usual join): nothing to merge, and no maps to build for every user that joins.
  if (tenantSettings.length === 0 && env.exclude.length === 0 && isEmpty(env.defaults) && isEmpty(env.overrides)) return lastValues(request);
  const excluded = new Set(env.exclude);
  const merged = new Map<string, string>();
  for (const [k, v] of request) {
    if (!excluded.has(k)) merged.set(k, v);
  }
  const tenant = tenantMaps(tenantSettings);
  const policyEntries = (m: Record<string, string> | Map<string, string>): Array<[string, string]> =>
    (m instanceof Map ? [...m] : Object.entries(m)).filter(([k]) => k !== SERVER_TAG_PARAM);

  // Defaults: tenant beats env, the request beats both.
  const defaults = new Map<string, string>(policyEntries(env.defaults));
  for (const [k, v] of policyEntries(tenant.defaults)) defaults.set(k, v);
  for (const [k, v] of defaults) if (!merged.has(k)) merged.set(k, v);

  // Overrides: tenant beats env, both beat the request.
  const overrides = new Map<string, string>(policyEntries(env.overrides));
  for (const [k, v] of policyEntries(tenant.overrides)) overrides.set(k, v);
  for (const [k, v] of overrides) merged.set(k, v);

  return [...merged];
}

/**
 * One entry per name, where the name first appears, with its last value: what a Map's
 * `set` in order keeps (and Rails' params hash). A request's few params are deduplicated
 * by a scan, without building a Map for each one.
 */
export function lastValues(entries: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  if (entries.length > 32) return [...new Map(entries)];
  const out: Array<[string, string]> = [];
  next: for (const [k, v] of entries) {
    for (const kept of out)
      if (kept[0] === k) {
        kept[1] = v;
        continue next;
      }
    out.push([k, v]);
  }
  return out;
}

function isEmpty(record: Record<string, string>): boolean {
  for (const _ in record) return false;
  return true;
}

const present = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v : undefined);

/**
 * The effective `meta_server-tag` of a create: the first non-blank of tenant
 * override > OVERRIDE_CREATE_PARAMS > request > tenant default >
 * DEFAULT_CREATE_PARAMS. A tenant setting for the tag is how tenants get
 * their own server pools.
 */
export function resolveServerTag(
  request: string | undefined,
  env: Pick<ParamPolicy, 'defaults' | 'overrides'>,
  tenantSettings: readonly TenantParamSetting[] = [],
): string | undefined {
  const tenant = tenantMaps(tenantSettings);
  const own = (m: Record<string, string>) => (Object.prototype.hasOwnProperty.call(m, SERVER_TAG_PARAM) ? m[SERVER_TAG_PARAM] : undefined);
  return (
    present(tenant.overrides.get(SERVER_TAG_PARAM)) ??
    present(own(env.overrides)) ??
    present(request) ??
    present(tenant.defaults.get(SERVER_TAG_PARAM)) ??
    present(own(env.defaults))
  );
}

/**
 * Ruby's String#to_i, which Scalelite uses on `duration`: leading blanks, a
 * sign, digits (underscores between digits allowed); anything else ends the
 * number, and no digits at all is 0.
 */
export function rubyToI(value: string | undefined): number {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)/.exec(value ?? '');
  if (!m) return 0;
  const n = Number(m[2].replace(/_/g, ''));
  return m[1] === '-' ? -n : n;
}

/**
 * The `duration` to forward under MAX_MEETING_DURATION (minutes, 0 = off):
 * missing, zero or over the cap becomes the cap, as in Scalelite. Two holes
 * Scalelite leaves are closed, because BBB reads a duration ≤ 0 or one
 * Integer.parseInt rejects as "no limit": a negative duration is capped, and an
 * accepted one is forwarded as the plain integer Scalelite judged it by
 * (`30min` → `30`) rather than as sent. With the cap off the value passes
 * through untouched.
 */
export function capDuration(duration: string | undefined, maxMinutes: number): string | undefined {
  if (!Number.isFinite(maxMinutes) || maxMinutes <= 0) return duration;
  const minutes = rubyToI(duration);
  return String(minutes <= 0 || minutes > maxMinutes ? Math.floor(maxMinutes) : minutes);
}
