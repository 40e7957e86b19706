import type { ServerJson } from '../src/api/views/server';

/** A borderless table, as `rake status` prints it. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * A server as the CLI's --json prints it: one type per field, so a script
 * reads `load` as a number or null and never meets "unavailable" or "2.0".
 */
export type ServerOut = Omit<ServerJson, 'load' | 'load_multiplier'> & { load: number | null; load_multiplier: number };

export function serverOut(s: ServerJson): ServerOut {
  return { ...s, load: typeof s.load === 'number' ? s.load : null, load_multiplier: Number(s.load_multiplier) };
}

export function hostnameOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** `rake servers` block for one server. */
export function serverBlock(s: ServerJson): string {
  return [
    `id: ${s.id}`,
    `\turl: ${s.url}`,
    `\tsecret: ${s.secret}`,
    `\t${s.state}`,
    `\tload: ${s.load}`,
    `\tload multiplier: ${s.load_multiplier}`,
    `\tbbb version: ${s.bbb_version}`,
    `\ttag: ${s.tag}`,
    `\t${s.online}`,
    ...(s.poll_error ? [`\tpolls fail since ${s.poll_error.since}: ${s.poll_error.message}`] : []),
  ].join('\n');
}

/** Under the status table: why the polls of a server fail (a wrong secret is the usual reason). */
export function pollErrorNotes(servers: ServerJson[]): string[] {
  return servers.filter((s) => s.poll_error).map((s) => `${hostnameOf(s.url)} (${s.id}): polls fail since ${s.poll_error!.since}: ${s.poll_error!.message}`);
}

export function formatLoad(load: number | string): string {
  return typeof load === 'number' ? (Number.isInteger(load) ? String(load) : load.toFixed(1)) : load;
}

/**
 * The last row of the status table (Scalelite #162, which has none): how many
 * servers are online, the meetings, users and videos summed, and the largest
 * meeting of any server. Load is left blank: a sum of weighted loads means nothing.
 */
export function totalsRow(servers: ServerJson[]): string[] {
  const sum = (pick: (s: ServerJson) => number) => String(servers.reduce((n, s) => n + pick(s), 0));
  const online = servers.filter((s) => s.online === 'online').length;
  return [
    'TOTAL',
    '',
    `${online}/${servers.length} online`,
    sum((s) => s.meetings),
    sum((s) => s.users),
    String(Math.max(0, ...servers.map((s) => s.largest_meeting))),
    sum((s) => s.videos),
    '',
    '',
    '',
  ];
}

export function statusTable(servers: ServerJson[]): string {
  const sorted = [...servers].sort((a, b) => hostnameOf(a.url).localeCompare(hostnameOf(b.url)) || a.id.localeCompare(b.id));
  const rows = sorted.map((s) => [
    hostnameOf(s.url),
    s.state,
    s.online,
    String(s.meetings),
    String(s.users),
    String(s.largest_meeting),
    String(s.videos),
    formatLoad(s.load),
    s.bbb_version,
    s.tag,
  ]);
  return table(
    ['HOSTNAME', 'STATE', 'STATUS', 'MEETINGS', 'USERS', 'LARGEST MEETING', 'VIDEOS', 'LOAD', 'BBB VERSION', 'TAG'],
    servers.length > 0 ? [...rows, totalsRow(servers)] : rows,
  );
}
