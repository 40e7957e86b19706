import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { AdminCommand } from '../../base';
import { AdminClientError } from '../../../src/infra/admin-client';
import type { SyncResult } from '../../../src/api/admin-sync';
import { parseDryRun } from '../../../src/commands/server-sync';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const DRY_RUN_HEADER = 'Dry run: nothing was changed. This is what `servers:sync` would do:';
export const DRY_RUN_NOTHING = 'Dry run: nothing was changed, and `servers:sync` would change nothing: the pool matches the file.';

/*
 * The plan's lines (src/commands/server-sync.ts) say what a run does, as
 * Scalelite's log does, and Scalelite's dry run prints them unchanged
 * (docs/scalelite-behaviour.md §6), so its output cannot be told from a run's.
 * A dry run here says each in the conditional.
 */
const WOULD: Array<[RegExp, string]> = [
  [/^Server created$/, 'Server would be created'],
  [/^Server enabled$/, 'Server would be enabled'],
  [/^Server disabled \(cordoned\)$/, 'Server would be disabled (cordoned)'],
  [/^Server updated: (.*)$/s, 'Server would be updated: $1'],
  [/^Server not removed$/, 'Server would not be removed'],
  [/^Server removed$/, 'Server would be removed'],
  [/^Server not empty\. Cordoned for removal$/, 'Server not empty. Would be cordoned for removal'],
  [/^Server not empty\. Not removed$/, 'Server not empty. Would not be removed'],
  [/^Server not empty\. Ending meetings now\.\.\.$/, 'Server not empty. Would end its meetings:'],
  [/^Try to end meeting id=(.*)$/s, 'Would end meeting id=$1'],
];

/** A line of the plan as a dry run says it; null for a line this version does not know. */
export function wouldDo(line: string): string | null {
  const m = /^(\[[^\]]*\] )?(.*)$/s.exec(line)!;
  const [, prefix = '', text] = m;
  for (const [pattern, replacement] of WOULD) if (pattern.test(text)) return prefix + text.replace(pattern, replacement);
  return null;
}

export default class ServersSync extends AdminCommand {
  static override summary = 'Make the pool match a YAML file of servers (as written by servers:yaml).';
  static override description = [
    'Servers in the file are created, updated, enabled, or cordoned when `enabled: false`.',
    'Servers missing from the file: --mode keep leaves them; cordon (the default) removes the empty ones and cordons the rest;',
    'force also ends their meetings on BBB and removes them. --dry-run prints what would change and changes nothing.',
    'Rake form: servers:sync[path,mode,dryrun] (path - reads stdin; dryrun: any value but n/no/false).',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> servers:sync servers.yml',
    '<%= config.bin %> servers:sync servers.yml --mode force --dry-run',
    '<%= config.bin %> servers:yaml | <%= config.bin %> servers:sync - --mode keep',
    "<%= config.bin %> 'servers:sync[servers.yml,force,true]'",
  ];
  // ignoreStdin: oclif would otherwise take a piped document as the value of an argument not given.
  static override args = {
    file: Args.string({ description: 'the YAML file (- reads stdin)', ignoreStdin: true }),
    mode: Args.string({ description: 'keep, cordon or force (rake form)', ignoreStdin: true }),
    dryrun: Args.string({ description: 'dry run unless n/no/false (rake form)', ignoreStdin: true }),
  };
  static override flags = {
    mode: Flags.string({ description: 'what happens to servers missing from the file: keep, cordon (default) or force' }),
    'dry-run': Flags.boolean({ description: 'print what would change, change nothing' }),
  };

  async run(): Promise<SyncResult | undefined> {
    const { args, flags } = await this.parse(ServersSync);
    if (!args.file) return this.fail('Please provide the path of a servers YAML file (- for stdin)');
    let yaml: string;
    try {
      yaml = args.file === '-' ? await readStdin() : await readFile(args.file, 'utf8');
    } catch (err) {
      return this.fail(`Cannot read ${args.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const mode = flags.mode ?? (args.mode || undefined);
    // An empty rake argument is rake's nil: not a dry run.
    const dryRun: boolean | string | undefined = flags['dry-run'] ? true : args.dryrun || undefined;
    const json = this.jsonEnabled();
    // A dry run's lines are held until the answer confirms that nothing changed (the balancer reads dry_run with the same rule).
    const expectDry = dryRun === true || (typeof dryRun === 'string' && parseDryRun(dryRun));
    const held: string[] = [];
    try {
      const result = await this.client(flags.balancer).stream<SyncResult>(
        'syncServers',
        { yaml, ...(mode !== undefined ? { mode } : {}), ...(dryRun !== undefined ? { dry_run: dryRun } : {}) },
        (line) => {
          if (json) return;
          if (typeof line.log === 'string') {
            if (expectDry) held.push(line.log);
            else this.log(line.log);
          } else if (typeof line.warning === 'string') this.logToStderr(line.warning);
        },
      );
      if (!json && result.dry_run) {
        this.log(held.length > 0 ? DRY_RUN_HEADER : DRY_RUN_NOTHING);
        // an unknown line (a newer balancer's) keeps its words under the header
        for (const line of held) this.log(wouldDo(line) ?? line);
      } else for (const line of held) this.log(line);
      return result;
    } catch (err) {
      if (err instanceof AdminClientError) return this.fail(err.message);
      throw err;
    }
  }

  /** Scalelite's `ERROR: <msg>` on stderr and exit 1 (a JSON error with --json). */
  private fail(message: string): never {
    if (this.jsonEnabled()) this.error(message, { exit: 1 });
    this.logToStderr(`ERROR: ${message}`);
    this.exit(1);
  }
}
