import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A simple CLI command must start without the runtime (oclif reads the
 * manifest instead of requiring every command; the admin client loads undici
 * on its first call), and `npm start` must skip the build only while it is
 * current. Asserting which modules load, not a timing, keeps this stable on a
 * busy machine while still catching the regression that costs the time.
 */

const root = join(__dirname, '..', '..');
const HEAVY = ['kafkajs', '@electric-sql/pglite', 'pg', 'ioredis', 'express', '@aws-sdk/client-s3', 'undici', 'pino'];

/** The packages a CLI call required, printed by a preload script at exit. */
function packagesLoadedBy(args: string[], env: NodeJS.ProcessEnv): { packages: Set<string>; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cli-startup-'));
  const preload = join(dir, 'trace.js');
  const out = join(dir, 'loaded.json');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
  try {
    const res = spawnSync(process.execPath, ['-r', preload, join(root, 'bin', 'scalelite'), ...args], { env, encoding: 'utf8', timeout: 30_000 });
    const files: string[] = JSON.parse(require('node:fs').readFileSync(out, 'utf8'));
    const packages = new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter((p): p is string => !!p));
    return { packages, status: res.status, stderr: res.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI start-up', () => {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: join(tmpdir(), 'cli-startup-no-data') } as NodeJS.ProcessEnv;

  it.each([[['--version']], [['status', '--help']], [['servers']]])('given the built CLI, when `scalelite %p` runs, then it loads none of the runtime', (args) => {
    const { packages, status, stderr } = packagesLoadedBy(args, env);
    expect(packages.has('@oclif/core')).toBe(true); // the trace does see the CLI's packages
    expect(HEAVY.filter((p) => packages.has(p))).toEqual([]);
    if (args[0] === 'servers') {
      // No secret anywhere: a clear error and a non-zero exit, not a crash.
      expect(status).toBe(2);
      expect(stderr).toContain('No secret to sign with');
    } else {
      expect(status).toBe(0);
    }
  });
});

describe('npm start skips an up-to-date build', () => {
  let project: string;

  beforeAll(() => {
    // A small project with the real scripts, tsc and oclif: the checkout's own dist stays untouched.
    project = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
    mkdirSync(join(project, 'scripts'));
    mkdirSync(join(project, 'cli', 'commands'), { recursive: true });
    cpSync(join(root, 'scripts', 'build-if-stale.js'), join(project, 'scripts', 'build-if-stale.js'));
    cpSync(join(root, 'scripts', 'cli-manifest.js'), join(project, 'scripts', 'cli-manifest.js'));
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'stale-probe', version: '1.0.0', private: true, oclif: { bin: 'probe', commands: './dist/cli/commands' } }),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'ES2022', outDir: 'dist', rootDir: '.', skipLibCheck: true, types: [] },
        include: ['cli'],
      }),
    );
    writeFileSync(
      join(project, 'cli', 'commands', 'hello.ts'),
      "import { Command } from '@oclif/core';\nexport default class Hello extends Command {\n  static override description = 'one';\n  async run(): Promise<void> { this.log('hi'); }\n}\n",
    );
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  const run = (): string => {
    const res = spawnSync(process.execPath, [join(project, 'scripts', 'build-if-stale.js')], { cwd: project, encoding: 'utf8' });
    expect(res.status).toBe(0);
    return res.stderr;
  };

  it('given no build, when started twice, then it builds once and then skips; after a source edit it rebuilds', () => {
    expect(run()).toMatch(/built in/);
    expect(require(join(project, 'oclif.manifest.json')).commands.hello.description).toBe('one');

    expect(run()).toContain('build up to date');

    const source = join(project, 'cli', 'commands', 'hello.ts');
    writeFileSync(
      source,
      "import { Command } from '@oclif/core';\nexport default class Hello extends Command {\n  static override description = 'two';\n  async run(): Promise<void> { this.log('hi'); }\n}\n",
    );
    // The last build a minute ago, the edit since: clear of any file system's clock granularity.
    const now = Date.now() / 1000;
    utimesSync(join(project, 'dist', '.build-stamp'), now - 60, now - 60);
    utimesSync(source, now - 30, now - 30);
    expect(run()).toMatch(/built in/);
    const manifest = JSON.parse(require('node:fs').readFileSync(join(project, 'oclif.manifest.json'), 'utf8'));
    expect(manifest.commands.hello.description).toBe('two');
    expect(run()).toContain('build up to date');
  });
});
