import { Document, isAlias, isMap, isScalar, isSeq, parseDocument, Scalar, visit, YAMLMap } from 'yaml';
import { LIMITS } from '../events/catalog';
import { Server } from '../projections/pool';
import { normaliseTag } from './servers';

/*
 * `servers:sync` and `servers:yaml` (reference §6): declare the pool in a YAML
 * file and converge on it. Parsing validates the whole file before anything
 * changes; planning is a pure diff of that file against the pool, as an
 * ordered list of steps the caller executes through the write side (or only
 * logs, in a dry run). Each step carries the log lines Scalelite prints, so
 * scripts that watch those lines keep working.
 *
 * YAML is read and written as YAML 1.1, the dialect of Ruby's Psych that
 * Scalelite uses: files written for Scalelite mean the same here (`enabled:
 * no` is false), and strings such as `no` or `0x1F` are quoted on output so
 * they read back as strings.
 */

export interface DesiredServer {
  url: string;
  secret: string;
  enabled: boolean;
  loadMultiplier: number;
  tag: string | null;
}

export type SyncMode = 'keep' | 'cordon' | 'force';
export const SYNC_MODES: readonly SyncMode[] = ['keep', 'cordon', 'force'];

const SERVER_PARAMS = ['url', 'secret', 'enabled', 'load_multiplier', 'tag'];
/** Written by `servers:yaml verbose`; accepted so its output can be fed back. */
const IGNORED_PARAMS = ['load', 'state', 'bbb_version', 'online'];
const ID_PATTERN = /^[A-Za-z0-9_.-]+$/;
const MAX_ID_LENGTH = 255;

const YAML_OPTIONS = { version: '1.1' } as const;

/**
 * A scalar field as text. A plain scalar YAML types as something else
 * (`secret: 0x1F` or `secret: 0777` are numbers in YAML 1.1) keeps the text
 * the operator wrote: Psych would hand Scalelite the number and store "31".
 */
function text(node: unknown): string | null | { invalid: true } {
  if (node === null || node === undefined) return null;
  if (!isScalar(node)) return { invalid: true };
  if (node.value === null) return null;
  if (typeof node.value === 'string') return node.value;
  return node.source ?? String(node.value);
}

const isNull = (node: unknown): boolean => node === null || node === undefined || (isScalar(node) && node.value === null);

/** How a rejected value is shown in an error. */
function shown(node: unknown): string {
  if (!isScalar(node)) return isSeq(node) ? 'a list' : 'a hash';
  // A quoted string is shown quoted, so `enabled: 'false'` does not read as the boolean.
  if (typeof node.value === 'string' && node.type !== 'PLAIN') return JSON.stringify(node.value);
  return node.source ?? String(node.value);
}

const rubyArray = (names: string[]) => `[${names.map((n) => JSON.stringify(n)).join(', ')}]`;

/** Float#to_s style: 1 → "1.0", 2.5 → "2.5", as Scalelite logs a YAML float. */
const formatFloat = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));

/** Parse and validate a servers:sync document; any problem is an error and nothing is planned. */
export function parseServersYaml(source: string): { servers: Map<string, DesiredServer> } | { error: string } {
  const doc = parseDocument(source, { ...YAML_OPTIONS, prettyErrors: false });
  if (doc.errors.length > 0) return { error: `Invalid YAML document: ${doc.errors[0].message}` };
  // Aliases stand for what they point at (Psych's safe_load refuses them; accepting them costs nothing).
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  const root = deref(doc.contents);
  if (!isMap(root)) return { error: 'Invalid YAML document' };
  const serversNode = deref(root.get('servers', true));
  if (!isMap(serversNode)) return { error: 'Servers parameter not a hash' };

  const servers = new Map<string, DesiredServer>();
  for (const item of serversNode.items) {
    const id = text(deref(item.key));
    if (typeof id !== 'string') return { error: 'Server ids must be plain names' };
    if (!ID_PATTERN.test(id)) return { error: `Server id=${id} contains invalid characters` };
    if (id.length > MAX_ID_LENGTH) return { error: `Server id=${id} is too long (at most ${MAX_ID_LENGTH} characters)` };
    if (servers.has(id)) return { error: `Server id=${id} is listed twice` };

    const value = deref(item.value);
    if (!isNull(value) && !isMap(value)) return { error: `Server id=${id} has parameters that are not a hash` };
    const fields = new Map<string, unknown>();
    if (isMap(value)) {
      for (const f of value.items) {
        const name = text(deref(f.key));
        if (typeof name !== 'string') return { error: `Server id=${id} has a parameter that is not a name` };
        fields.set(name, deref(f.value));
      }
    }

    const secret = text(fields.get('secret'));
    if (typeof secret !== 'string' || secret.trim() === '') return { error: `Server id=${id} has no secret` };

    const bad = [...fields.keys()].filter((k) => !SERVER_PARAMS.includes(k) && !IGNORED_PARAMS.includes(k));
    if (bad.length > 0) return { error: `Server id=${id} has bad parameters: ${rubyArray(bad)}` };

    const lmNode = fields.get('load_multiplier');
    let loadMultiplier = 1;
    if (!isNull(lmNode)) {
      const raw = isScalar(lmNode) ? lmNode.value : undefined;
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n) || n <= 0) return { error: `Server id=${id} has invalid load_multiplier=${shown(lmNode)}` };
      loadMultiplier = n;
    }

    const urlNode = fields.get('url');
    const urlText = text(urlNode);
    if (urlText !== null && typeof urlText !== 'string') return { error: `Server id=${id} has invalid url=${shown(urlNode)}` };
    const url = urlText ?? `https://${id}/bigbluebutton/api`;
    if (!isHttpUrl(url)) return { error: `Server id=${id} has invalid url=${url}` };

    const enabledNode = fields.get('enabled');
    let enabled = true;
    if (!isNull(enabledNode)) {
      // Scalelite takes any value but false as true, so `enabled: "false"` (quoted) enables; refuse rather than guess.
      if (!isScalar(enabledNode) || typeof enabledNode.value !== 'boolean') {
        return { error: `Server id=${id} has invalid enabled=${shown(enabledNode)} (expected true or false)` };
      }
      enabled = enabledNode.value;
    }

    const tagNode = fields.get('tag');
    const tagText = text(tagNode);
    if (tagText !== null && typeof tagText !== 'string') return { error: `Server id=${id} has invalid tag=${shown(tagNode)}` };
    // Blank means untagged, and the write side trims tags: compare like with like.
    const tag = normaliseTag(tagText) ?? null;

    // The event log refuses oversized values; say so before the first change rather than halfway through.
    if (url.length > LIMITS.url) return { error: `Server id=${id} has a url longer than ${LIMITS.url} characters` };
    if (secret.length > LIMITS.secret) return { error: `Server id=${id} has a secret longer than ${LIMITS.secret} characters` };
    if (tag !== null && tag.length > LIMITS.tag) return { error: `Server id=${id} has a tag longer than ${LIMITS.tag} characters` };

    servers.set(id, { url, secret, enabled, loadMultiplier, tag });
  }
  return { servers };
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** The mode argument; blank means the default, cordon. */
export function parseSyncMode(value: string | undefined): SyncMode | { error: string } {
  const mode = (value ?? '').trim();
  if (mode === '') return 'cordon';
  return (SYNC_MODES as readonly string[]).includes(mode) ? (mode as SyncMode) : { error: `Unknown sync mode '${mode}' (choose: ${SYNC_MODES.join(' ')})` };
}

/**
 * The dryrun argument: unset means a real run; any other value except n, no
 * and false (any case) means a dry run, as in Scalelite. An empty value is a
 * dry run too: when in doubt, change nothing.
 */
export function parseDryRun(value: string | undefined): boolean {
  if (value === undefined) return false;
  return !['n', 'no', 'false'].includes(value.trim().toLowerCase());
}

export interface ServerChanges {
  url?: string;
  secret?: string;
  loadMultiplier?: number;
  /** null removes the tag */
  tag?: string | null;
}

/**
 * One step of a sync, in execution order. `log` is printed before the step is
 * carried out (in a dry run, instead of it).
 */
export type SyncStep =
  | { kind: 'add'; id: string; url: string; secret: string; loadMultiplier: number; tag: string | null; log: string[] }
  | { kind: 'update'; id: string; changes: ServerChanges; log: string[] }
  | { kind: 'enable'; id: string; log: string[] }
  | { kind: 'cordon'; id: string; log: string[] }
  /** a server missing from the file that stays as it is */
  | { kind: 'keep'; id: string; log: string[] }
  /** a server missing from the file with no meetings */
  | { kind: 'remove'; id: string; log: string[] }
  /** an enabled server missing from the file that still has meetings: no new ones */
  | { kind: 'cordonForRemoval'; id: string; log: string[] }
  /**
   * Mode force: end each meeting on BBB (print `Try to end meeting id=<id>`
   * per meeting, a failed end is only a warning), forget it, fail the sync if
   * meetings are still routed to the server, then remove it and print doneLog.
   */
  | { kind: 'endMeetingsAndRemove'; id: string; meetings: number; log: string[]; doneLog: string[] };

/**
 * The steps that take the pool to the desired set. Desired servers come first,
 * in file order: added (then enabled unless `enabled: false`) or updated,
 * then enabled or cordoned to match. Then servers absent from the file, in
 * the order given, by mode: keep leaves them; cordon removes the empty ones
 * and cordons the rest; force also ends the meetings of the rest and removes
 * them. `enabled: false` cordons an enabled server rather than disabling it,
 * so its meetings finish.
 */
export function planSync(desired: ReadonlyMap<string, DesiredServer>, current: readonly Server[], meetingsOn: (serverId: string) => number, mode: SyncMode): SyncStep[] {
  const steps: SyncStep[] = [];
  const byId = new Map(current.map((s) => [s.id, s]));
  const p = (id: string) => `[${id}] `;

  for (const [id, want] of desired) {
    const have = byId.get(id);
    if (!have) {
      steps.push({ kind: 'add', id, url: want.url, secret: want.secret, loadMultiplier: want.loadMultiplier, tag: want.tag, log: [`${p(id)}Server created`] });
      // A new server starts disabled.
      if (want.enabled) steps.push({ kind: 'enable', id, log: [`${p(id)}Server enabled`] });
      continue;
    }
    const changes: ServerChanges = {};
    const log: string[] = [];
    if (have.url !== want.url) {
      changes.url = want.url;
      log.push(`${p(id)}Server updated: url=${want.url}`);
    }
    if (have.secret !== want.secret) {
      changes.secret = want.secret;
      log.push(`${p(id)}Server updated: secret=*****`);
    }
    if (have.loadMultiplier !== want.loadMultiplier) {
      changes.loadMultiplier = want.loadMultiplier;
      log.push(`${p(id)}Server updated: load_multiplier=${formatFloat(want.loadMultiplier)}`);
    }
    if (have.tag !== want.tag) {
      changes.tag = want.tag;
      log.push(`${p(id)}Server updated: tag=${want.tag ?? ''}`);
    }
    if (log.length > 0) steps.push({ kind: 'update', id, changes, log });
    const isEnabled = have.state === 'enabled';
    if (want.enabled && !isEnabled) steps.push({ kind: 'enable', id, log: [`${p(id)}Server enabled`] });
    else if (!want.enabled && isEnabled) steps.push({ kind: 'cordon', id, log: [`${p(id)}Server disabled (cordoned)`] });
  }

  for (const server of current) {
    const id = server.id;
    if (desired.has(id)) continue;
    if (mode === 'keep') {
      steps.push({ kind: 'keep', id, log: [`${p(id)}Server not removed`] });
      continue;
    }
    const meetings = meetingsOn(id);
    if (meetings === 0) {
      steps.push({ kind: 'remove', id, log: [`${p(id)}Server removed`] });
      continue;
    }
    if (server.state === 'enabled') {
      steps.push({ kind: 'cordonForRemoval', id, log: [`${p(id)}Server not empty. Cordoned for removal`] });
    } else if (mode === 'cordon') {
      // Scalelite prints nothing here; say why the server is still there.
      steps.push({ kind: 'keep', id, log: [`${p(id)}Server not empty. Not removed`] });
    }
    if (mode === 'force') {
      steps.push({
        kind: 'endMeetingsAndRemove',
        id,
        meetings,
        log: [`${p(id)}Server not empty. Ending meetings now...`],
        doneLog: [`${p(id)}Server removed`],
      });
    }
  }
  return steps;
}

/** The log line for one meeting ended by an endMeetingsAndRemove step. */
export const endMeetingLog = (serverId: string, meetingId: string): string => `[${serverId}] Try to end meeting id=${meetingId}`;

/**
 * The servers:yaml document: what servers:sync reads, so the output of one is
 * the input of the other. Verbose adds the live fields (ignored by sync).
 * Numbers are written as floats and the document starts with `---`, as Psych
 * writes them.
 */
export function serversYaml(servers: readonly Server[], verbose: boolean): string {
  const doc = new Document(null, YAML_OPTIONS);
  // Built pair by pair: an object would put ids like "123" first and lose __proto__, and a Map is written as !!omap in YAML 1.1.
  const list = new YAMLMap<unknown, unknown>(doc.schema);
  for (const s of servers) {
    list.items.push(
      doc.createPair(s.id, {
        url: s.url,
        secret: s.secret,
        load_multiplier: s.loadMultiplier,
        tag: s.tag ?? '',
        enabled: s.state === 'enabled',
        ...(verbose ? { state: s.state, load: s.load ?? -1, bbb_version: s.bbbVersion ?? '', online: s.online } : {}),
      }),
    );
  }
  const root = new YAMLMap<unknown, unknown>(doc.schema);
  root.items.push(doc.createPair('servers', list));
  doc.contents = root;
  visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value === 'number') node.minFractionDigits = 1;
    },
  });
  return `---\n${doc.toString({ singleQuote: true, lineWidth: 0 })}`;
}
