import type { Kysely, Selectable } from 'kysely';
import type { Database, DeltaPatchTable } from '../../db/schema.js';
import { isUniqueViolation } from '../../platform/sql/sql-database.js';
import type { DeltaPatch, DeltaStatus, DeltaStore } from './delta-store.js';

function toPatch(row: Selectable<DeltaPatchTable>): DeltaPatch {
  return {
    fromPackageId: row.from_package_id,
    toPackageId: row.to_package_id,
    appId: row.app_id,
    status: row.status as DeltaStatus,
    blobSha256: row.blob_sha256,
    size: row.size === null ? null : Number(row.size),
    fullSize: Number(row.full_size),
    attempts: Number(row.attempts),
    error: row.error,
    leaseUntil: row.lease_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The DeltaStore on SQLite or PostgreSQL through Kysely. */
export function createSqlDeltaStore(db: Kysely<Database>): DeltaStore {
  return {
    async insertPending(p) {
      try {
        await db
          .insertInto('delta_patches')
          .values({
            from_package_id: p.fromPackageId,
            to_package_id: p.toPackageId,
            app_id: p.appId,
            status: 'pending',
            blob_sha256: null,
            size: null,
            full_size: p.fullSize,
            attempts: 0,
            error: null,
            lease_until: null,
            created_at: p.createdAt,
            updated_at: p.updatedAt,
          })
          .execute();
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async get(from, to) {
      const row = await db
        .selectFrom('delta_patches')
        .selectAll()
        .where('from_package_id', '=', from)
        .where('to_package_id', '=', to)
        .executeTakeFirst();
      return row ? toPatch(row) : null;
    },
    async listAll() {
      return (await db.selectFrom('delta_patches').selectAll().execute()).map(toPatch);
    },
    async claim(from, to, { now, leaseUntil, expiredBefore }) {
      // Timestamps are ISO-8601 UTC text, so text order is time order on both engines.
      const res = await db
        .updateTable('delta_patches')
        .set((eb) => ({
          status: 'running',
          lease_until: leaseUntil,
          attempts: eb('attempts', '+', 1),
          updated_at: now,
        }))
        .where('from_package_id', '=', from)
        .where('to_package_id', '=', to)
        .where((eb) =>
          eb.or([
            eb('status', '=', 'pending'),
            eb.and([eb('status', '=', 'running'), eb('lease_until', '<', expiredBefore)]),
          ]),
        )
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async finish(from, to, outcome, now) {
      await db
        .updateTable('delta_patches')
        .set({
          status: outcome.status,
          blob_sha256: outcome.blobSha256 ?? null,
          size: outcome.size ?? null,
          error: outcome.error ?? null,
          lease_until: null,
          updated_at: now,
        })
        .where('from_package_id', '=', from)
        .where('to_package_id', '=', to)
        .execute();
    },
    async listClaimable(now) {
      const rows = await db
        .selectFrom('delta_patches')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('status', '=', 'pending'),
            eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
          ]),
        )
        .execute();
      return rows.map(toPatch);
    },
    async delete(from, to) {
      await db
        .deleteFrom('delta_patches')
        .where('from_package_id', '=', from)
        .where('to_package_id', '=', to)
        .execute();
    },
    async isBlobReferenced(blobSha256) {
      const row = await db
        .selectFrom('delta_patches')
        .select('from_package_id')
        .where('blob_sha256', '=', blobSha256)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
