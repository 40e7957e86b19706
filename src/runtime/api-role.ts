import type { Logger } from 'pino';
import { outcomeOf } from '../api/access';
import { AdminApi } from '../api/admin';
import { MigrationAdmin } from '../api/admin-migration';
import { RecordingAdmin } from '../api/admin-recordings';
import { ServerSyncAdmin } from '../api/admin-sync';
import { TenantAdmin } from '../api/admin-tenants';
import { buildApp, requestTenant } from '../api/app';
import { MeetingApi } from '../api/meetings';
import { playbackRouter } from '../api/playback';
import { RecordingApi } from '../api/recordings';
import { WriteSide } from '../commands/write-side';
import { Backends } from '../infra/backends';
import { Config } from '../infra/config';
import { listenApi, Listening } from '../infra/http-listen';
import { Metrics } from '../infra/metrics';
import { isRecordingEvent } from '../infra/sql/recording-store';
import { PollSummary } from '../poller/poller';
import { BbbGateway } from '../poller/ports';
import { PoolReader } from '../projections/ports';
import { poolAt } from '../projections/rebuild';
import { RecordingDirs } from '../recordings/files';
import { RecordingImporter } from '../recordings/importer';
import { RecordingReader } from '../recordings/ports';
import { rebuildReadModels } from '../recordings/rebuild';
import { RecordingStorage } from '../recordings/storage';

/*
 * The api role's part of the composition root: the BBB API, the admin API and the
 * playback routes, built over the parts the process shares (write sides, stores,
 * the BBB gateway, the poller), served on PORT/BIND.
 */

export interface ApiRoleParts {
  config: Config;
  logger: Logger;
  backends: Backends;
  writeSide: WriteSide<PoolReader>;
  recordingWriteSide: WriteSide<RecordingReader>;
  meetings: MeetingApi;
  bbb: BbbGateway;
  /** a poll pass by the active poller, wherever it runs */
  pollNow: () => Promise<PollSummary>;
  storage: RecordingStorage;
  dirs: RecordingDirs;
  /** this process's importer, when it runs one (its status is in the admin API) */
  importer: RecordingImporter | null;
  metrics: Metrics;
}

/** Builds the API and listens; resolves once it accepts connections. */
export async function startApi(parts: ApiRoleParts): Promise<Listening> {
  const { config, logger, backends, writeSide, recordingWriteSide, meetings, bbb, storage, dirs, importer, metrics } = parts;
  const { log, pool, history, lock } = backends;
  const rec = config.recordings;
  const endOnServer = meetings.endOnServer.bind(meetings);
  const recordingApi = new RecordingApi({
    store: backends.recordings,
    writeSide: recordingWriteSide,
    dirs,
    storage,
    tokens: backends.tokens,
    settings: { protectedEnabled: rec.protectedEnabled, getRecordingsFiltered: rec.getRecordingsFiltered, tokenTtlMs: rec.tokenTtlMs },
    logger: logger.child({ role: 'api' }),
  });
  const admin = new AdminApi({
    pool,
    writeSide,
    history,
    logHead: () => log.lastOffset(),
    bbb,
    pollAll: parts.pollNow,
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
          logSharesSql: backends.logSharesSql,
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
    healthCheck: () => backends.check(),
  });
  return listenApi(app, config);
}
