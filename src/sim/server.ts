import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleApiCall, XML_CONTENT_TYPE, type ApiContext, type JoinSession } from './api';
import { dripAnswer, hugeAnswer } from './faults';
import { MeetingRegistry, snapshotMeeting, type Meeting } from './meetings';
import type { SimRecorder } from './recordings';
import type { AddParticipantsOptions, ChecksumAlgorithm, SimMeetingSnapshot, SimMode, SimRequestRecord, SimulatedServer } from './types';
import { escapeXml, renderError } from './xml';

// One simulated BigBlueButton server: an HTTP listener serving bbb-web's API
// under /bigbluebutton/api, a stand-in HTML5 client page, and fault injection.

export interface SimServerConfig {
  index: number;
  host: string;
  /** 0 = ephemeral. After the first listen the chosen port is kept for re-listening. */
  port: number;
  secret: string;
  bbbVersion: string;
  checksumAlgorithms: readonly ChecksumAlgorithm[];
  revealVersion: boolean;
  emptyMeetingTimeoutMs?: number;
  endCallbacks: boolean;
  /** Delivers a recording for every ended meeting that was created with record=true. */
  recorder?: SimRecorder;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const REQUEST_LOG_SIZE = 100;

/** Hostname usable in a URL for the bound interface (wildcards are reached via loopback). */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Splits a request target without re-encoding it: checksums are computed over the raw query. */
export function splitTarget(target: string): { path: string; rawQuery: string } {
  const hash = target.indexOf('#');
  const noFragment = hash >= 0 ? target.slice(0, hash) : target;
  const q = noFragment.indexOf('?');
  return q >= 0 ? { path: noFragment.slice(0, q), rawQuery: noFragment.slice(q + 1) } : { path: noFragment, rawQuery: '' };
}

/** Maps a path to a bbb-web API action ('' = root version call), or undefined when not an API path. */
export function apiActionForPath(path: string): string | undefined {
  if (path === '/bigbluebutton/api' || path === '/bigbluebutton/api/' || path === '/bigbluebutton/') return '';
  const prefix = '/bigbluebutton/api/';
  if (!path.startsWith(prefix)) return undefined;
  return path.slice(prefix.length).replace(/\/$/, '');
}

function fireAndForgetGet(url: string): void {
  try {
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!client) return;
    const req = client.get(u, { agent: false, timeout: 5000, headers: { connection: 'close' } }, (res) => res.resume());
    req.on('timeout', () => req.destroy());
    req.on('error', () => undefined);
  } catch {
    // An unusable callback URL is the caller's problem, as it is for bbb-web.
  }
}

function html(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title></head><body>${body}</body></html>\n`;
}

export class SimServer implements SimulatedServer {
  readonly index: number;
  readonly secret: string;
  private readonly registry: MeetingRegistry;
  private readonly sessions = new Map<string, JoinSession>();
  private readonly http: http.Server;
  private readonly ctx: ApiContext;
  private currentMode: SimMode = { kind: 'ok' };
  private boundPort: number;
  private listening = false;
  private counts = new Map<string, number>();
  private readonly log: SimRequestRecord[] = [];
  private readonly pendingDelays = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly config: SimServerConfig) {
    this.index = config.index;
    this.secret = config.secret;
    this.boundPort = config.port;
    this.registry = new MeetingRegistry({
      ...(config.emptyMeetingTimeoutMs !== undefined ? { emptyMeetingTimeoutMs: config.emptyMeetingTimeoutMs } : {}),
      onEnded: (m) => this.onMeetingEnded(m),
    });
    this.ctx = {
      registry: this.registry,
      secret: config.secret,
      allowedAlgorithms: config.checksumAlgorithms,
      bbbVersion: config.bbbVersion,
      revealVersion: config.revealVersion,
      baseUrl: '',
      sessions: this.sessions,
    };
    this.http = http.createServer((req, res) => this.onRequest(req, res));
    this.http.keepAliveTimeout = 5000;
  }

  get port(): number {
    return this.boundPort;
  }

  get baseUrl(): string {
    return `http://${urlHost(this.config.host)}:${this.boundPort}`;
  }

  get url(): string {
    return `${this.baseUrl}/bigbluebutton/api/`;
  }

  get mode(): SimMode {
    return { ...this.currentMode };
  }

  get lastRequests(): readonly SimRequestRecord[] {
    return [...this.log];
  }

  async start(): Promise<void> {
    await this.listen();
  }

  async setMode(mode: SimMode): Promise<void> {
    if (this.closed) throw new Error('simulated server is closed');
    if (mode.kind === 'down') {
      this.currentMode = { kind: 'down' };
      await this.unlisten();
      return;
    }
    this.currentMode = { ...mode };
    if (!this.listening) await this.listen();
  }

  addParticipants(meetingID: string, count: number, opts: AddParticipantsOptions = {}): void {
    this.registry.addParticipants(meetingID, count, opts);
  }

  removeParticipants(meetingID: string, count?: number): void {
    this.registry.removeParticipants(meetingID, count);
  }

  endMeeting(meetingID: string): void {
    if (!this.registry.find(meetingID)) throw new Error(`no meeting with meetingID "${meetingID}" on this simulated server`);
    this.registry.end(meetingID, 'control');
  }

  meetings(): SimMeetingSnapshot[] {
    return this.registry.all().map(snapshotMeeting);
  }

  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  resetRequestCounts(): void {
    this.counts = new Map();
    this.log.length = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.pendingDelays) clearTimeout(t);
    this.pendingDelays.clear();
    this.registry.dispose();
    await this.unlisten();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.http.once('error', onError);
      this.http.listen(this.boundPort, this.config.host, () => {
        this.http.off('error', onError);
        this.boundPort = (this.http.address() as AddressInfo).port;
        this.ctx.baseUrl = this.baseUrl;
        this.listening = true;
        resolve();
      });
    });
  }

  private unlisten(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      // Keep-alive sockets would otherwise keep answering: a down server refuses everything.
      this.http.closeAllConnections();
    });
  }

  /** Host BBB would put in playback links; one per simulated server, like real deployments. */
  get recordingHost(): string {
    return `bbb${this.index}.example.com`;
  }

  /** The meeting as it is now, for producing a recording on demand. */
  findMeeting(meetingID: string): Meeting | undefined {
    return this.registry.find(meetingID);
  }

  private onMeetingEnded(meeting: Meeting): void {
    for (const [token, s] of this.sessions) if (s.meetingID === meeting.meetingID) this.sessions.delete(token);
    // BBB archives, processes and publishes after the end; the simulator skips straight to delivery.
    if (meeting.record && this.config.recorder) this.config.recorder.recordEndedMeeting(meeting, this.recordingHost);
    if (!this.config.endCallbacks) return;
    const endCallback = meeting.metadata.find(([k]) => k === 'endcallbackurl')?.[1];
    if (endCallback) fireAndForgetGet(`${endCallback}${endCallback.includes('?') ? '&' : '?'}recordingmarks=false`);
    if (meeting.meetingEndedURL) fireAndForgetGet(meeting.meetingEndedURL);
  }

  private record(entry: SimRequestRecord): void {
    this.log.push(entry);
    if (this.log.length > REQUEST_LOG_SIZE) this.log.shift();
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { path, rawQuery } = splitTarget(req.url ?? '/');
    const action = apiActionForPath(path);
    if (action === undefined) {
      this.serveNonApi(path, rawQuery, res);
      return;
    }
    const name = action === '' ? 'index' : action;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    const entry: SimRequestRecord = { at: Date.now(), method: req.method ?? 'GET', path, action: name, query: rawQuery, status: 0 };
    this.record(entry);
    const send = (status: number, headers: Record<string, string>, body: string | Buffer) => {
      // A slow answer may land after the server went down and cut the socket.
      if (res.destroyed || !res.socket || res.socket.destroyed) return;
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };

    const mode = this.currentMode;
    if (mode.kind === 'failing') {
      this.fail(mode.how, req, send);
      return;
    }

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        send(413, { 'content-type': 'text/plain' }, 'Request Entity Too Large');
        return;
      }
      const answer = () => {
        const result = handleApiCall(this.ctx, {
          method: req.method ?? 'GET',
          action,
          rawQuery,
          body: Buffer.concat(chunks),
          ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        });
        if (mode.kind === 'drip' || mode.kind === 'huge') {
          // The status line goes out at once; only the body is slow or big.
          if (!res.destroyed) entry.status = result.status;
          if (mode.kind === 'drip') dripAnswer(res, result, mode.intervalMs, this.pendingDelays);
          else hugeAnswer(res, result, mode.bytes, mode.declareLength ?? false);
          return;
        }
        send(result.status, result.headers, result.body);
      };
      if (mode.kind === 'slow' && mode.delayMs > 0) {
        const t = setTimeout(() => {
          this.pendingDelays.delete(t);
          answer();
        }, mode.delayMs);
        this.pendingDelays.add(t);
      } else {
        answer();
      }
    });
  }

  private fail(
    how: 'http500' | 'reset' | 'failed-xml' | 'garbage',
    req: http.IncomingMessage,
    send: (status: number, headers: Record<string, string>, body: string | Buffer) => void,
  ): void {
    switch (how) {
      case 'reset':
        // RST rather than FIN, so clients see ECONNRESET like a crashed upstream.
        req.socket.resetAndDestroy();
        return;
      case 'http500':
        send(500, { 'content-type': 'text/html' }, html('500 Internal Server Error', '<h1>500 Internal Server Error</h1><hr><center>nginx</center>'));
        return;
      case 'failed-xml':
        send(200, { 'content-type': XML_CONTENT_TYPE, 'cache-control': 'no-cache' }, renderError('internalError', 'An internal error occurred (simulated failure).'));
        return;
      case 'garbage':
        send(200, { 'content-type': XML_CONTENT_TYPE }, Buffer.from([0x3c, 0x72, 0x65, 0x73, 0x00, 0xff, 0xfe, 0x3c, 0x3c, 0x2f, 0x3e, 0x7b, 0x22]));
        return;
    }
  }

  private serveNonApi(path: string, rawQuery: string, res: http.ServerResponse): void {
    const query = new URLSearchParams(rawQuery);
    if (path === '/html5client/join') {
      // Where join redirects browsers; a 200 page so redirect-following clients end successfully.
      const session = this.sessions.get(query.get('sessionToken') ?? '');
      const meeting = session ? this.registry.find(session.meetingID) : undefined;
      const body =
        session && meeting
          ? `<h1>${escapeXml(meeting.name)}</h1><p>${escapeXml(session.fullName)} joined (simulated HTML5 client).</p>`
          : '<h1>Simulated HTML5 client</h1><p>No active session for this token.</p>';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html('BigBlueButton', body));
      return;
    }
    if (path === '/' || path === '') {
      // Default logout URL; join errors land here with ?errors=[...].
      const errors = query.get('errors');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html(`BigBlueButton simulator #${this.index}`, `<h1>BigBlueButton simulator #${this.index}</h1>${errors ? `<pre>${escapeXml(errors)}</pre>` : ''}`));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not Found');
  }
}
