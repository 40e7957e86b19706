import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { PoolReader } from '../projections/ports';
import { Tenant } from '../projections/pool';
import { RecordingReader } from '../recordings/ports';
import { bearerToken, signAnalyticsJwt, verifyAnyHs512 } from './analytics-jwt';
import { send } from './http';
import { hasBody, mediaType, rawQuery, readBody, readFormFields } from './request';
import { errors } from './responses';

/*
 * The analytics callback (Scalelite §5.6): create told BBB to send a meeting's
 * analytics to us; here BBB does, and we pass them on to the URL the LMS gave
 * at create time, signed with our secrets. BBB always gets 204: its retries
 * would not help an LMS that is down.
 */

export interface AnalyticsDeps {
  pool: PoolReader;
  callbacks: RecordingReader;
  /** the load balancer secrets */
  secrets: string[];
  logger: Logger;
  timeoutMs?: number;
}

const agent = new Agent({ connect: { timeout: 5_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });

export async function relayAnalytics(deps: AnalyticsDeps, input: { authorization: string | undefined; params: Record<string, unknown>; tenant: Tenant | null }): Promise<void> {
  const { pool, callbacks, logger } = deps;
  const token = bearerToken(input.authorization);
  if (!token) {
    logger.warn('analytics callback without a bearer token: ignored');
    return;
  }
  // Only BBB servers of this pool may send analytics: the token is signed with a server secret.
  const servers = await pool.servers();
  if (
    !verifyAnyHs512(
      token,
      servers.map((s) => s.secret),
    )
  ) {
    logger.warn('analytics callback with a token no server secret verifies: ignored');
    return;
  }
  const meetingId = typeof input.params.meeting_id === 'string' ? input.params.meeting_id : undefined;
  if (!meetingId) return;
  const registered = await callbacks.callbacks(meetingId);
  const url = registered?.analyticsCallbackUrl;
  if (!url) return;
  if (registered.tenantId !== (input.tenant?.id ?? null)) {
    logger.warn({ meetingId }, 'analytics callback for a meeting of another tenant: ignored');
    return;
  }
  const body = JSON.stringify({ ...input.params, customer: input.tenant?.name ?? 'scalelite' });
  for (const secret of input.tenant?.secrets ?? deps.secrets) {
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'BigBlueButton Analytics Callback',
          authorization: `Bearer ${signAnalyticsJwt(secret)}`,
        },
        body,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        logger.info({ meetingId, status: res.statusCode }, 'analytics passed on');
        return;
      }
      logger.warn({ meetingId, status: res.statusCode }, 'analytics receiver refused; trying the next secret');
    } catch (err) {
      logger.warn({ err, meetingId }, 'analytics receiver unreachable');
      return;
    }
  }
}

/**
 * POST /bigbluebutton/api/analytics_callback: no checksum (a Bearer JWT instead); the params
 * of the query over those of the body (JSON or a form), relayed; BBB gets 204 whatever happens next.
 */
export function analyticsCallback(
  deps: AnalyticsDeps,
  tenantOf: (req: IncomingMessage) => Promise<Tenant | null | 'unknown'>,
  logger: Logger,
): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  return async (req, res, next) => {
    try {
      const tenant = await tenantOf(req);
      if (tenant === 'unknown') return send(res, errors.checksum());
      const body = hasBody(req) ? await readBody(req, 4 * 1024 * 1024) : Buffer.alloc(0);
      let params: Record<string, unknown> = Object.fromEntries(new URLSearchParams(rawQuery(req)));
      if (mediaType(req) === 'application/json' && body.length > 0) {
        try {
          const parsed: unknown = JSON.parse(body.toString('utf8'));
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) params = { ...(parsed as Record<string, unknown>), ...params };
        } catch {
          // not JSON: nothing to pass on
        }
      } else params = { ...Object.fromEntries(await readFormFields(req, body)), ...params };
      await relayAnalytics(deps, { authorization: req.headers.authorization, params, tenant }).catch((err: unknown) => logger.warn({ err }, 'analytics callback failed'));
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  };
}
