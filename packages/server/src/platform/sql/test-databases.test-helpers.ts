import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** What a scale-out test (several processes on one PostgreSQL database and one Redis bus) shares. */
export interface ScaleOutEnvironment {
  /** `HALFTONE_*` variables for `loadConfig({ env })`: database, bus, file blobs, token, silent log. */
  readonly env: Readonly<Record<string, string>>;
  /** The temporary data directory (blobs live under it). */
  readonly dataDir: string;
  /** Drops the database and removes the data directory. */
  cleanup(): Promise<void>;
}

/**
 * A fresh PostgreSQL database and data directory for tests that compose several Halftone
 * processes against the same PostgreSQL + Redis (the int tests of the scale-out paths).
 *
 * @example
 * const so = await createScaleOutEnvironment({ pgUrl, redisUrl, token: TOKEN, prefix: 'halftone-scale-' });
 * const a = await composeHalftone(loadConfig({ env: so.env }));
 * // … afterAll: await so.cleanup();
 */
export async function createScaleOutEnvironment(opts: {
  readonly pgUrl: string;
  readonly redisUrl: string;
  readonly token: string;
  /** Prefix of the temporary directory's name. */
  readonly prefix: string;
  /** More variables (they win over the defaults above). */
  readonly extra?: Readonly<Record<string, string>>;
}): Promise<ScaleOutEnvironment> {
  const name = `ht_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient(opts.pgUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const dbUrl = new URL(opts.pgUrl);
  dbUrl.pathname = `/${name}`;
  const dataDir = await mkdtemp(join(tmpdir(), opts.prefix));
  return {
    dataDir,
    env: {
      HALFTONE_DB_URL: dbUrl.toString(),
      HALFTONE_BUS_URL: opts.redisUrl,
      HALFTONE_BLOB_URL: `file:${join(dataDir, 'blobs')}`,
      HALFTONE_ADMIN_TOKEN: opts.token,
      HALFTONE_LOG_LEVEL: 'silent',
      ...opts.extra,
    },
    async cleanup() {
      await withAdminClient(opts.pgUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
