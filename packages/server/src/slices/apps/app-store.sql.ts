import type { Kysely, Selectable } from 'kysely';
import type { AppTable, CrowdTable, Database } from '../../db/schema.js';
import { isUniqueViolation } from '../../platform/sql/sql-database.js';
import { AppExists } from './app-errors.js';
import type { AdminToken, App, AppStore, Crowd } from './app-store.js';

function toApp(row: Selectable<AppTable>): App {
  return {
    id: row.id,
    name: row.name,
    platforms: JSON.parse(row.platforms) as string[],
    clientKey: row.client_key,
    createdAt: row.created_at,
  };
}

function toCrowd(row: Selectable<CrowdTable>): Crowd {
  return {
    appId: row.app_id,
    name: row.name,
    members: JSON.parse(row.members) as string[],
    updatedAt: row.updated_at,
  };
}

/** The AppStore on SQLite or PostgreSQL through Kysely. */
export function createSqlAppStore(db: Kysely<Database>): AppStore {
  return {
    async insertApp(app) {
      try {
        await db
          .insertInto('apps')
          .values({
            id: app.id,
            name: app.name,
            platforms: JSON.stringify(app.platforms),
            client_key: app.clientKey,
            created_at: app.createdAt,
          })
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw AppExists({ app: app.id });
        throw err;
      }
    },
    async getApp(id) {
      const row = await db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toApp(row) : null;
    },
    async listApps() {
      const rows = await db.selectFrom('apps').selectAll().orderBy('id').execute();
      return rows.map(toApp);
    },
    async getAppByClientKey(clientKey) {
      const row = await db
        .selectFrom('apps')
        .selectAll()
        .where('client_key', '=', clientKey)
        .executeTakeFirst();
      return row ? toApp(row) : null;
    },
    async upsertCrowd(crowd) {
      const values = {
        app_id: crowd.appId,
        name: crowd.name,
        members: JSON.stringify(crowd.members),
        updated_at: crowd.updatedAt,
      };
      await db
        .insertInto('crowds')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['app_id', 'name']).doUpdateSet({
            members: values.members,
            updated_at: values.updated_at,
          }),
        )
        .execute();
    },
    async getCrowd(appId, name) {
      const row = await db
        .selectFrom('crowds')
        .selectAll()
        .where('app_id', '=', appId)
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? toCrowd(row) : null;
    },
    async listCrowds(appId) {
      const rows = await db
        .selectFrom('crowds')
        .selectAll()
        .where('app_id', '=', appId)
        .orderBy('name')
        .execute();
      return rows.map(toCrowd);
    },
    async putAdminToken(token) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('admin_tokens').where('name', '=', token.name).execute();
        await trx
          .insertInto('admin_tokens')
          .values({
            id: token.id,
            name: token.name,
            token_hash: token.tokenHash,
            created_at: token.createdAt,
          })
          .execute();
      });
    },
    async findAdminTokenByHash(tokenHash) {
      const row = await db
        .selectFrom('admin_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row
        ? { id: row.id, name: row.name, tokenHash: row.token_hash, createdAt: row.created_at }
        : null;
    },
  } satisfies AppStore & { putAdminToken(t: AdminToken): Promise<void> };
}
