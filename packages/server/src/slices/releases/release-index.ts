import {
  type CandidateRelease,
  compileRule,
  type KnownVersion,
  type ModuleState,
  compareVersions,
  type Membership,
  NO_MEMBERSHIP,
  prepareRelease,
  versionKey,
} from '@halftone/core';
import type { App, AppStore } from '../apps/app-store.js';
import type { Package, PackageStore } from '../packages/package-store.js';
import type { Release, ReleaseStore } from './release-store.js';

/** What a device needs to fetch a package; the engine carries it through untouched. */
export interface PackagePayload {
  readonly packageId: string;
  readonly kind: string;
  /** Absolute URL for links; a path under the server (`/client/v1/blobs/…`) for stored files. */
  readonly url: string;
  readonly absolute: boolean;
  /** SHA-256 of the bytes served (verify the download with it); '' for links. */
  readonly hash: string;
  readonly contentHash: string;
  readonly size: number;
  /**
   * Scratch space for the client API, per release and catalogue build (a rebuild starts empty):
   * the rollout counters and the JSON of the `update` answer, computed on first use.
   */
  readonly memo: { baseUrl?: string; updateTail?: string; sketch?: unknown };
}

/** A module as the check sees it: the engine's state plus the release whose rollout counts. */
export interface IndexedModule extends ModuleState<PackagePayload> {
  /** The newest active release (the one a check is counted towards), if any. */
  readonly current: CandidateRelease<PackagePayload> | undefined;
}

export interface AppCatalog {
  readonly app: App;
  /** platform → module → what the engine needs to decide for that module. */
  readonly platforms: ReadonlyMap<string, ReadonlyMap<string, IndexedModule>>;
  /** Every release of the app by id (reports name releases). */
  readonly releases: ReadonlyMap<string, Release>;
  /**
   * For every user or device id named in a whitelist or crowd, the releases that name it; a
   * check looks its ids up here once instead of asking every release's lists.
   */
  readonly listings: ReadonlyMap<string, Membership>;
  /** For each rolled-back release: the devices that installed it → the version they had. */
  readonly installers: Map<string, Map<string, string | null>>;
}

/** The membership of a device (by its device id and user id) in a catalogue's named lists. */
export function membershipOf(catalog: AppCatalog, deviceId: string, userId: string | undefined): Membership {
  const byDevice = catalog.listings.get(deviceId);
  const byUser = userId === undefined || userId === '' ? undefined : catalog.listings.get(userId);
  if (byUser === undefined) return byDevice ?? NO_MEMBERSHIP;
  if (byDevice === undefined) return byUser;
  return {
    whitelisted: new Set([...byDevice.whitelisted, ...byUser.whitelisted]),
    inCrowd: new Set([...byDevice.inCrowd, ...byUser.inCrowd]),
  };
}

export interface ReleaseIndexDeps {
  readonly appStore: Pick<AppStore, 'listApps' | 'getApp' | 'listCrowds'>;
  readonly packageStore: Pick<PackageStore, 'listPackages'>;
  readonly releaseStore: Pick<ReleaseStore, 'listReleases' | 'installersOf'>;
}

export function packagePayload(pkg: Package): PackagePayload {
  return {
    packageId: pkg.id,
    kind: pkg.kind,
    url: pkg.linkUrl ?? `/client/v1/blobs/${pkg.blobSha256 ?? ''}`,
    absolute: pkg.linkUrl !== null,
    hash: pkg.blobSha256 ?? '',
    contentHash: pkg.contentHash,
    size: pkg.size,
    memo: {},
  };
}

/**
 * The client API's read model: every app's releases, packages and crowds compiled in memory so
 * that a check never touches the database. Built per app on first use and dropped whenever
 * anything of that app changes (locally, or announced on the event bus by another process).
 */
export class ReleaseIndex {
  readonly #deps: ReleaseIndexDeps;
  readonly #catalogs = new Map<string, AppCatalog>();
  readonly #building = new Map<string, Promise<AppCatalog>>();
  readonly #generation = new Map<string, number>();
  #keys = new Map<string, string>();

  constructor(deps: ReleaseIndexDeps) {
    this.#deps = deps;
  }

  /** Loads every app's client key. Call once at start. */
  async loadKeys(): Promise<void> {
    const keys = new Map<string, string>();
    for (const app of await this.#deps.appStore.listApps()) keys.set(app.clientKey, app.id);
    this.#keys = keys;
  }

  /** The app a client key belongs to, from memory. */
  appIdForKey(clientKey: string): string | undefined {
    return this.#keys.get(clientKey);
  }

  /** Forgets what it knew about an app; the next check rebuilds it from the stores. */
  async invalidate(appId: string): Promise<void> {
    this.#generation.set(appId, (this.#generation.get(appId) ?? 0) + 1);
    this.#catalogs.delete(appId);
    this.#building.delete(appId);
    const app = await this.#deps.appStore.getApp(appId);
    for (const [key, id] of this.#keys) if (id === appId) this.#keys.delete(key);
    if (app) this.#keys.set(app.clientKey, app.id);
  }

  /**
   * A device reported installing a rolled-back release (a late report): remember it in place,
   * so `rollback` reaches it, without rebuilding the catalogue.
   */
  recordInstall(appId: string, releaseId: string, deviceId: string, fromVersion: string | null): void {
    this.#catalogs.get(appId)?.installers.get(releaseId)?.set(deviceId, fromVersion);
  }

  /** The compiled catalogue of an app (synchronous when warm, which is the common case). */
  catalog(appId: string): AppCatalog | Promise<AppCatalog> {
    const warm = this.#catalogs.get(appId);
    if (warm !== undefined) return warm;
    let building = this.#building.get(appId);
    if (building === undefined) {
      const generation = this.#generation.get(appId) ?? 0;
      building = this.#build(appId).then((catalog) => {
        if ((this.#generation.get(appId) ?? 0) === generation) {
          this.#catalogs.set(appId, catalog);
          this.#building.delete(appId);
        }
        return catalog;
      });
      building.catch(() => this.#building.delete(appId));
      this.#building.set(appId, building);
    }
    return building;
  }

  async #build(appId: string): Promise<AppCatalog> {
    const { appStore, packageStore, releaseStore } = this.#deps;
    const [app, crowds, packages, releases] = await Promise.all([
      appStore.getApp(appId),
      appStore.listCrowds(appId),
      packageStore.listPackages(appId),
      releaseStore.listReleases(appId),
    ]);
    if (!app) throw new Error(`app ${appId} vanished while indexing`);
    const crowdMembers = new Map(crowds.map((c) => [c.name, c.members]));
    const packagesById = new Map(packages.map((p) => [p.id, p]));

    const installers = new Map<string, Map<string, string | null>>();
    for (const r of releases) {
      if (r.status !== 'rolled_back') continue;
      const list = await releaseStore.installersOf(r.id);
      installers.set(r.id, new Map(list.map((i) => [i.deviceId, i.fromVersion])));
    }

    const installedFrom = (releaseId: string, deviceId: string): string | null | undefined => {
      const devices = installers.get(releaseId);
      if (devices === undefined || !devices.has(deviceId)) return undefined;
      return devices.get(deviceId) ?? null;
    };
    const candidates = releases.flatMap((r) => {
      const pkg = packagesById.get(r.packageId);
      if (pkg === undefined) return [];
      const crowd = new Set<string>();
      for (const name of r.crowds) for (const id of crowdMembers.get(name) ?? []) crowd.add(id);
      // One object literal (not a spread copy), so every candidate has the same fast shape.
      const candidate: CandidateRelease<PackagePayload> & { module: string } = {
        module: r.module,
        id: r.id,
        version: r.version,
        status: r.status,
        stage: r.stage,
        percent: r.percent,
        whitelist: new Set(r.whitelist),
        crowd,
        rule: r.rule === null ? null : compileRule(r.rule),
        grayId: r.grayId,
        stickiness: r.stickiness,
        mandatory: r.mandatory,
        platform: r.platform,
        minAppVersion: pkg.minAppVersion,
        maxAppVersion: pkg.maxAppVersion,
        disabled: pkg.disabled,
        fallbackUrl: pkg.fallbackUrl,
        payload: packagePayload(pkg),
        prepared: prepareRelease({
          version: r.version,
          minAppVersion: pkg.minAppVersion,
          maxAppVersion: pkg.maxAppVersion,
          grayId: r.grayId,
          stage: r.stage,
          percent: r.percent,
        }),
      };
      return [candidate];
    });
    candidates.sort((a, b) => compareVersions(b.version, a.version) || (a.id < b.id ? 1 : -1));

    // One module table per platform, so a check only ever scans what can run on the device.
    const platforms = new Map<string, ReadonlyMap<string, IndexedModule>>();
    for (const platform of app.platforms) {
      const releasesOf = new Map<string, CandidateRelease<PackagePayload>[]>();
      const versionsOf = new Map<string, Map<string, KnownVersion<PackagePayload>>>();
      for (const pkg of packages) {
        if (pkg.platform !== null && pkg.platform !== platform) continue;
        let versions = versionsOf.get(pkg.module);
        if (versions === undefined) versionsOf.set(pkg.module, (versions = new Map()));
        // A platform's own package beats the every-platform one of the same version.
        const key = versionKey(pkg.version) ?? pkg.version;
        if (!versions.has(key) || pkg.platform !== null) {
          versions.set(key, {
            version: pkg.version,
            disabled: pkg.disabled,
            fallbackUrl: pkg.fallbackUrl,
            payload: packagePayload(pkg),
          });
        }
      }
      for (const c of candidates) {
        if (c.platform !== null && c.platform !== platform) continue;
        const list = releasesOf.get(c.module);
        if (list === undefined) releasesOf.set(c.module, [c]);
        else list.push(c);
      }
      const modules = new Map<string, IndexedModule>();
      for (const [name, versions] of versionsOf) {
        const releases = releasesOf.get(name) ?? [];
        modules.set(name, {
          releases,
          current: releases.find((r) => r.status === 'active'),
          mandatory: releases.filter((r) => r.mandatory),
          rolledBack: releases.filter((r) => r.status === 'rolled_back'),
          versions,
          installedFrom,
        });
      }
      platforms.set(platform, modules);
    }
    const listings = new Map<string, { whitelisted: Set<string>; inCrowd: Set<string> }>();
    const listing = (id: string) => {
      let l = listings.get(id);
      if (l === undefined) listings.set(id, (l = { whitelisted: new Set(), inCrowd: new Set() }));
      return l;
    };
    for (const c of candidates) {
      for (const id of c.whitelist) listing(id).whitelisted.add(c.id);
      for (const id of c.crowd) listing(id).inCrowd.add(c.id);
    }
    return { app, platforms, releases: new Map(releases.map((r) => [r.id, r])), listings, installers };
  }
}
