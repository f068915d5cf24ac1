import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { describeSqlDatabaseContract } from './sql-database.contract.js';
import { createSqlDatabase } from './sql-database.js';
import { sqlitePathFromUrl } from './sql-database.sqlite.js';
import { sqlDatabaseTargets } from './test-databases.test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'halftone-sql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;

describeSqlDatabaseContract('sqlite in memory', () => createSqlDatabase('sqlite::memory:'));
describeSqlDatabaseContract('sqlite file', () =>
  createSqlDatabase(`sqlite:${join(dir, `contract-${++fileCounter}`, 'h.db')}`),
);

describe('createSqlDatabase (sqlite)', () => {
  it('creates the parent directory and sets the pragmas', async () => {
    const database = await createSqlDatabase(`sqlite:${join(dir, 'nested', 'deeper', 'h.db')}`);
    try {
      expect(database.dialect).toBe('sqlite');
      const pragma = async (name: string) =>
        Object.values((await sql.raw(`pragma ${name}`).execute(database.db)).rows[0] as object)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(1);
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
    } finally {
      await database.close();
    }
  });

  it('keeps data in the file across reopen', async () => {
    const url = `sqlite:${join(dir, 'persist.db')}`;
    const first = await createSqlDatabase<unknown>(url);
    await sql`create table t (v text)`.execute(first.db);
    await sql`insert into t values ('kept')`.execute(first.db);
    await first.close();
    const second = await createSqlDatabase<unknown>(url);
    const rows = await sql<{ v: string }>`select v from t`.execute(second.db);
    expect(rows.rows).toEqual([{ v: 'kept' }]);
    await second.close();
  });

  it('closes a database that was never queried', async () => {
    const database = await createSqlDatabase(`sqlite:${join(dir, 'unused.db')}`);
    await database.close();
    await database.close();
  });

  it('rejects unknown schemes', async () => {
    await expect(createSqlDatabase('mysql://localhost/db')).rejects.toMatchObject({
      code: 'HT_CONFIG_INVALID',
    });
  });

  it('parses sqlite: URLs', () => {
    expect(sqlitePathFromUrl('sqlite::memory:')).toBe(':memory:');
    expect(sqlitePathFromUrl('sqlite:./data/h.db')).toBe('./data/h.db');
    expect(sqlitePathFromUrl('sqlite:///var/h.db')).toBe('/var/h.db');
    expect(() => sqlitePathFromUrl('sqlite:')).toThrow(TypeError);
  });
});

describe('sqlDatabaseTargets', () => {
  it('always includes sqlite', () => {
    expect(sqlDatabaseTargets().map((t) => t.name)).toContain('sqlite');
  });
});
