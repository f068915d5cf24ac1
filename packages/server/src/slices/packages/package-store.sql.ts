import type { Kysely, Selectable } from 'kysely';
import type { Database, PackageTable } from '../../db/schema.js';
import { isUniqueViolation } from '../../platform/sql/sql-database.js';
import { PackageVersionExists } from './package-errors.js';
import type { Package, PackageFormat, PackageKind, PackageStore } from './package-store.js';

export function toPackage(row: Selectable<PackageTable>): Package {
  return {
    id: row.id,
    appId: row.app_id,
    module: row.module,
    version: row.version,
    kind: row.kind as PackageKind,
    platform: row.platform === '' ? null : row.platform,
    format: row.format as PackageFormat,
    blobSha256: row.blob_sha256,
    contentHash: row.content_hash,
    size: Number(row.size),
    fileCount: Number(row.file_count),
    linkUrl: row.link_url,
    minAppVersion: row.min_app_version,
    maxAppVersion: row.max_app_version,
    fallbackUrl: row.fallback_url,
    description: row.description,
    disabled: Number(row.disabled) === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The PackageStore on SQLite or PostgreSQL through Kysely. */
export function createSqlPackageStore(db: Kysely<Database>): PackageStore {
  return {
    async insertPackage(pkg) {
      try {
        await db
          .insertInto('packages')
          .values({
            id: pkg.id,
            app_id: pkg.appId,
            module: pkg.module,
            version: pkg.version,
            kind: pkg.kind,
            platform: pkg.platform ?? '',
            format: pkg.format,
            blob_sha256: pkg.blobSha256,
            content_hash: pkg.contentHash,
            size: pkg.size,
            file_count: pkg.fileCount,
            link_url: pkg.linkUrl,
            min_app_version: pkg.minAppVersion,
            max_app_version: pkg.maxAppVersion,
            fallback_url: pkg.fallbackUrl,
            description: pkg.description,
            disabled: pkg.disabled ? 1 : 0,
            created_at: pkg.createdAt,
            updated_at: pkg.updatedAt,
          })
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw PackageVersionExists({
            app: pkg.appId,
            module: pkg.module,
            version: pkg.version,
            platform: pkg.platform ? ` for ${pkg.platform}` : '',
          });
        }
        throw err;
      }
    },
    async getPackage(id) {
      const row = await db.selectFrom('packages').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toPackage(row) : null;
    },
    async findPackage(appId, module, version, platform) {
      const row = await db
        .selectFrom('packages')
        .selectAll()
        .where('app_id', '=', appId)
        .where('module', '=', module)
        .where('version', '=', version)
        .where('platform', '=', platform ?? '')
        .executeTakeFirst();
      return row ? toPackage(row) : null;
    },
    async findPackagesByVersion(appId, module, version) {
      const rows = await db
        .selectFrom('packages')
        .selectAll()
        .where('app_id', '=', appId)
        .where('module', '=', module)
        .where('version', '=', version)
        .orderBy('platform')
        .execute();
      return rows.map(toPackage);
    },
    async listPackages(appId, module) {
      let q = db.selectFrom('packages').selectAll().where('app_id', '=', appId);
      if (module !== undefined) q = q.where('module', '=', module);
      const rows = await q.orderBy('module').orderBy('created_at').orderBy('id').execute();
      return rows.map(toPackage);
    },
    async setDisabled(id, disabled, updatedAt) {
      await db
        .updateTable('packages')
        .set({ disabled: disabled ? 1 : 0, updated_at: updatedAt })
        .where('id', '=', id)
        .execute();
      const row = await db.selectFrom('packages').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toPackage(row) : null;
    },
  };
}
