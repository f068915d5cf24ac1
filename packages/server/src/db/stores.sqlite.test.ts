import { createSqlDatabase } from '../platform/sql/sql-database.js';
import type { Database } from './schema.js';
import { describeStoreContract } from './stores.contract.js';

describeStoreContract('SQLite', () => createSqlDatabase<Database>('sqlite::memory:'));
