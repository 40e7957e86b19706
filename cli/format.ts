/** A borderless table, as `rake status` prints it. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export interface ServerJson {
  id: string;
  url: string;
  secret: string;
  tag: string;
  bbb_version: string;
  state: string;
  load: number | string;
  load_multiplier: string;
  online: string;
  meetings: number;
  users: number;
  largest_meeting: number;
  videos: number;
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
  ].join('\n');
}

export function formatLoad(load: number | string): string {
  return typeof load === 'number' ? (Number.isInteger(load) ? String(load) : load.toFixed(1)) : load;
}

export function statusTable(servers: ServerJson[]): string {
  const sorted = [...servers].sort((a, b) => hostnameOf(a.url).localeCompare(hostnameOf(b.url)) || a.id.localeCompare(b.id));
  return table(
    ['HOSTNAME', 'STATE', 'STATUS', 'MEETINGS', 'USERS', 'LARGEST MEETING', 'VIDEOS', 'LOAD', 'BBB VERSION', 'TAG'],
    sorted.map((s) => [
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
    ]),
  );
}
