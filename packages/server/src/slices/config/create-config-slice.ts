import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { EventBus } from '../../platform/bus/event-bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config/config-schema.js';
import type { AppService } from '../apps/app-service.js';
import { ConfigIndex } from './config-index.js';
import type { ConfigEnv } from './config-model.js';
import { ConfigService } from './config-service.js';
import type { ConfigStore } from './config-store.js';
import { createSqlConfigStore } from './config-store.sql.js';
import { ConfigStreams } from './config-streams.js';
import { createModuleSwitches, type ModuleSwitches } from './module-switches.js';

/** Bus topic: an environment of an app changed `{appId, env, revision, origin}`. */
export const CONFIG_CHANGED = 'config.changed';
/** Bus topic: a non-production client key was created `{appId, env, clientKey, origin}`. */
export const CONFIG_KEY_CREATED = 'config.key-created';

export interface ConfigSlice {
  readonly service: ConfigService;
  readonly index: ConfigIndex;
  readonly streams: ConfigStreams;
  /** For the release check: switches bound to modules. */
  readonly moduleSwitches: ModuleSwitches;
  /** The app's crowds (or anything of it) changed: crowd memberships are rebuilt. */
  catalogChanged(appId: string): void;
  close(): Promise<void>;
}

export interface ConfigSliceDeps {
  readonly db?: Kysely<Database>;
  /** Instead of `db` (tests). */
  readonly store?: ConfigStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly config: Pick<Config, 'flags'>;
  readonly apps: Pick<AppService, 'getApp' | 'listCrowds'>;
  /** The production key → app lookup of the client API (the release index, in memory). */
  readonly productionAppForKey: (clientKey: string) => string | undefined;
  /** This process's id on the bus (its own announcements are ignored). */
  readonly origin: string;
  readonly onError: (err: unknown, context: string) => void;
}

/**
 * Wires the config slice: store, service, delivery index, event streams. A change is compiled
 * into this process's index at once and announced on the bus, so other processes drop their
 * compiled environment and tell their own event streams to refetch.
 */
export async function createConfigSlice(deps: ConfigSliceDeps): Promise<ConfigSlice> {
  const { bus, origin, onError } = deps;
  const store = deps.store ?? createSqlConfigStore(deps.db as Kysely<Database>);
  const streams = new ConfigStreams({
    heartbeatMs: deps.config.flags.sseHeartbeatMs,
    maxConnections: deps.config.flags.sseMaxConnections,
  });
  let service: ConfigService | undefined;
  const index = new ConfigIndex({
    store,
    apps: deps.apps,
    productionAppForKey: deps.productionAppForKey,
    keyOf: async (appId, env: ConfigEnv) => (await (service as ConfigService).keys(appId))[env],
  });
  await index.loadKeys();
  service = new ConfigService({
    store,
    apps: deps.apps,
    clock: deps.clock,
    async notify(appId, env, revision) {
      index.invalidate(appId, env);
      streams.notify(appId, env, revision, Date.now());
      await bus.publish(CONFIG_CHANGED, { appId, env, revision, origin });
    },
    async keyCreated(appId, env, clientKey) {
      index.addKey(appId, env as ConfigEnv, clientKey);
      await bus.publish(CONFIG_KEY_CREATED, { appId, env, clientKey, origin });
    },
  });
  const offChanged = bus.subscribe(CONFIG_CHANGED, (payload) => {
    const p = payload as { appId?: unknown; env?: unknown; revision?: unknown; origin?: unknown };
    if (p.origin === origin || typeof p.appId !== 'string' || typeof p.env !== 'string') return;
    index.invalidate(p.appId, p.env);
    streams.notify(p.appId, p.env, typeof p.revision === 'number' ? p.revision : 0, Date.now());
  });
  const offKeys = bus.subscribe(CONFIG_KEY_CREATED, (payload) => {
    const p = payload as { appId?: unknown; env?: unknown; clientKey?: unknown; origin?: unknown };
    if (p.origin === origin || typeof p.appId !== 'string' || typeof p.clientKey !== 'string') return;
    if (p.env !== 'test') return;
    index.addKey(p.appId, 'test', p.clientKey);
  });
  void onError;
  return {
    service,
    index,
    streams,
    moduleSwitches: createModuleSwitches(index),
    catalogChanged: (appId) => index.invalidateCrowds(appId),
    async close() {
      offChanged();
      offKeys();
      streams.closeAll();
    },
  };
}
