import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { createServer, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AdminApi } from './api/admin';
import { buildApp, requestTenant } from './api/app';
import { MigrationAdmin } from './api/admin-migration';
import { ignoredVariablesWarning } from './infra/scalelite-env';
import { listenOnSocket } from './infra/unix-socket';
import { MeetingApi } from './api/meetings';
import { DecisionLock, DecisionTiming, LocalDecisionLock, WriteSide } from './commands/write-side';
import { EventLog } from './events/log';
import { poolProjection } from './projections/apply';
import { historyProjection, HistoryStore } from './projections/history';
import { PoolReader, PoolStore } from './projections/ports';
import { poolOverlay } from './projections/overlay';
import { ParkedEvents, Projection, Projector, RebuildReport } from './projections/projector';
import { SqlParkedEvents } from './infra/sql/parked-store';
import { isTransientFault } from './infra/faults';
import { decideReadModelRebuilt } from './commands/read-models';
import { poolAt } from './projections/rebuild';
import { Lease, soleLease } from './coordination/lease';
import { PollerRole } from './poller/leadership';
import { Poller, PollSummary } from './poller/poller';
import { BbbClient } from './infra/bbb/client';
import { Config, ConfigError } from './infra/config';
import { MemoryPoolStore } from './infra/embedded/memory-pool';
import { SqlEventLog } from './infra/embedded/sql-log';
import { KafkaEventLog } from './infra/kafka/kafka-log';
import { RedisDecisionLock, RedisLease } from './infra/redis/redis-lock';
import { RedisPollChannel } from './infra/redis/redis-poll-channel';
import { RedisPoolStore } from './infra/redis/redis-pool';
import { SqlHistoryStore } from './infra/sql/history-store';
import { migrate } from './infra/sql/migrations';
import { checkEmbeddedLog, damagedDataDir, openEmbeddedSql } from './infra/embedded/data-dir';
import { openPostgres } from './infra/sql/postgres';
import { Sql } from './infra/sql/sql';
import { isRecordingEvent, SqlRecordingStore } from './infra/sql/recording-store';
import { MemoryPlaybackTokens } from './infra/embedded/memory-tokens';
import { RedisPlaybackTokens } from './infra/redis/redis-tokens';
import { jwtAlgorithmFor } from './infra/jwt';
import { RecordingApi } from './api/recordings';
import { playbackRouter } from './api/playback';
import { TenantAdmin } from './api/admin-tenants';
import { RecordingAdmin } from './api/admin-recordings';
import { hostOf, Metrics } from './infra/metrics';
import { ObservedBbbGateway } from './infra/bbb/metered';
import { outcomeOf } from './api/access';
import { ServerSyncAdmin } from './api/admin-sync';
import { RetentionJob } from './recordings/retention';
import { PoolSnapshotter, restoreFromSnapshot } from './projections/snapshots';
import { SqlPoolSnapshots } from './infra/sql/pool-snapshots';
import { RecordingImporter } from './recordings/importer';
import { RecordingReader, recordingsProjection } from './recordings/ports';
import { PlaybackTokens } from './recordings/tokens';
import { ReadyCallbacks } from './recordings/ready-callback';
import { rebuildReadModels } from './recordings/rebuild';
import { RecordingDirs } from './recordings/files';
import { openRecordingStorage } from './infra/s3/open';

export interface Roles {
  api: boolean;
  poller: boolean;
  projector: boolean;
  importer: boolean;
}

export const ALL_ROLES: Roles = { api: true, poller: true, projector: true, importer: true };

/** The adapters behind the ports, chosen by configuration. */
export interface Backends {
  kind: 'embedded' | 'production' | 'mixed';
  describe: { log: 'kafka' | 'pglite'; readModel: 'redis' | 'memory'; sql: 'postgres' | 'pglite' };
  log: EventLog;
  pool: PoolStore;
  history: HistoryStore;
  /** the recordings read model (SQL) */
  recordings: SqlRecordingStore;
  /** one-time tokens of protected recordings, shared by every api process */
  tokens: PlaybackTokens;
  sql: Sql;
  lock: DecisionLock;
  lease: Lease;
  /** one active recording importer across processes */
  importerLease: Lease;
  /** projections every process feeds for itself (an in-memory pool) */
  ownProjections: Projection[];
  /** projections the projector role feeds, shared by every process (Redis, Postgres) */
  sharedProjections: Projection[];
  /** events a projection could not apply, set aside */
  parked: ParkedEvents;
  /** an empty pool store to rebuild or replay into */
  scratchPool(): PoolStore;
  pollChannel: RedisPollChannel | null;
  close(): Promise<void>;
}

/**
 * KAFKA_BROKERS, REDIS_URL and DATABASE_URL each switch their part to the
 * production adapter; unset, the part is embedded under DATA_DIR. Separate
 * roles share state only through the production adapters, so they need all three.
 */
export async function openBackends(config: Config, logger: Logger, roles: Roles = ALL_ROLES): Promise<Backends> {
  const separate = !(roles.api && roles.poller && roles.projector && roles.importer);
  if (separate && !(config.kafkaBrokers && config.redisUrl && config.databaseUrl)) {
    throw new ConfigError(
      'running the api, poller, projector or importer role on its own needs the production backends: set KAFKA_BROKERS, REDIS_URL and DATABASE_URL (or run `scalelite start` for all roles in one process)',
    );
  }
  const closers: Array<() => Promise<void>> = [];
  try {
    let pglite: Sql | null = null;
    const embeddedSql = async () => {
      if (!pglite) {
        const embedded = await openEmbeddedSql(config.dataDir);
        // closed before the claim is released: the next owner finds the files complete
        closers.push(() => embedded.sql.close(), () => embedded.release());
        pglite = embedded.sql;
      }
      return pglite;
    };

    let sql: Sql;
    if (config.databaseUrl) {
      sql = await openPostgres(config.databaseUrl);
      const opened = sql;
      closers.push(() => opened.close());
    } else sql = await embeddedSql();
    await migrate(sql).catch((err: unknown) => {
      throw config.databaseUrl ? err : damagedDataDir(join(config.dataDir, 'pglite'), err);
    });

    let log: EventLog;
    if (config.kafkaBrokers) {
      log = await KafkaEventLog.open({
        brokers: config.kafkaBrokers,
        topic: `${config.kafkaTopicPrefix}events`,
        replicationFactor: config.kafkaReplicationFactor,
        clientId: `scalelite-${process.pid}`,
        logger: logger.child({ component: 'kafka' }),
      });
    } else {
      const logSql = await embeddedSql();
      if (logSql !== sql) await migrate(logSql).catch((err: unknown) => Promise.reject(damagedDataDir(join(config.dataDir, 'pglite'), err)));
      log = new SqlEventLog(logSql);
      await checkEmbeddedLog(config.dataDir, log);
    }
    const opened = log;
    closers.unshift(() => opened.close());

    let pool: PoolStore;
    let lock: DecisionLock;
    let lease: Lease = soleLease;
    let importerLease: Lease = soleLease;
    let tokens: PlaybackTokens;
    let pollChannel: RedisPollChannel | null = null;
    if (config.redisUrl) {
      const store = new RedisPoolStore({ url: config.redisUrl, namespace: config.redisNamespace, defaultTimeoutMs: config.projectionTimeoutMs, logger });
      await store.connect();
      closers.unshift(() => store.close());
      pool = store;
      const redisLock = new RedisDecisionLock(config.redisUrl, `${config.redisNamespace}:decision-lock`, DECISION_LOCK_TTL_MS, 60_000, logger);
      closers.unshift(() => redisLock.close());
      lock = redisLock;
      const redisLease = new RedisLease(config.redisUrl, `${config.redisNamespace}:poller-lease`, pollerLeaseMs(config), logger);
      closers.unshift(() => redisLease.close());
      lease = redisLease;
      const importLease = new RedisLease(config.redisUrl, `${config.redisNamespace}:importer-lease`, 60_000, logger);
      closers.unshift(() => importLease.close());
      importerLease = importLease;
      const redisTokens = new RedisPlaybackTokens(config.redisUrl, config.redisNamespace, { logger });
      closers.unshift(() => redisTokens.close());
      tokens = redisTokens;
      pollChannel = new RedisPollChannel(config.redisUrl, config.redisNamespace, logger);
      const channel = pollChannel;
      closers.unshift(() => channel.close());
    } else {
      pool = new MemoryPoolStore(config.projectionTimeoutMs);
      lock = new LocalDecisionLock();
      const memoryTokens = new MemoryPlaybackTokens();
      closers.unshift(async () => memoryTokens.close());
      tokens = memoryTokens;
    }

    const history = new SqlHistoryStore(sql, config.projectionTimeoutMs);
    const recordings = new SqlRecordingStore(sql, config.projectionTimeoutMs);
    closers.unshift(() => recordings.close());
    const memoryPool = !config.redisUrl;
    // With the log in PGlite there is one process: it feeds everything itself.
    const single = !config.kafkaBrokers;
    const poolFeed = poolProjection(pool);
    const describe = {
      log: config.kafkaBrokers ? 'kafka' : 'pglite',
      readModel: config.redisUrl ? 'redis' : 'memory',
      sql: config.databaseUrl ? 'postgres' : 'pglite',
    } as const;
    const production = Object.values(describe).filter((d) => d === 'kafka' || d === 'redis' || d === 'postgres').length;
    return {
      kind: production === 3 ? 'production' : production === 0 ? 'embedded' : 'mixed',
      describe,
      log,
      pool,
      history,
      recordings,
      tokens,
      sql,
      lock,
      lease,
      importerLease,
      pollChannel,
      ownProjections: [...(memoryPool ? [poolFeed] : []), ...(single ? [historyProjection(history), recordingsProjection(recordings)] : [])],
      sharedProjections: [...(memoryPool ? [] : [poolFeed]), ...(single ? [] : [historyProjection(history), recordingsProjection(recordings)])],
      parked: new SqlParkedEvents(sql),
      scratchPool: () => new MemoryPoolStore(config.projectionTimeoutMs),
      close: async () => {
        for (const close of closers) await close().catch((err: unknown) => logger.warn({ err }, 'closing a backend failed'));
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}

/**
 * The poller lease outlives an interval by a quarter and is renewed four times
 * per lease: a standby takes over well within two intervals of the active
 * poller's death, and three missed renewals in a row are tolerated.
 */
export const pollerLeaseMs = (config: Config): number => Math.max(500, Math.round(config.pollIntervalMs * 1.25));

export interface RunningBalancer {
  /** where the API listens (api role) */
  url: string;
  port: number;
  backends: Backends;
  /** the poller of this process (poller role) */
  poller: Poller;
  pollerRole: PollerRole | null;
  /** the recording importer of this process (importer role, recordings enabled) */
  importer: RecordingImporter | null;
  close(): Promise<void>;
}

export interface StartOptions {
  roles?: Roles;
  /** run the poll loop (default true for the poller role) */
  poll?: boolean;
  /** backends to use instead of the configured ones (tests) */
  backends?: Backends;
  clock?: () => Date;
}

const PROJECTOR_ACTOR = { kind: 'system', name: 'projector' } as const;

/** The role label of this process's metrics: `all` for `scalelite start`, else the roles it runs. */
const roleName = (roles: Roles): string => {
  const on = (Object.keys(roles) as Array<keyof Roles>).filter((r) => roles[r]);
  return on.length === 4 ? 'all' : on.join('+');
};

const countBy = <T>(items: T[], key: (item: T) => string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

function listen(server: HttpServer, port: number, host: string): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Where a local client reaches a server listening on host:port (a wildcard address as loopback). */
function shownUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}

/** The decision lock's lease, renewed while held: how long a holder that died blocks the others. */
const DECISION_LOCK_TTL_MS = 5_000;

/** An in-memory read model is snapshotted every 10,000 events (looked at each minute) and at stop. */
const SNAPSHOTS = { checkIntervalMs: 60_000, everyEvents: 10_000 };

/** How long to wait at start for an in-memory read model to catch up with the log. */
const CATCH_UP_TIMEOUT_MS = 10 * 60_000;

export async function startBalancer(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningBalancer> {
  const backends = options.backends ?? (await openBackends(config, logger, options.roles ?? ALL_ROLES));
  const stops: Array<() => Promise<void>> = [];
  try {
    return await startOn(backends, stops, config, logger, options);
  } catch (err) {
    // A start that fails half way leaves nothing running and nothing held (the data dir above all).
    for (const stop of stops) await stop().catch(() => undefined);
    if (!options.backends) await backends.close();
    throw err;
  }
}

async function startOn(
  backends: Backends,
  stops: Array<() => Promise<void>>,
  config: Config,
  logger: Logger,
  options: StartOptions,
): Promise<RunningBalancer> {
  const roles = options.roles ?? ALL_ROLES;
  const clock = options.clock ?? (() => new Date());
  const { log, pool, history, lock } = backends;
  const metrics = new Metrics(roleName(roles), cluster.isWorker ? cluster.worker?.id : undefined);
  const onDecided = (t: DecisionTiming) => {
    metrics.lockWait.observe(t.waitMs / 1000);
    metrics.lockHold.observe(t.holdMs / 1000);
    for (const type of t.appended) metrics.appended.inc({ type });
  };
  const writeSide = new WriteSide<PoolReader>({ log, pool, lock, clock, newId: randomUUID, projectionTimeoutMs: config.projectionTimeoutMs, onDecided, overlay: poolOverlay });
  const projectorLogger = logger.child({ role: 'projector' });
  const projectorOf = (projections: Projection[]) =>
    new Projector({
      log,
      projections,
      logger: projectorLogger,
      parked: backends.parked,
      isTransient: isTransientFault,
      clock,
      onRebuilt: async (report: RebuildReport) => void (await writeSide.record(PROJECTOR_ACTOR, decideReadModelRebuilt(report).events)),
    });

  if (backends.ownProjections.length > 0) {
    const started = Date.now();
    const ownsPool = backends.ownProjections.some((p) => p.name === 'pool');
    // An in-memory read model starts from its latest snapshot and replays only what came after.
    let snapshotter: PoolSnapshotter | null = null;
    let fromSnapshot: number | null = null;
    if (ownsPool && pool instanceof MemoryPoolStore) {
      const deps = { log, pool, snapshots: new SqlPoolSnapshots(backends.sql), logger: logger.child({ role: 'projector' }), clock };
      fromSnapshot = await restoreFromSnapshot(deps);
      snapshotter = new PoolSnapshotter(deps, SNAPSHOTS, fromSnapshot ?? -1);
    }
    const own = projectorOf(backends.ownProjections);
    await own.start();
    stops.push(() => own.stop());
    const head = await log.lastOffset();
    if (head >= 0 && ownsPool) await pool.waitFor(head, CATCH_UP_TIMEOUT_MS);
    logger.info(
      { events: head + 1, replayed: head - (fromSnapshot ?? -1), fromSnapshot, ms: Date.now() - started },
      'read model caught up with the event log',
    );
    if (snapshotter) {
      const s = snapshotter;
      s.start();
      // After the projector stopped: the last snapshot holds every event applied.
      stops.push(() => s.stop());
    }
  }
  if (roles.projector && backends.sharedProjections.length > 0) {
    const shared = projectorOf(backends.sharedProjections);
    await shared.start('projector');
    stops.push(() => shared.stop());
  }

  const bbbClient = new BbbClient({ algorithm: config.outgoingAlgorithm, connectTimeoutMs: config.connectTimeoutMs, responseTimeoutMs: config.responseTimeoutMs });
  const bbb = new ObservedBbbGateway(bbbClient, (c) => metrics.bbbCalls.observe({ host: hostOf(c.url), call: c.action, outcome: c.outcome }, c.seconds));
  const meetings = new MeetingApi({
    pool,
    callbackStore: backends.recordings,
    writeSide,
    bbb,
    logger: logger.child({ role: 'api' }),
    settings: {
      loadMinUserCount: config.loadMinUserCount,
      voiceBridgeLength: config.voiceBridgeLength,
      useExternalVoiceBridge: config.useExternalVoiceBridge,
      maxMeetingDuration: config.maxMeetingDuration,
      createPolicy: config.createPolicy,
      joinPolicy: config.joinPolicy,
      urlHost: config.urlHost,
    },
  });
  const endOnServer = meetings.endOnServer.bind(meetings);

  const rec = config.recordings;
  const dirs: RecordingDirs = { spoolDir: rec.spoolDir, workDir: rec.workDir, publishDir: rec.publishDir, unpublishDir: rec.unpublishDir };
  const { storage, close: closeStorage } = openRecordingStorage(rec.storage, dirs);
  stops.push(async () => closeStorage());
  // Said at start rather than at the first import or playback; not fatal, as the store may come back.
  if (!rec.disabled && (roles.api || roles.importer)) {
    void storage.probe().catch((err: unknown) => logger.error({ err, storage: storage.describe() }, `recording storage not usable: ${(err as Error).message}`));
  }
  const recordingWriteSide = new WriteSide<RecordingReader>({
    log,
    pool: backends.recordings,
    lock,
    clock,
    newId: randomUUID,
    projectionTimeoutMs: config.projectionTimeoutMs,
    onDecided,
  });
  const recordingApi = new RecordingApi({
    store: backends.recordings,
    writeSide: recordingWriteSide,
    dirs,
    storage,
    tokens: backends.tokens,
    settings: { protectedEnabled: rec.protectedEnabled, getRecordingsFiltered: rec.getRecordingsFiltered, tokenTtlMs: rec.tokenTtlMs },
    logger: logger.child({ role: 'api' }),
  });
  let importer: RecordingImporter | null = null;
  if (roles.importer && !rec.disabled) {
    const readyCallbacks = new ReadyCallbacks({
      store: backends.recordings,
      writeSide: recordingWriteSide,
      logHead: () => log.lastOffset(),
      lease: backends.importerLease,
      settings: { secrets: config.secrets, algorithm: jwtAlgorithmFor(config.checksumAlgorithms), retries: rec.readyCallbackRetries, catchUpTimeoutMs: CATCH_UP_TIMEOUT_MS },
      logger: logger.child({ role: 'importer' }),
    });
    // Before the projectors stop: a callback that finishes now can still record its outcome.
    stops.unshift(() => readyCallbacks.stop());
    const started = new RecordingImporter({
      dirs,
      storage,
      writeSide: recordingWriteSide,
      settings: {
        importUnpublished: rec.importUnpublished,
        protectedEnabled: rec.protectedEnabled,
        pollIntervalMs: rec.importPollIntervalMs,
        maxAttempts: 5,
        tarballLimits: rec.tarballLimits,
      },
      logger: logger.child({ role: 'importer' }),
      lease: backends.importerLease,
      onImported: readyCallbacks.owe,
    });
    // Imports from now on notify by themselves; those before are owed by a previous run.
    const startedAt = clock();
    await started.start();
    stops.unshift(() => started.stop());
    importer = started;
    void readyCallbacks.resumeOwed(startedAt);
    if (rec.retention.days > 0) {
      const retention = new RetentionJob(
        { store: backends.recordings, writeSide: recordingWriteSide, dirs, storage, lease: backends.importerLease, clock, logger: logger.child({ role: 'importer' }) },
        rec.retention,
      );
      retention.start();
      stops.unshift(() => retention.stop());
    }
  }
  const pollerSettings = {
    intervalMs: config.pollIntervalMs,
    concurrency: config.pollerConcurrency,
    // A pass may use its interval: the servers it has no time for come first in the next one.
    passTimeoutMs: Math.max(config.pollerWaitTimeoutMs, config.connectTimeoutMs + config.responseTimeoutMs, config.pollIntervalMs),
    healthyThreshold: config.healthyThreshold,
    unhealthyThreshold: config.unhealthyThreshold,
    loadMinUserCount: config.loadMinUserCount,
    loadJoinBufferMinutes: config.loadJoinBufferMinutes,
    newMeetingGraceMs: config.newMeetingGraceMs,
  };
  const poller = new Poller({
    pool,
    writeSide,
    bbb,
    clock,
    endMeeting: endOnServer,
    logger: logger.child({ role: 'poller' }),
    settings: pollerSettings,
    onPolled: (serverId, failure) => metrics.polled(serverId, failure),
    onPass: (summary) => metrics.pollPasses.observe(summary.durationMs / 1000),
  });
  let pollerRole: PollerRole | null = null;
  if (roles.poller) {
    const role = new PollerRole(poller, backends.lease, Math.round(pollerLeaseMs(config) / 4), logger.child({ role: 'poller' }));
    pollerRole = role;
    if (options.poll !== false) {
      await role.start();
      stops.unshift(() => role.stop());
    }
    await backends.pollChannel?.serve(() => (options.poll === false ? poller.pollAll() : role.pollIfLeading()));
  }
  const pollNow = async (): Promise<PollSummary> => {
    if (backends.pollChannel) return backends.pollChannel.pollNow(pollerSettings.passTimeoutMs + 30_000);
    return poller.pollAll();
  };

  let url = '';
  let port = 0;
  if (roles.api) {
    const admin = new AdminApi({
      pool,
      writeSide,
      history,
      logHead: () => log.lastOffset(),
      bbb,
      pollAll: pollNow,
      endOnServer,
      serverIdIsHostname: config.serverIdIsHostname,
      ignoredVariables: config.ignoredVariables,
      logger: logger.child({ role: 'admin' }),
      rebuild: (onProgress) =>
        rebuildReadModels(
          {
            log,
            lock,
            pool,
            scratchPool: backends.scratchPool,
            projectionTimeoutMs: config.projectionTimeoutMs,
            recordings: backends.recordings,
            logSharesSql: backends.describe.log === 'pglite' && backends.describe.sql === 'pglite',
            isRecordingEvent,
          },
          onProgress,
        ),
      poolAt: (at) => poolAt(log, at, backends.scratchPool()),
      parked: backends.parked,
    });
    const app = buildApp({
      settings: {
        secrets: config.secrets,
        checksumAlgorithms: config.checksumAlgorithms,
        buildNumber: config.buildNumber,
        getMeetingsApiDisabled: config.getMeetingsApiDisabled,
        recordingDisabled: rec.disabled,
        multitenancy: config.multitenancy,
        urlHost: config.urlHost,
        fsapi: config.fsapi,
        adminSignatures: config.adminSignatures,
        accessLog: config.accessLog,
      },
      pool,
      analytics: { pool, callbacks: backends.recordings, secrets: config.secrets, logger: logger.child({ role: 'analytics' }) },
      tenantAdmin: new TenantAdmin({ pool, writeSide, multitenancy: config.multitenancy, logger: logger.child({ role: 'admin' }) }),
      meetings,
      admin,
      recordings: recordingApi,
      migration: new MigrationAdmin({
        pool,
        writeSide,
        recordings: backends.recordings,
        recordingWriteSide,
        recordingsDisabled: rec.disabled,
        recordingDirs: { publish: rec.publishDir, unpublish: rec.unpublishDir },
        logger: logger.child({ role: 'admin' }),
      }),
      serverSync: new ServerSyncAdmin({ pool, writeSide, endOnServer, serverIdIsHostname: config.serverIdIsHostname, logger: logger.child({ role: 'admin' }) }),
      recordingAdmin: new RecordingAdmin({
        store: backends.recordings,
        writeSide: recordingWriteSide,
        history,
        logHead: () => log.lastOffset(),
        dirs,
        storage,
        importer,
        tenantExists: config.multitenancy ? async (id) => (await pool.tenant(id)) !== null : undefined,
        disabled: rec.disabled,
        retentionDays: rec.retention.days,
        logger: logger.child({ role: 'admin' }),
      }),
      playback: rec.disabled
        ? null
        : playbackRouter({
            store: backends.recordings,
            tokens: backends.tokens,
            storage,
            settings: {
              publishDir: rec.publishDir,
              formats: rec.playbackFormats,
              protectedEnabled: rec.protectedEnabled,
              cookieKey: rec.cookieKey,
              cookieTtlMs: rec.cookieTtlMs,
              xAccelRedirect: rec.xAccelRedirect,
              cloudFront: rec.storage.cloudFront,
              objectDelivery: rec.storage.kind === 's3' ? { mode: rec.storage.playback, presignTtlSeconds: rec.storage.presignTtlSeconds } : undefined,
            },
            scopeOf: async (req) => {
              if (!config.multitenancy) return undefined;
              const tenant = await requestTenant(req, pool, config);
              // a host naming no tenant sees nothing
              return tenant === 'unknown' ? '\u0000no such tenant' : (tenant?.id ?? null);
            },
            logger: logger.child({ role: 'playback' }),
          }),
      logger: logger.child({ role: 'api' }),
      metrics: async () => ({ contentType: metrics.contentType, text: await metrics.render() }),
      observer: { answered: (f, status, seconds) => metrics.answered(f.route, f.call ?? f.route, outcomeOf(f, status), seconds) },
      healthCheck: async () => {
        await log.lastOffset();
        await pool.checkpoint();
        await backends.sql.query('select 1');
      },
    });
    const server = config.socketPath ? await listenOnSocket(createServer(app), config.socketPath) : await listen(createServer(app), config.port, config.host);
    server.keepAliveTimeout = 65_000;
    // A client sending its request a byte a second is cut off, not kept for Node's default 300 s.
    server.requestTimeout = config.requestTimeoutMs;
    server.headersTimeout = Math.min(20_000, config.requestTimeoutMs);
    const address = server.address();
    port = typeof address === 'string' || address === null ? 0 : address.port;
    url = config.socketPath ? `unix://${config.socketPath}` : shownUrl(config.host, port);
    stops.unshift(() => closeServer(server));
  }
  // The shared state every role can see; the servers and routes where the API is (the public /metrics).
  metrics.watch({
    logHead: () => log.lastOffset(),
    checkpoints: { pool: () => pool.checkpoint(), history: () => history.checkpoint(), recordings: () => backends.recordings.checkpoint() },
    parkedEvents: () => backends.parked.count(),
    readModelRebuilds: async () => (await history.query({ types: ['ReadModelRebuilt'], limit: 10_000 })).length,
    ...(roles.api ? { servers: () => pool.servers(), routesPerServer: async () => countBy(await pool.meetings(), (m) => m.serverId) } : {}),
    ...(importer ? { importer: () => importer!.status() } : {}),
  });
  let metricsUrl: string | undefined;
  if (config.metricsPort > 0) {
    // Roles without the API (poller, projector, importer) serve their metrics here; an api may too, off its public port.
    const metricsServer = await listen(createServer(metrics.listener(logger)), config.metricsPort, config.host);
    metricsUrl = `${shownUrl(config.host, (metricsServer.address() as AddressInfo).port)}/metrics`;
    stops.unshift(() => closeServer(metricsServer));
  }
  const ignored = ignoredVariablesWarning(config.ignoredVariables);
  if (ignored) logger.warn({ variables: config.ignoredVariables.filter((v) => v.kind !== 'notNeeded').map((v) => v.name) }, ignored);
  logger.info({ url: url || undefined, metrics: metricsUrl, roles, backends: backends.describe }, 'scalelite running');

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    backends,
    poller,
    pollerRole,
    importer,
    close: () =>
      (closing ??= (async () => {
        for (const stop of stops) await stop();
        await poller.stop();
        await bbbClient.close();
        await backends.close();
        logger.info('scalelite stopped');
      })()),
  };
}
