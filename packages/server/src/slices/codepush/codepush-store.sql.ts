import { type Kysely, type Selectable, sql } from 'kysely';
import type { CodePushDiffTable, Database } from '../../db/schema.js';
import { isUniqueViolation } from '../../platform/sql/sql-database.js';
import { CodePushDeploymentExists } from './codepush-errors.js';
import type {
  CodePushBucketing,
  CodePushDiff,
  CodePushDiffStatus,
  CodePushRelease,
  CodePushStore,
  LabelMetrics,
} from './codepush-store.js';

function toDiff(row: Selectable<CodePushDiffTable>): CodePushDiff {
  return {
    toPackageId: row.to_package_id,
    baseHash: row.base_hash,
    appId: row.app_id,
    status: row.status as CodePushDiffStatus,
    blobSha256: row.blob_sha256,
    size: row.size === null ? null : Number(row.size),
    error: row.error,
    leaseUntil: row.lease_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const COLUMN = {
  active: 'active',
  downloaded: 'downloaded',
  installed: 'installed',
  failed: 'failed',
  rolledBack: 'rolled_back',
  ignored: 'ignored',
} as const;

/** The CodePushStore on SQLite or PostgreSQL through Kysely. */
export function createSqlCodePushStore(db: Kysely<Database>): CodePushStore {
  const deploymentOf = (r: Selectable<Database['codepush_deployments']>) => ({
    id: r.id,
    appId: r.app_id,
    name: r.name,
    platform: r.platform,
    module: r.module,
    key: r.deployment_key,
    bucketing: r.bucketing as CodePushBucketing,
    createdAt: r.created_at,
  });
  const releaseOf = (r: Selectable<Database['codepush_releases']>): CodePushRelease => ({
    deploymentId: r.deployment_id,
    seq: Number(r.seq),
    releaseId: r.release_id,
    packageId: r.package_id,
    range: r.target_range,
    disabled: Number(r.disabled) === 1,
    releasedFrom: r.released_from,
    createdAt: r.created_at,
  });
  return {
    async insertDeployment(d) {
      try {
        await db
          .insertInto('codepush_deployments')
          .values({
            id: d.id,
            app_id: d.appId,
            name: d.name,
            platform: d.platform,
            module: d.module,
            deployment_key: d.key,
            bucketing: d.bucketing,
            created_at: d.createdAt,
          })
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw CodePushDeploymentExists({ app: d.appId, deployment: d.name });
        throw err;
      }
    },
    async listDeployments(appId) {
      let q = db.selectFrom('codepush_deployments').selectAll();
      if (appId !== undefined) q = q.where('app_id', '=', appId);
      return (await q.orderBy('app_id').orderBy('created_at').orderBy('id').execute()).map(deploymentOf);
    },
    async getDeployment(appId, name) {
      const row = await db
        .selectFrom('codepush_deployments')
        .selectAll()
        .where('app_id', '=', appId)
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? deploymentOf(row) : null;
    },
    async listReleases(deploymentId) {
      const rows = await db
        .selectFrom('codepush_releases')
        .selectAll()
        .where('deployment_id', '=', deploymentId)
        .orderBy('seq')
        .execute();
      return rows.map(releaseOf);
    },
    async listReleasesOfApp(appId) {
      const rows = await db
        .selectFrom('codepush_releases as r')
        .innerJoin('codepush_deployments as d', 'd.id', 'r.deployment_id')
        .selectAll('r')
        .where('d.app_id', '=', appId)
        .orderBy('r.deployment_id')
        .orderBy('r.seq')
        .execute();
      return rows.map(releaseOf);
    },
    async insertRelease(r) {
      try {
        await db
          .insertInto('codepush_releases')
          .values({
            deployment_id: r.deploymentId,
            seq: r.seq,
            release_id: r.releaseId,
            package_id: r.packageId,
            target_range: r.range,
            disabled: r.disabled ? 1 : 0,
            released_from: r.releasedFrom,
            created_at: r.createdAt,
          })
          .execute();
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async updateRelease(deploymentId, seq, change) {
      const set: { disabled?: number; target_range?: string } = {};
      if (change.disabled !== undefined) set.disabled = change.disabled ? 1 : 0;
      if (change.range !== undefined) set.target_range = change.range;
      if (Object.keys(set).length === 0) return;
      await db
        .updateTable('codepush_releases')
        .set(set)
        .where('deployment_id', '=', deploymentId)
        .where('seq', '=', seq)
        .execute();
    },
    async addMetrics(deploymentId, label, delta) {
      const values = { active: 0, downloaded: 0, installed: 0, failed: 0, rolled_back: 0, ignored: 0 };
      for (const [name, column] of Object.entries(COLUMN)) {
        values[column] = delta[name as keyof LabelMetrics] ?? 0;
      }
      await db
        .insertInto('codepush_metrics')
        .values({ deployment_id: deploymentId, label, ...values })
        .onConflict((oc) =>
          oc.columns(['deployment_id', 'label']).doUpdateSet({
            active: sql`codepush_metrics.active + ${values.active}`,
            downloaded: sql`codepush_metrics.downloaded + ${values.downloaded}`,
            installed: sql`codepush_metrics.installed + ${values.installed}`,
            failed: sql`codepush_metrics.failed + ${values.failed}`,
            rolled_back: sql`codepush_metrics.rolled_back + ${values.rolled_back}`,
            ignored: sql`codepush_metrics.ignored + ${values.ignored}`,
          }),
        )
        .execute();
    },
    async metrics(deploymentId) {
      const rows = await db.selectFrom('codepush_metrics').selectAll().where('deployment_id', '=', deploymentId).execute();
      return new Map(
        rows.map((r) => [
          r.label,
          {
            active: Number(r.active),
            downloaded: Number(r.downloaded),
            installed: Number(r.installed),
            failed: Number(r.failed),
            rolledBack: Number(r.rolled_back),
            ignored: Number(r.ignored),
          },
        ]),
      );
    },
    async insertDiff(d) {
      try {
        await db
          .insertInto('codepush_diffs')
          .values({
            to_package_id: d.toPackageId,
            base_hash: d.baseHash,
            app_id: d.appId,
            status: 'pending',
            blob_sha256: null,
            size: null,
            error: null,
            lease_until: null,
            created_at: d.createdAt,
            updated_at: d.updatedAt,
          })
          .execute();
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async getDiff(to, base) {
      const row = await db
        .selectFrom('codepush_diffs')
        .selectAll()
        .where('to_package_id', '=', to)
        .where('base_hash', '=', base)
        .executeTakeFirst();
      return row ? toDiff(row) : null;
    },
    async listDiffs() {
      return (await db.selectFrom('codepush_diffs').selectAll().execute()).map(toDiff);
    },
    async claimDiff(to, base, t) {
      const res = await db
        .updateTable('codepush_diffs')
        .set({ status: 'running', lease_until: t.leaseUntil, updated_at: t.now })
        .where('to_package_id', '=', to)
        .where('base_hash', '=', base)
        .where((eb) =>
          eb.or([
            eb('status', '=', 'pending'),
            eb.and([eb('status', '=', 'running'), eb('lease_until', '<', t.expiredBefore)]),
          ]),
        )
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async finishDiff(to, base, outcome, now) {
      await db
        .updateTable('codepush_diffs')
        .set({
          status: outcome.status,
          blob_sha256: outcome.blobSha256 ?? null,
          size: outcome.size ?? null,
          error: outcome.error ?? null,
          lease_until: null,
          updated_at: now,
        })
        .where('to_package_id', '=', to)
        .where('base_hash', '=', base)
        .execute();
    },
  };
}
