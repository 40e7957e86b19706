import { Router, Request, Response } from 'express';
import type { Logger } from 'pino';
import { escapeXml } from '../infra/bbb/xml';
import { CloudFrontSigner, grantCloudFront, wantsHtml } from '../recordings/cloudfront';
import { FilesystemRecordingStorage } from '../recordings/fs-storage';
import { Recording, tenantOf } from '../recordings/model';
import { recordingNotFoundPage } from '../recordings/not-found';
import { RecordingReader } from '../recordings/ports';
import { hasAccess, isPlaybackToken, issueAccessCookie } from '../recordings/protection';
import { objectHeaders, RecordingStorage } from '../recordings/storage';
import { PlaybackTokens } from '../recordings/tokens';

export interface PlaybackSettings {
  publishDir: string;
  formats: string[];
  protectedEnabled: boolean;
  cookieKey: string;
  cookieTtlMs: number;
  /** answer with X-Accel-Redirect for a fronting nginx instead of sending the file */
  xAccelRedirect: boolean;
  /** CLOUDFRONT_URL and its key: HTML requests get signed cookies and a 307 there (Scalelite §4.5) */
  cloudFront?: CloudFrontSigner | null;
  /** objects in a bucket: streamed through here (ranges and revalidation passed on), or a 307 to a presigned URL */
  objectDelivery?: { mode: 'stream' | 'presign'; presignTtlSeconds: number };
}

export interface PlaybackDeps {
  store: RecordingReader;
  tokens: PlaybackTokens;
  settings: PlaybackSettings;
  /** where the published files are; the publish dir when not given */
  storage?: RecordingStorage;
  /** the tenant of the request's host: undefined without multitenancy */
  scopeOf: (req: Request) => Promise<string | null | undefined>;
  logger: Logger;
}

/** Formats whose files a browser shows inline; the others (podcast, notes, …) are downloads. */
const INLINE_FORMATS = new Set(['presentation', 'video', 'screenshare']);

const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;

function notFound(res: Response): void {
  res.status(404).type('text/html; charset=utf-8').set('Cache-Control', 'no-store').send(recordingNotFoundPage());
}

/**
 * Playback: the protected entry point `/recording/<id>/<format>`, the recording
 * resources `/<format>/<id>/…` and the player redirects nginx does in Scalelite's
 * image. Every refusal is the same 404 page, so it tells nothing about why.
 */
export function playbackRouter(deps: PlaybackDeps): Router {
  const { store, tokens, settings, logger } = deps;
  const storage = deps.storage ?? new FilesystemRecordingStorage({ publishDir: settings.publishDir, unpublishDir: settings.publishDir });
  const router = Router();

  /** The recording behind a URL, if the caller may play it. */
  const playable = async (req: Request, recordId: string, format: string): Promise<Recording | null> => {
    if (!SAFE_NAME.test(recordId) || !SAFE_NAME.test(format)) return null;
    const recording = await store.recording(recordId);
    if (!recording || !recording.published || !recording.formats.some((f) => f.format === format)) return null;
    const scope = await deps.scopeOf(req);
    if (scope !== undefined && tenantOf(recording) !== scope) return null;
    return recording;
  };

  router.get('/recording/:recordId/:format', async (req, res, next) => {
    try {
      const recordId = String(req.params.recordId);
      const format = String(req.params.format);
      const recording = await playable(req, recordId, format);
      if (!recording) return notFound(res);
      if (recording.protected) {
        const token = typeof req.query.token === 'string' ? req.query.token : '';
        if (!isPlaybackToken(token)) return notFound(res);
        const grant = await tokens.consume(token);
        if (!grant || grant.recordId !== recordId || grant.format !== format) return notFound(res);
        res.append(
          'Set-Cookie',
          issueAccessCookie({ format, recordId, key: settings.cookieKey, ttlMs: settings.cookieTtlMs, now: new Date(), userAgent: req.get('user-agent') ?? '' }),
        );
      }
      const target = recording.formats.find((f) => f.format === format)!.url;
      res.redirect(307, target);
    } catch (err) {
      next(err);
    }
  });

  for (const format of settings.formats) {
    router.get([`/${format}/:recordId`, `/${format}/:recordId/{*rest}`], async (req, res, next) => {
      try {
        const recordId = String(req.params.recordId);
        const recording = await playable(req, recordId, format);
        if (!recording) return notFound(res);
        if (settings.protectedEnabled && recording.protected && !hasAccess(req.get('cookie'), format, recordId, settings.cookieKey, new Date())) {
          return notFound(res);
        }
        const restParam = (req.params as { rest?: string | string[] }).rest;
        const rest = Array.isArray(restParam) ? restParam.join('/') : (restParam ?? '');
        if (settings.cloudFront && wantsHtml({ accept: req.get('accept'), path: req.path, xhr: req.get('x-requested-with') === 'XMLHttpRequest' })) {
          const grant = grantCloudFront(settings.cloudFront, { published: recording.published, format, recordId, hostname: req.hostname, now: new Date() });
          for (const cookie of grant.cookies) res.append('Set-Cookie', cookie);
          res.redirect(307, grant.location);
          return;
        }
        const attachment = !INLINE_FORMATS.has(format);
        if (attachment) res.set('Content-Disposition', 'attachment');
        if (settings.xAccelRedirect) {
          // nginx maps /static-resource onto the published dir and sends the file itself.
          res.status(200).set('X-Accel-Redirect', `/static-resource${req.originalUrl}`).end();
          return;
        }
        if (storage.kind === 's3' && settings.objectDelivery?.mode !== 'presign') {
          await streamObject(req, res, storage, format, recordId, rest, recording.protected);
          return;
        }
        const found = await storage.resource(format, recordId, rest);
        if (!found) return notFound(res);
        if (found.kind === 'file') {
          res.sendFile(found.path, { dotfiles: 'deny', acceptRanges: true, cacheControl: true, maxAge: recording.protected ? 0 : '1h' }, (err) => {
            if (!err || res.headersSent) return;
            // An unsatisfiable range is the client's mistake about a file that exists: 416 with its size, as from a bucket.
            const failure = err as Error & { status?: number; headers?: Record<string, string> };
            if (failure.status !== 416) return notFound(res);
            res
              .status(416)
              .set(failure.headers ?? {})
              .end();
          });
          return;
        }
        // Presigned: checked here (published, tenant, cookie) and fetched there, for a short while.
        const url = await storage.presignedUrl(found.key, settings.objectDelivery?.presignTtlSeconds ?? 300, attachment ? 'attachment' : undefined);
        res.set('Cache-Control', 'no-store').redirect(307, url);
      } catch (err) {
        next(err);
      }
    });
  }

  // What nginx does in Scalelite's image: old player URLs and format aliases.
  router.get('/playback/video/{*rest}', (req, res) => res.redirect(307, `/video/${pathRest(req)}${queryOf(req)}`));
  router.get('/recording/screenshare/{*rest}', (req, res) => res.redirect(307, `/screenshare/${pathRest(req)}${queryOf(req)}`));
  router.get('/playback/presentation/2.0/playback.html', (req, res) => {
    const id = typeof req.query.meetingId === 'string' && SAFE_NAME.test(req.query.meetingId) ? req.query.meetingId : null;
    if (!id) return notFound(res);
    res.redirect(301, `/playback/presentation/2.3/${id}`);
  });

  // Without nginx and bbb-playback in front, a small built-in player, so the embedded default plays recordings by itself.
  router.get(['/playback/presentation/2.3/:recordId', '/playback/presentation/2.3/:recordId/'], async (req, res, next) => {
    try {
      const recordId = String(req.params.recordId);
      const recording = await playable(req, recordId, 'presentation');
      if (!recording) return notFound(res);
      if (settings.protectedEnabled && recording.protected && !hasAccess(req.get('cookie'), 'presentation', recordId, settings.cookieKey, new Date())) {
        return notFound(res);
      }
      res.type('text/html; charset=utf-8').send(await builtInPlayer(storage, recording));
    } catch (err) {
      logger.error({ err }, 'player page failed');
      next(err);
    }
  });

  return router;
}

/**
 * A bucket object through the balancer, so playback needs neither a shared
 * filesystem nor a bucket reachable by browsers: ranges (media seeking) and
 * conditional requests are passed to the store, its answer passed back.
 */
async function streamObject(req: Request, res: Response, storage: RecordingStorage, format: string, recordId: string, rest: string, isProtected: boolean): Promise<void> {
  const read = { range: req.get('range'), ifNoneMatch: req.get('if-none-match'), ifModifiedSince: req.get('if-modified-since') };
  const reply = await storage.readResource(format, recordId, rest, read);
  if (reply.status === 404) return notFound(res);
  res.set('Accept-Ranges', 'bytes');
  // Protected resources are checked on every request, so no shared cache may keep them.
  res.set('Cache-Control', isProtected ? 'private, no-cache' : 'public, max-age=3600');
  if (reply.status === 416) {
    res.status(416);
    if (reply.contentRange) res.set('Content-Range', reply.contentRange);
    res.end();
    return;
  }
  if (reply.etag) res.set('ETag', reply.etag);
  if (reply.lastModified) res.set('Last-Modified', reply.lastModified.toUTCString());
  if (reply.status === 304) {
    res.status(304).end();
    return;
  }
  const fallback = objectHeaders(rest || 'index.html');
  res.status(reply.status);
  res.set('Content-Type', reply.contentType ?? fallback.contentType);
  if (reply.contentLength !== undefined) res.set('Content-Length', String(reply.contentLength));
  if (reply.contentRange) res.set('Content-Range', reply.contentRange);
  if (!res.get('Content-Disposition') && (reply.contentDisposition ?? fallback.contentDisposition))
    res.set('Content-Disposition', reply.contentDisposition ?? fallback.contentDisposition);
  if (req.method === 'HEAD') {
    reply.body.destroy();
    res.end();
    return;
  }
  // A client that goes away stops the download from the store too.
  res.on('close', () => reply.body.destroy());
  reply.body.on('error', () => res.destroy());
  reply.body.pipe(res);
}

const pathRest = (req: Request): string => {
  const rest = (req.params as { rest?: string | string[] }).rest;
  return (Array.isArray(rest) ? rest : [rest ?? '']).map((s) => encodeURIComponent(s)).join('/');
};
const queryOf = (req: Request): string => {
  const at = req.originalUrl.indexOf('?');
  return at < 0 ? '' : req.originalUrl.slice(at);
};

/** A plain page with the recording's media and slides, from the files BBB's presentation format publishes. */
async function builtInPlayer(storage: RecordingStorage, r: Recording): Promise<string> {
  const base = `/presentation/${encodeURIComponent(r.recordId)}`;
  const exists = async (rest: string) => (await storage.resource('presentation', r.recordId, rest)) !== null;
  const media: string[] = [];
  for (const [rest, kind] of [
    ['video/webcams.mp4', 'video'],
    ['video/webcams.webm', 'video'],
    ['deskshare/deskshare.mp4', 'video'],
    ['deskshare/deskshare.webm', 'video'],
    ['audio/audio.ogg', 'audio'],
    ['audio/audio.webm', 'audio'],
  ] as const) {
    if (await exists(rest)) media.push(`<${kind} controls preload="metadata" src="${base}/${rest}"></${kind}>`);
  }
  const thumbs = r.formats.find((f) => f.format === 'presentation')?.thumbnails ?? [];
  const slides = thumbs.map((t) => `<img src="${escapeXml(t.url)}" alt="${escapeXml(t.alt ?? '')}" loading="lazy">`).join('');
  const title = escapeXml(r.name || r.recordId);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}video,audio{width:100%;margin:.5rem 0}
.slides{display:flex;flex-wrap:wrap;gap:.5rem}.slides img{max-width:12rem;border:1px solid #ccc}</style></head>
<body><h1>${title}</h1>
<p>${r.startTime ? escapeXml(new Date(r.startTime).toUTCString()) : ''}</p>
${media.join('\n') || '<p>This recording has no media files.</p>'}
${slides ? `<h2>Slides</h2><div class="slides">${slides}</div>` : ''}
</body></html>`;
}
