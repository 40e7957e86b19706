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
import { Poller } from './poller/poller';
import { BbbClient } from './infra/bbb/client';
import { Config } from './infra/config';
import { MemoryPoolStore } from './infra/embedded/memory-pool';
import { SqlEventLog } from './infra/embedded/sql-log';
import { SqlHistoryStore } from './infra/sql/history-store';
import { migrate } from './infra/sql/migrations';
import { openPglite } from './infra/sql/pglite';

/** The adapters behind the ports, chosen by configuration. */
export interface Backends {
  kind: 'embedded' | 'production';
  log: EventLog;
  pool: PoolStore;
  history: HistoryStore;
  lock: DecisionLock;
  /** projections this process must feed itself (the in-memory pool must; a shared Redis may be fed elsewhere) */
  projections: Projection[];
  close(): Promise<void>;
}

/** Event log and history in PGlite under DATA_DIR, the pool in memory rebuilt from the log. */
export async function openEmbeddedBackends(config: Config): Promise<Backends> {
  const sql = await openPglite(join(config.dataDir, 'pglite'));
  await migrate(sql);
  const log = new SqlEventLog(sql);
  const pool = new MemoryPoolStore(config.projectionTimeoutMs);
  const history = new SqlHistoryStore(sql);
  return {
    kind: 'embedded',
    log,
    pool,
    history,
    lock: new LocalDecisionLock(),
    projections: [poolProjection(pool), { name: 'history', checkpoint: () => history.checkpoint(), apply: (b) => history.apply(b) }],
    close: async () => {
      await log.close();
      await sql.close();
    },
  };
}

export interface RunningBalancer {
  url: string;
  port: number;
  backends: Backends;
  poller: Poller;
  close(): Promise<void>;
}

export interface StartOptions {
  /** run the poll loop (the all-in-one role does) */
  poll?: boolean;
  /** backends to use instead of the configured ones (tests) */
  backends?: Backends;
  clock?: () => Date;
}

/** How long to wait at start for the read model to catch up with the log. */
const CATCH_UP_TIMEOUT_MS = 10 * 60_000;

export async function startBalancer(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningBalancer> {
  const clock = options.clock ?? (() => new Date());
  const backends = options.backends ?? (await openEmbeddedBackends(config));
  const { log, pool, history, lock } = backends;
  const projector = new Projector(log, backends.projections, logger.child({ role: 'projector' }));
  await projector.start();
  const head = await log.lastOffset();
  const catchUpStarted = Date.now();
  if (head >= 0) await pool.waitFor(head, CATCH_UP_TIMEOUT_MS);
  logger.info({ events: head + 1, ms: Date.now() - catchUpStarted }, 'read model caught up with the event log');

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
  const poller = new Poller({
    pool,
    writeSide,
    bbb,
    clock,
    endMeeting: endOnServer,
    logger: logger.child({ role: 'poller' }),
    settings: {
      intervalMs: config.pollIntervalMs,
      concurrency: config.pollerConcurrency,
      passTimeoutMs: Math.max(config.pollerWaitTimeoutMs, config.connectTimeoutMs + config.responseTimeoutMs),
      healthyThreshold: config.healthyThreshold,
      unhealthyThreshold: config.unhealthyThreshold,
      loadMinUserCount: config.loadMinUserCount,
      loadJoinBufferMinutes: config.loadJoinBufferMinutes,
      newMeetingGraceMs: config.newMeetingGraceMs,
    },
  });
  const admin = new AdminApi({
    pool,
    writeSide,
    history,
    bbb,
    pollAll: () => poller.pollAll(),
    endOnServer,
    serverIdIsHostname: config.serverIdIsHostname,
    logger: logger.child({ role: 'admin' }),
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
    },
  });
  const server: HttpServer = await new Promise((resolve, reject) => {
    const s = createServer(app);
    s.once('error', reject);
    s.listen(config.port, config.host, () => resolve(s));
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  logger.info({ url, backends: backends.kind }, 'balancer listening');
  if (options.poll !== false) poller.start();

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    backends,
    poller,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 2000).unref();
        });
        await poller.stop();
        await projector.stop();
        await bbb.close();
        await backends.close();
        logger.info('balancer stopped');
      })()),
  };
}
