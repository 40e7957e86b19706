import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestMigration, migrate } from '../../src/infra/sql/migrations';
import { openPglite } from '../../src/infra/sql/pglite';

/*
 * A fresh DATA_DIR per test. PGlite's first start runs initdb (seconds); a
 * template made once per machine and copied is ten times faster, and every
 * test still gets its own database.
 */
const ROOT = join(tmpdir(), 'scalelite-es-tests');
// Migrated when made: creating the schema in PGlite takes seconds too.
const TEMPLATE = join(ROOT, `pglite-template-m${latestMigration()}`);

async function template(): Promise<string> {
  if (existsSync(join(TEMPLATE, 'PG_VERSION'))) return TEMPLATE;
  mkdirSync(ROOT, { recursive: true });
  const building = mkdtempSync(join(ROOT, 'template-'));
  const db = await openPglite(building);
  await migrate(db);
  await db.close();
  try {
    renameSync(building, TEMPLATE);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another worker made it first
  }
  return TEMPLATE;
}

export async function freshDataDir(): Promise<string> {
  const source = await template();
  mkdirSync(ROOT, { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'data-'));
  cpSync(source, join(dir, 'pglite'), { recursive: true });
  return dir;
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
