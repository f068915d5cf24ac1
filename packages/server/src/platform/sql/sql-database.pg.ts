import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { SqlDatabase, SqlDatabaseOptions } from './sql-database.js';

const INT8_OID = 20;
let int8ParserInstalled = false;

/**
 * Makes `int8` (`bigint`, `count(*)`) values arrive as JS numbers instead of strings. This is
 * pg's process-wide type registry, so it is installed once. Values beyond 2^53 lose precision;
 * Halftone keeps counters far below that.
 */
function installInt8Parser(): void {
  if (int8ParserInstalled) return;
  pg.types.setTypeParser(INT8_OID, (value: string) => Number(value));
  int8ParserInstalled = true;
}

/** PostgreSQL through a pg connection pool: the scale-out database shared by every role. */
export function createPostgresDatabase<DB>(
  url: string,
  opts: SqlDatabaseOptions = {},
): SqlDatabase<DB> {
  installInt8Parser();
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on(
    'error',
    opts.onError ?? ((err) => process.emitWarning(`PostgreSQL idle client error: ${err.message}`)),
  );
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  return {
    db,
    dialect: 'postgres',
    close() {
      closing ??= db.destroy();
      return closing;
    },
  };
}
