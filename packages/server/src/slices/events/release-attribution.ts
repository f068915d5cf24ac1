import type { AppCatalog, ReleaseIndex } from '../releases/release-index.js';

/** A release as the events slice needs it. */
export interface AttributedRelease {
  readonly id: string;
  readonly module: string;
  readonly version: string;
  /** Its stage now: the "stage cohort" events are rolled up under. */
  readonly stage: string;
}

/** Which release shipped a module version, per app (a read model over the releases slice). */
export interface ReleaseLookup {
  /** The release that shipped `module@version` to `platform` (a platform-specific one wins). */
  find(platform: string, module: string, version: string): AttributedRelease | undefined;
  get(releaseId: string): AttributedRelease | undefined;
}

export interface ReleaseAttribution {
  lookup(appId: string): ReleaseLookup | Promise<ReleaseLookup>;
}

const EMPTY: ReleaseLookup = { find: () => undefined, get: () => undefined };

function buildLookup(catalog: AppCatalog): ReleaseLookup {
  // module \0 version → (platform or '') → release
  const byVersion = new Map<string, Map<string, AttributedRelease>>();
  const byId = new Map<string, AttributedRelease>();
  for (const r of catalog.releases.values()) {
    const a: AttributedRelease = { id: r.id, module: r.module, version: r.version, stage: r.stage };
    byId.set(r.id, a);
    const key = `${r.module}\u0000${r.version}`;
    let platforms = byVersion.get(key);
    if (platforms === undefined) {
      platforms = new Map();
      byVersion.set(key, platforms);
    }
    platforms.set(r.platform ?? '', a);
  }
  return {
    find(platform, module, version) {
      const platforms = byVersion.get(`${module}\u0000${version}`);
      if (platforms === undefined) return undefined;
      return platforms.get(platform) ?? platforms.get('');
    },
    get: (id) => byId.get(id),
  };
}

/**
 * Attribution from the client API's in-memory release index: a lookup is built once per
 * catalogue build (a release change rebuilds the catalogue, so stages are current) and cached
 * with it. No database query per batch.
 */
export function createIndexAttribution(index: Pick<ReleaseIndex, 'catalog'>): ReleaseAttribution {
  const cache = new WeakMap<AppCatalog, ReleaseLookup>();
  const of = (catalog: AppCatalog): ReleaseLookup => {
    let l = cache.get(catalog);
    if (l === undefined) {
      l = buildLookup(catalog);
      cache.set(catalog, l);
    }
    return l;
  };
  return {
    lookup(appId) {
      const c = index.catalog(appId);
      return c instanceof Promise ? c.then(of, () => EMPTY) : of(c);
    },
  };
}
