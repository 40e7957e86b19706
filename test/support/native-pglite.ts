import NodeModule from 'node:module';

/*
 * PGlite loads Node built-ins with a dynamic import(), which jest's VM refuses unless Node
 * runs with --experimental-vm-modules (scripts/test.sh sets it; a bare `npx jest` does not).
 * A test file that needs PGlite mocks the package with the copy Node's own loader gives:
 *
 *   jest.mock('@electric-sql/pglite', () => jest.requireActual('../../support/native-pglite').nativePglite());
 *
 * so src/infra/sql/pglite.ts runs unchanged, with or without the flag. Inside its VM jest
 * hands out a subclass of Node's Module whose createRequire is jest's own; the class it
 * extends is Node's, with Node's createRequire.
 */
export function nativePglite(): unknown {
  const jestModule = NodeModule as unknown as { createRequire: typeof NodeModule.createRequire };
  const parent = Object.getPrototypeOf(jestModule) as { createRequire?: typeof NodeModule.createRequire } | null;
  const createRequire = parent?.createRequire ?? jestModule.createRequire;
  return createRequire(__filename)('@electric-sql/pglite');
}
