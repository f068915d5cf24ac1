import { type Kysely, type Migration, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHalftoneError } from '../errors/halftone-error.js';
import { migrateToLatest } from './migrate.js';
import { isUniqueViolation, type SqlDatabase } from './sql-database.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations and `create` work on the untyped schema.
type UntypedDb = any;

interface TestDb {
  widgets: { id: string; name: string; size: number };
  parts: { widget_id: string; n: number };
}

const migrations: Record<string, Migration> = {
  '0001_widgets': {
    async up(db: Kysely<UntypedDb>) {
      await db.schema
        .createTable('widgets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('size', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  '0002_parts': {
    async up(db: Kysely<UntypedDb>) {
      await db.schema
        .createTable('parts')
        .addColumn('widget_id', 'text', (c) => c.notNull().references('widgets.id'))
        .addColumn('n', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * The SqlDatabase contract: what every store adapter relies on, checked on each engine.
 *
 * @param create a fresh, empty database per test
 */
export function describeSqlDatabaseContract(
  name: string,
  create: () => Promise<SqlDatabase<UntypedDb>>,
): void {
  describe(`SqlDatabase contract: ${name}`, () => {
    let sqlDb: SqlDatabase<TestDb>;
    let db: Kysely<TestDb>;

    beforeEach(async () => {
      sqlDb = await create();
      db = sqlDb.db;
      await migrateToLatest(db, migrations);
    });

    afterEach(async () => {
      await sqlDb.close();
    });

    it('reports its dialect', () => {
      expect(['sqlite', 'postgres']).toContain(sqlDb.dialect);
    });

    it('migrates, and migrating again is a no-op', async () => {
      await migrateToLatest(db, migrations);
      const applied = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(db);
      expect(applied.rows.map((r) => r.name)).toEqual(['0001_widgets', '0002_parts']);
    });

    it('inserts and reads back, with counts as numbers', async () => {
      await db
        .insertInto('widgets')
        .values([
          { id: 'w1', name: 'one', size: 1 },
          { id: 'w2', name: 'two', size: 2 },
        ])
        .execute();
      const rows = await db.selectFrom('widgets').selectAll().orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'w1', name: 'one', size: 1 },
        { id: 'w2', name: 'two', size: 2 },
      ]);
      const { count } = await db
        .selectFrom('widgets')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      expect(count).toBe(2);
      const { total } = await db
        .selectFrom('widgets')
        .select((eb) => eb.fn.sum<number>('size').as('total'))
        .executeTakeFirstOrThrow();
      expect(Number(total)).toBe(3);
    });

    it('detects unique and primary-key violations', async () => {
      await db.insertInto('widgets').values({ id: 'w1', name: 'one', size: 1 }).execute();
      const duplicateKey = await db
        .insertInto('widgets')
        .values({ id: 'w1', name: 'other', size: 1 })
        .execute()
        .catch((err: unknown) => err);
      expect(isUniqueViolation(duplicateKey)).toBe(true);
      const duplicateName = await db
        .insertInto('widgets')
        .values({ id: 'w2', name: 'one', size: 1 })
        .execute()
        .catch((err: unknown) => err);
      expect(isUniqueViolation(duplicateName)).toBe(true);
    });

    it('does not mistake other constraint errors for unique violations', async () => {
      const fk = await db
        .insertInto('parts')
        .values({ widget_id: 'missing', n: 1 })
        .execute()
        .catch((err: unknown) => err);
      expect(fk).toBeInstanceOf(Error);
      expect(isUniqueViolation(fk)).toBe(false);
      expect(isUniqueViolation(new Error('x'))).toBe(false);
    });

    it('rolls a failed transaction back', async () => {
      const outcome = await db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('widgets').values({ id: 'w1', name: 'one', size: 1 }).execute();
          await trx.insertInto('widgets').values({ id: 'w2', name: 'one', size: 2 }).execute();
        })
        .catch((err: unknown) => err);
      expect(isUniqueViolation(outcome)).toBe(true);
      expect(await db.selectFrom('widgets').selectAll().execute()).toEqual([]);
    });

    it('commits a successful transaction', async () => {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('widgets').values({ id: 'w1', name: 'one', size: 1 }).execute();
        await trx.insertInto('parts').values({ widget_id: 'w1', n: 1 }).execute();
      });
      expect(await db.selectFrom('parts').selectAll().execute()).toEqual([
        { widget_id: 'w1', n: 1 },
      ]);
    });

    it('names the failed migration and leaves the schema as it was', async () => {
      const broken: Record<string, Migration> = {
        ...migrations,
        '0003_ok': {
          async up(d: Kysely<UntypedDb>) {
            await d.schema.createTable('gadgets').addColumn('id', 'text').execute();
          },
        },
        '0004_broken': {
          async up(d: Kysely<UntypedDb>) {
            await sql`select * from no_such_table`.execute(d);
          },
        },
      };
      const err = await migrateToLatest(db, broken).catch((e: unknown) => e);
      expect(isHalftoneError(err)).toBe(true);
      if (!isHalftoneError(err)) return;
      expect(err.code).toBe('HT_MIGRATION_FAILED');
      expect(err.status).toBe(500);
      expect(err.message).toBe('Database migration 0004_broken failed');
      expect(err.cause).toBeInstanceOf(Error);
      const tables = (await db.introspection.getTables()).map((t) => t.name);
      expect(tables).not.toContain('gadgets');
    });

    it('closes idempotently', async () => {
      await sqlDb.close();
      await sqlDb.close();
    });
  });
}
