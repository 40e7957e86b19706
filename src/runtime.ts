import { randomUUID } from 'node:crypto';
import { createServer, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AdminApi } from './api/admin';
import { buildApp } from './api/app';
import { MeetingApi } from './api/meetings';
import { DecisionLock, LocalDecisionLock, WriteSide } from './commands/write-side';
import { EventLog } from './events/log';
import { poolProjection } from './projections/apply';
import { HistoryStore } from './projections/history';
import { PoolStore } from './projections/ports';
import { Projection, Projector } from './projections/projector';
import { poolAt, rebuildPool } from './projections/rebuild';
import { Lease, PollerRole, soleLease } from './poller/leadership';
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
import { openPglite } from './infra/sql/pglite';
import { openPostgres } from './infra/sql/postgres';
import { Sql } from './infra/sql/sql';

export interface Roles {
  api: boolean;
  poller: boolean;
  projector: boolean;
}

export const ALL_ROLES: Roles = { api: true, poller: true, projector: true };

/** The adapters behind the ports, chosen by configuration. */
export interface Backends {
  kind: 'embedded' | 'production' | 'mixed';
  describe: { log: 'kafka' | 'pglite'; readModel: 'redis' | 'memory'; sql: 'postgres' | 'pglite' };
  log: EventLog;
  pool: PoolStore;
  history: HistoryStore;
  sql: Sql;
  lock: DecisionLock;
  lease: Lease;
  /** projections every process feeds for itself (an in-memory pool) */
  ownProjections: Projection[];
  /** projections the projector role feeds, shared by every process (Redis, Postgres) */
  sharedProjections: Projection[];
  /** an empty pool store to rebuild or replay into */
  scratchPool(): PoolStore;
  pollChannel: RedisPollChannel | null;
  close(): Promise<void>;
}

const historyProjection = (history: HistoryStore): Projection => ({ name: 'history', checkpoint: () => history.checkpoint(), apply: (b) => history.apply(b) });

/**
 * KAFKA_BROKERS, REDIS_URL and DATABASE_URL each switch their part to the
 * production adapter; unset, the part is embedded under DATA_DIR. Separate
 * roles share state only through the production adapters, so they need all three.
 */
export async function openBackends(config: Config, logger: Logger, roles: Roles = ALL_ROLES): Promise<Backends> {
  const separate = !(roles.api && roles.poller && roles.projector);
  if (separate && !(config.kafkaBrokers && config.redisUrl && config.databaseUrl)) {
    throw new ConfigError(
      'running the api, poller or projector role on its own needs the production backends: set KAFKA_BROKERS, REDIS_URL and DATABASE_URL (or run `scalelite start` for all roles in one process)',
    );
  }
  const closers: Array<() => Promise<void>> = [];
  try {
    let pglite: Sql | null = null;
    const embeddedSql = async () => {
      if (!pglite) {
        pglite = await openPglite(join(config.dataDir, 'pglite'));
        const opened = pglite;
        closers.push(() => opened.close());
      }
      return pglite;
    };

    let sql: Sql;
    if (config.databaseUrl) {
      sql = await openPostgres(config.databaseUrl);
      const opened = sql;
      closers.push(() => opened.close());
    } else sql = await embeddedSql();
    await migrate(sql);

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
      if (logSql !== sql) await migrate(logSql);
      log = new SqlEventLog(logSql);
    }
    const opened = log;
    closers.unshift(() => opened.close());

    let pool: PoolStore;
    let lock: DecisionLock;
    let lease: Lease = soleLease;
    let pollChannel: RedisPollChannel | null = null;
    if (config.redisUrl) {
      const store = new RedisPoolStore({ url: config.redisUrl, namespace: config.redisNamespace, defaultTimeoutMs: config.projectionTimeoutMs });
      await store.connect();
      closers.unshift(() => store.close());
      pool = store;
      const redisLock = new RedisDecisionLock(config.redisUrl, `${config.redisNamespace}:decision-lock`, config.projectionTimeoutMs + 5_000, 60_000, logger);
      closers.unshift(() => redisLock.close());
      lock = redisLock;
      const redisLease = new RedisLease(config.redisUrl, `${config.redisNamespace}:poller-lease`, pollerLeaseMs(config));
      closers.unshift(() => redisLease.close());
      lease = redisLease;
      pollChannel = new RedisPollChannel(config.redisUrl, config.redisNamespace, logger);
      const channel = pollChannel;
      closers.unshift(() => channel.close());
    } else {
      pool = new MemoryPoolStore(config.projectionTimeoutMs);
      lock = new LocalDecisionLock();
    }

    const history = new SqlHistoryStore(sql);
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
      sql,
      lock,
      lease,
      pollChannel,
      ownProjections: [...(memoryPool ? [poolFeed] : []), ...(single ? [historyProjection(history)] : [])],
      sharedProjections: [...(memoryPool ? [] : [poolFeed]), ...(single ? [] : [historyProjection(history)])],
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

/** How long to wait at start for an in-memory read model to catch up with the log. */
const CATCH_UP_TIMEOUT_MS = 10 * 60_000;

export async function startBalancer(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningBalancer> {
  const roles = options.roles ?? ALL_ROLES;
  const clock = options.clock ?? (() => new Date());
  const backends = options.backends ?? (await openBackends(config, logger, roles));
  const { log, pool, history, lock } = backends;
  const stops: Array<() => Promise<void>> = [];

  if (backends.ownProjections.length > 0) {
    const own = new Projector(log, backends.ownProjections, logger.child({ role: 'projector' }));
    await own.start();
    stops.push(() => own.stop());
    const head = await log.lastOffset();
    const started = Date.now();
    if (head >= 0 && backends.ownProjections.some((p) => p.name === 'pool')) await pool.waitFor(head, CATCH_UP_TIMEOUT_MS);
    logger.info({ events: head + 1, ms: Date.now() - started }, 'read model caught up with the event log');
  }
  if (roles.projector && backends.sharedProjections.length > 0) {
    const shared = new Projector(log, backends.sharedProjections, logger.child({ role: 'projector' }));
    await shared.start('projector');
    stops.push(() => shared.stop());
  }

  const writeSide = new WriteSide({ log, pool, lock, clock, newId: randomUUID, projectionTimeoutMs: config.projectionTimeoutMs });
  const bbb = new BbbClient({ algorithm: config.outgoingAlgorithm, connectTimeoutMs: config.connectTimeoutMs, responseTimeoutMs: config.responseTimeoutMs });
  const meetings = new MeetingApi({
    pool,
    writeSide,
    bbb,
    logger: logger.child({ role: 'api' }),
    settings: {
      loadMinUserCount: config.loadMinUserCount,
      voiceBridgeLength: config.voiceBridgeLength,
      useExternalVoiceBridge: config.useExternalVoiceBridge,
      maxMeetingDuration: config.maxMeetingDuration,
      createExcludeParams: [],
      joinExcludeParams: [],
    },
  });
  const endOnServer = meetings.endOnServer.bind(meetings);
  const pollerSettings = {
    intervalMs: config.pollIntervalMs,
    concurrency: config.pollerConcurrency,
    passTimeoutMs: Math.max(config.pollerWaitTimeoutMs, config.connectTimeoutMs + config.responseTimeoutMs),
    healthyThreshold: config.healthyThreshold,
    unhealthyThreshold: config.unhealthyThreshold,
    loadMinUserCount: config.loadMinUserCount,
    loadJoinBufferMinutes: config.loadJoinBufferMinutes,
    newMeetingGraceMs: config.newMeetingGraceMs,
  };
  const poller = new Poller({ pool, writeSide, bbb, clock, endMeeting: endOnServer, logger: logger.child({ role: 'poller' }), settings: pollerSettings });
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
      bbb,
      pollAll: pollNow,
      endOnServer,
      serverIdIsHostname: config.serverIdIsHostname,
      logger: logger.child({ role: 'admin' }),
      rebuild: (onProgress) =>
        rebuildPool({ log, live: pool, lock, fresh: backends.scratchPool(), projectionTimeoutMs: config.projectionTimeoutMs }, onProgress),
      poolAt: (at) => poolAt(log, at, backends.scratchPool()),
    });
    const app = buildApp({
      settings: {
        secrets: config.secrets,
        checksumAlgorithms: config.checksumAlgorithms,
        buildNumber: config.buildNumber,
        getMeetingsApiDisabled: config.getMeetingsApiDisabled,
      },
      meetings,
      admin,
      logger: logger.child({ role: 'api' }),
      healthCheck: async () => {
        await log.lastOffset();
        await pool.checkpoint();
        await backends.sql.query('select 1');
      },
    });
    const server: HttpServer = await new Promise((resolve, reject) => {
      const s = createServer(app);
      s.once('error', reject);
      s.listen(config.port, config.host, () => resolve(s));
    });
    server.keepAliveTimeout = 65_000;
    port = (server.address() as AddressInfo).port;
    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    stops.unshift(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 2000).unref();
        }),
    );
  }
  logger.info({ url: url || undefined, roles, backends: backends.describe }, 'scalelite running');

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    backends,
    poller,
    pollerRole,
    close: () =>
      (closing ??= (async () => {
        for (const stop of stops) await stop();
        await poller.stop();
        await bbb.close();
        await backends.close();
        logger.info('scalelite stopped');
      })()),
  };
}
