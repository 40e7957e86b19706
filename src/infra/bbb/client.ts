import { isAscii } from 'node:buffer';
import { Agent, Dispatcher } from 'undici';
import type { BbbCallOptions, BbbEndpoint, BbbGateway, BbbReply, Params } from '../../poller/ports';
import { ChecksumAlgorithm, signedQuery } from './checksum';
import { parseXml, XmlNode } from './xml';
import { childText, scanXml, ScannedXml } from './xml-scan';

export interface BbbClientSettings {
  algorithm: ChecksumAlgorithm;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** the largest reply body read, in bytes (default DEFAULT_MAX_REPLY_BYTES) */
  maxReplyBytes?: number;
  userAgent?: string;
}

/**
 * 16 MiB. A getMeetings of a busy BBB server (150 users) is well under 1 MiB, so
 * this only stops a reply that would cost the balancer its memory: a valid 100 MiB
 * answer took it from ~850 MB to ~2.2 GB RSS and stalled joins (issue 15).
 */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** An HTTP error page is read this far for the keep-alive connection's sake, then the connection is dropped. */
const ERROR_BODY_DRAIN_BYTES = 64 * 1024;

export const apiBase = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

/** A signed URL for a BBB API call (join redirects use it without calling). */
export function signedUrl(algorithm: ChecksumAlgorithm, server: BbbEndpoint, action: string, params: Params): string {
  return `${apiBase(server.url)}${action}?${signedQuery(algorithm, action, params, server.secret)}`;
}

/** How long one kind of call may take: per phase (undici's timeouts) and as a whole. */
interface CallBudget {
  agent: Agent;
  responseMs: number;
  deadlineMs: number;
}

/**
 * Calls BBB servers: signed with each server's secret, keep-alive connections,
 * bounded in time and in size.
 *
 * undici's headersTimeout and bodyTimeout are idle timeouts (the body one is per
 * chunk), so a server that sends a byte every few seconds would hold a call, a
 * join and a poller worker for as long as it likes and never be marked offline
 * (issue 15). Each call therefore also has a total deadline: CONNECT_TIMEOUT +
 * RESPONSE_TIMEOUT (15 s at the defaults) for connecting, the headers and the
 * whole body together, i.e. the connection gets its connect budget and BBB gets
 * RESPONSE_TIMEOUT for its complete answer. A server believed offline gets the
 * reduced pair (Scalelite: docs/scalelite-behaviour.md §1.4), 1 s + 1 s at the defaults.
 */
export class BbbClient implements BbbGateway {
  private readonly full: CallBudget;
  private readonly short: CallBudget;
  private readonly maxReplyBytes: number;

  constructor(private readonly settings: BbbClientSettings) {
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const read = settings.responseTimeoutMs;
    const shortConnectMs = clamp(read / 10, 200, read);
    const shortResponseMs = clamp(read / 10, 500, read);
    this.full = {
      agent: new Agent({ connect: { timeout: settings.connectTimeoutMs }, keepAliveTimeout: 30_000, connections: 64 }),
      responseMs: read,
      deadlineMs: settings.connectTimeoutMs + read,
    };
    this.short = {
      agent: new Agent({ connect: { timeout: shortConnectMs }, keepAliveTimeout: 30_000, connections: 16 }),
      responseMs: shortResponseMs,
      deadlineMs: shortConnectMs + shortResponseMs,
    };
    this.maxReplyBytes = settings.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  }

  signedUrl(server: BbbEndpoint, action: string, params: Params): string {
    return signedUrl(this.settings.algorithm, server, action, params);
  }

  call(server: BbbEndpoint, action: string, params: Params, options: BbbCallOptions = {}): Promise<BbbReply> {
    return this.read(server, action, params, (reply) => reply, options);
  }

  async read<T>(server: BbbEndpoint, action: string, params: Params, read: (reply: BbbReply) => T, options: BbbCallOptions = {}): Promise<T> {
    const received = await this.receive(server, action, params, options);
    // Interpreted and read with no await between: until then only the bytes are held (see BbbGateway.read).
    return read(Buffer.isBuffer(received) ? interpretReply(received.toString('utf8'), received) : received);
  }

  /** The reply's bytes, or why there are none. */
  private receive(server: BbbEndpoint, action: string, params: Params, options: BbbCallOptions): Promise<Buffer | BbbReply> {
    const budget = options.short ? this.short : this.full;
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(this.signedUrl(server, action, params));
      } catch (err) {
        return resolve({ kind: 'unreachable', error: describe(err) });
      }
      const collector = new ReplyCollector(this.maxReplyBytes, budget.deadlineMs, resolve);
      budget.agent.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: options.body === undefined ? 'GET' : 'POST',
          body: options.body,
          headers: {
            ...(options.body === undefined ? {} : { 'content-type': 'application/xml' }),
            'user-agent': this.settings.userAgent ?? 'scalelite-es',
          },
          headersTimeout: budget.responseMs,
          bodyTimeout: budget.responseMs,
        },
        collector,
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.full.agent.close(), this.short.agent.close()]);
  }
}

/**
 * One call's reply, gathered straight from undici's dispatcher: the body as bytes, or
 * why there is none. This is undici's `request` without its body stream, async iterator,
 * AbortController and promise per chunk: a 100-server getMeetings or a poll of the pool
 * makes a call per server, and that machinery was 15-20% of each call's CPU and most of
 * what a call in flight kept alive (issue 9).
 *
 * The body is given up as soon as it is known to pass the limit: from its declared length
 * before any of it is read, else as soon as the count passes it. Chunks are kept as bytes
 * and decoded once by the caller, so a character split across chunks survives. Giving up
 * (and the deadline) aborts the request, which destroys its connection: the rest is never read.
 */
class ReplyCollector implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly limit: number,
    deadlineMs: number,
    private readonly resolve: (received: Buffer | BbbReply) => void,
  ) {
    this.timer = setTimeout(() => this.giveUp({ kind: 'unreachable', error: `timeout: no complete answer within ${deadlineMs} ms` }), deadlineMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The deadline passed while the call waited for a connection: it is not sent at all.
    if (this.settled) controller.abort(new Error('deadline passed'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // an informational answer; the real one follows
    this.status = statusCode;
    if (statusCode >= 400) return;
    const length = headers['content-length'];
    const declared = Number(Array.isArray(length) ? length[0] : length);
    if (Number.isFinite(declared) && declared > this.limit) this.giveUp(this.tooLarge());
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    // An error page: the status says it all; whatever the page holds, it is read for the
    // keep-alive connection's sake up to a small limit, then the connection is dropped.
    if (this.status >= 400) {
      if (this.size > ERROR_BODY_DRAIN_BYTES) this.giveUp(this.httpError());
      return;
    }
    if (this.size > this.limit) return this.giveUp(this.tooLarge());
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.status >= 400) return this.settle(this.httpError());
    // One chunk (most replies): kept as it came, without a copy; it views its own socket read, which nothing reuses.
    this.settle(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle({ kind: 'unreachable', error: describe(error) });
  }

  /** Unreachable rather than invalid: the poller counts it as a failed poll, and the LMS gets Scalelite's "Unable to … on server." instead of our limit. */
  private tooLarge(): BbbReply {
    return { kind: 'unreachable', error: `reply larger than ${this.limit} bytes` };
  }

  private httpError(): BbbReply {
    return { kind: 'unreachable', error: `HTTP ${this.status}` };
  }

  private giveUp(reply: BbbReply): void {
    if (this.settled) return;
    this.settle(reply);
    this.controller?.abort(new Error(reply.kind === 'unreachable' ? reply.error : 'given up'));
  }

  private settle(received: Buffer | BbbReply): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.chunks.length = 0;
    this.resolve(received);
  }
}

/**
 * How deep a reply's elements are recorded: the deepest read is a meeting's metadata,
 * response > meetings > meeting > metadata > tenant-id (4). Attendees' fields, most of
 * a busy server's getMeetings, are checked but not recorded.
 */
export const REPLY_READ_DEPTH = 4;

/** Read a BBB reply: SUCCESS, a FAILED to pass through, or something that is not a BBB answer. */
export function interpretReply(text: string, bytes?: Buffer): BbbReply {
  const scanned = scanXml(text, REPLY_READ_DEPTH);
  const response = scanned?.root;
  if (!scanned || response?.name !== 'response') return { kind: 'invalid', error: 'Response did not include returncode' };
  const returncode = childText(scanned, response, 'returncode');
  if (returncode === undefined) return { kind: 'invalid', error: 'Response did not include returncode' };
  if (returncode === 'SUCCESS') return new SuccessReply(text, scanned, bytes !== undefined && isAscii(bytes) ? bytes : undefined);
  return { kind: 'failed', messageKey: childText(scanned, response, 'messageKey') ?? '', message: childText(scanned, response, 'message') ?? '' };
}

/**
 * A SUCCESS reply. A class, not an object literal with a `get doc()`: V8 keeps a literal's
 * getter in an AccessorPair it allocates in the old generation, and that old object kept
 * the closure, and through it the reply's text, alive past every young collection. A
 * 100-server getMeetings promoted all its replies' text (5.5 MB) that way, and the major
 * collections that followed held joins for 5-30 ms (issue 9). A getter on the prototype
 * costs no object per reply.
 */
class SuccessReply {
  readonly kind = 'success' as const;
  private parsed: XmlNode | undefined = undefined;

  constructor(
    readonly body: string,
    readonly scanned: ScannedXml,
    readonly asciiBytes: Buffer | undefined,
  ) {}

  get doc(): XmlNode {
    // The scan found it well-formed, so the parse cannot fail; {} keeps the type honest if it ever did.
    this.parsed ??= parseXml(this.body) ?? {};
    return this.parsed;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return [code, err.message, cause?.code].filter(Boolean).join(': ');
  }
  return String(err);
}
