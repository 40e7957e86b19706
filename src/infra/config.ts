import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ChecksumAlgorithm, outgoingAlgorithm, parseAlgorithms } from './bbb/checksum';
import { isParamConfigError, ParamPolicy, parseNameList, parseParamList } from '../commands/param-policy';
import { StorageSettings, storageSettings } from './s3/config';
import { IgnoredVariable, ignoredVariables } from './scalelite-env';

/*
 * Configuration from the environment, with Scalelite's variable names. A bad
 * value stops the process with a message naming the variable.
 */

export class ConfigError extends Error {}

/**
 * DATA_DIR (or a file in it) cannot be made or written: which dir, as which user, and what to
 * do. A container run with another uid (`docker run --user 1234`) used to stop with a bare
 * `EACCES: permission denied, mkdir 'data'`.
 */
export function unwritableDataDir(dataDir: string, err: unknown): ConfigError {
  const e = err as NodeJS.ErrnoException | null;
  const what = e?.code ? `${e.code}${e.syscall ? ` on ${e.syscall}${e.path ? ` ${e.path}` : ''}` : ''}` : String(err);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  return new ConfigError(
    `DATA_DIR ${dataDir} is not writable by ${uid === undefined ? 'this user' : `uid ${uid}`} (${what}): ` +
      `mount a volume there this user can write${uid === undefined ? '' : ` (or chown ${uid} it)`}, or set DATA_DIR to a writable directory`,
  );
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
/**
 * A yes or no: true/false, 1/0, yes/no, on/off in any case. Anything else stops the start:
 * `PROTECTED_RECORDINGS_ENABLED=1` used to turn protection off, silently.
 */
const flag = (def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const word = (v ?? '').trim().toLowerCase();
      if (word === '') return def;
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false (also 1/0, yes/no, on/off), got '${v}'` });
      return z.NEVER;
    });
const bool = flag(false);
/** One of these words, in any case; unset is undefined; anything else stops the start, listing them. */
const oneOf = (words: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const word = (v ?? '').trim().toLowerCase();
      if (word === '') return undefined;
      if (words.includes(word)) return word;
      ctx.addIssue({ code: 'custom', message: `expected ${words.length === 2 ? words.join(' or ') : `one of ${words.join(', ')}`}, got '${v}'` });
      return z.NEVER;
    });
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const num = (def: number, opts: { min?: number; max?: number; int?: boolean; positive?: boolean } = {}) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v.trim());
      const problem = !Number.isFinite(n)
        ? 'a number'
        : opts.int && !Number.isInteger(n)
          ? 'a whole number'
          : opts.positive && n <= 0
            ? 'a number greater than 0'
            : opts.min !== undefined && n < opts.min
              ? `a number >= ${opts.min}`
              : opts.max !== undefined && n > opts.max
                ? `a number <= ${opts.max}`
                : null;
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `expected ${problem}, got '${v}'` });
        return z.NEVER;
      }
      return n;
    });
const str = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const EnvSchema = z.object({
  PORT: num(3000, { int: true, min: 0, max: 65535 }),
  BIND: str,
  URL_HOST: str,
  LOADBALANCER_SECRET: str,
  LOADBALANCER_SECRETS: str,
  LOADBALANCER_CHECKSUM_ALGORITHM: str,
  POLL_INTERVAL: num(60, { positive: true }),
  // Scalelite documents INTERVAL as the poll interval (its code reads only POLL_INTERVAL): used when POLL_INTERVAL is unset.
  INTERVAL: num(60, { positive: true }),
  SERVER_HEALTHY_THRESHOLD: num(1, { int: true, min: 1 }),
  SERVER_UNHEALTHY_THRESHOLD: num(2, { int: true, min: 1 }),
  CONNECT_TIMEOUT: num(5, { positive: true }),
  RESPONSE_TIMEOUT: num(10, { positive: true }),
  // Scalelite's threads − 1 polls at once (its default 5). Ours are asynchronous calls, not threads, so the
  // default allows 20: a pool of 1,000 servers answering in 50 ms is polled in seconds (issue 9).
  POLLER_THREADS: num(21, { int: true, min: 2 }),
  POLLER_WAIT_TIMEOUT: num(10, { positive: true }),
  LOAD_MIN_USER_COUNT: num(15, { min: 0 }),
  LOAD_JOIN_BUFFER_TIME: num(15, { min: 0 }),
  NEW_MEETING_GRACE_PERIOD: num(60, { min: 0 }),
  SERVER_ID_IS_HOSTNAME: bool,
  BUILD_NUMBER: str,
  GET_MEETINGS_API_DISABLED: bool,
  MAX_MEETING_DURATION: num(0, { int: true, min: 0 }),
  VOICE_BRIDGE_LEN: num(9, { int: true, min: 5 }),
  USE_EXTERNAL_VOICE_BRIDGE: bool,
  DATA_DIR: str,
  KAFKA_BROKERS: str,
  KAFKA_TOPIC_PREFIX: str,
  KAFKA_REPLICATION_FACTOR: num(1, { int: true, min: 1 }),
  REDIS_URL: str,
  REDIS_NAMESPACE: str,
  DATABASE_URL: str,
  LOG_LEVEL: oneOf(LOG_LEVELS),
  LOG_FORMAT: oneOf(['json', 'pretty']),
  ACCESS_LOG: flag(true),
  METRICS_PORT: num(0, { int: true, min: 0, max: 65535 }),
  // Scalelite's name (puma's workers): api worker processes of `scalelite api`; 0 or 1 is one process.
  WEB_CONCURRENCY: num(0, { int: true, min: 0, max: 256 }),
  PROJECTION_TIMEOUT: num(10, { positive: true }),
  RECORDING_DISABLED: bool,
  RECORDING_SPOOL_DIR: str,
  RECORDING_WORK_DIR: str,
  RECORDING_PUBLISH_DIR: str,
  RECORDING_UNPUBLISH_DIR: str,
  RECORDING_IMPORT_UNPUBLISHED: bool,
  RECORDING_IMPORT_POLL_INTERVAL: num(60, { positive: true }),
  RECORDING_PLAYBACK_FORMATS: str,
  RECORDING_X_ACCEL_REDIRECT: bool,
  PROTECTED_RECORDINGS_ENABLED: bool,
  PROTECTED_RECORDINGS_TOKEN_TIMEOUT: num(60, { positive: true }),
  PROTECTED_RECORDINGS_TIMEOUT: num(360, { positive: true }),
  GET_RECORDINGS_API_FILTERED: bool,
  SECRET_KEY_BASE: str,
  RECORDING_READY_RETRIES: num(5, { int: true, min: 0, max: 20 }),
  RECORDING_RETENTION_DAYS: num(0, { int: true, min: 0, max: 36_500 }),
  RECORDING_RETENTION_CHECK_INTERVAL: num(3600, { positive: true }),
  RECORDING_IMPORT_MAX_SIZE: num(20 * 1024, { positive: true }),
  RECORDING_IMPORT_MAX_FILES: num(100_000, { int: true, min: 1 }),
  // recordings in an S3 bucket (src/infra/s3/config.ts, docs/recordings-on-s3.md)
  S3_RECORDING: bool,
  S3_BUCKET_NAME: str,
  S3_ENDPOINT: str,
  S3_FORCE_PATH_STYLE: str,
  AWS_ENDPOINT_URL: str,
  AWS_ENDPOINT_URL_S3: str,
  AWS_REGION: str,
  AWS_DEFAULT_REGION: str,
  AWS_ACCESS_KEY_ID: str,
  AWS_SECRET_ACCESS_KEY: str,
  AWS_SESSION_TOKEN: str,
  CLOUDFRONT_URL: str,
  CF_KEY_PAIR_ID: str,
  CF_PRIVATE_KEY_B64: str,
  RECORDING_S3_PLAYBACK: oneOf(['stream', 'presign']),
  RECORDING_S3_PRESIGN_TTL: num(300, { int: true, min: 1, max: 604_800 }),
  MULTITENANCY_ENABLED: bool,
  DEFAULT_CREATE_PARAMS: z.string().optional(),
  OVERRIDE_CREATE_PARAMS: z.string().optional(),
  DEFAULT_JOIN_PARAMS: z.string().optional(),
  OVERRIDE_JOIN_PARAMS: z.string().optional(),
  CREATE_EXCLUDE_PARAMS: z.string().optional(),
  JOIN_EXCLUDE_PARAMS: z.string().optional(),
  VOICE_BRIDGE_MIN: num(5, { int: true, min: 1, max: 20 }),
  VOICE_BRIDGE_MAX: num(9, { int: true, min: 1, max: 20 }),
  FSAPI_PASSWORD: z.string().optional(),
  FSAPI_MAX_DURATION: num(-1, { int: true, min: -1 }),
  ADMIN_API_STRICT_SIGNATURES: bool,
  ADMIN_API_SIGNATURE_MAX_AGE: num(300, { positive: true }),
  REQUEST_TIMEOUT: num(60, { positive: true }),
});

export interface Config {
  port: number;
  host: string;
  /** BIND=unix:///path: the API listens on this Unix socket instead of host:port (Puma's form) */
  socketPath?: string;
  urlHost: string | undefined;
  secrets: string[];
  /** where the generated secret came from, if it was generated */
  generatedSecretFile: string | null;
  checksumAlgorithms: Set<ChecksumAlgorithm>;
  outgoingAlgorithm: ChecksumAlgorithm;
  pollIntervalMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  pollerConcurrency: number;
  pollerWaitTimeoutMs: number;
  loadMinUserCount: number;
  loadJoinBufferMinutes: number;
  newMeetingGraceMs: number;
  serverIdIsHostname: boolean;
  buildNumber: string | undefined;
  getMeetingsApiDisabled: boolean;
  maxMeetingDuration: number;
  voiceBridgeLength: number;
  useExternalVoiceBridge: boolean;
  dataDir: string;
  kafkaBrokers: string[] | undefined;
  /** the event topic is `${kafkaTopicPrefix}events` */
  kafkaTopicPrefix: string;
  kafkaReplicationFactor: number;
  redisUrl: string | undefined;
  redisNamespace: string;
  databaseUrl: string | undefined;
  logLevel: string;
  /** pretty: readable lines (the default on a terminal); json: one JSON object a line (otherwise) */
  logFormat: 'json' | 'pretty' | undefined;
  /** ACCESS_LOG: one line per request */
  accessLog: boolean;
  /** METRICS_PORT: /metrics on a port of its own (0: none), for roles without the API */
  metricsPort: number;
  /** WEB_CONCURRENCY: worker processes of the api role (0 or 1: the role runs in this process) */
  webConcurrency: number;
  projectionTimeoutMs: number;
  recordings: RecordingSettings;
  multitenancy: boolean;
  createPolicy: ParamPolicy;
  joinPolicy: ParamPolicy;
  fsapi: { password: string; maxDurationMinutes: number; voiceBridgeMin: number; voiceBridgeMax: number };
  /** the admin API's signed timestamp and body digest */
  adminSignatures: { strict: boolean; maxAgeMs: number };
  /** how long a client may take to send a whole request (headers and body) */
  requestTimeoutMs: number;
  /** Scalelite variables set here that this balancer does not use, and unknown look-alikes (scalelite-env.ts) */
  ignoredVariables: IgnoredVariable[];
}

export interface RecordingSettings {
  disabled: boolean;
  spoolDir: string;
  workDir: string;
  publishDir: string;
  unpublishDir: string;
  importUnpublished: boolean;
  importPollIntervalMs: number;
  playbackFormats: string[];
  /** answer resource requests with X-Accel-Redirect for a fronting nginx, instead of sending the file */
  xAccelRedirect: boolean;
  protectedEnabled: boolean;
  tokenTtlMs: number;
  cookieTtlMs: number;
  getRecordingsFiltered: boolean;
  /** key of the HS256 playback cookies (SECRET_KEY_BASE) */
  cookieKey: string;
  /** how many times a recording-ready callback is retried after the first try */
  readyCallbackRetries: number;
  /** the retention policy the active importer applies (days 0: keep forever) */
  retention: { days: number; checkIntervalMs: number };
  /** what one tarball may extract to: larger or fuller ones are refused before extraction */
  tarballLimits: { maxBytes: number; maxEntries: number };
  /** where imported files live: the two dirs, or an S3 bucket (S3_RECORDING); CloudFront playback */
  storage: StorageSettings;
}

export const DEFAULT_PLAYBACK_FORMATS = ['presentation', 'video', 'screenshare', 'podcast', 'notes', 'capture'];

export const SECRET_FILE = 'loadbalancer-secret';

/** Where the CLI and the server agree to find a generated secret. */
export const secretFile = (dataDir: string): string => join(dataDir, SECRET_FILE);

export function readSecretFile(dataDir: string): string | undefined {
  const file = secretFile(dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

function parseBind(bind: string | undefined, port: number): { host: string; port: number; socketPath?: string } {
  if (!bind) return { host: '0.0.0.0', port };
  // Puma's unix:///run/scalelite.sock, as Scalelite's nginx proxies to it.
  if (bind.startsWith('unix://')) {
    const path = bind.slice('unix://'.length);
    if (!path.startsWith('/')) throw new ConfigError(`BIND: expected unix:///absolute/path for a Unix socket, got '${bind}'`);
    return { host: 'localhost', port, socketPath: path };
  }
  // Scalelite's Puma form is tcp://host:port; a bare host is accepted too.
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(bind);
  if (!m) throw new ConfigError(`BIND: expected tcp://host:port or a host, got '${bind}'`);
  const bound = m[2] ? Number(m[2]) : port;
  if (bound > 65535) throw new ConfigError(`BIND: the port must be at most 65535, got '${bind}'`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: bound };
}

export interface LoadConfigOptions {
  /** generate and keep a secret under DATA_DIR when none is configured (embedded default only) */
  generateSecret?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const algorithms = parseAlgorithms(e.LOADBALANCER_CHECKSUM_ALGORITHM);
  if (algorithms.size === 0) {
    throw new ConfigError(`LOADBALANCER_CHECKSUM_ALGORITHM: expected a ':'-separated list of SHA1, SHA256, SHA384, SHA512, got '${e.LOADBALANCER_CHECKSUM_ALGORITHM}'`);
  }
  const dataDir = resolve(e.DATA_DIR ?? './data');
  const production = Boolean(e.KAFKA_BROKERS || e.REDIS_URL || e.DATABASE_URL);
  let secrets = [e.LOADBALANCER_SECRET, ...(e.LOADBALANCER_SECRETS ?? '').split(':')].filter((s): s is string => Boolean(s && s.trim())).map((s) => s.trim());
  let generatedSecretFile: string | null = null;
  if (secrets.length === 0 && options.generateSecret && !production) {
    const file = secretFile(dataDir);
    try {
      const existing = readSecretFile(dataDir);
      if (existing) secrets = [existing];
      else {
        mkdirSync(dataDir, { recursive: true });
        const secret = randomBytes(24).toString('hex');
        writeFileSync(file, `${secret}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
        secrets = [secret];
      }
    } catch (err) {
      throw unwritableDataDir(dataDir, err);
    }
    generatedSecretFile = file;
  }
  if (secrets.length === 0) throw new ConfigError('LOADBALANCER_SECRET: required (the secret LMSs use to sign BBB API calls)');
  const bind = parseBind(e.BIND, e.PORT);
  return {
    port: bind.port,
    host: bind.host,
    ...(bind.socketPath ? { socketPath: bind.socketPath } : {}),
    urlHost: e.URL_HOST,
    secrets,
    generatedSecretFile,
    checksumAlgorithms: algorithms,
    outgoingAlgorithm: outgoingAlgorithm(e.LOADBALANCER_CHECKSUM_ALGORITHM),
    pollIntervalMs: (env.POLL_INTERVAL?.trim() ? e.POLL_INTERVAL : e.INTERVAL) * 1000,
    healthyThreshold: e.SERVER_HEALTHY_THRESHOLD,
    unhealthyThreshold: e.SERVER_UNHEALTHY_THRESHOLD,
    connectTimeoutMs: e.CONNECT_TIMEOUT * 1000,
    responseTimeoutMs: e.RESPONSE_TIMEOUT * 1000,
    pollerConcurrency: Math.max(1, e.POLLER_THREADS - 1),
    pollerWaitTimeoutMs: e.POLLER_WAIT_TIMEOUT * 1000,
    loadMinUserCount: e.LOAD_MIN_USER_COUNT,
    loadJoinBufferMinutes: e.LOAD_JOIN_BUFFER_TIME,
    newMeetingGraceMs: e.NEW_MEETING_GRACE_PERIOD * 1000,
    serverIdIsHostname: e.SERVER_ID_IS_HOSTNAME,
    buildNumber: e.BUILD_NUMBER,
    getMeetingsApiDisabled: e.GET_MEETINGS_API_DISABLED,
    maxMeetingDuration: e.MAX_MEETING_DURATION,
    voiceBridgeLength: e.VOICE_BRIDGE_LEN,
    useExternalVoiceBridge: e.USE_EXTERNAL_VOICE_BRIDGE,
    dataDir,
    kafkaBrokers: e.KAFKA_BROKERS?.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    kafkaTopicPrefix: e.KAFKA_TOPIC_PREFIX ?? 'scalelite.',
    kafkaReplicationFactor: e.KAFKA_REPLICATION_FACTOR,
    redisUrl: e.REDIS_URL,
    redisNamespace: e.REDIS_NAMESPACE ?? 'scalelite',
    databaseUrl: e.DATABASE_URL,
    logLevel: e.LOG_LEVEL ?? 'info',
    logFormat: e.LOG_FORMAT as 'json' | 'pretty' | undefined,
    accessLog: e.ACCESS_LOG,
    metricsPort: e.METRICS_PORT,
    webConcurrency: e.WEB_CONCURRENCY,
    projectionTimeoutMs: e.PROJECTION_TIMEOUT * 1000,
    recordings: recordingSettings(e, dataDir, secrets),
    multitenancy: e.MULTITENANCY_ENABLED,
    createPolicy: policy(e.DEFAULT_CREATE_PARAMS, e.OVERRIDE_CREATE_PARAMS, e.CREATE_EXCLUDE_PARAMS, 'CREATE'),
    joinPolicy: policy(e.DEFAULT_JOIN_PARAMS, e.OVERRIDE_JOIN_PARAMS, e.JOIN_EXCLUDE_PARAMS, 'JOIN'),
    fsapi: {
      // Scalelite: the first LB secret unless set; an empty FSAPI_PASSWORD turns the auth off.
      password: e.FSAPI_PASSWORD ?? secrets[0],
      maxDurationMinutes: e.FSAPI_MAX_DURATION >= 0 ? e.FSAPI_MAX_DURATION : e.MAX_MEETING_DURATION,
      voiceBridgeMin: e.VOICE_BRIDGE_MIN,
      voiceBridgeMax: Math.max(e.VOICE_BRIDGE_MIN, e.VOICE_BRIDGE_MAX),
    },
    adminSignatures: { strict: e.ADMIN_API_STRICT_SIGNATURES, maxAgeMs: e.ADMIN_API_SIGNATURE_MAX_AGE * 1000 },
    requestTimeoutMs: e.REQUEST_TIMEOUT * 1000,
    ignoredVariables: ignoredVariables(env, new Set(Object.keys(EnvSchema.shape))),
  };
}

function policy(defaults: string | undefined, overrides: string | undefined, exclude: string | undefined, kind: 'CREATE' | 'JOIN'): ParamPolicy {
  const d = parseParamList(defaults, `DEFAULT_${kind}_PARAMS`);
  if (isParamConfigError(d)) throw new ConfigError(d.message);
  const o = parseParamList(overrides, `OVERRIDE_${kind}_PARAMS`);
  if (isParamConfigError(o)) throw new ConfigError(o.message);
  return { defaults: d, overrides: o, exclude: parseNameList(exclude) };
}

function recordingSettings(e: z.infer<typeof EnvSchema>, dataDir: string, secrets: string[]): RecordingSettings {
  // Without Scalelite's /var/bigbluebutton tree (the embedded default), recordings live under DATA_DIR.
  const dir = (value: string | undefined, name: string) => resolve(value ?? join(dataDir, 'recordings', name));
  const formats = (e.RECORDING_PLAYBACK_FORMATS ?? DEFAULT_PLAYBACK_FORMATS.join(':'))
    .split(':')
    .map((f) => f.trim())
    .filter(Boolean);
  const bad = formats.find((f) => !/^[A-Za-z0-9_-]{1,64}$/.test(f));
  if (bad !== undefined) throw new ConfigError(`RECORDING_PLAYBACK_FORMATS: '${bad}' is not a format name (letters, digits, - and _)`);
  return {
    disabled: e.RECORDING_DISABLED,
    spoolDir: dir(e.RECORDING_SPOOL_DIR, 'spool'),
    workDir: dir(e.RECORDING_WORK_DIR, 'work'),
    publishDir: dir(e.RECORDING_PUBLISH_DIR, 'published'),
    unpublishDir: dir(e.RECORDING_UNPUBLISH_DIR, 'unpublished'),
    importUnpublished: e.RECORDING_IMPORT_UNPUBLISHED,
    importPollIntervalMs: e.RECORDING_IMPORT_POLL_INTERVAL * 1000,
    playbackFormats: formats,
    xAccelRedirect: e.RECORDING_X_ACCEL_REDIRECT,
    protectedEnabled: e.PROTECTED_RECORDINGS_ENABLED,
    tokenTtlMs: e.PROTECTED_RECORDINGS_TOKEN_TIMEOUT * 60_000,
    cookieTtlMs: e.PROTECTED_RECORDINGS_TIMEOUT * 60_000,
    getRecordingsFiltered: e.GET_RECORDINGS_API_FILTERED,
    // Every api process must sign the same way: without SECRET_KEY_BASE, a key derived from the first LB secret.
    cookieKey: e.SECRET_KEY_BASE ?? createHmac('sha256', secrets[0]).update('scalelite protected recording cookies').digest('hex'),
    readyCallbackRetries: e.RECORDING_READY_RETRIES,
    retention: { days: e.RECORDING_RETENTION_DAYS, checkIntervalMs: e.RECORDING_RETENTION_CHECK_INTERVAL * 1000 },
    // RECORDING_IMPORT_MAX_SIZE is in MiB
    tarballLimits: { maxBytes: Math.round(e.RECORDING_IMPORT_MAX_SIZE * 1024 * 1024), maxEntries: e.RECORDING_IMPORT_MAX_FILES },
    storage: storageSettings(e),
  };
}
