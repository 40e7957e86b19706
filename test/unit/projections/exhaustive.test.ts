import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/*
 * Every switch over an event's type is exhaustive (docs/STYLE §3): a type added to the
 * catalogue must not compile until each read model has decided what it does with it.
 * Proven by compiling the code that switches on event types against the catalogue
 * plus one new event type, with the TypeScript compiler the build uses.
 */

const ROOT = path.resolve(__dirname, '../../..');
const CATALOG = path.join(ROOT, 'src/events/catalog.ts');
const SWITCH = /switch \(event\.type\)/g;
const NEW_TYPE = 'ServerRepainted';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The files that switch on an event's type, with how many switches each has. */
const switching = new Map(
  sourceFiles(path.join(ROOT, 'src'))
    .map((file) => [file, (readFileSync(file, 'utf8').match(SWITCH) ?? []).length] as const)
    .filter(([, switches]) => switches > 0),
);

/**
 * The compile errors in each switching file with one more event type in the catalogue
 * (with the catalogue as it is, the build's own tsc run is the control: it has none).
 */
function compileErrors(): Map<string, ts.Diagnostic[]> {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const options = { ...parsed.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) => {
    if (path.resolve(fileName) !== CATALOG) return read(fileName, language, ...rest);
    const text = readFileSync(CATALOG, 'utf8');
    const anchor = '  EventUnreadable: z.object(';
    if (!text.includes(anchor)) throw new Error(`the catalogue no longer has "${anchor}": update this test's anchor`);
    return ts.createSourceFile(fileName, text.replace(anchor, `  ${NEW_TYPE}: z.object({ serverId }),\n${anchor}`), language);
  };
  const program = ts.createProgram([...switching.keys()], options, host);
  return new Map([...switching.keys()].map((file) => [file, [...program.getSemanticDiagnostics(program.getSourceFile(file))]]));
}

const lineOf = (d: ts.Diagnostic): string => {
  const { line } = d.file!.getLineAndCharacterOfPosition(d.start!);
  return d.file!.text.split('\n')[line].trim();
};

describe('switches over event types', () => {
  test('the evolve functions of both read models are among them', () => {
    const names = [...switching.keys()].map((file) => path.relative(ROOT, file));
    expect(names).toEqual(expect.arrayContaining(['src/projections/pool.ts', 'src/projections/recordings.ts']));
  });

  test('given one more event type, when compiled, then every switch fails at its never check until it decides', () => {
    for (const [file, errors] of compileErrors()) {
      const name = path.relative(ROOT, file);
      const atNeverCheck = errors.filter((d) => /const \w+: never = event/.test(lineOf(d)) && ts.flattenDiagnosticMessageText(d.messageText, '\n').includes(NEW_TYPE));
      // one failure per switch: a switch with a default that swallows the new type would not fail
      expect([name, atNeverCheck.length]).toEqual([name, switching.get(file)]);
    }
  });
});
