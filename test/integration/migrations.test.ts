import { latestMigration, migrate } from '../../src/infra/sql/migrations';
import { openPostgres } from '../../src/infra/sql/postgres';
import { Sql } from '../../src/infra/sql/sql';
import { isolatedDatabase, isolationId } from '../support/production';

/*
 * Every role migrates at start, so on a fresh database several processes
 * migrate at once (CI once saw PostgreSQL's catalog collide on a concurrent
 * CREATE TABLE IF NOT EXISTS). Each round: a fresh database, six migrators at once.
 */
describe('migrations, many processes at once on a fresh PostgreSQL database', () => {
  test.each([1, 2, 3])('round %i: every migrator succeeds and each migration is applied once', async () => {
    const db = await isolatedDatabase(isolationId('migrate'));
    const migrators: Sql[] = [];
    try {
      for (let i = 0; i < 6; i++) migrators.push(await openPostgres(db.databaseUrl, 2));
      await Promise.all(migrators.map((sql) => migrate(sql)));
      const applied = await migrators[0].query<{ id: number }>('select id from schema_migrations order by id');
      expect(applied.rows.map((r) => Number(r.id))).toEqual(Array.from({ length: latestMigration() }, (_, i) => i + 1));
    } finally {
      await Promise.all(migrators.map((sql) => sql.close()));
      await db.drop();
    }
  });
});
