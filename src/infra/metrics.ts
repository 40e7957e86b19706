import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PollFailureReason } from '../events/catalog';
import { Server, ServerState } from '../projections/pool';
import { ImporterStatus } from '../recordings/importer';

/*
 * Prometheus metrics (prom-client), one registry per process, labelled with the
 * process's role: every role serves them (the api on its port, the others on
 * METRICS_PORT). Instruments are fed where things happen (a request answered, a
 * BBB call made, a poll, a decision); gauges of the shared state are read from
 * the read models at scrape time. No secret and no URL path is ever a label.
 * deploy/README.md says how to scrape them; deploy/prometheus and deploy/grafana use them.
 */

const SERVER_STATES: ServerState[] = ['enabled', 'cordoned', 'disabled'];

/** Seconds: from a join answered from memory (~ms) to a create on a slow server (~s). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The host of a server URL: the label of a BBB server where its id is not known. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** What the read-model gauges read at scrape time; each role gives what it has. */
export interface StateSources {
  logHead(): Promise<number>;
  /** models and their checkpoints (pool, history, recordings) */
  checkpoints: Record<string, () => Promise<number>>;
  servers?: () => Promise<Server[]>;
  routesPerServer?: () => Promise<Map<string, number>>;
  parkedEvents?: () => Promise<number>;
  readModelRebuilds?: () => Promise<number>;
  importer?: () => Promise<ImporterStatus | null>;
}

export class Metrics {
  readonly registry = new Registry();

  /** requests answered, by route (bbb, admin, playback, fsapi, other), call and outcome (a BBB messageKey or an HTTP status) */
  readonly requests = new Histogram({
    name: 'scalelite_http_request_duration_seconds',
    help: 'Requests answered, by route, call and outcome (a BBB messageKey, SUCCESS, redirect, or the HTTP status).',
    labelNames: ['route', 'call', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly bbbCalls = new Histogram({
    name: 'scalelite_bbb_call_duration_seconds',
    help: 'Calls to BBB servers, by server host, API call and outcome (success, failed, unreachable, invalid).',
    labelNames: ['host', 'call', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly pollPasses = new Histogram({
    name: 'scalelite_poll_pass_duration_seconds',
    help: 'Poll passes over the whole pool.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60],
    registers: [this.registry],
  });

  readonly pollFailures = new Counter({
    name: 'scalelite_poll_failures_total',
    help: 'Failed polls of a server, by reason (unreachable, timeout, httpError, checksumError, failed, malformed).',
    labelNames: ['server_id', 'reason'] as const,
    registers: [this.registry],
  });

  readonly lockWait = new Histogram({
    name: 'scalelite_decision_lock_wait_seconds',
    help: 'Time a decision waited for the read model and the decision lock.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly lockHold = new Histogram({
    name: 'scalelite_decision_lock_hold_seconds',
    help: 'Time a decision held the decision lock (decide, append, wait for its projection).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly appended = new Counter({
    name: 'scalelite_events_appended_total',
    help: 'Events this process appended to the log, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /** `worker`: this process is that api worker (WEB_CONCURRENCY); its series carry the number, and the primary gathers them. */
  constructor(role: string, worker?: number) {
    this.registry.setDefaultLabels(worker === undefined ? { role } : { role, worker: String(worker) });
    if (worker !== undefined) {
      // Constructing one is what makes prom-client answer the primary's requests in a worker.
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([this.registry]);
    }
    collectDefaultMetrics({ register: this.registry });
    // prom-client's totals of handles, requests and resources are gauges named _total, which
    // promtool check metrics refuses (prometheus/client_js#283); the per-type gauges stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }

  /**
   * A request answered. The labelled child is kept per label set: prom-client would hash
   * the labels object of every request, and join is the hot path.
   */
  answered(route: string, call: string, outcome: string, seconds: number): void {
    const key = `${route}\u0000${call}\u0000${outcome}`;
    let child = this.requestSeries.get(key);
    if (!child) this.requestSeries.set(key, (child = this.requests.labels({ route, call, outcome })));
    child.observe(seconds);
  }

  private readonly requestSeries = new Map<string, { observe(value: number): void }>();

  /** A poll outcome: failures are counted by reason. */
  polled(serverId: string, failure: PollFailureReason | null): void {
    if (failure) this.pollFailures.inc({ server_id: serverId, reason: failure });
  }

  /** What /health_check on METRICS_PORT reads, once watch() has been given it. */
  private sources: StateSources | null = null;

  /**
   * Throws with a reason when a backend this process reads does not answer: the log head and
   * each read model's checkpoint, as the api's /health_check reads them.
   */
  async healthCheck(): Promise<void> {
    const sources = this.sources;
    if (!sources) throw new Error('starting');
    await sources.logHead();
    for (const checkpoint of Object.values(sources.checkpoints)) await checkpoint();
  }

  /** The gauges read from the shared state at each scrape. */
  watch(sources: StateSources): void {
    this.sources = sources;
    const registers = [this.registry];
    const caughtUpAt = new Map<string, number>();
    const head = () => sources.logHead();
    new Gauge({
      name: 'scalelite_event_log_head',
      help: 'Offset of the last event in the log.',
      registers,
      async collect() {
        this.set(await head());
      },
    });
    // One scrape reads the head and the checkpoints once; both lag gauges share that reading.
    let lags: Promise<Array<{ model: string; events: number; seconds: number }>> | null = null;
    const readLags = () =>
      (lags ??= (async () => {
        const at = await head();
        const now = Date.now();
        const out: Array<{ model: string; events: number; seconds: number }> = [];
        for (const [model, checkpoint] of Object.entries(sources.checkpoints)) {
          const events = Math.max(0, at - (await checkpoint()));
          if (events === 0 || !caughtUpAt.has(model)) caughtUpAt.set(model, now);
          out.push({ model, events, seconds: events === 0 ? 0 : (now - caughtUpAt.get(model)!) / 1000 });
        }
        return out;
      })().finally(() => setImmediate(() => (lags = null))));
    new Gauge({
      name: 'scalelite_read_model_lag_events',
      help: 'Events in the log not yet applied to a read model.',
      labelNames: ['model'] as const,
      registers,
      async collect() {
        for (const l of await readLags()) this.set({ model: l.model }, l.events);
      },
    });
    new Gauge({
      name: 'scalelite_read_model_lag_seconds',
      help: 'How long a read model has not held the whole log, as seen by this process at its scrapes (0 when it does).',
      labelNames: ['model'] as const,
      registers,
      async collect() {
        for (const l of await readLags()) this.set({ model: l.model }, l.seconds);
      },
    });
    if (sources.servers) this.watchServers(sources.servers);
    if (sources.routesPerServer) {
      const routes = sources.routesPerServer;
      new Gauge({
        name: 'scalelite_meeting_routes',
        help: 'Meetings the balancer routes to each server.',
        labelNames: ['server_id'] as const,
        registers,
        async collect() {
          this.reset();
          for (const [serverId, n] of await routes()) this.set({ server_id: serverId }, n);
        },
      });
    }
    if (sources.parkedEvents) {
      const parked = sources.parkedEvents;
      new Gauge({
        name: 'scalelite_parked_events',
        help: 'Events a read model could not apply, set aside (see scalelite status).',
        registers,
        async collect() {
          this.set(await parked());
        },
      });
    }
    if (sources.readModelRebuilds) {
      const rebuilds = sources.readModelRebuilds;
      new Counter({
        name: 'scalelite_read_model_rebuilds_total',
        help: 'Read models a projector found lost or foreign and rebuilt from the log by itself (ReadModelRebuilt events).',
        registers,
        async collect() {
          // counted in the log, so every process says the same and a restart loses nothing
          this.reset();
          this.inc(await rebuilds());
        },
      });
    }
    if (sources.importer) this.watchImporter(sources.importer);
  }

  private watchServers(servers: () => Promise<Server[]>): void {
    const registers = [this.registry];
    // One scrape reads the servers once; the gauges below share that reading.
    let reading: Promise<Server[]> | null = null;
    const read = () => (reading ??= servers().finally(() => setImmediate(() => (reading = null))));
    const perServer = (name: string, help: string, pick: (s: Server) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['server_id', 'host'] as const,
        registers,
        async collect() {
          this.reset();
          for (const s of await read()) {
            const value = pick(s);
            if (value !== null) this.set({ server_id: s.id, host: hostOf(s.url) }, value);
          }
        },
      });
    perServer('scalelite_server_online', 'Whether the server answered its last polls (1) or not (0).', (s) => (s.online ? 1 : 0));
    perServer('scalelite_server_load', 'The load the balancer places by (absent while unknown).', (s) => s.load);
    perServer('scalelite_server_load_multiplier', 'The server load multiplier.', (s) => s.loadMultiplier);
    perServer('scalelite_server_meetings', 'Meetings the last poll found on the server.', (s) => s.meetings);
    perServer('scalelite_server_users', 'Users the last poll found on the server.', (s) => s.users);
    perServer('scalelite_server_videos', 'Video streams the last poll found on the server.', (s) => s.videos);
    perServer('scalelite_server_largest_meeting', 'Users in the largest meeting on the server.', (s) => s.largestMeeting);
    // The state is its own series: a state change moves a 1, it does not start new series for every gauge.
    new Gauge({
      name: 'scalelite_server_state',
      help: 'The server state an admin set: 1 for its current state (enabled, cordoned, disabled), 0 for the others.',
      labelNames: ['server_id', 'host', 'state'] as const,
      registers,
      async collect() {
        this.reset();
        for (const s of await read()) for (const state of SERVER_STATES) this.set({ server_id: s.id, host: hostOf(s.url), state }, s.state === state ? 1 : 0);
      },
    });
    new Gauge({
      name: 'scalelite_server_poll_failing',
      help: 'Why the polls of a server fail (1, labelled by reason): checksumError means its secret does not match.',
      labelNames: ['server_id', 'host', 'reason'] as const,
      registers,
      async collect() {
        this.reset();
        for (const s of await read()) if (s.pollFailure) this.set({ server_id: s.id, host: hostOf(s.url), reason: s.pollFailure.reason }, 1);
      },
    });
  }

  private watchImporter(status: () => Promise<ImporterStatus | null>): void {
    const registers = [this.registry];
    let reading: Promise<ImporterStatus | null> | null = null;
    const read = () => (reading ??= status().finally(() => setImmediate(() => (reading = null))));
    new Gauge({
      name: 'scalelite_importer_active',
      help: 'Whether this process is the active recording importer.',
      registers,
      async collect() {
        const i = await read();
        this.set(i && i.running && i.leading ? 1 : 0);
      },
    });
    new Gauge({
      name: 'scalelite_importer_queued',
      help: 'Recording tarballs waiting in the spool dir.',
      registers,
      async collect() {
        this.set((await read())?.queued ?? 0);
      },
    });
    const counter = (name: string, help: string, pick: (i: ImporterStatus) => number) =>
      new Counter({
        name,
        help,
        registers,
        async collect() {
          this.reset();
          const i = await read();
          if (i) this.inc(pick(i));
        },
      });
    counter('scalelite_importer_imported_total', 'Recordings this process imported since it started.', (i) => i.imported);
    counter('scalelite_importer_failed_total', 'Tarballs this process could not import since it started.', (i) => i.failed);
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The request listener of METRICS_PORT: /metrics, and /health_check for the roles without
   * the API (a container's healthcheck, bin/healthcheck.js): `success` as the api says it, or
   * a 503 with the failure.
   */
  listener(logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/health_check') {
        this.healthCheck().then(
          () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('success'),
          (err: unknown) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`Health Check Failure: ${err instanceof Error ? err.message : String(err)}`),
        );
        return;
      }
      if (path !== '/metrics') return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
      this.render().then(
        (text) => res.writeHead(200, { 'Content-Type': this.contentType }).end(text),
        (err: unknown) => {
          logger.warn({ err }, 'metrics could not be collected');
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics could not be collected\n');
        },
      );
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
