import type { Kysely, Selectable } from 'kysely';
import type { ConfigAuditTable, ConfigItemTable, ConfigRevisionTable, Database } from '../../db/schema.js';
import { isUniqueViolation } from '../../platform/sql/sql-database.js';
import type { ConfigItemContent, StoredConfigItem } from './config-model.js';
import type { ConfigAuditEntry, ConfigRevision, ConfigStore } from './config-store.js';

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function toItem(row: Selectable<ConfigItemTable>): StoredConfigItem {
  return {
    appId: row.app_id,
    env: row.env,
    namespace: row.namespace,
    key: row.key,
    type: row.type as StoredConfigItem['type'],
    kind: row.kind as StoredConfigItem['kind'],
    enabled: Number(row.enabled) === 1,
    defaultValue: JSON.parse(row.default_value),
    ...(row.off_value !== null ? { offValue: JSON.parse(row.off_value) } : {}),
    description: row.description,
    owner: row.owner,
    tags: JSON.parse(row.tags) as string[],
    rules: JSON.parse(row.rules) as StoredConfigItem['rules'],
    dependsOn: JSON.parse(row.depends_on) as StoredConfigItem['dependsOn'],
    module: row.module,
    revision: Number(row.revision),
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

function toRevision(row: Selectable<ConfigRevisionTable>): ConfigRevision {
  return {
    appId: row.app_id,
    env: row.env,
    namespace: row.namespace,
    key: row.key,
    revision: Number(row.revision),
    action: row.action,
    item: parse<ConfigItemContent>(row.item),
    actor: row.actor,
    createdAt: row.created_at,
  };
}

function toAudit(row: Selectable<ConfigAuditTable>): ConfigAuditEntry {
  return {
    id: row.id,
    appId: row.app_id,
    env: row.env,
    namespace: row.namespace,
    key: row.key,
    action: row.action,
    actor: row.actor,
    before: parse<ConfigItemContent>(row.before),
    after: parse<ConfigItemContent>(row.after),
    createdAt: row.created_at,
  };
}

function itemRow(appId: string, item: StoredConfigItem): ConfigItemTable {
  return {
    app_id: appId,
    env: item.env,
    namespace: item.namespace,
    key: item.key,
    type: item.type,
    kind: item.kind,
    enabled: item.enabled ? 1 : 0,
    default_value: JSON.stringify(item.defaultValue),
    off_value: item.offValue === undefined ? null : JSON.stringify(item.offValue),
    description: item.description,
    owner: item.owner,
    tags: JSON.stringify(item.tags),
    rules: JSON.stringify(item.rules),
    depends_on: JSON.stringify(item.dependsOn),
    module: item.module,
    revision: item.revision,
    updated_at: item.updatedAt,
    updated_by: item.updatedBy,
  };
}

/** Thrown inside the transaction to roll it back when a guard fails. */
class StaleGuard extends Error {}

/** The ConfigStore on SQLite or PostgreSQL through Kysely. */
export function createSqlConfigStore(db: Kysely<Database>): ConfigStore {
  const envRevision = async (q: Kysely<Database>, appId: string, env: string): Promise<number> => {
    const row = await q
      .selectFrom('config_envs')
      .select('revision')
      .where('app_id', '=', appId)
      .where('env', '=', env)
      .executeTakeFirst();
    return row === undefined ? 0 : Number(row.revision);
  };
  return {
    async listItems(appId, env) {
      const rows = await db
        .selectFrom('config_items')
        .selectAll()
        .where('app_id', '=', appId)
        .where('env', '=', env)
        .orderBy('namespace')
        .orderBy('key')
        .execute();
      return rows.map(toItem);
    },
    async getItem(appId, env, namespace, key) {
      const row = await db
        .selectFrom('config_items')
        .selectAll()
        .where('app_id', '=', appId)
        .where('env', '=', env)
        .where('namespace', '=', namespace)
        .where('key', '=', key)
        .executeTakeFirst();
      return row === undefined ? null : toItem(row);
    },
    envRevision: (appId, env) => envRevision(db, appId, env),
    async commit(batch) {
      try {
        return await db.transaction().execute(async (trx) => {
          const envs = new Set<string>([...Object.keys(batch.guards), ...batch.writes.map((w) => w.env)]);
          const current: Record<string, number> = {};
          for (const env of envs) {
            // Take the environment's row lock first (PostgreSQL), so concurrent batches serialise.
            await trx
              .insertInto('config_envs')
              .values({ app_id: batch.appId, env, revision: 0, updated_at: batch.at })
              .onConflict((oc) => oc.columns(['app_id', 'env']).doUpdateSet({ updated_at: batch.at }))
              .execute();
            current[env] = await envRevision(trx, batch.appId, env);
          }
          for (const [env, expected] of Object.entries(batch.guards)) {
            if (current[env] !== expected) throw new StaleGuard();
          }
          for (const w of batch.writes) {
            await trx
              .deleteFrom('config_items')
              .where('app_id', '=', batch.appId)
              .where('env', '=', w.env)
              .where('namespace', '=', w.namespace)
              .where('key', '=', w.key)
              .execute();
            if (w.item !== null) await trx.insertInto('config_items').values(itemRow(batch.appId, w.item)).execute();
            const r = w.revision;
            await trx
              .insertInto('config_revisions')
              .values({
                app_id: batch.appId,
                env: r.env,
                namespace: r.namespace,
                key: r.key,
                revision: r.revision,
                action: r.action,
                item: r.item === null ? null : JSON.stringify(r.item),
                actor: r.actor,
                created_at: r.createdAt,
              })
              .execute();
            const a = w.audit;
            await trx
              .insertInto('config_audit')
              .values({
                id: a.id,
                app_id: batch.appId,
                env: a.env,
                namespace: a.namespace,
                key: a.key,
                action: a.action,
                actor: a.actor,
                before: a.before === null ? null : JSON.stringify(a.before),
                after: a.after === null ? null : JSON.stringify(a.after),
                created_at: a.createdAt,
              })
              .execute();
          }
          const next: Record<string, number> = { ...current };
          for (const env of new Set(batch.writes.map((w) => w.env))) {
            next[env] = (current[env] ?? 0) + 1;
            await trx
              .updateTable('config_envs')
              .set({ revision: next[env] as number, updated_at: batch.at })
              .where('app_id', '=', batch.appId)
              .where('env', '=', env)
              .execute();
          }
          return next;
        });
      } catch (err) {
        // A revision number taken by a concurrent writer is a stale guard too.
        if (err instanceof StaleGuard || isUniqueViolation(err)) return null;
        throw err;
      }
    },
    async listRevisions(appId, env, namespace, key) {
      const rows = await db
        .selectFrom('config_revisions')
        .selectAll()
        .where('app_id', '=', appId)
        .where('env', '=', env)
        .where('namespace', '=', namespace)
        .where('key', '=', key)
        .orderBy('revision', 'desc')
        .execute();
      return rows.map(toRevision);
    },
    async getRevision(appId, env, namespace, key, revision) {
      const row = await db
        .selectFrom('config_revisions')
        .selectAll()
        .where('app_id', '=', appId)
        .where('env', '=', env)
        .where('namespace', '=', namespace)
        .where('key', '=', key)
        .where('revision', '=', revision)
        .executeTakeFirst();
      return row === undefined ? null : toRevision(row);
    },
    async lastRevision(appId, env, namespace, key) {
      const row = await db
        .selectFrom('config_revisions')
        .select((eb) => eb.fn.max('revision').as('max'))
        .where('app_id', '=', appId)
        .where('env', '=', env)
        .where('namespace', '=', namespace)
        .where('key', '=', key)
        .executeTakeFirst();
      return row?.max == null ? 0 : Number(row.max);
    },
    async listAudit(appId, filter) {
      let q = db.selectFrom('config_audit').selectAll().where('app_id', '=', appId);
      if (filter.env !== undefined) q = q.where('env', '=', filter.env);
      if (filter.namespace !== undefined) q = q.where('namespace', '=', filter.namespace);
      if (filter.key !== undefined) q = q.where('key', '=', filter.key);
      const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(toAudit);
    },
    async listEnvKeys() {
      const rows = await db.selectFrom('app_env_keys').selectAll().orderBy('app_id').execute();
      return rows.map((r) => ({ appId: r.app_id, env: r.env, clientKey: r.client_key }));
    },
    async ensureEnvKey(appId, env, candidate, at) {
      const existing = async () =>
        (
          await db
            .selectFrom('app_env_keys')
            .select('client_key')
            .where('app_id', '=', appId)
            .where('env', '=', env)
            .executeTakeFirst()
        )?.client_key;
      const found = await existing();
      if (found !== undefined) return found;
      await db
        .insertInto('app_env_keys')
        .values({ app_id: appId, env, client_key: candidate, created_at: at })
        .onConflict((oc) => oc.columns(['app_id', 'env']).doNothing())
        .execute();
      return (await existing()) ?? candidate;
    },
  };
}
