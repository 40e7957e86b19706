import type { XmlNode } from '../infra/bbb/xml';
import type { ScannedXml } from '../infra/bbb/xml-scan';
import type { PollSummary } from './poller';

/*
 * The ports the poller needs, declared here because it is the lowest room that
 * needs them: the API (create, end, getMeetings, the admin's server checks) uses
 * the BBB gateway too, and already depends on the poller. The adapters are in
 * src/infra: the undici client (bbb/client.ts), its metered wrapper
 * (bbb/metered.ts) and the Redis poll channel (redis/redis-poll-channel.ts).
 */

export interface BbbEndpoint {
  /** API base, e.g. https://bbb1.example.com/bigbluebutton/api */
  url: string;
  secret: string;
}

export type BbbReply =
  | {
      kind: 'success';
      body: string;
      /** where each element of the body lies: for the hot paths (getMeetings, polls) that copy or read a few fields */
      scanned: ScannedXml;
      /** the body as received, when it is all ASCII: its byte offsets are the scan's, so parts can be copied as bytes */
      asciiBytes?: Buffer;
      /** the body as plain objects, parsed the first time it is read */
      readonly doc: XmlNode;
    }
  | { kind: 'failed'; messageKey: string; message: string }
  | { kind: 'unreachable'; error: string }
  | { kind: 'invalid'; error: string };

export interface BbbCallOptions {
  /** XML body (pre-uploaded slides, insertDocument): sent as a POST */
  body?: string;
  /** reduced timeouts and deadline, for servers believed offline (Scalelite §1.4) */
  short?: boolean;
}

export type Params = Array<[string, string]>;

/** How the balancer talks to BBB servers (the undici client, or anything that behaves like it). */
export interface BbbGateway {
  call(server: BbbEndpoint, action: string, params: Params, options?: BbbCallOptions): Promise<BbbReply>;
  /**
   * A call whose reply is handed to `read` the moment it is interpreted, and only what
   * `read` returns is kept. A getMeetings or a poll pass calls many servers at once: kept
   * whole until their continuations ran, their replies' text and elements outlived young
   * collections by the hundred, and each collection paused the process for 5–20 ms (issue 9).
   */
  read<T>(server: BbbEndpoint, action: string, params: Params, read: (reply: BbbReply) => T, options?: BbbCallOptions): Promise<T>;
  signedUrl(server: BbbEndpoint, action: string, params: Params): string;
}

/**
 * "Poll now" across processes: an api process asks, the active poller (wherever
 * it runs) polls and answers. Only separate roles need one; in one process the
 * poller is called directly.
 */
export interface PollChannel {
  /** Ask the active poller for a pass and wait for its summary. */
  pollNow(timeoutMs: number): Promise<PollSummary>;
  /** Answer requests with `poll` (which returns null when this process is not the active poller). */
  serve(poll: () => Promise<PollSummary | null>): Promise<void>;
  close(): Promise<void>;
}
