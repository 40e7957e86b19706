import { join } from 'node:path';
import type { Logger } from 'pino';
import { DecisionLock, LocalDecisionLock } from '../commands/write-side';
import { Lease, soleLease } from '../coordination/lease';
import { EventLog } from '../events/log';
import { poolProjection } from '../projections/apply';
import { historyProjection, HistoryStore } from '../projections/history';
import { PoolStore } from '../projections/ports';
import { ParkedEvents, Projection } from '../projections/projector';
import { PoolSnapshots, SnapshottablePool } from '../projections/snapshots';
import { pollerLeaseMs } from '../poller/leadership';
import { PollChannel } from '../poller/ports';
import { recordingsProjection, RecordingStore } from '../recordings/ports';
import { PlaybackTokens } from '../recordings/tokens';
import { Config, ConfigError } from './config';
import { checkEmbeddedLog, damagedDataDir, openEmbeddedSql } from './embedded/data-dir';
import { MemoryPoolStore } from './embedded/memory-pool';
import { MemoryPlaybackTokens } from './embedded/memory-tokens';
import { SqlEventLog } from './embedded/sql-log';
import { KafkaEventLog } from './kafka/kafka-log';
import { RedisDecisionLock, RedisLease } from './redis/redis-lock';
import { RedisPollChannel } from './redis/redis-poll-channel';
import { RedisPoolStore } from './redis/redis-pool';
import { RedisPlaybackTokens } from './redis/redis-tokens';
import { SqlHistoryStore } from './sql/history-store';
import { migrate } from './sql/migrations';
import { SqlParkedEvents } from './sql/parked-store';
import { SqlPoolSnapshots } from './sql/pool-snapshots';
import { openPostgres } from './sql/postgres';
import { SqlRecordingStore } from './sql/recording-store';
import { Sql } from './sql/sql';

/** The adapters behind the ports, chosen by configuration; the rest of the process sees only the ports. */
export interface Backends {
  kind: 'embedded' | 'production' | 'mixed';
  describe: { log: 'kafka' | 'pglite'; readModel: 'redis' | 'memory'; sql: 'postgres' | 'pglite' };
  log: EventLog;
  pool: PoolStore;
  /**
   * The pool when it lives in this process's memory, with where its snapshots are kept:
   * it starts from the latest one instead of the whole log. Null when the pool is in Redis.
   */
  poolSnapshots: { pool: SnapshottablePool; store: PoolSnapshots } | null;
  history: HistoryStore;
  /** the recordings read model (SQL) */
  recordings: RecordingStore;
  /** one-time tokens of protected recordings, shared by every api process */
  tokens: PlaybackTokens;
  sql: Sql;
  /**
   * The log is read through the very connection the SQL read models use (both in PGlite):
   * while a transaction holds it, the log cannot be read.
   */
  logSharesSql: boolean;
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
  /** "poll now" across processes; null when the poller is in this process (no Redis) */
  pollChannel: PollChannel | null;
  /** Throws unless every backend answers (the health check). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** The decision lock's lease, renewed while held: how long a holder that died blocks the others. */
const DECISION_LOCK_TTL_MS = 5_000;

/** The importer lease: a dead importer's successor takes over within a minute. */
const IMPORTER_LEASE_MS = 60_000;

/**
 * KAFKA_BROKERS, REDIS_URL and DATABASE_URL each switch their part to the
 * production adapter; unset, the part is embedded under DATA_DIR. Separate
 * roles share state only through the production adapters, so they need all three.
 */
export async function openBackends(config: Config, logger: Logger, options: { separateRoles: boolean }): Promise<Backends> {
  if (options.separateRoles && !(config.kafkaBrokers && config.redisUrl && config.databaseUrl)) {
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
        closers.push(
          () => embedded.sql.close(),
          () => embedded.release(),
        );
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
    let poolSnapshots: Backends['poolSnapshots'] = null;
    let lock: DecisionLock;
    let lease: Lease = soleLease;
    let importerLease: Lease = soleLease;
    let tokens: PlaybackTokens;
    let pollChannel: PollChannel | null = null;
    if (config.redisUrl) {
      const store = new RedisPoolStore({ url: config.redisUrl, namespace: config.redisNamespace, defaultTimeoutMs: config.projectionTimeoutMs, logger });
      await store.connect();
      closers.unshift(() => store.close());
      pool = store;
      const redisLock = new RedisDecisionLock(config.redisUrl, `${config.redisNamespace}:decision-lock`, DECISION_LOCK_TTL_MS, 60_000, logger);
      closers.unshift(() => redisLock.close());
      lock = redisLock;
      const redisLease = new RedisLease(config.redisUrl, `${config.redisNamespace}:poller-lease`, pollerLeaseMs(config.pollIntervalMs), logger);
      closers.unshift(() => redisLease.close());
      lease = redisLease;
      const importLease = new RedisLease(config.redisUrl, `${config.redisNamespace}:importer-lease`, IMPORTER_LEASE_MS, logger);
      closers.unshift(() => importLease.close());
      importerLease = importLease;
      const redisTokens = new RedisPlaybackTokens(config.redisUrl, config.redisNamespace, { logger });
      closers.unshift(() => redisTokens.close());
      tokens = redisTokens;
      const channel = new RedisPollChannel(config.redisUrl, config.redisNamespace, logger);
      closers.unshift(() => channel.close());
      pollChannel = channel;
    } else {
      const memoryPool = new MemoryPoolStore(config.projectionTimeoutMs);
      pool = memoryPool;
      poolSnapshots = { pool: memoryPool, store: new SqlPoolSnapshots(sql) };
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
      poolSnapshots,
      history,
      recordings,
      tokens,
      sql,
      logSharesSql: describe.log === 'pglite' && describe.sql === 'pglite',
      lock,
      lease,
      importerLease,
      pollChannel,
      ownProjections: [...(memoryPool ? [poolFeed] : []), ...(single ? [historyProjection(history), recordingsProjection(recordings)] : [])],
      sharedProjections: [...(memoryPool ? [] : [poolFeed]), ...(single ? [] : [historyProjection(history), recordingsProjection(recordings)])],
      parked: new SqlParkedEvents(sql),
      scratchPool: () => new MemoryPoolStore(config.projectionTimeoutMs),
      check: async () => {
        await log.lastOffset();
        await pool.checkpoint();
        await sql.query('select 1');
      },
      close: async () => {
        for (const close of closers) await close().catch((err: unknown) => logger.warn({ err }, 'closing a backend failed'));
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}
