import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHalftoneError } from '../platform/errors/halftone-error.js';
import type { SqlDatabase } from '../platform/sql/sql-database.js';
import { migrateToLatest } from '../platform/sql/migrate.js';
import { createSqlAppStore } from '../slices/apps/app-store.sql.js';
import { createSqlCodePushStore } from '../slices/codepush/codepush-store.sql.js';
import { createSqlConfigStore } from '../slices/config/config-store.sql.js';
import type { ConfigWrite } from '../slices/config/config-store.js';
import type { StoredConfigItem } from '../slices/config/config-model.js';
import { createSqlGatewayStore } from '../slices/gateway/gateway-store.sql.js';
import type { GatewayPolicyGroup, GatewayStore } from '../slices/gateway/gateway-store.js';
import type { AppStore } from '../slices/apps/app-store.js';
import { createSqlPackageStore } from '../slices/packages/package-store.sql.js';
import type { Package, PackageStore } from '../slices/packages/package-store.js';
import type { DiagnosticCommand } from '../slices/diagnostics/diagnostic-command.js';
import { createSqlDiagnosticsStore } from '../slices/diagnostics/diagnostics-store.sql.js';
import type { DiagnosticsStore } from '../slices/diagnostics/diagnostics-store.js';
import { createSqlEventsStore } from '../slices/events/events-store.sql.js';
import type { EventsStore, PreparedEvent } from '../slices/events/events-store.js';
import { createSqlHealthStore } from '../slices/health/health-store.sql.js';
import type { HealthDecision, HealthPolicy } from '../slices/health/health-store.js';
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

    describe('gateway', () => {
      let gw: GatewayStore;
      const levels = [{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'beta' }] }] as unknown as GatewayPolicyGroup['levels'];
      const group = (over: Partial<GatewayPolicyGroup> = {}): GatewayPolicyGroup => ({
        id: 'gwp_1',
        levels,
        revision: 1,
        createdAt: T0,
        updatedAt: T0,
        ...over,
      });
      const created = (id = 'gwp_1') => ({ kind: 'policy.create', key: id, data: { levels }, createdAt: T0, actor: 'admin-api', revision: 1 });
      beforeEach(() => {
        gw = createSqlGatewayStore(sql.db);
      });

      it('inserts a policy group with its history row; updates only from the revision it read', async () => {
        await gw.insertPolicy(group(), created());
        expect(await gw.getPolicy('gwp_1')).toEqual(group());
        const next = group({ levels: [], revision: 2, updatedAt: '2026-11-21T09:00:00.000Z' });
        const entry = { kind: 'policy.update', key: 'gwp_1', data: { levels: [] }, createdAt: T0, actor: 'v1.0', revision: 2 };
        expect(await gw.updatePolicy(next, 1, entry)).toBe(true);
        expect(await gw.updatePolicy(group({ revision: 2 }), 1, entry)).toBe(false);
        expect(await gw.updatePolicy(group({ id: 'gwp_missing', revision: 2 }), 1, { ...entry, key: 'gwp_missing' })).toBe(false);
        expect(await gw.getPolicy('gwp_1')).toEqual(next);
        const rows = await gw.listHistory({ limit: 10 });
        expect(rows.map((r) => [r.kind, r.key, r.actor, r.revision])).toEqual([
          ['policy.update', 'gwp_1', 'v1.0', 2],
          ['policy.create', 'gwp_1', 'admin-api', 1],
        ]);
        expect(rows[1]).toMatchObject({ data: { levels }, createdAt: T0 });
        expect(rows[0]?.id.startsWith('gwh_')).toBe(true);
      });

      it('a group whose history row cannot be written is not inserted', async () => {
        await gw.insertPolicy(group(), created());
        // Same group id again: the insert fails inside the transaction, and no second row is logged.
        await expect(gw.insertPolicy(group(), created())).rejects.toBeTruthy();
        expect(await gw.listHistory({ limit: 10 })).toHaveLength(1);
      });

      it('deletes a group, logging its last levels and the next revision', async () => {
        await gw.insertPolicy(group({ revision: 4 }), created());
        expect(await gw.deletePolicy('gwp_1', { kind: 'policy.delete', key: 'gwp_1', createdAt: T0, actor: 'ab_admin' })).toBe(true);
        expect(await gw.getPolicy('gwp_1')).toBeUndefined();
        expect(await gw.deletePolicy('gwp_1', { kind: 'policy.delete', key: 'gwp_1', createdAt: T0, actor: 'ab_admin' })).toBe(false);
        const [last] = await gw.listHistory({ limit: 1 });
        expect(last).toMatchObject({ kind: 'policy.delete', key: 'gwp_1', actor: 'ab_admin', revision: 5, data: { levels } });
        // Without a history entry, only the row goes.
        await gw.insertPolicy(group({ id: 'gwp_2' }), created('gwp_2'));
        expect(await gw.deletePolicy('gwp_2')).toBe(true);
        expect((await gw.listHistory({ limit: 10 })).filter((r) => r.kind === 'policy.delete')).toHaveLength(1);
      });

      it('pages the change log newest first, by key, kind prefix and cursor', async () => {
        await gw.appendHistory({ kind: 'upstream.put', key: 'beta', data: { urls: ['http://a'] }, createdAt: T0 });
        await gw.insertPolicy(group(), created());
        await gw.appendHistory({ kind: 'host.put', key: 'gwp_1', data: { policyId: 'gwp_1' }, createdAt: T0, actor: 'admin-api' });
        await gw.insertPolicy(group({ id: 'gwp_10' }), created('gwp_10'));
        await gw.appendHistory({ kind: 'upstream.delete', key: 'beta', data: null, createdAt: T0 });

        const all = await gw.listHistory({ limit: 100 });
        expect(all.map((r) => `${r.kind} ${r.key}`)).toEqual([
          'upstream.delete beta',
          'policy.create gwp_10',
          'host.put gwp_1',
          'policy.create gwp_1',
          'upstream.put beta',
        ]);
        expect(all[4]).toMatchObject({ actor: null, revision: null, data: { urls: ['http://a'] } });
        expect(all[0]?.data).toBeNull();
        const ids = all.map((r) => r.id);
        expect([...ids].sort().reverse()).toEqual(ids);

        const page1 = await gw.listHistory({ limit: 2 });
        const page2 = await gw.listHistory({ limit: 2, before: page1[1]?.id });
        const page3 = await gw.listHistory({ limit: 2, before: page2[1]?.id });
        expect([...page1, ...page2, ...page3].map((r) => r.id)).toEqual(ids);
        // One policy's rows: the key alone would also match the host named like it.
        expect((await gw.listHistory({ limit: 100, key: 'gwp_1', kindPrefix: 'policy.' })).map((r) => r.kind)).toEqual(['policy.create']);
        expect((await gw.listHistory({ limit: 100, key: 'gwp_1' })).map((r) => r.kind)).toEqual(['host.put', 'policy.create']);
        expect(await gw.historyKeys('policy.create', 'gwp_1')).toEqual(expect.arrayContaining(['gwp_1', 'gwp_10']));
        expect(await gw.historyKeys('policy.create', 'gwp_%')).toEqual([]);
      });

      it('stores upstreams and host bindings', async () => {
        await gw.putUpstream({ name: 'beta', urls: ['http://a', 'http://b'], timeoutMs: 90_000, updatedAt: T0 });
        expect((await gw.getUpstream('beta'))?.timeoutMs).toBe(90_000);
        await gw.putUpstream({ name: 'beta', urls: ['http://c'], timeoutMs: null, updatedAt: T0 });
        expect(await gw.listUpstreams()).toEqual([{ name: 'beta', urls: ['http://c'], timeoutMs: null, updatedAt: T0 }]);
        await gw.putHost({ host: 'api.example.com', policyId: 'gwp_1', updatedAt: T0 });
        expect((await gw.getHost('api.example.com'))?.policyId).toBe('gwp_1');
        expect(await gw.deleteHost('api.example.com')).toBe(true);
        expect(await gw.deleteHost('api.example.com')).toBe(false);
        expect(await gw.deleteUpstream('beta')).toBe(true);
      });
    });

    describe('events', () => {
      let events: EventsStore;
      const t0 = Date.parse(T0);
      const cohort = { module: 'home', moduleVersion: '2.0.0', releaseId: 'rel_1', stage: 'internal' };
      const baseline = { module: 'home', moduleVersion: '1.0.0', releaseId: '', stage: '' };
      const ev = (id: string, over: Partial<PreparedEvent> = {}): PreparedEvent => ({
        id,
        type: 'session',
        ts: t0,
        releaseId: 'rel_1',
        data: '{}',
        cohorts: [cohort],
        counters: { sessionsStarted: 1 },
        ...over,
      });
      const batch = (deviceId: string, list: PreparedEvent[], deviceModel = 'Pixel 8') => ({
        appId: 'demo',
        deviceId,
        deviceModel,
        receivedAt: t0,
        events: list,
      });
      const q = { appId: 'demo', module: 'home', moduleVersion: '2.0.0', releaseId: 'rel_1', from: t0 - 3_600_000, to: t0 + 3_600_000 };
      const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

      beforeEach(() => {
        events = createSqlEventsStore(sql.db, sql.dialect);
      });

      it('stores a batch with its rollups; a resent batch is a duplicate and adds nothing', async () => {
        const list = [
          ev(id(1)),
          ev(id(2), { counters: { sessionsCrashed: 1 } }),
          ev(id(3), { type: 'anr', counters: { anrs: 1 } }),
          ev(id(4), { type: 'install', counters: { installsFailed: 1 } }),
        ];
        expect(await events.ingest(batch('d1', list))).toEqual({ inserted: 4, duplicates: 0 });
        expect(await events.ingest(batch('d1', list))).toEqual({ inserted: 0, duplicates: 4 });
        expect(await events.ingest(batch('d1', [list[0] as PreparedEvent, ev(id(5))]))).toEqual({ inserted: 1, duplicates: 1 });
        expect(await events.countRaw('demo')).toBe(5);
        const groups = await events.rollups(q);
        expect(groups).toHaveLength(1);
        expect(groups[0]).toMatchObject({
          stage: 'internal',
          deviceModel: 'Pixel 8',
          sessionsStarted: 2,
          sessionsCrashed: 1,
          anrs: 1,
          installsFailed: 1,
          crashes: 0,
        });
      });

      it('keeps cohorts apart: release vs baseline, by device model and minute window', async () => {
        await events.ingest(batch('d1', [ev(id(1)), ev(id(2), { cohorts: [cohort, baseline] })]));
        await events.ingest(batch('d2', [ev(id(3), { ts: t0 + 120_000 })], 'iPhone 15'));
        const byModel = (await events.rollups(q)).map((g) => [g.deviceModel, g.sessionsStarted]).sort();
        expect(byModel).toEqual([['Pixel 8', 2], ['iPhone 15', 1]]);
        const base = await events.rollups({ ...q, moduleVersion: '1.0.0', releaseId: '' });
        expect(base.map((g) => g.sessionsStarted)).toEqual([1]);
        // The window is by minute: [t0, t0 + 1 min) holds d1's two sessions only.
        const first = await events.rollups({ ...q, from: t0, to: t0 + 60_000 });
        expect(first.reduce((n, g) => n + g.sessionsStarted, 0)).toBe(2);
        const all = await events.rollups({ appId: 'demo', module: 'home', from: q.from, to: q.to });
        expect(all.reduce((n, g) => n + g.sessionsStarted, 0)).toBe(4);
      });

      it('counts distinct devices per cohort across batches and hours', async () => {
        for (let d = 0; d < 30; d++) {
          await events.ingest(batch(`dev-${d}`, [ev(id(100 + d))]));
          await events.ingest(batch(`dev-${d}`, [ev(id(200 + d), { ts: t0 + 3_000_000 })]));
        }
        expect(await events.distinctDevices(q)).toBe(30);
        expect(await events.distinctDevices({ ...q, releaseId: '' })).toBe(0);
        // A fresh store (no memory of what it counted) still merges into the stored sketches.
        const again = createSqlEventsStore(sql.db, sql.dialect);
        await again.ingest(batch('dev-new', [ev(id(999))]));
        await again.ingest(batch('dev-0', [ev(id(998))]));
        expect(await again.distinctDevices(q)).toBe(31);
      });

      it('groups crashes by fingerprint with first/last seen and counts per release', async () => {
        const crash = (n: number, fp: string, ts: number) =>
          ev(id(n), {
            type: 'crash',
            ts,
            counters: { crashes: 1 },
            crash: { fingerprint: fp, exceptionType: 'TypeError', title: `boom ${fp}`, frames: ['a (x.js)'] },
          });
        await events.ingest(batch('d1', [crash(1, 'fa', t0), crash(2, 'fa', t0 + 1000), crash(3, 'fb', t0)]));
        await events.ingest(batch('d2', [crash(4, 'fa', t0 - 5000)]));
        const top = await events.topCrashGroups(q, 10);
        expect(top.map((g) => [g.fingerprint, g.count])).toEqual([['fa', 3], ['fb', 1]]);
        expect(top[0]).toMatchObject({ exceptionType: 'TypeError', title: 'boom fa', firstSeen: t0 - 5000, lastSeen: t0 + 1000 });
        expect(await events.topCrashGroups({ ...q, releaseId: 'rel_other' }, 10)).toEqual([]);
        expect(await events.topCrashGroups(q, 1)).toHaveLength(1);
      });

      it('purges raw events received before a time, keeping rollups', async () => {
        await events.ingest(batch('d1', [ev(id(1)), ev(id(2))]));
        await events.ingest({ ...batch('d1', [ev(id(3))]), receivedAt: t0 + 10_000 });
        expect(await events.purgeRaw(t0 + 1)).toBe(2);
        expect(await events.countRaw('demo')).toBe(1);
        expect((await events.rollups(q))[0]?.sessionsStarted).toBe(3);
      });
    });

    describe('diagnostics', () => {
      let diag: DiagnosticsStore;
      const HOUR = 3_600_000;
      const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
      const cmd = (id: string, over: Partial<DiagnosticCommand> = {}): DiagnosticCommand => ({
        id,
        appId: 'demo',
        targetType: 'device',
        targetId: 'dev-1',
        kind: 'upload_logs',
        params: { sinceHours: 24 },
        note: '工单 42',
        state: 'pending',
        createdAt: T0,
        expiresAt: at(HOUR),
        deliveredAt: null,
        deliveredTo: null,
        uploadedAt: null,
        cancelledAt: null,
        expiredAt: null,
        upload: null,
        ...over,
      });
      const upload = { sha256: 'c'.repeat(64), size: 204_800, contentType: 'application/gzip', deviceId: 'dev-1' };
      const ids = (list: DiagnosticCommand[]) => list.map((c) => c.id);
      beforeEach(async () => {
        diag = createSqlDiagnosticsStore(sql.db);
        await apps.insertApp({ id: 'other', name: 'Other', platforms: ['ios'], clientKey: 'hck_other', createdAt: T0 });
      });

      it('stores commands and reads them back per app', async () => {
        await diag.insert(cmd('diag_1'));
        await diag.insert(cmd('diag_2', { targetType: 'user', targetId: 'alice', kind: 'custom', params: { a: [1, 'x'] }, note: null }));
        expect(await diag.get('demo', 'diag_1')).toEqual(cmd('diag_1'));
        expect((await diag.get('demo', 'diag_2'))?.params).toEqual({ a: [1, 'x'] });
        expect(await diag.get('other', 'diag_1')).toBeNull();
        expect(await diag.get('demo', 'nope')).toBeNull();
      });

      it('moves pending → delivered once, keeping the first delivery', async () => {
        await diag.insert(cmd('diag_1'));
        await diag.insert(cmd('diag_2'));
        expect(
          await diag.markDelivered([
            { id: 'diag_1', at: at(1000), deviceId: 'dev-1' },
            { id: 'diag_2', at: at(1000), deviceId: 'dev-1' },
            { id: 'diag_missing', at: at(1000), deviceId: 'dev-1' },
          ]),
        ).toBe(2);
        expect(await diag.markDelivered([{ id: 'diag_1', at: at(2000), deviceId: 'dev-9' }])).toBe(0);
        expect(await diag.get('demo', 'diag_1')).toMatchObject({ state: 'delivered', deliveredAt: at(1000), deliveredTo: 'dev-1' });
      });

      it('records one upload while open and unexpired; cancels only open commands', async () => {
        await diag.insert(cmd('diag_1'));
        await diag.insert(cmd('diag_2'));
        await diag.insert(cmd('diag_3'));
        expect(await diag.markUploaded('demo', 'diag_1', upload, at(1000))).toBe(true);
        expect(await diag.markUploaded('demo', 'diag_1', upload, at(2000))).toBe(false);
        expect(await diag.get('demo', 'diag_1')).toMatchObject({ state: 'uploaded', uploadedAt: at(1000), upload });
        expect(await diag.markUploaded('other', 'diag_2', upload, at(1000))).toBe(false);
        expect(await diag.markUploaded('demo', 'diag_2', upload, at(HOUR))).toBe(false); // expired at that time
        expect(await diag.cancel('demo', 'diag_1', at(3000))).toBe(false);
        expect(await diag.cancel('demo', 'diag_2', at(3000))).toBe(true);
        expect(await diag.cancel('demo', 'diag_2', at(4000))).toBe(false);
        expect(await diag.get('demo', 'diag_2')).toMatchObject({ state: 'cancelled', cancelledAt: at(3000) });
        expect(await diag.markUploaded('demo', 'diag_2', upload, at(5000))).toBe(false);
        expect(await diag.cancel('demo', 'diag_3', at(HOUR + 1))).toBe(false);
      });

      it('lists newest first by state (expired computed at `now`), target and cursor; open ones for the index', async () => {
        await diag.insert(cmd('diag_1', { expiresAt: at(10_000) }));
        await diag.insert(cmd('diag_2', { targetId: 'dev-2' }));
        await diag.insert(cmd('diag_3', { targetType: 'user', targetId: 'dev-1' }));
        await diag.insert(cmd('diag_4', { appId: 'other' }));
        await diag.markDelivered([{ id: 'diag_2', at: at(1), deviceId: 'dev-2' }]);
        const now = at(20_000);
        const list = (q: Partial<Parameters<DiagnosticsStore['list']>[0]>) => diag.list({ appId: 'demo', now, limit: 10, ...q });
        expect(ids(await list({}))).toEqual(['diag_3', 'diag_2', 'diag_1']);
        expect(ids(await list({ state: 'expired' }))).toEqual(['diag_1']);
        expect(ids(await list({ state: 'pending' }))).toEqual(['diag_3']);
        expect(ids(await list({ state: 'delivered' }))).toEqual(['diag_2']);
        expect(ids(await list({ state: 'pending', now: T0 }))).toEqual(['diag_3', 'diag_1']);
        expect(ids(await list({ targetType: 'device', targetId: 'dev-1' }))).toEqual(['diag_1']);
        expect(ids(await list({ targetType: 'user', targetId: 'dev-1' }))).toEqual(['diag_3']);
        expect(ids(await list({ before: 'diag_3', limit: 1 }))).toEqual(['diag_2']);
        expect(ids(await diag.listOpen('demo', now))).toEqual(['diag_2', 'diag_3']);
        expect(ids(await diag.listOpen('other', now))).toEqual(['diag_4']);
      });

      it('sweeps open commands past their expiry to expired, and names their apps', async () => {
        await diag.insert(cmd('diag_1', { expiresAt: at(1000) }));
        await diag.insert(cmd('diag_2', { appId: 'other', expiresAt: at(2000) }));
        await diag.insert(cmd('diag_3', { expiresAt: at(1000) }));
        await diag.insert(cmd('diag_4'));
        await diag.cancel('demo', 'diag_3', at(500));
        expect((await diag.expire(at(2000))).sort()).toEqual(['demo', 'other']);
        expect(await diag.get('demo', 'diag_1')).toMatchObject({ state: 'expired', expiredAt: at(1000) });
        expect((await diag.get('demo', 'diag_3'))?.state).toBe('cancelled');
        expect((await diag.get('demo', 'diag_4'))?.state).toBe('pending');
        expect(await diag.expire(at(2000))).toEqual([]);
      });
    });
    describe('config', () => {
      const item = (key: string, over: Partial<StoredConfigItem> = {}): StoredConfigItem => ({
        appId: 'demo',
        env: 'test',
        namespace: 'default',
        key,
        type: 'json',
        kind: 'config',
        enabled: true,
        defaultValue: { colour: '蓝', n: [1, 2.5, null] },
        description: 'd',
        owner: 'o',
        tags: ['t'],
        rules: [{ id: 'r1', fromVersion: '8.0', value: { colour: 'green' } }],
        dependsOn: [],
        module: null,
        revision: 1,
        updatedAt: T0,
        updatedBy: 'me',
        ...over,
      });
      const write = (it: StoredConfigItem | null, key = it?.key ?? 'k', revision = it?.revision ?? 1, env = 'test'): ConfigWrite => ({
        env,
        namespace: 'default',
        key,
        item: it,
        revision: { appId: 'demo', env, namespace: 'default', key, revision, action: 'set', item: it, actor: 'me', createdAt: T0 },
        audit: { id: `cfa_${key}_${env}_${revision}`, appId: 'demo', env, namespace: 'default', key, action: 'set', actor: 'me', before: null, after: it, createdAt: T0 },
      });

      it('commits items, revisions and audit entries, bumping the environment revision', async () => {
        const cfg = createSqlConfigStore(sql.db);
        expect(await cfg.envRevision('demo', 'test')).toBe(0);
        expect(await cfg.commit({ appId: 'demo', guards: { test: 0 }, writes: [write(item('a')), write(item('b', { offValue: 7 }))], at: T0 })).toEqual({ test: 1 });
        expect((await cfg.listItems('demo', 'test')).map((i) => i.key)).toEqual(['a', 'b']);
        expect(await cfg.getItem('demo', 'test', 'default', 'a')).toEqual(item('a'));
        expect((await cfg.getItem('demo', 'test', 'default', 'b'))?.offValue).toBe(7);
        expect(await cfg.listItems('demo', 'production')).toEqual([]);
        await cfg.commit({ appId: 'demo', guards: { test: 1 }, writes: [write(item('a', { revision: 2, enabled: false }))], at: T0 });
        expect((await cfg.getItem('demo', 'test', 'default', 'a'))?.enabled).toBe(false);
        expect((await cfg.listRevisions('demo', 'test', 'default', 'a')).map((r) => r.revision)).toEqual([2, 1]);
        expect((await cfg.getRevision('demo', 'test', 'default', 'a', 1))?.item).toEqual(item('a'));
        expect(await cfg.lastRevision('demo', 'test', 'default', 'a')).toBe(2);
        expect(await cfg.lastRevision('demo', 'test', 'default', 'zz')).toBe(0);
        expect((await cfg.listAudit('demo', { limit: 10 })).map((a) => a.id)).toEqual(['cfa_b_test_1', 'cfa_a_test_2', 'cfa_a_test_1'].sort().reverse());
        expect((await cfg.listAudit('demo', { key: 'b', limit: 10 })).length).toBe(1);
      });

      it('deletes with a null item and keeps the history', async () => {
        const cfg = createSqlConfigStore(sql.db);
        await cfg.commit({ appId: 'demo', guards: {}, writes: [write(item('a'))], at: T0 });
        await cfg.commit({ appId: 'demo', guards: {}, writes: [write(null, 'a', 2)], at: T0 });
        expect(await cfg.getItem('demo', 'test', 'default', 'a')).toBeNull();
        expect((await cfg.getRevision('demo', 'test', 'default', 'a', 2))?.item).toBeNull();
        expect(await cfg.envRevision('demo', 'test')).toBe(2);
      });

      it('changes nothing when a guard is stale or a revision is taken', async () => {
        const cfg = createSqlConfigStore(sql.db);
        await cfg.commit({ appId: 'demo', guards: {}, writes: [write(item('a'))], at: T0 });
        const stale = await cfg.commit({
          appId: 'demo',
          guards: { test: 0, production: 0 },
          writes: [write(item('b', { env: 'production' }), 'b', 1, 'production')],
          at: T0,
        });
        expect(stale).toBeNull();
        expect(await cfg.listItems('demo', 'production')).toEqual([]);
        expect(await cfg.envRevision('demo', 'production')).toBe(0);
        expect(await cfg.commit({ appId: 'demo', guards: {}, writes: [write(item('c')), write(item('a', { revision: 1 }))], at: T0 })).toBeNull();
        expect(await cfg.getItem('demo', 'test', 'default', 'c')).toBeNull();
        expect(await cfg.envRevision('demo', 'test')).toBe(1);
      });

      it('keeps one client key per app environment, unique across apps', async () => {
        const cfg = createSqlConfigStore(sql.db);
        expect(await cfg.ensureEnvKey('demo', 'test', 'hck_t1', T0)).toBe('hck_t1');
        expect(await cfg.ensureEnvKey('demo', 'test', 'hck_t2', T0)).toBe('hck_t1');
        expect(await cfg.listEnvKeys()).toEqual([{ appId: 'demo', env: 'test', clientKey: 'hck_t1' }]);
      });
    });
    describe('codepush', () => {
      const dep = (id: string, over: Record<string, unknown> = {}) => ({
        id,
        appId: 'demo',
        name: id,
        platform: 'android',
        module: `codepush-${id}`,
        key: `key-${id}-0123456789`,
        bucketing: 'halftone' as const,
        createdAt: T0,
        ...over,
      });
      const row = (deploymentId: string, seq: number) => ({
        deploymentId,
        seq,
        releaseId: `rel_${deploymentId}_${seq}`,
        packageId: `pkg_${deploymentId}_${seq}`,
        range: '1.0.x',
        disabled: false,
        releasedFrom: null,
        createdAt: T0,
      });

      it('keeps deployments unique by name per app and by key', async () => {
        const cp = createSqlCodePushStore(sql.db);
        await cp.insertDeployment(dep('Production'));
        await expectCode(cp.insertDeployment(dep('Production', { id: 'x', key: 'another-key-0123' })), 'HT_CODEPUSH_DEPLOYMENT_EXISTS');
        await expectCode(cp.insertDeployment(dep('Staging', { key: 'key-Production-0123456789' })), 'HT_CODEPUSH_DEPLOYMENT_EXISTS');
        await cp.insertDeployment(dep('Staging'));
        expect((await cp.listDeployments('demo')).map((d) => d.name)).toEqual(['Production', 'Staging']);
        expect(await cp.getDeployment('demo', 'Staging')).toMatchObject({ key: 'key-Staging-0123456789', bucketing: 'halftone' });
        expect(await cp.getDeployment('demo', 'Nope')).toBeNull();
      });

      it('stores labels in order, refuses a taken label, updates disabled and range', async () => {
        const cp = createSqlCodePushStore(sql.db);
        await cp.insertDeployment(dep('P'));
        await cp.insertDeployment(dep('S'));
        expect(await cp.insertRelease(row('P', 2))).toBe(true);
        expect(await cp.insertRelease(row('P', 1))).toBe(true);
        expect(await cp.insertRelease(row('S', 1))).toBe(true);
        expect(await cp.insertRelease(row('P', 1))).toBe(false);
        expect((await cp.listReleases('P')).map((r) => r.seq)).toEqual([1, 2]);
        expect((await cp.listReleasesOfApp('demo')).length).toBe(3);
        await cp.updateRelease('P', 2, { disabled: true, range: '^1.2.0' });
        expect((await cp.listReleases('P'))[1]).toMatchObject({ disabled: true, range: '^1.2.0' });
      });

      it('adds report counters, negative ones too', async () => {
        const cp = createSqlCodePushStore(sql.db);
        await cp.addMetrics('P', 'v1', { downloaded: 1, active: 1 });
        await cp.addMetrics('P', 'v1', { active: -2, failed: 1, rolledBack: 1 });
        await cp.addMetrics('P', '', { ignored: 3 });
        const m = await cp.metrics('P');
        expect(m.get('v1')).toEqual({ active: -1, downloaded: 1, installed: 0, failed: 1, rolledBack: 1, ignored: 0 });
        expect(m.get('')?.ignored).toBe(3);
      });

      it('single-flights diffs and leases their jobs', async () => {
        const cp = createSqlCodePushStore(sql.db);
        const d = { toPackageId: 'pkg_2', baseHash: 'h1', appId: 'demo', status: 'pending' as const, blobSha256: null, size: null, error: null, leaseUntil: null, createdAt: T0, updatedAt: T0 };
        expect(await cp.insertDiff(d)).toBe(true);
        expect(await cp.insertDiff(d)).toBe(false);
        const t = { now: T0, leaseUntil: '2026-11-21T09:00:00.000Z', expiredBefore: T0 };
        expect(await cp.claimDiff('pkg_2', 'h1', t)).toBe(true);
        expect(await cp.claimDiff('pkg_2', 'h1', t)).toBe(false);
        expect(await cp.claimDiff('pkg_2', 'h1', { ...t, expiredBefore: '2026-11-21T10:00:00.000Z' })).toBe(true);
        await cp.finishDiff('pkg_2', 'h1', { status: 'ready', blobSha256: 'c'.repeat(64), size: 12 }, T0);
        expect(await cp.getDiff('pkg_2', 'h1')).toMatchObject({ status: 'ready', size: 12, leaseUntil: null });
        expect((await cp.listDiffs()).length).toBe(1);
      });
    });

    describe('health', () => {
      const policy = (releaseId: string, over: Partial<HealthPolicy> = {}): HealthPolicy => ({
        releaseId,
        appId: 'demo',
        templateName: 'tiny',
        template: { name: 'tiny', stages: [{ kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 0 } }] },
        onFailure: 'rollback',
        stageIndex: 0,
        stageStartedAt: T0,
        state: 'running',
        lastVerdict: null,
        lastEvaluatedAt: null,
        createdAt: T0,
        updatedAt: T0,
        ...over,
      });
      const decision = (id: string, over: Partial<HealthDecision> = {}): HealthDecision => ({
        id,
        appId: 'demo',
        releaseId: 'rel_1',
        kind: 'hold',
        stageIndex: 0,
        stage: '10%',
        reason: '闪退 hold',
        gates: [{ gate: 'exposure', status: 'inconclusive', numbers: { sessions: 3 } }],
        data: { a: 1 },
        subjectKey: null,
        createdAt: T0,
        ...over,
      });

      it('stores policies, lists the active ones, applies changes', async () => {
        const h = createSqlHealthStore(sql.db);
        await h.insertPolicy(policy('rel_1'));
        await h.insertPolicy(policy('rel_2', { state: 'halted', createdAt: '2026-11-21T08:01:00.000Z' }));
        await h.insertPolicy(policy('rel_3', { state: 'awaiting_confirmation', createdAt: '2026-11-21T08:02:00.000Z' }));
        expect(await h.getPolicy('rel_1')).toEqual(policy('rel_1'));
        expect(await h.getPolicy('nope')).toBeNull();
        expect((await h.listActivePolicies()).map((p) => p.releaseId)).toEqual(['rel_1', 'rel_3']);
        expect((await h.listHaltedPolicies()).map((p) => p.releaseId)).toEqual(['rel_2']);
        const verdict = { decision: 'hold' as const, stage: 'full', reason: 'r', gates: [], at: T0, stageIndex: 0, minutesInStage: 3, metricsAvailable: true, baseline: { module: 'home', version: '0.9.0' } };
        expect(await h.updatePolicy('rel_1', { stageIndex: 1, state: 'completed', lastVerdict: verdict, lastEvaluatedAt: T0 }, '2026-11-21T09:00:00.000Z')).toBe(true);
        expect(await h.getPolicy('rel_1')).toMatchObject({ stageIndex: 1, state: 'completed', lastVerdict: verdict, updatedAt: '2026-11-21T09:00:00.000Z' });
        expect(await h.updatePolicy('nope', { state: 'halted' }, T0)).toBe(false);
      });

      it('records decisions newest first, filters kinds, keeps one per (release, kind, subject)', async () => {
        const h = createSqlHealthStore(sql.db);
        expect(await h.insertDecision(decision('hdec_1'))).toBe(true);
        expect(await h.insertDecision(decision('hdec_2', { kind: 'advance', createdAt: '2026-11-21T08:05:00.000Z' }))).toBe(true);
        expect(await h.insertDecision(decision('hdec_3', { kind: 'feedback_alert', subjectKey: 'ev-1', createdAt: '2026-11-21T08:06:00.000Z' }))).toBe(true);
        expect(await h.insertDecision(decision('hdec_4', { kind: 'feedback_alert', subjectKey: 'ev-1' }))).toBe(false);
        expect(await h.insertDecision(decision('hdec_5', { releaseId: null, kind: 'breaker' }))).toBe(true);
        expect((await h.listDecisions('rel_1', { limit: 10 })).map((d) => d.id)).toEqual(['hdec_3', 'hdec_2', 'hdec_1']);
        expect((await h.listDecisions('rel_1', { excludeKinds: ['feedback_alert'], limit: 1 })).map((d) => d.id)).toEqual(['hdec_2']);
        expect((await h.listDecisions('rel_1', { kinds: ['feedback_alert'], limit: 10 })).map((d) => d.id)).toEqual(['hdec_3']);
        expect(await h.listDecisions('rel_1', { kinds: [], limit: 10 })).toEqual([]);
        expect((await h.listDecisions('rel_1', { limit: 10 }))[2]).toEqual(decision('hdec_1'));
      });

      it('keeps breaker rules per app and fires each once per subject', async () => {
        const h = createSqlHealthStore(sql.db);
        const rule = { id: 'b1', scope: 'module' as const, target: 'home', metric: 'crash' as const, threshold: 0.02, action: 'disable' as const };
        expect(await h.insertBreaker({ appId: 'demo', rule, windowMinutes: 30, createdAt: T0 })).toBe(true);
        expect(await h.insertBreaker({ appId: 'demo', rule, windowMinutes: 5, createdAt: T0 })).toBe(false);
        expect(await h.listBreakers('demo')).toEqual([{ appId: 'demo', rule, windowMinutes: 30, createdAt: T0 }]);
        expect((await h.listBreakers()).length).toBe(1);
        expect(await h.recordFire('demo', 'b1', 'rel_1', T0)).toBe(true);
        expect(await h.recordFire('demo', 'b1', 'rel_1', T0)).toBe(false);
        expect(await h.listFires('demo')).toEqual([{ ruleId: 'b1', subject: 'rel_1', firedAt: T0 }]);
        expect(await h.deleteBreaker('demo', 'b1')).toBe(true);
        expect(await h.deleteBreaker('demo', 'b1')).toBe(false);
        expect(await h.listFires('demo')).toEqual([]);
      });

      it('replaces feedback watches and finds them by release', async () => {
        const h = createSqlHealthStore(sql.db);
        await h.setWatch({ releaseId: 'rel_1', appId: 'demo', keywords: ['crash'], updatedAt: T0 });
        await h.setWatch({ releaseId: 'rel_1', appId: 'demo', keywords: ['闪退', 'crash'], updatedAt: '2026-11-21T09:00:00.000Z' });
        expect(await h.getWatch('rel_1')).toEqual({ releaseId: 'rel_1', appId: 'demo', keywords: ['闪退', 'crash'], updatedAt: '2026-11-21T09:00:00.000Z' });
        expect((await h.watchesFor(['rel_1', 'rel_2'])).map((w) => w.releaseId)).toEqual(['rel_1']);
        expect(await h.watchesFor([])).toEqual([]);
        expect(await h.getWatch('rel_2')).toBeNull();
      });

      it('hands the evaluator lease to one holder until it expires or is given up', async () => {
        const h = createSqlHealthStore(sql.db);
        const at = (m: number) => new Date(Date.parse(T0) + m * 60_000).toISOString();
        expect(await h.acquireLease('ev', 'A', at(0), at(2))).toBe(true);
        expect(await h.acquireLease('ev', 'B', at(1), at(3))).toBe(false);
        expect(await h.acquireLease('ev', 'A', at(1), at(3))).toBe(true);
        expect(await h.acquireLease('ev', 'B', at(3), at(5))).toBe(true);
        await h.releaseLease('ev', 'A');
        expect(await h.acquireLease('ev', 'A', at(4), at(6))).toBe(false);
        await h.releaseLease('ev', 'B');
        expect(await h.acquireLease('ev', 'A', at(4), at(6))).toBe(true);
      });
    });
  });
}
