import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { describeSqlDatabaseContract } from './sql-database.contract.js';
import { sqlDatabaseTargets, testPostgresUrl } from './test-databases.test-helpers.js';

const pgUrl = testPostgresUrl();
const target = sqlDatabaseTargets().find((t) => t.name === 'postgres');
const postgres = target ?? {
  name: 'postgres',
  create: () => Promise.reject(new Error('HALFTONE_TEST_PG_URL is not set')),
};

// The PostgreSQL suite needs a real server: set HALFTONE_TEST_PG_URL (CI always does).
describe.skipIf(target === undefined)('PostgreSQL (HALFTONE_TEST_PG_URL is not set)', () => {
  describeSqlDatabaseContract('postgres', postgres.create);

  it('uses the postgres dialect and returns int8 as numbers', async () => {
    const database = await postgres.create();
    try {
      expect(database.dialect).toBe('postgres');
      const { rows } = await sql<{ n: unknown }>`select 9007199254740991::int8 as n`.execute(
        database.db,
      );
      expect(rows[0]?.n).toBe(Number.MAX_SAFE_INTEGER);
    } finally {
      await database.close();
    }
  });

  it('drops the test database on close', async () => {
    const database = await postgres.create();
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(
      database.db,
    );
    const name = rows[0]?.name;
    expect(name).toMatch(/^ht_test_[0-9a-f]+$/);
    await database.close();
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    try {
      const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
      expect(found.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
