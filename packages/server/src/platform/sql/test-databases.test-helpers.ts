import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createSqlDatabase, type SqlDatabase } from './sql-database.js';

// biome-ignore lint/suspicious/noExplicitAny: suites bring their own schema types; each casts.
type UntypedDb = any;

/** One database engine a contract suite runs against. */
export interface SqlDatabaseTarget {
  /** `sqlite` or `postgres`; use it in test titles. */
  readonly name: string;
  /** A fresh, empty database. Closing it also deletes it (for PostgreSQL). */
  readonly create: () => Promise<SqlDatabase<UntypedDb>>;
}

/** The PostgreSQL admin URL from `HALFTONE_TEST_PG_URL`, when set. */
export function testPostgresUrl(): string | undefined {
  const url = process.env.HALFTONE_TEST_PG_URL;
  return url === undefined || url === '' ? undefined : url;
}

async function withAdminClient<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a uniquely named PostgreSQL database through the admin URL and opens it; closing the
 * returned SqlDatabase drops the database (`WITH (FORCE)`, PostgreSQL 13+).
 */
export async function createTestPostgresDatabase(
  adminUrl: string,
): Promise<SqlDatabase<UntypedDb>> {
  const name = `ht_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let inner: SqlDatabase<UntypedDb>;
  try {
    inner = await createSqlDatabase<UntypedDb>(url.toString());
  } catch (err) {
    await withAdminClient(adminUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    );
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    db: inner.db,
    dialect: inner.dialect,
    close() {
      closing ??= (async () => {
        await inner.close();
        await withAdminClient(adminUrl, (c) =>
          c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
        );
      })();
      return closing;
    },
  };
}

/**
 * The engines to run SQL contract suites on: SQLite in memory always, and PostgreSQL when
 * `HALFTONE_TEST_PG_URL` (an admin URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`)
 * is set. Each `create()` returns a fresh, empty database.
 *
 * @example
 * for (const target of sqlDatabaseTargets()) describeAppStoreContract(target.name, target.create);
 */
export function sqlDatabaseTargets(): SqlDatabaseTarget[] {
  const targets: SqlDatabaseTarget[] = [
    { name: 'sqlite', create: () => createSqlDatabase<UntypedDb>('sqlite::memory:') },
  ];
  const pgUrl = testPostgresUrl();
  if (pgUrl !== undefined) {
    targets.push({ name: 'postgres', create: () => createTestPostgresDatabase(pgUrl) });
  }
  return targets;
}
