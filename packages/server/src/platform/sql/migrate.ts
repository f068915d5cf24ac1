import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { migrationFailed } from '../errors/platform-errors.js';

/**
 * Applies every pending migration, in name order, with Kysely's Migrator (which takes a lock
 * so concurrent processes migrate once, and runs the batch in one transaction on both
 * dialects). Migrations are passed in, not read from disk, so they bundle with the code.
 *
 * Never edit a migration once merged; add a new one.
 *
 * @throws HalftoneError `HT_MIGRATION_FAILED` naming the failed migration, with the driver
 *   error as `cause`.
 * @example
 * await migrateToLatest(sql.db, { '0001_core': { up: async (db) => { … } } });
 */
export async function migrateToLatest(
  // biome-ignore lint/suspicious/noExplicitAny: migrations run on the untyped schema (Kysely's Migration takes Kysely<any>).
  db: Kysely<any>,
  migrations: Record<string, Migration>,
): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  throw migrationFailed(
    { migration: failed ?? '(setup)' },
    {
      cause: error,
      ...(failed === undefined && error instanceof Error ? { detail: error.message } : {}),
    },
  );
}
