import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, readSecretFile, SECRET_FILE, secretFile } from '../../../src/infra/config';

const base = { LOADBALANCER_SECRET: 'lb-secret' };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: defaults (Scalelite §7)', () => {
  test('with only a secret', () => {
    expect(loadConfig(base)).toEqual({
      port: 3000,
      host: '0.0.0.0',
      urlHost: undefined,
      secrets: ['lb-secret'],
      generatedSecretFile: null,
      checksumAlgorithms: new Set(['sha1', 'sha256', 'sha384', 'sha512']),
      outgoingAlgorithm: 'sha256',
      pollIntervalMs: 60_000,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
      connectTimeoutMs: 5_000,
      responseTimeoutMs: 10_000,
      pollerConcurrency: 20,
      pollerWaitTimeoutMs: 10_000,
      loadMinUserCount: 15,
      loadJoinBufferMinutes: 15,
      newMeetingGraceMs: 60_000,
      serverIdIsHostname: false,
      buildNumber: undefined,
      getMeetingsApiDisabled: false,
      maxMeetingDuration: 0,
      voiceBridgeLength: 9,
      useExternalVoiceBridge: false,
      dataDir: resolve('./data'),
      kafkaBrokers: undefined,
      kafkaTopicPrefix: 'scalelite.',
      kafkaReplicationFactor: 1,
      redisNamespace: 'scalelite',
      redisUrl: undefined,
      databaseUrl: undefined,
      logLevel: 'info',
      projectionTimeoutMs: 10_000,
      recordings: {
        disabled: false,
        spoolDir: resolve('./data/recordings/spool'),
        workDir: resolve('./data/recordings/work'),
        publishDir: resolve('./data/recordings/published'),
        unpublishDir: resolve('./data/recordings/unpublished'),
        importUnpublished: false,
        importPollIntervalMs: 60_000,
        playbackFormats: ['presentation', 'video', 'screenshare', 'podcast', 'notes', 'capture'],
        xAccelRedirect: false,
        protectedEnabled: false,
        tokenTtlMs: 3_600_000,
        cookieTtlMs: 21_600_000,
        getRecordingsFiltered: false,
        cookieKey: expect.stringMatching(/^[0-9a-f]{64}$/),
        readyCallbackRetries: 5,
        retention: { days: 0, checkIntervalMs: 3_600_000 },
        tarballLimits: { maxBytes: 20 * 1024 ** 3, maxEntries: 100_000 },
        storage: { kind: 'filesystem', cloudFront: null },
      },
      multitenancy: false,
      createPolicy: { defaults: {}, overrides: {}, exclude: [] },
      joinPolicy: { defaults: {}, overrides: {}, exclude: [] },
      fsapi: { password: 'lb-secret', maxDurationMinutes: 0, voiceBridgeMin: 5, voiceBridgeMax: 9 },
      adminSignatures: { strict: false, maxAgeMs: 300_000 },
      requestTimeoutMs: 60_000,
      ignoredVariables: [],
      logFormat: undefined,
      accessLog: true,
      metricsPort: 0,
      webConcurrency: 0,
    });
  });

  test('recording tarballs are bounded: RECORDING_IMPORT_MAX_SIZE in MiB and RECORDING_IMPORT_MAX_FILES', () => {
    expect(loadConfig({ ...base, RECORDING_IMPORT_MAX_SIZE: '512', RECORDING_IMPORT_MAX_FILES: '5000' }).recordings.tarballLimits).toEqual({
      maxBytes: 512 * 1024 * 1024,
      maxEntries: 5000,
    });
    expect(() => loadConfig({ ...base, RECORDING_IMPORT_MAX_FILES: '0' })).toThrow(/RECORDING_IMPORT_MAX_FILES/);
  });

  test('admin signatures can be made strict and their validity shortened; a request must arrive within REQUEST_TIMEOUT', () => {
    const c = loadConfig({ ...base, ADMIN_API_STRICT_SIGNATURES: 'true', ADMIN_API_SIGNATURE_MAX_AGE: '60', REQUEST_TIMEOUT: '30' });
    expect(c.adminSignatures).toEqual({ strict: true, maxAgeMs: 60_000 });
    expect(c.requestTimeoutMs).toBe(30_000);
    expect(() => loadConfig({ ...base, REQUEST_TIMEOUT: '0' })).toThrow(/REQUEST_TIMEOUT: expected a number greater than 0/);
  });

  test('param policies are read at start; a malformed entry stops it, naming the variable', () => {
    expect(loadConfig({ ...base, DEFAULT_CREATE_PARAMS: 'record=false,welcome=Hi there', CREATE_EXCLUDE_PARAMS: 'logo, bannerText' }).createPolicy).toEqual({
      defaults: { record: 'false', welcome: 'Hi there' },
      overrides: {},
      exclude: ['logo', 'bannerText'],
    });
    expect(() => loadConfig({ ...base, OVERRIDE_JOIN_PARAMS: 'userdata-x' })).toThrow(/OVERRIDE_JOIN_PARAMS/);
    expect(loadConfig({ ...base, FSAPI_PASSWORD: '', MAX_MEETING_DURATION: '90' }).fsapi).toMatchObject({ password: '', maxDurationMinutes: 90 });
  });

  test("recordings: Scalelite's dirs when set, SECRET_KEY_BASE as the cookie key, formats checked", () => {
    const c = loadConfig({
      ...base,
      RECORDING_SPOOL_DIR: '/var/bigbluebutton/spool',
      RECORDING_PUBLISH_DIR: '/var/bigbluebutton/published',
      SECRET_KEY_BASE: 'kb',
      RECORDING_PLAYBACK_FORMATS: 'presentation:video',
      PROTECTED_RECORDINGS_TIMEOUT: '10',
      RECORDING_RETENTION_DAYS: '365',
      RECORDING_RETENTION_CHECK_INTERVAL: '600',
    });
    expect(c.recordings).toMatchObject({
      spoolDir: '/var/bigbluebutton/spool',
      publishDir: '/var/bigbluebutton/published',
      cookieKey: 'kb',
      playbackFormats: ['presentation', 'video'],
      cookieTtlMs: 600_000,
      retention: { days: 365, checkIntervalMs: 600_000 },
    });
    expect(() => loadConfig({ ...base, RECORDING_PLAYBACK_FORMATS: 'presentation:../etc' })).toThrow(/RECORDING_PLAYBACK_FORMATS/);
    expect(() => loadConfig({ ...base, RECORDING_RETENTION_DAYS: '-1' })).toThrow(/RECORDING_RETENTION_DAYS/);
    expect(() => loadConfig({ ...base, RECORDING_RETENTION_DAYS: '1.5' })).toThrow(/RECORDING_RETENTION_DAYS/);
  });

  test('blank values count as unset', () => {
    expect(loadConfig({ ...base, POLL_INTERVAL: '', PORT: '  ', LOAD_MIN_USER_COUNT: '', BUILD_NUMBER: ' ' })).toMatchObject({
      pollIntervalMs: 60_000,
      port: 3000,
      loadMinUserCount: 15,
      buildNumber: undefined,
    });
  });
});

describe('loadConfig: values', () => {
  test('seconds become milliseconds, fractions included', () => {
    expect(loadConfig({ ...base, POLL_INTERVAL: '0.5', CONNECT_TIMEOUT: '1.5', RESPONSE_TIMEOUT: '2.25', POLLER_WAIT_TIMEOUT: '30' })).toMatchObject({
      pollIntervalMs: 500,
      connectTimeoutMs: 1_500,
      responseTimeoutMs: 2_250,
      pollerWaitTimeoutMs: 30_000,
    });
    expect(loadConfig({ ...base, NEW_MEETING_GRACE_PERIOD: '0', PROJECTION_TIMEOUT: '0.25' })).toMatchObject({ newMeetingGraceMs: 0, projectionTimeoutMs: 250 });
  });

  test('POLLER_THREADS is the pool size + 1', () => {
    expect(loadConfig({ ...base, POLLER_THREADS: '9' }).pollerConcurrency).toBe(8);
    expect(loadConfig({ ...base, POLLER_THREADS: '2' }).pollerConcurrency).toBe(1);
    expect(loadConfig({ ...base, WEB_CONCURRENCY: '4' }).webConcurrency).toBe(4);
    expect(() => loadConfig({ ...base, WEB_CONCURRENCY: 'many' })).toThrow(/WEB_CONCURRENCY/);
  });

  test('numbers, booleans and strings', () => {
    expect(
      loadConfig({
        ...base,
        SERVER_HEALTHY_THRESHOLD: '3',
        SERVER_UNHEALTHY_THRESHOLD: '4',
        LOAD_MIN_USER_COUNT: '0',
        LOAD_JOIN_BUFFER_TIME: '7.5',
        MAX_MEETING_DURATION: '120',
        VOICE_BRIDGE_LEN: '5',
        USE_EXTERNAL_VOICE_BRIDGE: 'TRUE',
        GET_MEETINGS_API_DISABLED: ' true ',
        SERVER_ID_IS_HOSTNAME: 'no',
        BUILD_NUMBER: ' 42 ',
        URL_HOST: 'lb.example.com',
        LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({
      healthyThreshold: 3,
      unhealthyThreshold: 4,
      loadMinUserCount: 0,
      loadJoinBufferMinutes: 7.5,
      maxMeetingDuration: 120,
      voiceBridgeLength: 5,
      useExternalVoiceBridge: true,
      getMeetingsApiDisabled: true,
      serverIdIsHostname: false,
      buildNumber: '42',
      urlHost: 'lb.example.com',
      logLevel: 'debug',
    });
  });

  test('booleans: true/false, 1/0, yes/no, on/off in any case; anything else stops the start naming the variable', () => {
    for (const yes of ['true', 'TRUE', '1', 'yes', 'Yes', 'on', ' ON ']) expect(loadConfig({ ...base, PROTECTED_RECORDINGS_ENABLED: yes }).recordings.protectedEnabled).toBe(true);
    for (const no of ['false', '0', 'no', 'off', 'OFF', '']) expect(loadConfig({ ...base, PROTECTED_RECORDINGS_ENABLED: no }).recordings.protectedEnabled).toBe(false);
    expect(() => loadConfig({ ...base, MULTITENANCY_ENABLED: 'maybe' })).toThrow(/MULTITENANCY_ENABLED: expected true or false \(also 1\/0, yes\/no, on\/off\), got 'maybe'/);
    expect(() => loadConfig({ ...base, ACCESS_LOG: 'y' })).toThrow(/ACCESS_LOG/);
  });

  test('an unknown LOG_LEVEL or LOG_FORMAT stops the start naming it; levels and formats in any case', () => {
    expect(() => loadConfig({ ...base, LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got 'verbose'/);
    expect(loadConfig({ ...base, LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(() => loadConfig({ ...base, LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT: expected json or pretty/);
    expect(loadConfig({ ...base, LOG_FORMAT: 'Pretty' }).logFormat).toBe('pretty');
  });

  test('the access log is on unless ACCESS_LOG is false; METRICS_PORT is a port', () => {
    expect(loadConfig(base)).toMatchObject({ accessLog: true, metricsPort: 0, logFormat: undefined });
    expect(loadConfig({ ...base, ACCESS_LOG: 'off', METRICS_PORT: '9394' })).toMatchObject({ accessLog: false, metricsPort: 9394 });
    expect(() => loadConfig({ ...base, METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
  });

  test('production services', () => {
    expect(loadConfig({ ...base, KAFKA_BROKERS: 'k1:9092, k2:9092,', REDIS_URL: 'redis://r:6379', DATABASE_URL: 'postgres://p/db', DATA_DIR: '/var/lib/x' })).toMatchObject({
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      redisUrl: 'redis://r:6379',
      databaseUrl: 'postgres://p/db',
      dataDir: '/var/lib/x',
    });
  });

  test('LOADBALANCER_CHECKSUM_ALGORITHM: accepted set and outgoing algorithm', () => {
    expect(loadConfig({ ...base, LOADBALANCER_CHECKSUM_ALGORITHM: 'SHA1:SHA256' })).toMatchObject({
      checksumAlgorithms: new Set(['sha1', 'sha256']),
      outgoingAlgorithm: 'sha256',
    });
    expect(loadConfig({ ...base, LOADBALANCER_CHECKSUM_ALGORITHM: 'SHA1' })).toMatchObject({ checksumAlgorithms: new Set(['sha1']), outgoingAlgorithm: 'sha1' });
    expect(loadConfig({ ...base, LOADBALANCER_CHECKSUM_ALGORITHM: 'SHA512:SHA1' }).outgoingAlgorithm).toBe('sha512');
    expect(loadConfig({ ...base, LOADBALANCER_CHECKSUM_ALGORITHM: 'SHA256:SHA384' })).toMatchObject({
      checksumAlgorithms: new Set(['sha256', 'sha384']),
      outgoingAlgorithm: 'sha384',
    });
  });
});

describe('loadConfig: BIND', () => {
  test.each([
    ['tcp://0.0.0.0:8080', '0.0.0.0', 8080],
    ['tcp://127.0.0.1', '127.0.0.1', 3000],
    ['127.0.0.1:4000', '127.0.0.1', 4000],
    ['localhost', 'localhost', 3000],
    ['tcp://[::1]:9000', '::1', 9000],
    ['[::]', '::', 3000],
  ])('%s -> %s:%i', (bind, host, port) => {
    expect(loadConfig({ ...base, BIND: bind })).toMatchObject({ host, port });
  });

  test('BIND without a port takes PORT', () => {
    expect(loadConfig({ ...base, BIND: 'tcp://10.1.2.3', PORT: '8000' })).toMatchObject({ host: '10.1.2.3', port: 8000 });
  });

  test('a BIND port wins over PORT', () => {
    expect(loadConfig({ ...base, BIND: 'tcp://10.1.2.3:7000', PORT: '8000' }).port).toBe(7000);
  });

  test.each([['tcp://a:b:c'], ['unix://tmp/sock'], ['tcp://host:port']])('%s is refused, naming BIND', (bind) => {
    expect(configError({ ...base, BIND: bind }).message).toMatch(/^BIND: /);
  });
});

describe('loadConfig: bad values name the variable', () => {
  test.each([
    ['PORT', 'http', 'a number'],
    ['PORT', '80.5', 'a whole number'],
    ['POLL_INTERVAL', 'abc', 'a number'],
    ['POLL_INTERVAL', '0', 'a number greater than 0'],
    ['POLL_INTERVAL', '-5', 'a number greater than 0'],
    ['POLL_INTERVAL', 'Infinity', 'a number'],
    ['CONNECT_TIMEOUT', '0', 'a number greater than 0'],
    ['SERVER_HEALTHY_THRESHOLD', '0', 'a number >= 1'],
    ['SERVER_UNHEALTHY_THRESHOLD', '1.5', 'a whole number'],
    ['POLLER_THREADS', '1', 'a number >= 2'],
    ['LOAD_MIN_USER_COUNT', '-1', 'a number >= 0'],
    ['VOICE_BRIDGE_LEN', '4', 'a number >= 5'],
    ['MAX_MEETING_DURATION', '-10', 'a number >= 0'],
  ])('%s=%s', (name, value, expected) => {
    const err = configError({ ...base, [name]: value });
    expect(err.message).toContain(`${name}: expected ${expected}, got '${value}'`);
  });

  // 65535 is the highest TCP port: a larger one passes here and fails later in listen() with a RangeError.
  test.each([
    ['PORT', { PORT: '70000' }],
    ['BIND', { BIND: 'tcp://0.0.0.0:70000' }],
  ])('a port above 65535 in %s is refused, naming the variable', (name, env) => {
    expect(configError({ ...base, ...env }).message).toMatch(new RegExp(`\\b${name}: `));
  });

  test('every bad variable is listed at once', () => {
    const err = configError({ ...base, PORT: 'x', POLL_INTERVAL: 'y' });
    expect(err.message).toMatch(/^invalid configuration:/);
    expect(err.message).toContain('PORT: ');
    expect(err.message).toContain('POLL_INTERVAL: ');
  });

  test('an algorithm list with nothing known is refused', () => {
    expect(configError({ ...base, LOADBALANCER_CHECKSUM_ALGORITHM: 'MD5' }).message).toMatch(/^LOADBALANCER_CHECKSUM_ALGORITHM: .*got 'MD5'/);
  });
});

describe('loadConfig: secrets', () => {
  test("LOADBALANCER_SECRET then each ':'-separated LOADBALANCER_SECRETS, blanks dropped", () => {
    expect(loadConfig({ LOADBALANCER_SECRET: 'main', LOADBALANCER_SECRETS: 'a: b ::c:' }).secrets).toEqual(['main', 'a', 'b', 'c']);
    expect(loadConfig({ LOADBALANCER_SECRETS: 'x:y' }).secrets).toEqual(['x', 'y']);
  });

  test('no secret at all: refused, naming LOADBALANCER_SECRET', () => {
    expect(configError({}).message).toMatch(/^LOADBALANCER_SECRET: required/);
    expect(configError({ LOADBALANCER_SECRET: '  ', LOADBALANCER_SECRETS: '::' }).message).toMatch(/^LOADBALANCER_SECRET: required/);
  });

  describe('a generated secret under DATA_DIR', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'scalelite-config-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    test('is written once, readable only by its owner, and reused', () => {
      const dataDir = join(dir, 'data');
      const first = loadConfig({ DATA_DIR: dataDir }, { generateSecret: true });
      const file = secretFile(dataDir);
      expect(file).toBe(join(dataDir, SECRET_FILE));
      expect(first.generatedSecretFile).toBe(file);
      expect(first.secrets).toHaveLength(1);
      expect(first.secrets[0]).toMatch(/^[0-9a-f]{48}$/);
      expect(readFileSync(file, 'utf8')).toBe(`${first.secrets[0]}\n`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = loadConfig({ DATA_DIR: dataDir }, { generateSecret: true });
      expect(second.secrets).toEqual(first.secrets);
      expect(second.generatedSecretFile).toBe(file);
      expect(readSecretFile(dataDir)).toBe(first.secrets[0]);
    });

    test('an existing file is read (trimmed), not overwritten', () => {
      writeFileSync(join(dir, SECRET_FILE), '  from-file  \n');
      expect(loadConfig({ DATA_DIR: dir }, { generateSecret: true }).secrets).toEqual(['from-file']);
      expect(readFileSync(join(dir, SECRET_FILE), 'utf8')).toBe('  from-file  \n');
    });

    test('a configured secret wins: nothing generated', () => {
      const config = loadConfig({ DATA_DIR: dir, LOADBALANCER_SECRET: 'given' }, { generateSecret: true });
      expect(config).toMatchObject({ secrets: ['given'], generatedSecretFile: null });
      expect(readSecretFile(dir)).toBeUndefined();
    });

    test('not without being asked', () => {
      expect(() => loadConfig({ DATA_DIR: dir })).toThrow(ConfigError);
      expect(readSecretFile(dir)).toBeUndefined();
    });

    test.each([
      ['REDIS_URL', 'redis://r:6379'],
      ['KAFKA_BROKERS', 'k:9092'],
      ['DATABASE_URL', 'postgres://p/db'],
    ])('refused in production mode (%s set)', (name, value) => {
      expect(() => loadConfig({ DATA_DIR: dir, [name]: value }, { generateSecret: true })).toThrow(/^LOADBALANCER_SECRET: required/);
      expect(readSecretFile(dir)).toBeUndefined();
    });
  });
});

describe('loadConfig: the knobs Scalelite documents', () => {
  test('INTERVAL is the poll interval when POLL_INTERVAL is unset; POLL_INTERVAL wins when both are', () => {
    expect(loadConfig({ ...base, INTERVAL: '15' }).pollIntervalMs).toBe(15_000);
    expect(loadConfig({ ...base, INTERVAL: '15', POLL_INTERVAL: '30' }).pollIntervalMs).toBe(30_000);
    expect(configError({ ...base, INTERVAL: 'soon' }).message).toContain("INTERVAL: expected a number, got 'soon'");
  });

  test('BIND=unix:///path listens on a Unix socket; a relative socket path is refused', () => {
    expect(loadConfig({ ...base, BIND: 'unix:///run/scalelite/api.sock' })).toMatchObject({ socketPath: '/run/scalelite/api.sock' });
    expect(loadConfig({ ...base, BIND: 'tcp://127.0.0.1:4000' })).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(loadConfig({ ...base, BIND: 'tcp://127.0.0.1:4000' }).socketPath).toBeUndefined();
    expect(configError({ ...base, BIND: 'unix://api.sock' }).message).toContain('BIND: expected unix:///absolute/path');
  });

  test('Scalelite variables not used here are named, with why; unknown look-alikes too; the rest of the environment is not', () => {
    const c = loadConfig({
      ...base,
      DEFAULT_MEETING_TTL: '3600',
      RAILS_LOG_LEVEL: 'warn',
      RAILS_MAX_THREADS: '5',
      RECORDING_PUBLISH_DIRR: '/x',
      PATH: '/bin',
      HOME: '/root',
      EMPTY_S3: '',
    });
    expect(c.ignoredVariables.map((v) => [v.name, v.kind])).toEqual([
      ['DEFAULT_MEETING_TTL', 'unsupported'],
      ['RAILS_LOG_LEVEL', 'renamed'],
      ['RAILS_MAX_THREADS', 'notNeeded'],
      ['RECORDING_PUBLISH_DIRR', 'unknown'],
    ]);
    // honoured variables are never reported, whatever the list of Scalelite's says
    expect(loadConfig({ ...base, POLL_INTERVAL: '5', INTERVAL: '5', URL_HOST: 'lb.example.com', WEB_CONCURRENCY: '2', S3_RECORDING: 'false' }).ignoredVariables).toEqual([]);
  });
});
