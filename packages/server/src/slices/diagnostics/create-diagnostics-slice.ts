import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { type BlobStore, createBlobStore } from '../../platform/blob/blob-store.js';
import type { EventBus } from '../../platform/bus/event-bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config/config-schema.js';
import { configInvalid } from '../../platform/errors/platform-errors.js';
import type { AppService } from '../apps/app-service.js';
import { DiagnosticsFeed } from './diagnostics-feed.js';
import { DiagnosticsService } from './diagnostics-service.js';
import { createSqlDiagnosticsStore } from './diagnostics-store.sql.js';

/** Bus topic: a diagnostic command of an app changed (created, uploaded, cancelled, expired). */
export const DIAGNOSTICS_CHANGED = 'diagnostics.changed';

export interface DiagnosticsSlice {
  readonly service: DiagnosticsService;
  readonly feed: DiagnosticsFeed;
  close(): Promise<void>;
}

export interface DiagnosticsSliceDeps {
  readonly db: Kysely<Database>;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly config: Pick<Config, 'diagnostics' | 'blobUrl'>;
  readonly apps: Pick<AppService, 'getApp'>;
  /** This process's id on the bus (its own announcements are ignored). */
  readonly origin: string;
  /** The diagnostics blob store; by default opened from the configuration ({@link diagnosticsBlobUrl}). */
  readonly blobs?: BlobStore;
  /** How often first deliveries are written (ms). */
  readonly flushIntervalMs?: number;
  readonly onError: (err: unknown, context: string) => void;
}

/**
 * Where diagnostic uploads go: `diagnostics.blobUrl`; else `memory:` beside a `memory:` package
 * store; else a `diagnostics` directory next to the package blob directory (with the default
 * `file:{dataDir}/blobs`, that is `{dataDir}/diagnostics`).
 *
 * @example
 * diagnosticsBlobUrl({ blobUrl: 'file:/srv/halftone/blobs', diagnostics }); // 'file:/srv/halftone/diagnostics'
 */
export function diagnosticsBlobUrl(config: Pick<Config, 'diagnostics' | 'blobUrl'>): string {
  if (config.diagnostics.blobUrl !== undefined) return config.diagnostics.blobUrl;
  const { blobUrl } = config;
  if (blobUrl === 'memory:') return 'memory:';
  const dir = blobUrl.startsWith('file://') ? fileURLToPath(blobUrl) : blobUrl.slice('file:'.length);
  return `file:${join(dirname(resolve(dir)), 'diagnostics')}`;
}

/**
 * Wires the diagnostics slice: its store, blob store, delivery feed and service; starts the feed's
 * delivery writes and the expiry sweep; keeps the feed in step with other processes over the bus.
 */
export async function createDiagnosticsSlice(deps: DiagnosticsSliceDeps): Promise<DiagnosticsSlice> {
  const { config, bus, origin, onError } = deps;
  if (config.diagnostics.defaultExpirySeconds > config.diagnostics.maxExpirySeconds) {
    throw configInvalid(undefined, {
      detail: 'HALFTONE_DIAGNOSTICS_DEFAULT_EXPIRY_SECONDS must not exceed HALFTONE_DIAGNOSTICS_MAX_EXPIRY_SECONDS',
      fields: [{ pointer: '/diagnostics/defaultExpirySeconds', message: 'must be at most diagnostics.maxExpirySeconds' }],
    });
  }
  const store = createSqlDiagnosticsStore(deps.db);
  const ownBlobs = deps.blobs === undefined;
  const blobs = deps.blobs ?? (await createBlobStore(diagnosticsBlobUrl(config)));
  const feed = new DiagnosticsFeed({
    store,
    clock: deps.clock,
    onError,
    ...(deps.flushIntervalMs !== undefined ? { flushIntervalMs: deps.flushIntervalMs } : {}),
  });
  const service = new DiagnosticsService({
    store,
    feed,
    blobs,
    apps: deps.apps,
    clock: deps.clock,
    config,
    onError,
    notifyChanged: async (appId) => {
      feed.invalidate(appId);
      await bus.publish(DIAGNOSTICS_CHANGED, { appId, origin });
    },
  });
  const unsubscribe = bus.subscribe(DIAGNOSTICS_CHANGED, (payload) => {
    const p = payload as { appId?: unknown; origin?: unknown };
    if (typeof p.appId === 'string' && p.origin !== origin) feed.invalidate(p.appId);
  });
  feed.start();
  service.start();
  return {
    service,
    feed,
    async close() {
      unsubscribe();
      service.stop();
      await feed.stop().catch((err) => onError(err, 'diagnostics delivery flush'));
      if (ownBlobs) await blobs.close?.();
    },
  };
}
