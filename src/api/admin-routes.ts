import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { findUnstorable } from '../events/storable';
import { checksumParam, verifyChecksum } from '../infra/bbb/checksum';
import { AdminApi } from './admin';
import type { AdminOutcome, AdminRequest } from './admin-kit';
import { MigrationAdmin } from './admin-migration';
import { RecordingAdmin } from './admin-recordings';
import { SIGNATURE_PARAMS, signatureProblem } from './admin-signature';
import { ServerSyncAdmin } from './admin-sync';
import { TenantAdmin } from './admin-tenants';
import type { AppSettings } from './app';
import { noteResponse } from './access';
import { refuse, send, sendAdmin } from './http';
import { correlationOf, hasBody, mediaType, rawQuery, readBody } from './request';
import { errors, failed } from './responses';

/*
 * The admin API under /scalelite/api/:action: signed with the load balancer
 * secrets like a BBB call (plus, when given, a timestamp and a body digest),
 * a JSON object in, an AdminOutcome out (JSON, or NDJSON for a long operation).
 */

/** Admin calls carry small JSON documents. */
const MAX_ADMIN_BODY_BYTES = 1024 * 1024;
/** A migration batch carries a Scalelite's servers, tenants and routes, or a batch of recordings. */
export const MAX_MIGRATION_BODY_BYTES = 32 * 1024 * 1024;

export interface AdminHandlers {
  admin: AdminApi;
  recordingAdmin: RecordingAdmin;
  tenantAdmin: TenantAdmin;
  serverSync: ServerSyncAdmin;
  /** `scalelite migrate:scalelite` */
  migration: MigrationAdmin;
}

export interface AdminRoutesDeps extends AdminHandlers {
  settings: Pick<AppSettings, 'secrets' | 'checksumAlgorithms' | 'adminSignatures'>;
  /** a refused client, in the log at most every few seconds per kind (fault-answers.ts) */
  warnClient: (kind: string, req: IncomingMessage, reason: string) => void;
  logger: Logger;
}

interface AdminAction {
  method: 'GET' | 'POST';
  run: (r: AdminRequest) => Promise<AdminOutcome>;
  maxBody?: number;
}

/** Each admin call: its method and the handler that answers it. */
function adminActions({ admin, recordingAdmin, serverSync, tenantAdmin, migration }: AdminHandlers): Record<string, AdminAction> {
  return {
    getServers: { method: 'GET', run: (r) => admin.getServers(r) },
    getServerInfo: { method: 'GET', run: (r) => admin.getServerInfo(r) },
    addServer: { method: 'POST', run: (r) => admin.addServer(r) },
    updateServer: { method: 'POST', run: (r) => admin.updateServer(r) },
    deleteServer: { method: 'POST', run: (r) => admin.deleteServer(r) },
    panicServer: { method: 'POST', run: (r) => admin.panicServer(r) },
    disableServer: { method: 'POST', run: (r) => admin.disableServer(r) },
    pollAll: { method: 'POST', run: () => admin.pollAll() },
    getStatus: { method: 'GET', run: (r) => admin.getStatus(r) },
    rebuildProjections: { method: 'POST', run: async () => admin.rebuildProjections() },
    getEvents: { method: 'GET', run: (r) => admin.getEvents(r) },
    getMeetingRoutes: { method: 'GET', run: (r) => admin.getMeetingRoutes(r) },
    getMeetingRoute: { method: 'GET', run: (r) => admin.getMeetingRoute(r) },
    endMeetings: { method: 'POST', run: (r) => admin.endMeetings(r) },
    getRecordingList: { method: 'GET', run: (r) => recordingAdmin.getRecordingList(r) },
    importRecording: { method: 'POST', run: (r) => recordingAdmin.importRecording(r) },
    getImporterStatus: { method: 'GET', run: () => recordingAdmin.getImporterStatus() },
    addRecordingsToTenant: { method: 'POST', run: (r) => recordingAdmin.addRecordingsToTenant(r) },
    purgeRecordings: { method: 'POST', run: (r) => recordingAdmin.purgeRecordings(r) },
    repairRecordingFiles: { method: 'POST', run: async (r) => recordingAdmin.repairRecordingFiles(r) },
    syncServers: { method: 'POST', run: async (r) => serverSync.syncServers(r) },
    getServersYaml: { method: 'GET', run: (r) => serverSync.serversYaml(r) },
    getTenants: { method: 'GET', run: (r) => tenantAdmin.getTenants(r) },
    getTenantInfo: { method: 'GET', run: (r) => tenantAdmin.getTenantInfo(r) },
    addTenant: { method: 'POST', run: (r) => tenantAdmin.addTenant(r) },
    updateTenant: { method: 'POST', run: (r) => tenantAdmin.updateTenant(r) },
    deleteTenant: { method: 'POST', run: (r) => tenantAdmin.deleteTenant(r) },
    getTenantSettings: { method: 'GET', run: (r) => tenantAdmin.getTenantSettings(r) },
    addTenantSetting: { method: 'POST', run: (r) => tenantAdmin.addTenantSetting(r) },
    deleteTenantSetting: { method: 'POST', run: (r) => tenantAdmin.deleteTenantSetting(r) },
    // Scalelite's whole Redis state is one decision; recordings come in batches.
    migrateScalelitePool: { method: 'POST', run: (r) => migration.migratePool(r), maxBody: MAX_MIGRATION_BODY_BYTES },
    migrateScaleliteRecordings: { method: 'POST', run: (r) => migration.migrateRecordings(r), maxBody: MAX_MIGRATION_BODY_BYTES },
  };
}

/** The JSON object a POST carries; null when it is not one. */
function jsonObject(raw: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The express handler of `/scalelite/api/:action`. */
export function adminRoutes(deps: AdminRoutesDeps): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  const { settings, warnClient, logger } = deps;
  const actions = adminActions(deps);
  return async (req, res, next) => {
    try {
      const action = req.params.action as string;
      const def = Object.prototype.hasOwnProperty.call(actions, action) ? actions[action] : undefined;
      if (!def || def.method !== req.method) return send(res, errors.unsupportedRequest());
      noteResponse(res, { call: action });
      const withBody = req.method === 'POST' && hasBody(req);
      if (withBody && mediaType(req) !== 'application/json') return send(res, errors.unsupportedContentType());
      const query = rawQuery(req);
      // The admin API always uses the load balancer secrets, checked before the body is read.
      if (!verifyChecksum({ secrets: settings.secrets, allowed: settings.checksumAlgorithms }, action, query, checksumParam(query, {}))) {
        return refuse(req, res, errors.checksum());
      }
      const raw = withBody ? await readBody(req, def.maxBody ?? MAX_ADMIN_BODY_BYTES) : null;
      const searchParams = new URLSearchParams(query);
      // The timestamp and body digest, when given, are under the checksum (admin-signature.ts).
      const problem = signatureProblem(searchParams, raw, settings.adminSignatures, Date.now());
      if (problem) {
        warnClient('adminSignature', req, problem);
        return send(res, failed('checksumError', `You did not pass the checksum security check: ${problem}`));
      }
      const body = raw ? jsonObject(raw) : {};
      if (!body) {
        res.status(400).json({ error: 'The request body must be a JSON object' });
        return;
      }
      const queryParams = Object.fromEntries(searchParams);
      for (const name of ['checksum', ...SIGNATURE_PARAMS]) delete queryParams[name];
      // What no store can keep is refused here, naming the field, before any decision sees it.
      const unstorable = findUnstorable({ ...body, ...queryParams });
      if (unstorable) {
        res.status(400).json({ error: `${unstorable.path} ${unstorable.problem}, which is not allowed` });
        return;
      }
      const actorHeader = req.headers['x-scalelite-actor'];
      const name = typeof actorHeader === 'string' && actorHeader.trim() !== '' ? actorHeader.trim().slice(0, 200) : `admin-api@${req.ip ?? 'unknown'}`;
      const outcome = await def.run({ params: { ...body, ...queryParams }, actor: { kind: 'admin', name }, correlationId: correlationOf(req) });
      await sendAdmin(res, outcome, logger, action);
    } catch (err) {
      next(err);
    }
  };
}
