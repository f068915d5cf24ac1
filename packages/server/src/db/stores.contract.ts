import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHalftoneError } from '../platform/errors/halftone-error.js';
import type { SqlDatabase } from '../platform/sql/sql-database.js';
import { migrateToLatest } from '../platform/sql/migrate.js';
import { createSqlAppStore } from '../slices/apps/app-store.sql.js';
import type { AppStore } from '../slices/apps/app-store.js';
import { createSqlPackageStore } from '../slices/packages/package-store.sql.js';
import type { Package, PackageStore } from '../slices/packages/package-store.js';
import { createSqlReleaseStore } from '../slices/releases/release-store.sql.js';
import type { Release, ReleaseEvent, ReleaseStore } from '../slices/releases/release-store.js';
import { migrations } from './migrations.js';
import type { Database } from './schema.js';

const T0 = '2026-11-21T08:00:00.000Z';

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isHalftoneError(err) ? err.code : err).toBe(code);
}

export function pkg(over: Partial<Package> = {}): Package {
  return {
    id: 'pkg_1',
    appId: 'demo',
    module: 'home',
    version: '1.0.0',
    kind: 'h5',
    platform: null,
    format: 'zip',
    blobSha256: 'a'.repeat(64),
    contentHash: 'b'.repeat(64),
    size: 1234,
    fileCount: 3,
    linkUrl: null,
    minAppVersion: '8.0',
    maxAppVersion: null,
    fallbackUrl: 'https://m.example.com/home',
    description: '首页',
    disabled: false,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function rel(over: Partial<Release> = {}): Release {
  return {
    id: 'rel_1',
    appId: 'demo',
    module: 'home',
    version: '1.0.0',
    packageId: 'pkg_1',
    platform: null,
    stage: 'whitelist',
    status: 'active',
    percent: 0,
    whitelist: ['d1', '用户-1'],
    crowds: [],
    rule: { all: [{ attribute: 'channel', operator: 'in', values: ['huawei'] }] },
    mandatory: false,
    grayId: 'rel_1',
    stickiness: 'userId',
    description: null,
    revision: 1,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

const event = (releaseId: string, type: string, id = `evt_${type}`): ReleaseEvent => ({
  id,
  releaseId,
  type,
  data: { n: 1 },
  createdAt: T0,
});

/**
 * The metadata stores' contract: one suite, run on every SQL engine we support (SQLite always,
 * PostgreSQL when HALFTONE_TEST_PG_URL is set). `make` returns a fresh, empty database.
 */
export function describeStoreContract(name: string, make: () => Promise<SqlDatabase<Database>>): void {
  describe(`metadata stores on ${name}`, () => {
    let sql: SqlDatabase<Database>;
    let apps: AppStore;
    let packages: PackageStore;
    let releases: ReleaseStore;

    beforeEach(async () => {
      sql = await make();
      await migrateToLatest(sql.db, migrations);
      apps = createSqlAppStore(sql.db);
      packages = createSqlPackageStore(sql.db);
      releases = createSqlReleaseStore(sql.db);
      await apps.insertApp({ id: 'demo', name: 'Demo', platforms: ['android', 'ios'], clientKey: 'hck_demo', createdAt: T0 });
    });
    afterEach(async () => {
      await sql.close();
    });

    it('migrating twice is a no-op', async () => {
      await migrateToLatest(sql.db, migrations);
      expect((await apps.listApps()).map((a) => a.id)).toEqual(['demo']);
    });

    it('stores apps, finds them by client key, refuses duplicates', async () => {
      expect(await apps.getApp('demo')).toMatchObject({ name: 'Demo', platforms: ['android', 'ios'] });
      expect((await apps.getAppByClientKey('hck_demo'))?.id).toBe('demo');
      expect(await apps.getAppByClientKey('nope')).toBeNull();
      expect(await apps.getApp('nope')).toBeNull();
      await expectCode(
        apps.insertApp({ id: 'demo', name: 'x', platforms: [], clientKey: 'other', createdAt: T0 }),
        'HT_APP_EXISTS',
      );
    });

    it('replaces crowds and keeps admin tokens by hash', async () => {
      await apps.upsertCrowd({ appId: 'demo', name: 'staff', members: ['a', 'b'], updatedAt: T0 });
      await apps.upsertCrowd({ appId: 'demo', name: 'staff', members: ['c'], updatedAt: T0 });
      expect((await apps.getCrowd('demo', 'staff'))?.members).toEqual(['c']);
      expect((await apps.listCrowds('demo')).length).toBe(1);
      await apps.putAdminToken({ id: 't1', name: 'bootstrap', tokenHash: 'h1', createdAt: T0 });
      await apps.putAdminToken({ id: 't2', name: 'bootstrap', tokenHash: 'h2', createdAt: T0 });
      expect(await apps.findAdminTokenByHash('h1')).toBeNull();
      expect((await apps.findAdminTokenByHash('h2'))?.name).toBe('bootstrap');
    });

    it('stores packages, one per (module, platform, version)', async () => {
      await packages.insertPackage(pkg());
      expect(await packages.getPackage('pkg_1')).toEqual(pkg());
      await expectCode(packages.insertPackage(pkg({ id: 'pkg_2' })), 'HT_PACKAGE_VERSION_EXISTS');
      await packages.insertPackage(pkg({ id: 'pkg_3', platform: 'ios' }));
      await packages.insertPackage(pkg({ id: 'pkg_4', version: '1.1.0' }));
      expect((await packages.findPackage('demo', 'home', '1.0.0', 'ios'))?.id).toBe('pkg_3');
      expect((await packages.findPackage('demo', 'home', '1.0.0', null))?.id).toBe('pkg_1');
      expect((await packages.findPackagesByVersion('demo', 'home', '1.0.0')).map((p) => p.id).sort()).toEqual(['pkg_1', 'pkg_3']);
      expect((await packages.listPackages('demo', 'home')).length).toBe(3);
      expect((await packages.listPackages('demo', 'other')).length).toBe(0);
      expect((await packages.setDisabled('pkg_1', true, T0))?.disabled).toBe(true);
      expect(await packages.setDisabled('missing', true, T0)).toBeNull();
    });

    describe('releases', () => {
      beforeEach(async () => {
        await packages.insertPackage(pkg());
        await releases.insertRelease(rel(), event('rel_1', 'release.created'));
      });

      it('round-trips every field, one release per package', async () => {
        expect(await releases.getRelease('rel_1')).toEqual(rel());
        await expectCode(releases.insertRelease(rel({ id: 'rel_2' }), event('rel_2', 'release.created', 'e2')), 'HT_RELEASE_EXISTS');
        expect((await releases.listReleases('demo')).map((r) => r.id)).toEqual(['rel_1']);
        expect(await releases.listReleases('demo', { status: 'halted' })).toEqual([]);
        expect(await releases.listReleases('demo', { module: 'home', status: 'active' })).toHaveLength(1);
      });

      it('updates only from the revision it read, with its event, atomically', async () => {
        const next = rel({ status: 'halted', revision: 2 });
        expect(await releases.updateRelease(next, 1, event('rel_1', 'release.halted'))).toBe(true);
        expect(await releases.updateRelease(rel({ revision: 2, percent: 50 }), 1, event('rel_1', 'x', 'e3'))).toBe(false);
        expect((await releases.getRelease('rel_1'))?.status).toBe('halted');
        expect((await releases.listEvents('rel_1')).map((e) => e.type)).toEqual(['release.created', 'release.halted']);
        expect(await releases.livePackageIds()).toEqual(new Set(['pkg_1']));
        await releases.updateRelease(rel({ status: 'rolled_back', revision: 3 }), 2, event('rel_1', 'release.rolled_back'));
        expect(await releases.livePackageIds()).toEqual(new Set());
      });

      it('an update whose event cannot be written leaves the release as it was', async () => {
        // Same event id twice: the second insert violates the primary key inside the transaction.
        await expect(
          releases.updateRelease(rel({ revision: 2, percent: 30 }), 1, event('rel_1', 'release.created')),
        ).rejects.toBeTruthy();
        expect(await releases.getRelease('rel_1')).toEqual(rel());
      });

      it('records device reports per release, counts by stage, remembers installers', async () => {
        const base = { releaseId: 'rel_1', userId: null, reason: null, fromVersion: null, at: T0 };
        await releases.recordDeviceReport({ ...base, deviceId: 'd1', stage: 'whitelist', type: 'download', ok: true });
        await releases.recordDeviceReport({ ...base, deviceId: 'd1', stage: 'whitelist', type: 'install', ok: true, fromVersion: '0.9.0' });
        await releases.recordDeviceReport({ ...base, deviceId: 'd2', stage: 'whitelist', type: 'download', ok: false, reason: 'timeout' });
        await releases.recordDeviceReport({ ...base, deviceId: 'd3', stage: 'internal', type: 'install', ok: true });
        const counts = await releases.deviceCountsByStage('rel_1');
        expect(counts.get('whitelist')).toEqual({ downloaded: 1, installed: 1, failed: 1 });
        expect(counts.get('internal')).toEqual({ downloaded: 0, installed: 1, failed: 0 });
        expect((await releases.installersOf('rel_1')).sort((a, b) => a.deviceId.localeCompare(b.deviceId))).toEqual([
          { deviceId: 'd1', fromVersion: '0.9.0' },
          { deviceId: 'd3', fromVersion: null },
        ]);
        expect(await releases.lastInstalledVersion('demo', 'home', 'd1', 'rel_other')).toBe('1.0.0');
        expect(await releases.lastInstalledVersion('demo', 'home', 'd1', 'rel_1')).toBeNull();
      });

      it('saves and reloads rollout counters', async () => {
        await releases.saveCounters([{ releaseId: 'rel_1', stage: 'whitelist', checked: 'AAA=', offered: 'BBB=' }], T0);
        await releases.saveCounters([{ releaseId: 'rel_1', stage: 'whitelist', checked: 'CCC=', offered: 'DDD=' }], T0);
        expect(await releases.loadCounters('rel_1')).toEqual([
          { releaseId: 'rel_1', stage: 'whitelist', checked: 'CCC=', offered: 'DDD=' },
        ]);
      });
    });
  });
}
