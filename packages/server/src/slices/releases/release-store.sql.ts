import type { ReleaseStage, ReleaseStatus, Rule, Stickiness } from '@halftone/core';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, ReleaseTable } from '../../db/schema.js';
import { isUniqueViolation } from '../../platform/sql/sql-database.js';
import { ReleaseExists } from './release-errors.js';
import type { DeviceCounts, Release, ReleaseEvent, ReleaseStore } from './release-store.js';

function toRelease(row: Selectable<ReleaseTable>): Release {
  return {
    id: row.id,
    appId: row.app_id,
    module: row.module,
    version: row.version,
    packageId: row.package_id,
    platform: row.platform === '' ? null : row.platform,
    stage: row.stage as ReleaseStage,
    status: row.status as ReleaseStatus,
    percent: Number(row.percent),
    whitelist: JSON.parse(row.whitelist) as string[],
    crowds: JSON.parse(row.crowds) as string[],
    rule: row.rule === null ? null : (JSON.parse(row.rule) as Rule),
    mandatory: Number(row.mandatory) === 1,
    grayId: row.gray_id,
    stickiness: row.stickiness as Stickiness,
    description: row.description,
    revision: Number(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(r: Release): Selectable<ReleaseTable> {
  return {
    id: r.id,
    app_id: r.appId,
    module: r.module,
    version: r.version,
    package_id: r.packageId,
    platform: r.platform ?? '',
    stage: r.stage,
    status: r.status,
    percent: r.percent,
    whitelist: JSON.stringify(r.whitelist),
    crowds: JSON.stringify(r.crowds),
    rule: r.rule === null ? null : JSON.stringify(r.rule),
    mandatory: r.mandatory ? 1 : 0,
    gray_id: r.grayId,
    stickiness: r.stickiness,
    description: r.description,
    revision: r.revision,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function eventRow(e: ReleaseEvent) {
  return {
    id: e.id,
    release_id: e.releaseId,
    type: e.type,
    data: JSON.stringify(e.data),
    created_at: e.createdAt,
  };
}

/** The ReleaseStore on SQLite or PostgreSQL through Kysely. */
export function createSqlReleaseStore(db: Kysely<Database>): ReleaseStore {
  return {
    async insertRelease(release, event) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('releases').values(toRow(release)).execute();
          await trx.insertInto('release_events').values(eventRow(event)).execute();
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          const existing = await db
            .selectFrom('releases')
            .select('id')
            .where('package_id', '=', release.packageId)
            .executeTakeFirst();
          throw ReleaseExists({
            module: release.module,
            version: release.version,
            id: existing?.id ?? release.id,
          });
        }
        throw err;
      }
    },
    async getRelease(id) {
      const row = await db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRelease(row) : null;
    },
    async listReleases(appId, filter = {}) {
      let q = db.selectFrom('releases').selectAll().where('app_id', '=', appId);
      if (filter.module !== undefined) q = q.where('module', '=', filter.module);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      const rows = await q.orderBy('created_at').orderBy('id').execute();
      return rows.map(toRelease);
    },
    async updateRelease(next, expectedRevision, event) {
      return db.transaction().execute(async (trx) => {
        const { id, ...rest } = toRow(next);
        const res = await trx
          .updateTable('releases')
          .set(rest)
          .where('id', '=', id)
          .where('revision', '=', expectedRevision)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return false;
        await trx.insertInto('release_events').values(eventRow(event)).execute();
        return true;
      });
    },
    async listEvents(releaseId) {
      const rows = await db
        .selectFrom('release_events')
        .selectAll()
        .where('release_id', '=', releaseId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        releaseId: r.release_id,
        type: r.type,
        data: JSON.parse(r.data) as Record<string, unknown>,
        createdAt: r.created_at,
      }));
    },
    async recordDeviceReport(report) {
      const at = report.at;
      const patch =
        report.type === 'download'
          ? report.ok
            ? { downloaded_at: at }
            : { failed_at: at, fail_reason: report.reason }
          : report.ok
            ? { installed_at: at, from_version: report.fromVersion }
            : { failed_at: at, fail_reason: report.reason };
      await db
        .insertInto('release_devices')
        .values({
          release_id: report.releaseId,
          device_id: report.deviceId,
          user_id: report.userId,
          stage: report.stage,
          from_version: null,
          downloaded_at: null,
          installed_at: null,
          failed_at: null,
          fail_reason: null,
          updated_at: at,
          ...patch,
        })
        .onConflict((oc) =>
          oc.columns(['release_id', 'device_id']).doUpdateSet({ ...patch, updated_at: at }),
        )
        .execute();
    },
    async deviceCountsByStage(releaseId) {
      const rows = await db
        .selectFrom('release_devices')
        .select([
          'stage',
          sql<number>`count(downloaded_at)`.as('downloaded'),
          sql<number>`count(installed_at)`.as('installed'),
          sql<number>`count(failed_at)`.as('failed'),
        ])
        .where('release_id', '=', releaseId)
        .groupBy('stage')
        .execute();
      const out = new Map<ReleaseStage, DeviceCounts>();
      for (const r of rows) {
        out.set(r.stage as ReleaseStage, {
          downloaded: Number(r.downloaded),
          installed: Number(r.installed),
          failed: Number(r.failed),
        });
      }
      return out;
    },
    async installersOf(releaseId) {
      const rows = await db
        .selectFrom('release_devices')
        .select(['device_id', 'from_version'])
        .where('release_id', '=', releaseId)
        .where('installed_at', 'is not', null)
        .execute();
      return rows.map((r) => ({ deviceId: r.device_id, fromVersion: r.from_version }));
    },
    async lastInstalledVersion(appId, module, deviceId, exceptReleaseId) {
      const row = await db
        .selectFrom('release_devices as d')
        .innerJoin('releases as r', 'r.id', 'd.release_id')
        .select('r.version')
        .where('r.app_id', '=', appId)
        .where('r.module', '=', module)
        .where('d.device_id', '=', deviceId)
        .where('d.installed_at', 'is not', null)
        .where('d.release_id', '!=', exceptReleaseId)
        .orderBy('d.installed_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row?.version ?? null;
    },
    async livePackageIds() {
      const rows = await db.selectFrom('releases').select('package_id').where('status', '!=', 'rolled_back').execute();
      return new Set(rows.map((r) => r.package_id));
    },
    async saveCounters(counters, at) {
      if (counters.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (const c of counters) {
          await trx
            .insertInto('release_counters')
            .values({
              release_id: c.releaseId,
              stage: c.stage,
              checked: c.checked,
              offered: c.offered,
              updated_at: at,
            })
            .onConflict((oc) =>
              oc
                .columns(['release_id', 'stage'])
                .doUpdateSet({ checked: c.checked, offered: c.offered, updated_at: at }),
            )
            .execute();
        }
      });
    },
    async loadCountersOf(releaseIds) {
      const out = [];
      // Chunks keep the parameter count well under both engines' limits.
      for (let i = 0; i < releaseIds.length; i += 500) {
        const rows = await db
          .selectFrom('release_counters')
          .selectAll()
          .where('release_id', 'in', releaseIds.slice(i, i + 500))
          .execute();
        for (const r of rows) {
          out.push({ releaseId: r.release_id, stage: r.stage as ReleaseStage, checked: r.checked, offered: r.offered });
        }
      }
      return out;
    },
    async loadCounters(releaseId) {
      const rows = await db
        .selectFrom('release_counters')
        .selectAll()
        .where('release_id', '=', releaseId)
        .execute();
      return rows.map((r) => ({
        releaseId: r.release_id,
        stage: r.stage as ReleaseStage,
        checked: r.checked,
        offered: r.offered,
      }));
    },
  };
}
