import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freshDataDir, removeDataDir } from '../support/data-dir';
import { baseEnv, BIN, cli as run, CliResult, cliJson as runJson, freePort, ROOT, ScaleliteProcess, startSimProcess } from '../support/processes';

/*
 * `scalelite servers:sync` and `servers:yaml` as an admin runs them, against
 * a started balancer (embedded backends) in front of a simulator process.
 */

/** The CLI with a document on its standard input. */
function cliWithStdin(env: NodeJS.ProcessEnv, input: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('scalelite servers:sync and servers:yaml (embedded backends)', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let balancer: ScaleliteProcess;
  let sim: ChildProcess;
  let simServers: Array<{ url: string; secret: string }>;

  const cli = (...args: string[]): Promise<CliResult> => run(env, ...args);
  const cliJson = <T>(...args: string[]): Promise<T> => runJson<T>(env, ...args);
  const file = (name: string, text: string): string => {
    const path = join(dataDir, name);
    writeFileSync(path, text);
    return path;
  };
  const lines = (text: string) => text.split('\n').filter((l) => l !== '');
  const states = async () => Object.fromEntries((await cliJson<Array<{ id: string; state: string }>>('servers')).map((s) => [s.id, s.state]));

  beforeAll(async () => {
    dataDir = await freshDataDir();
    const port = await freePort();
    env = baseEnv({ DATA_DIR: dataDir, PORT: String(port), BIND: '127.0.0.1', POLL_INTERVAL: '0.5' });
    ({ proc: sim, servers: simServers } = await startSimProcess(2, env));
    balancer = new ScaleliteProcess('start', ['start'], env);
    await balancer.waitHealthy(`http://127.0.0.1:${port}`);
  }, 90_000);

  afterAll(async () => {
    await balancer?.stop('SIGTERM');
    sim?.kill('SIGTERM');
    removeDataDir(dataDir);
  });

  const both = () => {
    const [a, b] = simServers;
    return `servers:\n  bbb-a:\n    url: ${a.url}\n    secret: ${a.secret}\n  bbb-b:\n    url: ${b.url}\n    secret: ${b.secret}\n    enabled: false\n    tag: gpu\n`;
  };

  test("a dry run says it is one and what each step would do, and changes nothing; a run prints Scalelite's lines as it applies them", async () => {
    const path = file('servers.yml', both());
    const plan = ['[bbb-a] Server created', '[bbb-a] Server enabled', '[bbb-b] Server created'];
    const wouldDo = [
      'Dry run: nothing was changed. This is what `servers:sync` would do:',
      '[bbb-a] Server would be created',
      '[bbb-a] Server would be enabled',
      '[bbb-b] Server would be created',
    ];

    const dry = await cli('servers:sync', path, '--dry-run');
    expect(dry.code).toBe(0);
    expect(lines(dry.stdout)).toEqual(wouldDo);
    expect(await states()).toEqual({});

    // the rake form: servers:sync[path,mode,dryrun]
    const rakeDry = await cli(`servers:sync[${path},cordon,true]`);
    expect(lines(rakeDry.stdout)).toEqual(wouldDo);
    expect(await states()).toEqual({});
    // --json keeps the plan's own lines, with dry_run saying what they are
    expect(await cliJson<{ dry_run: boolean; steps: Array<{ log: string[] }> }>('servers:sync', path, '--dry-run')).toMatchObject({
      dry_run: true,
      steps: plan.map((line) => ({ log: [line] })),
    });

    const applied = await cli(`servers:sync[${path},cordon,false]`);
    expect(applied.code).toBe(0);
    expect(lines(applied.stdout)).toEqual(plan);
    expect(await states()).toEqual({ 'bbb-a': 'enabled', 'bbb-b': 'disabled' });

    // every change is the admin's who ran the CLI
    const events = await cliJson<{ events: Array<{ type: string; actor: { kind: string; name: string } }> }>('events', '--type', 'ServerAdded,ServerEnabled');
    expect(events.events).toHaveLength(3);
    expect(events.events.every((e) => e.actor.kind === 'admin' && e.actor.name.includes('@'))).toBe(true);
  }, 60_000);

  test('servers:yaml prints the pool as a sync file, secrets included; fed back through stdin it changes nothing', async () => {
    const [a, b] = simServers;
    const out = await cli('servers:yaml');
    expect(out.code).toBe(0);
    expect(out.stdout.startsWith('---\nservers:\n')).toBe(true);
    expect(parse(out.stdout)).toEqual({
      servers: {
        'bbb-a': { url: a.url, secret: a.secret, load_multiplier: 1, tag: '', enabled: true },
        'bbb-b': { url: b.url, secret: b.secret, load_multiplier: 1, tag: 'gpu', enabled: false },
      },
    });
    const verbose = await cli('servers:yaml[verbose]');
    expect(verbose.stdout).toContain('    state: disabled\n');
    expect(verbose.stdout).toContain('    online: ');
    expect((await cli('servers:yaml', '--verbose')).stdout).toBe(verbose.stdout);
    expect(await cliJson<{ yaml: string }>('servers:yaml')).toEqual({ yaml: out.stdout });

    const fedBack = await cliWithStdin(env, verbose.stdout, 'servers:sync', '-', '--mode', 'force');
    expect(fedBack).toEqual({ code: 0, stdout: '', stderr: '' });
    const dryFedBack = await cliWithStdin(env, verbose.stdout, 'servers:sync', '-', '--mode', 'force', '--dry-run');
    expect(dryFedBack).toEqual({ code: 0, stdout: 'Dry run: nothing was changed, and `servers:sync` would change nothing: the pool matches the file.\n', stderr: '' });
  }, 60_000);

  test('mode force removes the servers missing from the file; --json gives the steps', async () => {
    const [a] = simServers;
    const path = file('only-a.yml', `servers:\n  bbb-a:\n    url: ${a.url}\n    secret: ${a.secret}\n`);
    const dry = await cli(`servers:sync[${path},force,yes]`);
    expect(lines(dry.stdout)).toEqual(['Dry run: nothing was changed. This is what `servers:sync` would do:', '[bbb-b] Server would be removed']);
    expect(Object.keys(await states())).toEqual(['bbb-a', 'bbb-b']);

    const result = await cliJson<{ steps: Array<{ kind: string; id: string; log: string[] }>; dry_run: boolean; mode: string }>('servers:sync', path, '--mode', 'force');
    expect(result).toEqual({ steps: [{ kind: 'remove', id: 'bbb-b', log: ['[bbb-b] Server removed'] }], dry_run: false, mode: 'force' });
    expect(Object.keys(await states())).toEqual(['bbb-a']);
  }, 60_000);

  test('errors are ERROR: <message> on stderr and exit 1, before any change', async () => {
    const bad = await cli('servers:sync', file('bad.yml', 'servers:\n  bbb-c:\n    url: https://bbb-c/bigbluebutton/api\n'));
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr.trim()).toBe('ERROR: Server id=bbb-c has no secret');

    const mode = await cli('servers:sync', file('ok.yml', both()), '--mode', 'nuke');
    expect(mode.code).toBe(1);
    expect(mode.stderr.trim()).toBe("ERROR: Unknown sync mode 'nuke' (choose: keep cordon force)");

    const missing = await cli(`servers:sync[${join(dataDir, 'nope.yml')}]`);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`ERROR: Cannot read ${join(dataDir, 'nope.yml')}: ENOENT`);

    const none = await cli('servers:sync');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('ERROR: ');

    const json = await cli('servers:sync', join(dataDir, 'bad.yml'), '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { message: 'Server id=bbb-c has no secret' } });

    expect(Object.keys(await states())).toEqual(['bbb-a']);
  }, 60_000);
});
