/*
 * Scalelite's environment variables this balancer does not use (docs/scalelite-behaviour.md §7),
 * so an env file carried over from Scalelite says at start what it no longer does, instead of
 * being ignored in silence. A variable the configuration schema reads is honoured, whatever
 * this list says (so a feature added later stops being reported by itself).
 */

export type IgnoredKind = 'unsupported' | 'renamed' | 'notNeeded' | 'unknown';

export interface IgnoredVariable {
  name: string;
  kind: IgnoredKind;
  why: string;
}

const RAILS = 'a setting of the Rails/Puma process this balancer does not have';
const NGINX = "a setting of Scalelite's nginx image or systemd units, not of the balancer";

/** Scalelite's own variables, by what they become here. */
export const SCALELITE_VARIABLES: Record<string, { kind: Exclude<IgnoredKind, 'unknown'>; why: string }> = {
  DEFAULT_MEETING_TTL: { kind: 'unsupported', why: 'routes have no TTL: a route ends when polls find its meeting gone (or its server offline)' },
  DEFAULT_LOCALE: { kind: 'unsupported', why: 'the recording-not-found page is in English only' },
  RAILS_LOG_LEVEL: { kind: 'renamed', why: 'use LOG_LEVEL' },
  RAILS_LOG_TO_STDOUT: { kind: 'notNeeded', why: 'logs always go to stdout (LOG_FORMAT: json or pretty)' },
  RAILS_ENV: { kind: 'notNeeded', why: RAILS },
  RAILS_SERVE_STATIC_FILES: { kind: 'notNeeded', why: RAILS },
  RAILS_MAX_THREADS: { kind: 'notNeeded', why: RAILS },
  RAILS_MIN_THREADS: { kind: 'notNeeded', why: RAILS },
  REDIS_POOL: { kind: 'notNeeded', why: 'one multiplexed Redis connection per process' },
  DB_DISABLED: { kind: 'notNeeded', why: RAILS },
  PREPARED_STATEMENT: { kind: 'notNeeded', why: 'queries work through pgbouncer as they are' },
  DB_CONNECTION_RETRY_COUNT: { kind: 'notNeeded', why: 'a failed import is retried by the importer loop' },
  RECORDING_IMPORT_POLL: { kind: 'notNeeded', why: 'Scalelite ignored it too; the importer always polls (RECORDING_IMPORT_POLL_INTERVAL)' },
  SECRET_KEY_BASE_DUMMY: { kind: 'notNeeded', why: RAILS },
  NGINX_SSL: { kind: 'notNeeded', why: NGINX },
  NGINX_BEHIND_PROXY: { kind: 'notNeeded', why: NGINX },
  BEHIND_PROXY: { kind: 'notNeeded', why: NGINX },
  NGINX_RECORDINGS_ONLY: { kind: 'notNeeded', why: NGINX },
  NGINX_HOSTNAME: { kind: 'notNeeded', why: NGINX },
  SCALELITE_API_PORT: { kind: 'notNeeded', why: NGINX },
  SCALELITE_TAG: { kind: 'notNeeded', why: NGINX },
  SCALELITE_RECORDING_DIR: { kind: 'notNeeded', why: NGINX },
  SCALELITE_API_EXTRA_OPTS: { kind: 'notNeeded', why: NGINX },
  SCALELITE_NGINX_EXTRA_OPTS: { kind: 'notNeeded', why: NGINX },
};

/** Prefixes of the variables this balancer and Scalelite read: one of these we do not know is likely a typo. */
const OWN_PREFIXES = [
  'LOADBALANCER_',
  'RECORDING_',
  'PROTECTED_RECORDINGS_',
  'SERVER_',
  'POLL',
  'LOAD_',
  'MULTITENANCY',
  'FSAPI_',
  'VOICE_BRIDGE_',
  'GET_MEETINGS_',
  'GET_RECORDINGS_',
  'KAFKA_',
  'REDIS_',
  'DATABASE_',
  'DB_',
  'S3_',
  'CLOUDFRONT_',
  'CF_',
  'ADMIN_API_',
  'METRICS_',
  'PROJECTION_',
  'DEFAULT_',
  'OVERRIDE_',
  'CREATE_EXCLUDE',
  'JOIN_EXCLUDE',
  'MAX_MEETING',
  'CONNECT_TIMEOUT',
  'RESPONSE_TIMEOUT',
  'URL_HOST',
  'LOG_',
  'RAILS_',
  'NGINX_',
];

/** What of `env` is set but not used here, sorted by name. */
export function ignoredVariables(env: NodeJS.ProcessEnv, honoured: ReadonlySet<string>): IgnoredVariable[] {
  const out: IgnoredVariable[] = [];
  for (const name of Object.keys(env).sort()) {
    if (honoured.has(name) || env[name] === undefined || env[name]!.trim() === '') continue;
    const known = SCALELITE_VARIABLES[name];
    if (known) out.push({ name, ...known });
    else if (OWN_PREFIXES.some((p) => name.startsWith(p))) out.push({ name, kind: 'unknown', why: 'not a variable of Scalelite or of this balancer (a typo?)' });
  }
  return out;
}

/** The one warning at start: the variables that change behaviour or look mistyped (not the Rails/nginx leftovers). */
export function ignoredVariablesWarning(ignored: IgnoredVariable[]): string | null {
  const shown = ignored.filter((v) => v.kind !== 'notNeeded');
  if (shown.length === 0) return null;
  return `ignoring ${shown.length} variable${shown.length === 1 ? '' : 's'}: ${shown.map((v) => `${v.name} (${v.kind}: ${v.why})`).join('; ')}`;
}
