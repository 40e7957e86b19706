import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Sql, SqlRunner } from './sql';

/** Real PostgreSQL compiled to WASM, in a data directory: the embedded default. */
export async function openPglite(dataDir: string | null): Promise<Sql> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  const runner = (q: Pick<PGlite, 'query'>): SqlRunner => ({
    query: async <R>(text: string, params?: unknown[]) => {
      const result = await q.query<R>(text, params);
      return { rows: result.rows };
    },
  });
  return {
    ...runner(db),
    transaction: (fn) => db.transaction((tx) => fn(runner(tx))),
    close: () => db.close(),
  };
}
