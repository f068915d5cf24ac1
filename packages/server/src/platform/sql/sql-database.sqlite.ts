import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type DialectAdapter, Kysely, SqliteAdapter, SqliteDialect } from 'kysely';
import type { SqlDatabase } from './sql-database.js';

const MEMORY = ':memory:';

/**
 * SQLite does run DDL inside transactions, but Kysely's adapter says it does not, so its
 * Migrator would leave a half-applied batch behind a failed migration. Saying yes makes a
 * migration batch atomic on SQLite as on PostgreSQL. (Consequence for migration authors:
 * `PRAGMA foreign_keys` cannot be toggled inside a migration.)
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class HalftoneSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * The file path (or `:memory:`) of a `sqlite:` URL: `sqlite:./data/h.db` → `./data/h.db`,
 * `sqlite:///var/h.db` → `/var/h.db`, `sqlite::memory:` → `:memory:`.
 */
export function sqlitePathFromUrl(url: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') throw new TypeError('sqlite: URL needs a path or :memory:');
  return path;
}

/**
 * SQLite through better-sqlite3 (synchronous, one connection; Kysely serializes access). The
 * embedded default: one process, one writer.
 */
export function createSqliteDatabase<DB>(path: string): SqlDatabase<DB> {
  if (path !== MEMORY) mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path);
  try {
    // WAL lets readers run beside the writer; NORMAL is durable across process crashes in WAL
    // mode (only an OS crash can lose the last commits); busy_timeout waits out other writers.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
  } catch (err) {
    database.close();
    throw err;
  }
  const db = new Kysely<DB>({ dialect: new HalftoneSqliteDialect({ database }) });
  let closed = false;
  return {
    db,
    dialect: 'sqlite',
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      // Kysely only closes a database it has used; close it ourselves otherwise.
      if (database.open) database.close();
    },
  };
}
