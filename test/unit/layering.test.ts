import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import * as ts from 'typescript';

/*
 * The dependency rules of docs/ARCHITECTURE.md, checked on the sources as TypeScript reads their
 * imports (`import`, `import type`, `export … from`, `require(…)`, `import(…)`). The core decides
 * and evolves; it must not reach for an adapter, the HTTP edge, the poller, the composition root
 * or the CLI, or a decision would stop being a pure function of its view (STYLE.md §5).
 */

const root = join(__dirname, '..', '..');

/** An import as written in a source file, with what it points at. */
interface Import {
  file: string;
  line: number;
  text: string;
  /** a repository path without extension (`src/infra/config`), or a package name */
  target: string;
}

interface Rule {
  name: string;
  applies: (file: string) => boolean;
  forbids: (target: string) => boolean;
}

/** Whether a path lies in one of `dirs` (or is one of them: `src/runtime` for src/runtime.ts). */
function under(...dirs: string[]): (path: string) => boolean {
  return (path) => dirs.some((d) => path === d || path.startsWith(`${d}/`));
}
const CORE = under('src/events', 'src/commands', 'src/projections');
/** Packages that do I/O: the core reaches them only through a port an adapter implements. */
const IO_PACKAGES = /^(kafkajs|ioredis|pg|@electric-sql\/pglite|express|undici|busboy|prom-client|@aws-sdk\/.*)(\/|$)/;

const RULES: Rule[] = [
  {
    name: 'the core (src/events, src/commands, src/projections) imports an adapter, the API, the poller, the composition root or the CLI',
    applies: CORE,
    // src/recordings/storage.ts is the storage port; its adapters are the *-storage files.
    forbids: (t) => under('src/infra', 'src/api', 'src/poller', 'src/runtime', 'cli')(t) || /^src\/recordings\/[^/]*-storage$/.test(t) || IO_PACKAGES.test(t),
  },
  { name: 'src imports the CLI', applies: under('src'), forbids: under('cli') },
  { name: 'shipped code imports the tests', applies: under('src', 'cli', 'bench', 'scripts'), forbids: under('test') },
];

const toPosix = (path: string) => path.split(sep).join('/');

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => toPosix(relative(root, join(e.parentPath, e.name))));
}

/** What `spec`, imported from `file`, points at: a repository path without extension, or the package. */
function targetOf(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.(js|ts)$/, '');
}

function importsOf(file: string, source: string): Import[] {
  const lines = source.split('\n');
  const lineOf = (pos: number) => source.slice(0, pos).split('\n').length;
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => {
    const line = lineOf(f.pos);
    return { file, line, text: lines[line - 1].trim(), target: targetOf(file, f.fileName) };
  });
}

/** Each import of `file` that breaks a rule, as `file:line: the import line (the rule)`. */
function violations(file: string, source: string): string[] {
  const rules = RULES.filter((r) => r.applies(file));
  return importsOf(file, source).flatMap((i) => rules.filter((r) => r.forbids(i.target)).map((r) => `${i.file}:${i.line}: ${i.text}   (${r.name})`));
}

const SOURCES = ['src', 'cli', 'bench', 'scripts'].flatMap(sourcesUnder);

describe('layering', () => {
  test('given every source file, then no import breaks a dependency rule', () => {
    const found = SOURCES.flatMap((file) => violations(file, readFileSync(join(root, file), 'utf8')));
    expect(found).toEqual([]);
  });

  test('the scan reads the imports of the whole tree (a rule over nothing would pass)', () => {
    expect(SOURCES.filter(CORE).length).toBeGreaterThan(20);
    expect(SOURCES).toContain('src/runtime.ts');
    expect(SOURCES.some((f) => f.startsWith('cli/commands/'))).toBe(true);
    const writeSide = importsOf('src/commands/write-side.ts', readFileSync(join(root, 'src', 'commands', 'write-side.ts'), 'utf8'));
    expect(writeSide.map((i) => i.target)).toContain('src/events/catalog');
  });

  test.each([
    ['src/commands/poll.ts', "import type { RedisPool } from '../infra/redis/redis-pool';", 'src/infra/redis/redis-pool'],
    ['src/projections/pool.ts', "export { AdminApi } from '../api/admin';", 'src/api/admin'],
    ['src/events/log.ts', "const { Lease } = require('../poller/leadership');", 'src/poller/leadership'],
    ['src/commands/recordings.ts', "import { FilesystemRecordingStorage } from '../recordings/fs-storage';", 'src/recordings/fs-storage'],
    ['src/commands/servers.ts', "const wire = await import('../runtime');", 'src/runtime'],
    ['src/projections/apply.ts', "import Redis from 'ioredis';", 'ioredis'],
    ['src/commands/placement.ts', "import { S3Client } from '@aws-sdk/client-s3';", '@aws-sdk/client-s3'],
    ['src/sim/server.ts', "import { rakeArgs } from '../../cli/rake';", 'cli/rake'],
    ['cli/base.ts', "import { harness } from '../test/support/harness';", 'test/support/harness'],
  ])('given %s with "%s", then the import is reported', (file, line, target) => {
    const found = violations(file, `// a header\n${line}\n`);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`${file}:2: ${line}`);
    expect(importsOf(file, line)[0].target).toBe(target);
  });

  test.each([
    ['src/commands/recordings.ts', "import type { RecordingStorage } from '../recordings/storage';"],
    ['src/commands/write-side.ts', "import { draft } from '../events/catalog';"],
    ['src/projections/projector.ts', "import type { Logger } from 'pino';"],
    ['src/api/app.ts', "import { ReadModels } from '../infra/config';"],
    ['cli/serve.ts', "import { startBalancer } from '../src/runtime';"],
  ])('given %s with "%s", then nothing is reported', (file, line) => {
    expect(violations(file, line)).toEqual([]);
  });
});
