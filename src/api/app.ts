import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { ChecksumAlgorithm } from '../infra/bbb/checksum';
import { PoolReader } from '../projections/ports';
import { AdminHandlers, adminRoutes } from './admin-routes';
import { SignaturePolicy } from './admin-signature';
import { AccessObserver, observeRequests } from './access';
import { analyticsCallback, AnalyticsDeps } from './analytics';
import { bbbRoutes, isJoinPath } from './bbb-routes';
import { faultAnswers } from './fault-answers';
import { fsapiHandler, pinLookup } from './fsapi';
import { blockedHost, refuseHost } from './host-authorization';
import { send } from './http';
import { MeetingApi } from './meetings';
import { RecordingApi } from './recordings';
import { errors } from './responses';
import { requestTenant } from './tenancy';

/*
 * The HTTP side of a balancer, composed: the BBB API (bbb-routes.ts), the
 * analytics callback, the FreeSWITCH dial plan, the admin API (admin-routes.ts),
 * playback, health and metrics, in the order express matches them.
 */

// runtime.ts resolves playback's tenant with it, as the BBB API does.
export { requestTenant } from './tenancy';

export interface AppSettings {
  secrets: string[];
  checksumAlgorithms: Set<ChecksumAlgorithm>;
  buildNumber?: string;
  getMeetingsApiDisabled: boolean;
  /** RECORDING_DISABLED: recording calls answer as if there were none, playback is not mounted */
  recordingDisabled: boolean;
  /** MULTITENANCY_ENABLED: the host's first label names the tenant */
  multitenancy: boolean;
  urlHost?: string;
  fsapi: { password: string; maxDurationMinutes: number; voiceBridgeMin: number; voiceBridgeMax: number };
  /** the admin API's signed timestamp and body digest (admin-signature.ts) */
  adminSignatures: SignaturePolicy;
  /** ACCESS_LOG: a line per request */
  accessLog: boolean;
}

/** What answers each route: the BBB API's handlers, the admin API's (AdminHandlers), and the rest. */
export interface AppDeps extends AdminHandlers {
  settings: AppSettings;
  meetings: MeetingApi;
  recordings: RecordingApi;
  pool: PoolReader;
  analytics: AnalyticsDeps;
  /** the playback routes (none when recordings are disabled) */
  playback: Router | null;
  /** throws with a reason when a backend is unhealthy */
  healthCheck: () => Promise<void>;
  /** the Prometheus metrics document and its content type */
  metrics: () => Promise<{ contentType: string; text: string }>;
  /** told of each request answered (the metrics) */
  observer?: AccessObserver;
  logger: Logger;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** `/health_check` and `/`: always 200, with what is unhealthy in the text (Scalelite's answer). */
const healthRoute =
  (check: () => Promise<void>) =>
  async (_req: Request, res: Response): Promise<void> => {
    try {
      await check();
      res.status(200).type('text/plain').send('success');
    } catch (err) {
      res
        .status(200)
        .type('text/plain')
        .send(`Health Check Failure: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

const metricsRoute =
  (metrics: AppDeps['metrics']) =>
  async (_req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const m = await metrics();
      res.status(200).type(m.contentType).send(m.text);
    } catch (err) {
      next(err);
    }
  };

/**
 * The HTTP request listener: join, the call an LMS makes for every user, is
 * answered straight from the read model without express's routing; everything
 * else goes through the express app. Both run the same action code.
 */
export function buildApp(deps: AppDeps): RequestListener {
  const { settings, logger } = deps;
  const { answerFault, warnClient } = faultAnswers(logger);
  const tenantOf = (req: IncomingMessage) => requestTenant(req, deps.pool, settings);
  const bbb = bbbRoutes({ settings, meetings: deps.meetings, recordings: deps.recordings, tenantOf, logger });
  const health = healthRoute(deps.healthCheck);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // The proxies Rails trusts by default: a fronting nginx on this host or the private network.
  app.set('trust proxy', ['loopback', 'uniquelocal']);
  // ...and one on this host through BIND=unix://: a socket peer has no address, and only local processes may connect.
  const trustedAddress = app.get('trust proxy fn') as (addr: string | undefined, hop: number) => boolean;
  app.set('trust proxy', (addr: string | undefined, hop: number) => (hop === 0 && !addr) || trustedAddress(addr, hop));

  app.all(['/bigbluebutton/api', '/bigbluebutton/api/'], bbb.version);
  // BBB sends a meeting's analytics here (the URL create gave it); no checksum: a Bearer JWT.
  app.post('/bigbluebutton/api/analytics_callback', analyticsCallback(deps.analytics, tenantOf, logger));
  app.post('/fsapi', fsapiHandler({ ...settings.fsapi, realm: settings.urlHost ?? 'scalelite', lookupPin: pinLookup(deps.pool) }));
  app.all('/bigbluebutton/api/:action', async (req, res, next) => {
    try {
      await bbb.run(req.params.action as string, req, res);
    } catch (err) {
      next(err);
    }
  });
  app.all('/scalelite/api/:action', adminRoutes({ ...deps, warnClient }));
  if (deps.playback) app.use(deps.playback);
  app.get('/health_check', health);
  app.get('/metrics', metricsRoute(deps.metrics));
  app.all('/', health);
  app.all('/{*any}', (_req, res) => send(res, errors.unsupportedRequest()));
  // Nothing reaches a client as an HTML stack trace: BBB clients get BBB XML.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => answerFault(err, req, res));

  const runAction = bbb.run;
  const handle: RequestListener = (req, res) => {
    const blocked = blockedHost(req, settings.urlHost, settings.multitenancy);
    if (blocked !== null) return refuseHost(res, blocked);
    if (req.method === 'GET' && req.url !== undefined && isJoinPath(req.url)) {
      runAction('join', req, res).catch((err: unknown) => answerFault(err, req, res));
      return;
    }
    app(req, res);
  };
  return observeRequests(handle, logger, { enabled: settings.accessLog }, deps.observer);
}
