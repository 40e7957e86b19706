import { Pool, types } from 'pg';
import { Sql } from './sql';

// bigint offsets fit in a JS number for any log this system will write (2^53 events).
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

export async function openPostgres(url: string, max = 10): Promise<Sql> {
  const pool = new Pool({ connectionString: url, max });
  pool.on('error', () => undefined); // idle client errors surface on the next query instead of crashing
  await pool.query('select 1');
  return {
    query: async <R>(text: string, params?: unknown[]) => {
      const result = await pool.query(text, params as unknown[]);
      return { rows: result.rows as R[] };
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn({
          query: async <R>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params as unknown[])).rows as R[] }),
        });
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
