import { BbbCallOptions, BbbEndpoint, BbbGateway, BbbReply, Params } from '../../poller/ports';

/** Told of each call to a BBB server: its URL, the API call, how it went and how long it took. */
export type BbbCallObserver = (call: { url: string; action: string; outcome: BbbReply['kind']; seconds: number }) => void;

/** A BBB gateway that tells an observer of every call (the metrics, the access log's upstream). */
export class ObservedBbbGateway implements BbbGateway {
  constructor(
    private readonly inner: BbbGateway,
    private readonly observe: BbbCallObserver,
  ) {}

  async call(server: BbbEndpoint, action: string, params: Params, options?: BbbCallOptions): Promise<BbbReply> {
    const started = process.hrtime.bigint();
    const reply = await this.inner.call(server, action, params, options);
    this.observe({ url: server.url, action: action || 'version', outcome: reply.kind, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    return reply;
  }

  signedUrl(server: BbbEndpoint, action: string, params: Params): string {
    return this.inner.signedUrl(server, action, params);
  }
}
