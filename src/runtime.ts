import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { MeetingApi } from './api/meetings';
import { decideReadModelRebuilt } from './commands/read-models';
import { DecisionTiming, WriteSide } from './commands/write-side';
import { Backends, openBackends } from './infra/backends';
import { BbbClient } from './infra/bbb/client';
import { ObservedBbbGateway } from './infra/bbb/metered';
import { Config } from './infra/config';
import { isTransientFault } from './infra/faults';
import { listenPlain } from './infra/http-listen';
import { jwtAlgorithmFor } from './infra/jwt';
import { hostOf, Metrics } from './infra/metrics';
import { openRecordingStorage } from './infra/s3/open';
import { ignoredVariablesWarning } from './infra/scalelite-env';
import { pollerLeaseCheckMs, PollerRole } from './poller/leadership';
import { Poller, PollSummary } from './poller/poller';
import { poolOverlay } from './projections/overlay';
import { startOwnProjections } from './projections/own-projections';
import { PoolReader } from './projections/ports';
import { Projection, Projector, RebuildReport } from './projections/projector';
import { RecordingDirs } from './recordings/files';
import { RecordingImporter } from './recordings/importer';
import { RecordingReader } from './recordings/ports';
import { ReadyCallbacks } from './recordings/ready-callback';
import { RetentionJob } from './recordings/retention';
import { startApi } from './runtime/api-role';

/*
 * The composition root: opens the backends behind their ports, builds each role's
 * parts from the configuration, starts them in order and stops them in the reverse
 * order. Every workflow it starts lives in its own room; nothing is decided here.
 */

export interface Roles {
  api: boolean;
  poller: boolean;
  projector: boolean;
  importer: boolean;
}

export const ALL_ROLES: Roles = { api: true, poller: true, projector: true, importer: true };

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

/** An in-memory read model is snapshotted every 10,000 events (looked at each minute) and at stop. */
const SNAPSHOTS = { checkIntervalMs: 60_000, everyEvents: 10_000 };

/** How long to wait at start for an in-memory read model to catch up with the log. */
const CATCH_UP_TIMEOUT_MS = 10 * 60_000;

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

export async function startBalancer(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningBalancer> {
  const roles = options.roles ?? ALL_ROLES;
  const separateRoles = !(roles.api && roles.poller && roles.projector && roles.importer);
  const backends = options.backends ?? (await openBackends(config, logger, { separateRoles }));
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

async function startOn(backends: Backends, stops: Array<() => Promise<void>>, config: Config, logger: Logger, options: StartOptions): Promise<RunningBalancer> {
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
    await startOwnProjections(
      {
        log,
        pool,
        projections: backends.ownProjections,
        snapshots: backends.poolSnapshots,
        projector: projectorOf,
        logger: projectorLogger,
        clock,
        catchUpTimeoutMs: CATCH_UP_TIMEOUT_MS,
        snapshotSettings: SNAPSHOTS,
      },
      (stop) => void stops.push(stop),
    );
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
  let importer: RecordingImporter | null = null;
  if (roles.importer && !rec.disabled) {
    const importerLogger = logger.child({ role: 'importer' });
    const readyCallbacks = new ReadyCallbacks({
      store: backends.recordings,
      writeSide: recordingWriteSide,
      logHead: () => log.lastOffset(),
      lease: backends.importerLease,
      settings: { secrets: config.secrets, algorithm: jwtAlgorithmFor(config.checksumAlgorithms), retries: rec.readyCallbackRetries, catchUpTimeoutMs: CATCH_UP_TIMEOUT_MS },
      logger: importerLogger,
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
      logger: importerLogger,
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
        { store: backends.recordings, writeSide: recordingWriteSide, dirs, storage, lease: backends.importerLease, clock, logger: importerLogger },
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
    const role = new PollerRole(poller, backends.lease, pollerLeaseCheckMs(config.pollIntervalMs), logger.child({ role: 'poller' }));
    pollerRole = role;
    if (options.poll !== false) {
      await role.start();
      stops.unshift(() => role.stop());
    }
    await backends.pollChannel?.serve(() => (options.poll === false ? poller.pollAll() : role.pollIfLeading()));
  }
  // Separate roles reach the active poller over the channel; in one process it is right here.
  const pollNow = async (): Promise<PollSummary> => backends.pollChannel?.pollNow(pollerSettings.passTimeoutMs + 30_000) ?? poller.pollAll();

  let url = '';
  let port = 0;
  if (roles.api) {
    const api = await startApi({ config, logger, backends, writeSide, recordingWriteSide, meetings, bbb, pollNow, storage, dirs, importer, metrics });
    ({ url, port } = api);
    stops.unshift(() => api.close());
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
    const metricsServer = await listenPlain(metrics.listener(logger), config.metricsPort, config.host);
    metricsUrl = `${metricsServer.url}/metrics`;
    stops.unshift(() => metricsServer.close());
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
