import { describe, it } from 'vitest';
import type { SqlDatabase } from '../platform/sql/sql-database.js';
import {
  createTestPostgresDatabase,
  testPostgresUrl,
} from '../platform/sql/test-databases.test-helpers.js';
import type { Database } from './schema.js';
import { describeStoreContract } from './stores.contract.js';

const pgUrl = testPostgresUrl();
if (pgUrl === undefined) {
  describe('metadata stores on PostgreSQL', () => {
    it.skip('skipped: set HALFTONE_TEST_PG_URL to run the store contract on PostgreSQL (.ci/run does)', () => {});
  });
} else {
  describeStoreContract(
    'PostgreSQL',
    () => createTestPostgresDatabase(pgUrl) as Promise<SqlDatabase<Database>>,
  );
}
