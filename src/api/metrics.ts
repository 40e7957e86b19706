import { Meeting, Server } from '../projections/pool';
import { ImporterStatus } from '../recordings/importer';

/*
 * Prometheus metrics (text exposition format 0.0.4): what an admin graphs and
 * alerts on. Per-server load, users, meetings and online state; how far the read
 * models are behind the log; the importer's queue. No secret, no URL path.
 */

export interface MetricsInput {
  servers: Server[];
  meetings: Meeting[];
  logHead: number;
  poolCheckpoint: number;
  recordingsCheckpoint: number;
  historyCheckpoint: number;
  /** events set aside because a projection could not apply them */
  parkedEvents: number;
  /** stores the projectors rebuilt from the log by themselves (ReadModelRebuilt events) */
  readModelRebuilds: number;
  importer: ImporterStatus | null;
}

type Labels = Record<string, string>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
};

function hostOfUrl(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** The metrics document; pure, so a test can read exactly what a scrape gets. */
export function renderMetrics(input: MetricsInput): string {
  const lines: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Labels, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${Number.isFinite(value) ? value : 'NaN'}`);
  };
  const perServer = (pick: (s: Server) => number | null) =>
    input.servers
      .map((s) => [{ server_id: s.id, host: hostOfUrl(s.url), state: s.state }, pick(s)] as [Labels, number | null])
      .filter((x): x is [Labels, number] => x[1] !== null);
  family('scalelite_server_online', 'gauge', 'Whether the server answered its last polls (1) or not (0).', perServer((s) => (s.online ? 1 : 0)));
  family('scalelite_server_load', 'gauge', 'The server load the balancer places by (absent while unknown).', perServer((s) => s.load));
  family('scalelite_server_load_multiplier', 'gauge', 'The server load multiplier.', perServer((s) => s.loadMultiplier));
  family('scalelite_server_meetings', 'gauge', 'Meetings the last poll found on the server.', perServer((s) => s.meetings));
  family('scalelite_server_users', 'gauge', 'Users the last poll found on the server.', perServer((s) => s.users));
  family('scalelite_server_videos', 'gauge', 'Video streams the last poll found on the server.', perServer((s) => s.videos));
  family('scalelite_server_largest_meeting', 'gauge', 'Users in the largest meeting on the server.', perServer((s) => s.largestMeeting));
  const routes = new Map<string, number>();
  for (const m of input.meetings) routes.set(m.serverId, (routes.get(m.serverId) ?? 0) + 1);
  family(
    'scalelite_meeting_routes',
    'gauge',
    'Meetings the balancer routes to each server.',
    [...routes].map(([serverId, n]) => [{ server_id: serverId }, n]),
  );
  family('scalelite_event_log_head', 'gauge', 'Offset of the last event in the log.', [[{}, input.logHead]]);
  family('scalelite_read_model_lag_events', 'gauge', 'Events in the log not yet applied to a read model.', [
    [{ model: 'pool' }, Math.max(0, input.logHead - input.poolCheckpoint)],
    [{ model: 'recordings' }, Math.max(0, input.logHead - input.recordingsCheckpoint)],
    [{ model: 'history' }, Math.max(0, input.logHead - input.historyCheckpoint)],
  ]);
  family('scalelite_parked_events', 'gauge', 'Events a read model could not apply, set aside (see scalelite status).', [[{}, input.parkedEvents]]);
  family('scalelite_read_model_rebuilds_total', 'counter', 'Read models a projector found lost or foreign and rebuilt from the log by itself.', [[{}, input.readModelRebuilds]]);
  if (input.importer) {
    const i = input.importer;
    family('scalelite_importer_active', 'gauge', 'Whether this process is the active recording importer.', [[{}, i.running && i.leading ? 1 : 0]]);
    family('scalelite_importer_queued', 'gauge', 'Recording tarballs waiting in the spool dir.', [[{}, i.queued]]);
    family('scalelite_importer_imported_total', 'counter', 'Recordings this process imported since it started.', [[{}, i.imported]]);
    family('scalelite_importer_failed_total', 'counter', 'Tarballs this process could not import since it started.', [[{}, i.failed]]);
  }
  return `${lines.join('\n')}\n`;
}
