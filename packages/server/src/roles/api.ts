import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { BlobReader } from '../platform/blob/blob-store.js';
import type { Config } from '../platform/config/config-schema.js';
import { registerErrorHandling } from '../platform/errors/error-handler.js';
import { newId } from '../platform/ids.js';
import { createLoggerOptions } from '../platform/logger.js';
import { createRequireAdmin } from '../slices/apps/admin-auth.js';
import { appRoutes } from '../slices/apps/app-routes.js';
import type { AppService } from '../slices/apps/app-service.js';
import { clientRoutes } from '../slices/client/client-routes.js';
import { deltaRoutes } from '../slices/delta/delta-routes.js';
import { type CodePushSlice, codePushAcquisitionRoutes, codePushAdminRoutes } from '../slices/codepush/index.js';
import { abTestingAdminFor } from '../slices/gateway/abtesting-admin.js';
import { abTestingRoutes } from '../slices/gateway/abtesting-routes.js';
import type { GatewayMetrics } from '../slices/gateway/gateway-metrics.js';
import { gatewayRoutes } from '../slices/gateway/gateway-routes.js';
import type { GatewayService } from '../slices/gateway/gateway-service.js';
import type { DeltaService } from '../slices/delta/delta-service.js';
import {
  diagnosticsAdminRoutes,
  diagnosticsClientRoutes,
  type DiagnosticsService,
} from '../slices/diagnostics/index.js';
import { eventsAdminRoutes, eventsClientRoutes } from '../slices/events/events-routes.js';
import type { EventsService } from '../slices/events/events-service.js';
import type { PackageStore } from '../slices/packages/package-store.js';
import type { ClientService } from '../slices/client/client-service.js';
import { packageRoutes } from '../slices/packages/package-routes.js';
import type { PackageService } from '../slices/packages/package-service.js';
import type { ReleaseIndex } from '../slices/releases/release-index.js';
import { releaseRoutes } from '../slices/releases/release-routes.js';
import type { ReleaseService } from '../slices/releases/release-service.js';
import { type ClockControl, type HealthService, healthRoutes } from '../slices/health/index.js';
import { HealthUnavailable } from '../slices/health/health-errors.js';
import { type ConfigSlice, configAdminRoutes, configClientRoutes, ofrepRoutes } from '../slices/config/index.js';
import { VERSION } from '../version.js';

export interface ApiRoleDeps {
  readonly config: Pick<Config, 'limits' | 'logLevel' | 'publicUrl' | 'events'>;
  readonly apps: AppService;
  readonly packages: PackageService;
  readonly releases: ReleaseService;
  readonly client: ClientService;
  readonly deltas: DeltaService;
  readonly gateway: GatewayService;
  /** Client events and release health (optional so older test setups need not build it). */
  readonly events?: EventsService;
  /** Diagnostic commands and uploads (optional so older test setups need not build it). */
  readonly diagnostics?: DiagnosticsService;
  /** Served at `/admin/v1/gateway/metrics` (admin token). */
  readonly gatewayMetrics?: GatewayMetrics;
  readonly packageStore: Pick<PackageStore, 'findPackagesByVersion'>;
  /** The CodePush-compatible API (optional so older test setups need not build it). */
  readonly codepush?: Pick<CodePushSlice, 'service' | 'acquisition'>;
  readonly index: Pick<ReleaseIndex, 'appIdForKey'>;
  readonly blobs: BlobReader;
  /** Health gates, breakers, feedback watch (optional so older test setups need not build it). */
  readonly health?: HealthService;
  /** The server clock (`/admin/v1/clock`; the events admin routes' "now"). */
  readonly clock?: ClockControl;
  /** Dynamic config and switches: admin API, `/client/v1/config`, OFREP (optional so older test setups need not build it). */
  readonly dynamicConfig?: Pick<ConfigSlice, 'service' | 'index' | 'streams'> & { readonly inactivityDelaySec: number };
}

/**
 * The api role: admin API (`/admin/v1`), client API (`/client/v1`), OpenAPI document.
 * Builds the Fastify instance without listening (tests use `inject`).
 */
export async function buildApiRole(deps: ApiRoleDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: createLoggerOptions(config.logLevel),
    bodyLimit: config.limits.jsonBodyMaxBytes,
    genReqId: () => newId('req'),
    // Wrong types are errors, never silently coerced ("123" is not a number).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    // Uploads can take a while on slow links; the limit is bytes, not time.
    requestTimeout: 0,
  });
  registerErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Halftone',
        version: VERSION,
        description:
          'Admin API (Bearer admin token) and client API (X-Halftone-Key) of Halftone. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer' },
          clientKey: { type: 'apiKey', in: 'header', name: 'X-Halftone-Key' },
        },
      },
    },
  });
  await app.register(multipart, {
    limits: {
      fileSize: config.limits.uploadMaxBytes + 1,
      files: 1,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 40,
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { tags: ['meta'], summary: 'Liveness' } }, async () => ({
    ok: true,
    version: VERSION,
  }));

  const requireAdmin = createRequireAdmin(deps.apps);
  const publicUrl = config.publicUrl;
  await app.register(async (scope) => {
    await scope.register(appRoutes, { apps: deps.apps, requireAdmin });
    await scope.register(packageRoutes, { packages: deps.packages, requireAdmin, publicUrl });
    const health = deps.health;
    await scope.register(releaseRoutes, {
      releases: deps.releases,
      requireAdmin,
      ...(health !== undefined
        ? { createWithHealth: (appId, input, policy) => health.createRelease(appId, input, policy) }
        : {}),
      healthUnavailable: () => HealthUnavailable(),
    });
    if (health !== undefined && deps.clock !== undefined) {
      await scope.register(healthRoutes, { health, clock: deps.clock, requireAdmin });
    }
    await scope.register(deltaRoutes, {
      deltas: deps.deltas,
      apps: deps.apps,
      packages: deps.packageStore,
      requireAdmin,
      publicUrl,
    });
    if (deps.codepush !== undefined) {
      await scope.register(codePushAdminRoutes, { codepush: deps.codepush.service, requireAdmin });
    }
    await scope.register(gatewayRoutes, { gateway: deps.gateway, metrics: deps.gatewayMetrics, requireAdmin });
    await scope.register(abTestingRoutes, { admin: abTestingAdminFor(deps.gateway), requireAdmin });
    if (deps.events !== undefined) {
      await scope.register(eventsAdminRoutes, {
        events: deps.events,
        apps: deps.apps,
        requireAdmin,
        now: () => (deps.clock ?? { now: () => new Date() }).now(),
      });
    }
    if (deps.dynamicConfig !== undefined) {
      await scope.register(configAdminRoutes, { config: deps.dynamicConfig.service, requireAdmin });
    }
    const diagnostics = deps.diagnostics;
    if (diagnostics !== undefined) {
      await scope.register(diagnosticsAdminRoutes, {
        diagnostics,
        requireAdmin,
        now: () => diagnostics.now(),
      });
    }
  });
  if (deps.codepush !== undefined) {
    await app.register(codePushAcquisitionRoutes, { acquisition: deps.codepush.acquisition, publicUrl });
  }
  await app.register(clientRoutes, {
    client: deps.client,
    index: deps.index,
    blobs: deps.blobs,
    publicUrl,
  });
  if (deps.events !== undefined) {
    await app.register(eventsClientRoutes, {
      events: deps.events,
      index: deps.index,
      maxBatchBytes: config.events.maxBatchBytes,
      maxBatchItems: config.events.maxBatchItems,
    });
  }
  if (deps.dynamicConfig !== undefined) {
    const delivery = {
      index: deps.dynamicConfig.index,
      streams: deps.dynamicConfig.streams,
      inactivityDelaySec: deps.dynamicConfig.inactivityDelaySec,
    };
    await app.register(configClientRoutes, delivery);
    await app.register(ofrepRoutes, delivery);
  }
  if (deps.diagnostics !== undefined) {
    await app.register(diagnosticsClientRoutes, { diagnostics: deps.diagnostics, index: deps.index });
  }
  return app;
}
