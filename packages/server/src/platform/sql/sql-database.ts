import type { Kysely } from 'kysely';
import { configInvalid } from '../errors/platform-errors.js';

/** The SQL dialects Halftone supports; store adapters may branch on it where dialects diverge. */
export type SqlDialect = 'sqlite' | 'postgres';

/**
 * The SQL port: a Kysely instance on one database plus its lifecycle. Store adapters are written
 * once against Kysely and run on both dialects (house style §8.4).
 */
export interface SqlDatabase<DB> {
  /** Query builder; `db.transaction().execute(fn)` for transactions. */
  readonly db: Kysely<DB>;
  /** Which engine is behind `db`. */
  readonly dialect: SqlDialect;
  /** Closes the connection or pool. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createSqlDatabase}. */
export interface SqlDatabaseOptions {
  /**
   * Called when an idle PostgreSQL connection fails (the pool replaces it). Defaults to a
   * process warning; without a handler such errors would crash the process.
   */
  readonly onError?: (err: Error) => void;
}

/**
 * Opens the database named by a `HALFTONE_DB_URL`:
 *
 * - `sqlite:<path>` — a file (parent directories are created) with WAL journaling,
 *   `synchronous=NORMAL`, foreign keys on and a 5 s busy timeout;
 * - `sqlite::memory:` — a private in-memory database (tests, demos);
 * - `postgres://…` or `postgresql://…` — a connection pool. `int8` values (e.g. `count(*)`)
 *   come back as JS numbers, process-wide.
 *
 * Only the adapter for the chosen scheme is loaded.
 *
 * @example
 * const sql = await createSqlDatabase<Database>('sqlite:./.halftone/halftone.db');
 * await migrateToLatest(sql.db, migrations);
 */
export async function createSqlDatabase<DB>(
  url: string,
  opts: SqlDatabaseOptions = {},
): Promise<SqlDatabase<DB>> {
  if (url.startsWith('sqlite:')) {
    const { createSqliteDatabase, sqlitePathFromUrl } = await import('./sql-database.sqlite.js');
    return createSqliteDatabase<DB>(sqlitePathFromUrl(url));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { createPostgresDatabase } = await import('./sql-database.pg.js');
    return createPostgresDatabase<DB>(url, opts);
  }
  throw configInvalid(undefined, {
    detail: 'Database URL must start with sqlite:, postgres:// or postgresql://',
  });
}

const SQLITE_UNIQUE_CODES = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const PG_UNIQUE_VIOLATION = '23505';

/**
 * `true` when `err` is a unique or primary-key violation, on either dialect (better-sqlite3
 * `SQLITE_CONSTRAINT_UNIQUE`/`SQLITE_CONSTRAINT_PRIMARYKEY`, PostgreSQL SQLSTATE 23505).
 * Looks through one level of `cause`, for errors wrapped by a store.
 *
 * @example
 * try { await db.insertInto('apps').values(row).execute(); }
 * catch (err) { if (isUniqueViolation(err)) throw appExists({ app: row.id }); throw err; }
 */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err, depth = 0; depth < 2 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (SQLITE_UNIQUE_CODES.has(code) || code === PG_UNIQUE_VIOLATION)
    ) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
