import { Pool, types } from 'pg';
import { ConfigError } from '../config';
import { Sql } from './sql';

// bigint offsets fit in a JS number for any log this system will write (2^53 events).
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

export async function openPostgres(url: string, max = 10): Promise<Sql> {
  const pool = new Pool({ connectionString: url, max, connectionTimeoutMillis: 10_000 });
  // A server restart ends every connection with an 'error' event, also on a client checked out
  // for a transaction, where pg has no listener: unheard, it would end the process. The query in
  // flight fails by itself and is retried by its caller; the broken client is dropped on release.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new ConfigError(`DATABASE_URL: cannot reach PostgreSQL at ${shownAddress(url)} (${reasonOf(err)})`);
  }
  return {
    query: async <R>(text: string, params?: unknown[]) => {
      const result = await pool.query(text, params as unknown[]);
      return { rows: result.rows as R[] };
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('begin');
        const result = await fn({
          query: async <R>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params as unknown[])).rows as R[] }),
        });
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch((rollbackFailed: unknown) => {
          // The connection is gone: it must not go back to the pool.
          broken = rollbackFailed instanceof Error ? rollbackFailed : new Error(String(rollbackFailed));
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** host:port/database of a connection URL, never its password. */
export function shownAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(an unreadable URL)';
  }
}

export const reasonOf = (err: unknown): string => {
  const e = err as { code?: string; message?: string } | null;
  return [e?.code, e?.message].filter(Boolean).join(': ') || String(err);
};
