import type { Policy } from '@halftone/core';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { newId } from '../../platform/ids.js';
import type {
  GatewayHistoryEntry,
  GatewayHistoryRecord,
  GatewayHostBinding,
  GatewayPolicyGroup,
  GatewayStore,
  GatewayUpstream,
} from './gateway-store.js';

/** `prefix` as a LIKE pattern matching strings that start with it (escape character `\`). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function historyRow(e: GatewayHistoryEntry) {
  return {
    id: newId('gwh'),
    kind: e.kind,
    key: e.key,
    data: JSON.stringify(e.data ?? null),
    created_at: e.createdAt,
    actor: e.actor ?? null,
    revision: e.revision ?? null,
  };
}

function toHistory(r: {
  id: string;
  kind: string;
  key: string;
  data: string;
  created_at: string;
  actor: string | null;
  revision: number | null;
}): GatewayHistoryRecord {
  return {
    id: r.id,
    kind: r.kind,
    key: r.key,
    data: JSON.parse(r.data) as unknown,
    createdAt: r.created_at,
    actor: r.actor,
    revision: r.revision === null ? null : Number(r.revision),
  };
}

/** The gateway store on the shared SQL database (SQLite or PostgreSQL). */
export function createSqlGatewayStore(db: Kysely<Database>): GatewayStore {
  const toUpstream = (r: { name: string; urls: string; timeout_ms: number | null; updated_at: string }): GatewayUpstream => ({
    name: r.name,
    urls: JSON.parse(r.urls) as string[],
    timeoutMs: r.timeout_ms === null ? null : Number(r.timeout_ms),
    updatedAt: r.updated_at,
  });
  const toPolicy = (r: {
    id: string;
    levels: string;
    revision: number;
    created_at: string;
    updated_at: string;
  }): GatewayPolicyGroup => ({
    id: r.id,
    levels: JSON.parse(r.levels) as Policy[],
    revision: Number(r.revision),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
  const toHost = (r: { host: string; policy_id: string; updated_at: string }): GatewayHostBinding => ({
    host: r.host,
    policyId: r.policy_id,
    updatedAt: r.updated_at,
  });
  return {
    async listUpstreams() {
      const rows = await db.selectFrom('gateway_upstreams').selectAll().orderBy('name').execute();
      return rows.map(toUpstream);
    },
    async getUpstream(name) {
      const row = await db.selectFrom('gateway_upstreams').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toUpstream(row);
    },
    async putUpstream(u) {
      const row = { name: u.name, urls: JSON.stringify(u.urls), timeout_ms: u.timeoutMs, updated_at: u.updatedAt };
      await db
        .insertInto('gateway_upstreams')
        .values(row)
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ urls: row.urls, timeout_ms: row.timeout_ms, updated_at: row.updated_at }),
        )
        .execute();
    },
    async deleteUpstream(name) {
      const res = await db.deleteFrom('gateway_upstreams').where('name', '=', name).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async listPolicies() {
      const rows = await db.selectFrom('gateway_policy_groups').selectAll().orderBy('id').execute();
      return rows.map(toPolicy);
    },
    async getPolicy(id) {
      const row = await db.selectFrom('gateway_policy_groups').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toPolicy(row);
    },
    async insertPolicy(g, history) {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('gateway_policy_groups')
          .values({
            id: g.id,
            levels: JSON.stringify(g.levels),
            revision: g.revision,
            created_at: g.createdAt,
            updated_at: g.updatedAt,
          })
          .execute();
        await trx.insertInto('gateway_history').values(historyRow(history)).execute();
      });
    },
    async updatePolicy(g, fromRevision, history) {
      return db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable('gateway_policy_groups')
          .set({ levels: JSON.stringify(g.levels), revision: g.revision, updated_at: g.updatedAt })
          .where('id', '=', g.id)
          .where('revision', '=', fromRevision)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) return false;
        await trx.insertInto('gateway_history').values(historyRow(history)).execute();
        return true;
      });
    },
    async deletePolicy(id, history) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('gateway_policy_groups').selectAll().where('id', '=', id).executeTakeFirst();
        if (row === undefined) return false;
        const res = await trx.deleteFrom('gateway_policy_groups').where('id', '=', id).executeTakeFirst();
        if (Number(res.numDeletedRows) === 0) return false;
        if (history !== undefined) {
          const entry = { ...history, data: { levels: JSON.parse(row.levels) as unknown }, revision: Number(row.revision) + 1 };
          await trx.insertInto('gateway_history').values(historyRow(entry)).execute();
        }
        return true;
      });
    },
    async listHosts() {
      const rows = await db.selectFrom('gateway_hosts').selectAll().orderBy('host').execute();
      return rows.map(toHost);
    },
    async getHost(host) {
      const row = await db.selectFrom('gateway_hosts').selectAll().where('host', '=', host).executeTakeFirst();
      return row === undefined ? undefined : toHost(row);
    },
    async putHost(b) {
      const row = { host: b.host, policy_id: b.policyId, updated_at: b.updatedAt };
      await db
        .insertInto('gateway_hosts')
        .values(row)
        .onConflict((oc) => oc.column('host').doUpdateSet({ policy_id: row.policy_id, updated_at: row.updated_at }))
        .execute();
    },
    async deleteHost(host) {
      const res = await db.deleteFrom('gateway_hosts').where('host', '=', host).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async historyKeys(kind, prefix) {
      const rows = await db
        .selectFrom('gateway_history')
        .select('key')
        .where('kind', '=', kind)
        .where(sql<boolean>`key like ${likePrefix(prefix)} escape '\\'`)
        .execute();
      return rows.map((r) => r.key);
    },
    async appendHistory(e) {
      await db.insertInto('gateway_history').values(historyRow(e)).execute();
    },
    async listHistory(q) {
      let query = db.selectFrom('gateway_history').selectAll();
      if (q.before !== undefined) query = query.where('id', '<', q.before);
      if (q.key !== undefined) query = query.where('key', '=', q.key);
      if (q.kindPrefix !== undefined) query = query.where(sql<boolean>`kind like ${likePrefix(q.kindPrefix)} escape '\\'`);
      const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
      return rows.map(toHistory);
    },
  };
}
