import { BbbCallOptions, BbbEndpoint, BbbGateway, BbbReply, Params } from '../../poller/ports';

/** Told of each call to a BBB server: its URL, the API call, how it went and how long it took. */
export type BbbCallObserver = (call: { url: string; action: string; outcome: BbbReply['kind']; seconds: number }) => void;

/** A BBB gateway that tells an observer of every call (the metrics, the access log's upstream). */
export class ObservedBbbGateway implements BbbGateway {
  constructor(
    private readonly inner: BbbGateway,
    private readonly observe: BbbCallObserver,
  ) {}

  call(server: BbbEndpoint, action: string, params: Params, options?: BbbCallOptions): Promise<BbbReply> {
    return this.read(server, action, params, (reply) => reply, options);
  }

  read<T>(server: BbbEndpoint, action: string, params: Params, read: (reply: BbbReply) => T, options?: BbbCallOptions): Promise<T> {
    const started = process.hrtime.bigint();
    return this.inner.read(
      server,
      action,
      params,
      (reply) => {
        this.observe({ url: server.url, action: action || 'version', outcome: reply.kind, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
        return read(reply);
      },
      options,
    );
  }

  signedUrl(server: BbbEndpoint, action: string, params: Params): string {
    return this.inner.signedUrl(server, action, params);
  }
}
