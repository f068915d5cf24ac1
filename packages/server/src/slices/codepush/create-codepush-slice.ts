import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { BlobStore } from '../../platform/blob/blob-store.js';
import type { EventBus } from '../../platform/bus/event-bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config/config-schema.js';
import type { AppService } from '../apps/app-service.js';
import type { ClientService } from '../client/client-service.js';
import type { PackageService } from '../packages/package-service.js';
import type { ReleaseIndex } from '../releases/release-index.js';
import type { ReleaseService } from '../releases/release-service.js';
import type { ReleaseStats } from '../releases/release-stats.js';
import { CodePushAcquisition } from './codepush-acquisition.js';
import { CodePushDiffs } from './codepush-diffs.js';
import { CodePushService } from './codepush-service.js';
import { createSqlCodePushStore } from './codepush-store.sql.js';

const CATALOG_CHANGED = 'catalog.changed';
const DIFF_CHANGED = 'codepush.diff.changed';

export interface CodePushSliceDeps {
  readonly db: Kysely<Database>;
  readonly bus: EventBus;
  readonly origin: string;
  readonly clock: Clock;
  readonly config: Pick<Config, 'delta'>;
  readonly blobs: BlobStore;
  readonly apps: AppService;
  readonly packages: PackageService;
  readonly releases: ReleaseService;
  readonly index: ReleaseIndex;
  readonly stats: ReleaseStats;
  readonly client: ClientService;
  readonly notifyChanged: (appId: string) => Promise<void>;
  readonly onError: (err: unknown, context: string) => void;
}

export interface CodePushSlice {
  readonly service: CodePushService;
  readonly acquisition: CodePushAcquisition;
  readonly diffs: CodePushDiffs;
  close(): Promise<void>;
}

/** Wires the CodePush slice (store, management service, acquisition, diffs) on the shared stores and bus. */
export async function createCodePushSlice(deps: CodePushSliceDeps): Promise<CodePushSlice> {
  const store = createSqlCodePushStore(deps.db);
  const acquisition = new CodePushAcquisition({
    index: deps.index,
    store,
    client: deps.client,
    stats: deps.stats,
    diffs: { lookup: (...a) => diffs.lookup(...a), request: (...a) => diffs.request(...a) },
  });
  const diffs = new CodePushDiffs({
    store,
    blobs: deps.blobs,
    packages: deps.packages,
    clock: deps.clock,
    leaseMs: deps.config.delta.leaseMs,
    enabled: deps.config.delta.workers > 0,
    announce: (to, base) => deps.bus.publish(DIFF_CHANGED, { to, base, origin: deps.origin }),
    onError: deps.onError,
  });
  await acquisition.loadKeys();
  await diffs.start();
  const notifyChanged = async (appId: string): Promise<void> => {
    await acquisition.refreshApp(appId);
    await deps.notifyChanged(appId);
  };
  const service = new CodePushService({
    store,
    apps: deps.apps,
    packages: deps.packages,
    releases: deps.releases,
    clock: deps.clock,
    notifyChanged,
  });
  // Deployments added through another process: their keys arrive with the app's change notice.
  const unsubscribe = deps.bus.subscribe(CATALOG_CHANGED, (payload) => {
    const p = payload as { appId?: unknown; origin?: unknown };
    if (typeof p.appId === 'string' && p.origin !== deps.origin) {
      void acquisition.refreshApp(p.appId).catch((err) => deps.onError(err, 'codepush keys'));
    }
  });
  const unsubscribeDiffs = deps.bus.subscribe(DIFF_CHANGED, (payload) => {
    const p = payload as { to?: unknown; base?: unknown; origin?: unknown };
    if (p.origin === deps.origin || typeof p.to !== 'string' || typeof p.base !== 'string') return;
    void diffs.refresh(p.to, p.base).catch((err) => deps.onError(err, 'codepush diff refresh'));
  });
  return {
    service,
    acquisition,
    diffs,
    async close() {
      unsubscribe();
      unsubscribeDiffs();
      await diffs.close();
    },
  };
}
