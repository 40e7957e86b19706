import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { recordingOptionsFor, type SimRecorder } from './recordings';
import type { SimServer } from './server';
import type { SimMode } from './types';

// JSON control plane for tests that run the simulator in another process.
// Bound to loopback only: it can end meetings and take servers down.

export const simModeSchema: z.ZodType<SimMode> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ok') }),
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().min(0).max(600_000) }),
  z.object({ kind: z.literal('failing'), how: z.enum(['http500', 'reset', 'failed-xml', 'garbage']) }),
  z.object({ kind: z.literal('drip'), intervalMs: z.number().int().min(1).max(600_000) }),
  // Up to 1 GiB: past any reply limit worth testing, and streamed, so the simulator never holds it.
  z.object({
    kind: z.literal('huge'),
    bytes: z
      .number()
      .int()
      .min(0)
      .max(1024 ** 3),
    declareLength: z.boolean().optional(),
  }),
  z.object({ kind: z.literal('down') }),
]);

const countOrAll = z.union([z.number().int().min(0), z.boolean()]).optional();

const addParticipantsSchema = z.object({
  count: z.number().int().min(0).max(100_000),
  moderators: countOrAll,
  withVideo: countOrAll,
  listenOnly: countOrAll,
});

const removeParticipantsSchema = z.object({ count: z.number().int().min(0).optional() });

const recordingName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const recordingRequestSchema = z.strictObject({
  meetingId: z.string().min(1).max(256),
  meetingName: z.string().max(256).optional(),
  recordId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,255}$/)
    .refine((id) => id !== '.' && id !== '..', 'not a usable record id')
    .optional(),
  formats: z.array(recordingName).min(1).max(10).optional(),
  metadata: z.record(z.string().min(1).max(255), z.string().max(16_384)).optional(),
  published: z.boolean().optional(),
  participants: z.number().int().min(0).max(100_000).optional(),
  startTime: z.number().int().min(0).optional(),
  durationMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3_600_000)
    .optional(),
  host: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/)
    .optional(),
  isBreakout: z.boolean().optional(),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Json = unknown;

function describeServer(s: SimServer) {
  return {
    index: s.index,
    url: s.url,
    secret: s.secret,
    port: s.port,
    mode: s.mode,
    meetings: s.meetings().map((m) => ({
      meetingID: m.meetingID,
      internalMeetingID: m.internalMeetingID,
      name: m.name,
      participants: m.participants,
      moderators: m.moderators,
      videos: m.videos,
      listeners: m.listeners,
      voiceParticipants: m.voiceParticipants,
      isBreakout: m.isBreakout,
      running: m.running,
      createTime: m.createTime,
      breakoutRooms: m.breakoutRooms,
    })),
  };
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

async function readJson(req: http.IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: Json): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return result.data;
}

export class ControlServer {
  private readonly http: http.Server;
  private boundPort = 0;

  constructor(
    private readonly servers: readonly SimServer[],
    private readonly recorder?: SimRecorder,
  ) {
    this.http = http.createServer((req, res) => {
      this.route(req)
        .then((body) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        })
        .catch((err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500;
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
        });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => {
        this.http.off('error', reject);
        this.boundPort = (this.http.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private server(index: string): SimServer {
    const s = /^\d+$/.test(index) ? this.servers[Number(index)] : undefined;
    if (!s) throw new HttpError(404, `no simulated server with index ${index}`);
    return s;
  }

  private meetingOf(s: SimServer, encodedID: string): string {
    let meetingID: string;
    try {
      meetingID = decodeURIComponent(encodedID);
    } catch {
      throw new HttpError(400, 'meetingID is not valid percent-encoding');
    }
    if (!s.meetings().some((m) => m.meetingID === meetingID)) throw new HttpError(404, `no meeting "${meetingID}" on server ${s.index}`);
    return meetingID;
  }

  private async route(req: http.IncomingMessage): Promise<Json> {
    if (!isLoopback(req.socket.remoteAddress)) throw new HttpError(403, 'control API is loopback only');
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const seg = path.split('/').slice(1);

    if (method === 'GET' && path === '/servers') return this.servers.map(describeServer);
    if (path === '/recordings' || path === '/sim/recordings') return this.recordings(method, req);
    if (seg[0] !== 'servers' || seg[1] === undefined) throw new HttpError(404, `unknown control route ${method} ${path}`);
    const s = this.server(seg[1]);

    if (seg.length === 2 && method === 'GET') return describeServer(s);
    if (seg.length === 3 && seg[2] === 'mode' && method === 'POST') {
      await s.setMode(parseWith(simModeSchema, await readJson(req)));
      return { index: s.index, mode: s.mode };
    }
    if (seg.length === 3 && seg[2] === 'mode' && method === 'GET') return { index: s.index, mode: s.mode };
    if (seg.length === 3 && seg[2] === 'requests' && method === 'GET') return s.requestCounts();
    if (seg.length === 3 && seg[2] === 'requests' && method === 'DELETE') {
      s.resetRequestCounts();
      return {};
    }
    if (seg.length === 3 && seg[2] === 'log' && method === 'GET') return s.lastRequests;
    if (seg.length === 3 && seg[2] === 'meetings' && method === 'GET') return s.meetings();

    if (seg.length === 5 && seg[2] === 'meetings' && seg[4] === 'participants') {
      const meetingID = this.meetingOf(s, seg[3]!);
      if (method === 'POST') {
        const { count, moderators, withVideo, listenOnly } = parseWith(addParticipantsSchema, await readJson(req));
        s.addParticipants(meetingID, count, {
          ...(moderators !== undefined ? { moderators } : {}),
          ...(withVideo !== undefined ? { withVideo } : {}),
          ...(listenOnly !== undefined ? { listenOnly } : {}),
        });
      } else if (method === 'DELETE') {
        const { count } = parseWith(removeParticipantsSchema, await readJson(req));
        s.removeParticipants(meetingID, count);
      } else {
        throw new HttpError(405, `${method} not allowed on ${path}`);
      }
      return s.meetings().find((m) => m.meetingID === meetingID) ?? {};
    }
    if (seg.length === 5 && seg[2] === 'meetings' && seg[4] === 'end' && method === 'POST') {
      s.endMeeting(this.meetingOf(s, seg[3]!));
      return { ended: true };
    }
    throw new HttpError(404, `unknown control route ${method} ${path}`);
  }

  /**
   * POST produces a recording into the spool dir; fields left out are taken
   * from the live meeting with that meetingID when there is one (its internal
   * id as record id, name, metadata, participants), else from BBB-like
   * defaults. GET lists what was produced so far.
   */
  private async recordings(method: string, req: http.IncomingMessage): Promise<Json> {
    const recorder = this.recorder;
    if (!recorder) throw new HttpError(409, 'recordings are off: start the simulator with recordingSpoolDir (--recording-spool-dir)');
    if (method === 'GET') return { spoolDir: recorder.spoolDir, recordings: recorder.produced, failures: recorder.failures };
    if (method !== 'POST') throw new HttpError(405, `${method} not allowed on /recordings`);
    const body = parseWith(recordingRequestSchema, await readJson(req));
    const owner = this.servers.find((s) => s.findMeeting(body.meetingId) !== undefined);
    const live = owner?.findMeeting(body.meetingId);
    const fromMeeting = live && owner ? recordingOptionsFor(live, owner.recordingHost) : undefined;
    const given = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as typeof body;
    return recorder.record({ ...fromMeeting, ...given });
  }
}
