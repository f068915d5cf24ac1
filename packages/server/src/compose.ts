import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { migrations } from './db/migrations.js';
import type { Database } from './db/schema.js';
import type { Kysely } from 'kysely';
import { createBlobStore } from './platform/blob/blob-store.js';
import { createEventBus, type EventBus } from './platform/bus/event-bus.js';
import { type Clock, systemClock } from './platform/clock.js';
import type { Config } from './platform/config/config-schema.js';
import { configInvalid } from './platform/errors/platform-errors.js';
import { generateSecret } from './platform/ids.js';
import { migrateToLatest } from './platform/sql/migrate.js';
import { createSqlDatabase } from './platform/sql/sql-database.js';
import { buildApiRole } from './roles/api.js';
import { AppService } from './slices/apps/app-service.js';
import { createSqlAppStore } from './slices/apps/app-store.sql.js';
import { ClientService, type InstallNotice } from './slices/client/client-service.js';
import {
  type DeltaRunner,
  createInlineDeltaRunner,
  createWorkerDeltaRunner,
  workerScriptAvailable,
} from './slices/delta/delta-runner.js';
import { DeltaService } from './slices/delta/delta-service.js';
import { type CodePushSlice, createCodePushSlice } from './slices/codepush/index.js';
import { createDiagnosticsSlice, type DiagnosticsService } from './slices/diagnostics/index.js';
import { EventsService } from './slices/events/events-service.js';
import { createSqlEventsStore } from './slices/events/events-store.sql.js';
import { createIndexAttribution } from './slices/events/release-attribution.js';
import { createSqlDeltaStore } from './slices/delta/delta-store.sql.js';
import { GatewayProxy } from './slices/gateway/gateway-proxy.js';
import { GatewayService } from './slices/gateway/gateway-service.js';
import { createSqlGatewayStore } from './slices/gateway/gateway-store.sql.js';
import { PackageService } from './slices/packages/package-service.js';
import { createSqlPackageStore } from './slices/packages/package-store.sql.js';
import { ReleaseIndex } from './slices/releases/release-index.js';
import { ReleaseService } from './slices/releases/release-service.js';
import { ReleaseStats } from './slices/releases/release-stats.js';
import { createSqlReleaseStore } from './slices/releases/release-store.sql.js';
import { type ConfigSlice, createConfigSlice } from './slices/config/index.js';
import { type ClockControl, createClockControl, createHealthSlice, type FeedbackNotice, type HealthService } from './slices/health/index.js';

const CATALOG_CHANGED = 'catalog.changed';
const RELEASE_INSTALLED = 'release.installed';
const DELTA_CHANGED = 'delta.changed';
const GATEWAY_CHANGED = 'gateway.changed';

export interface Halftone {
  readonly config: Config;
  readonly api: FastifyInstance;
  /** The bootstrap admin token, and whether it was generated on this start. */
  readonly adminToken: { readonly token: string; readonly generated: boolean; readonly file?: string };
  /** On-demand patches (exposed for tests and tools). */
  readonly deltas: DeltaService;
  /** The gray gateway's state (admin API) and its request handler (the gateway listener). */
  readonly gateway: GatewayService;
  readonly gatewayProxy: GatewayProxy;
  /** Client events and release health (the health-gate engine reads `events.health`). */
  readonly events: EventsService;
  /** Diagnostic commands to devices and their uploads. */
  readonly diagnostics: DiagnosticsService;
  /** The CodePush-compatible API (deployments, labels, diffs). */
  readonly codepush: CodePushSlice;
  /** Health-gated releases, circuit breakers, feedback watch (and the evaluator). */
  readonly health: HealthService;
  /** The clock everything runs on (`clock.mode`: system, or manual for simulations). */
  readonly clock: ClockControl;
  /** Dynamic config and switches (environments, delivery index, OFREP event streams). */
  readonly dynamicConfig: ConfigSlice;
  close(): Promise<void>;
}

export interface ComposeOptions {
  readonly clock?: Clock;
  /** How often rollout counters are saved (ms). */
  readonly statsFlushIntervalMs?: number;
  /** Where patches are computed (default: a worker pool of `delta.workers` threads). */
  readonly deltaRunner?: DeltaRunner;
}

/**
 * The composition root: the only place that picks concrete adapters (by URL scheme) and wires
 * the slices together. Migrates the database and makes sure an admin token exists.
 */
export async function composeHalftone(config: Config, opts: ComposeOptions = {}): Promise<Halftone> {
  // Manual mode (simulations): one settable clock drives everything below; see createClockControl.
  const clockStart = config.clock.start === undefined ? undefined : new Date(config.clock.start);
  if (clockStart !== undefined && Number.isNaN(clockStart.getTime())) {
    throw configInvalid(undefined, {
      detail: `HALFTONE_CLOCK_START: ${JSON.stringify(config.clock.start)} is not an ISO 8601 date-time`,
      fields: [{ pointer: '/clock/start', message: 'is not an ISO 8601 date-time' }],
    });
  }
  const clock: ClockControl = createClockControl(config.clock.mode, { start: clockStart, clock: opts.clock });
  if (config.role !== 'all') {
    // The gateway role has its own composition (composeGatewayRole, `halftone gateway`); api and
    // sync arrive with their own roles; until then one process does everything else.
    throw configInvalid(undefined, {
      detail:
        config.role === 'gateway'
          ? 'role "gateway" runs with `halftone gateway` (composeGatewayRole), not as the all-in-one server'
          : `role "${config.role}" is not available yet; run with HALFTONE_ROLE=all`,
    });
  }
  // Background failures go to the server log once it exists.
  let onError = (err: unknown, context: string): void => {
    process.stderr.write(`${context}: ${err instanceof Error ? err.message : String(err)}\n`);
  };
  const sql = await createSqlDatabase<Database>(config.dbUrl);
  const closers: (() => Promise<void>)[] = [() => sql.close()];
  try {
    await migrateToLatest(sql.db, migrations);
    const blobs = await createBlobStore(config.blobUrl);
    if (blobs.close) closers.unshift(() => blobs.close?.() ?? Promise.resolve());
    const bus = await createEventBus(config.busUrl);
    closers.unshift(() => bus.close());

    const appStore = createSqlAppStore(sql.db);
    const packageStore = createSqlPackageStore(sql.db);
    const releaseStore = createSqlReleaseStore(sql.db);
    const index = new ReleaseIndex({ appStore, packageStore, releaseStore });
    await index.loadKeys();

    // Local changes invalidate at once (the next check sees them); other processes hear it on the bus.
    const origin = randomUUID();
    const notifyChanged = async (appId: string): Promise<void> => {
      await index.invalidate(appId);
      await bus.publish(CATALOG_CHANGED, { appId, origin });
    };
    // Crowds feed config targeting too (bound once the config slice exists).
    let catalogChanged: (appId: string) => void = () => {};
    const unsubscribeCatalogForConfig = bus.subscribe(CATALOG_CHANGED, (payload) => {
      const p = payload as { appId?: unknown };
      if (typeof p.appId === 'string') catalogChanged(p.appId);
    });
    const unsubscribe = bus.subscribe(CATALOG_CHANGED, (payload) => {
      const p = payload as { appId?: unknown; origin?: unknown };
      if (typeof p.appId === 'string' && p.origin !== origin) {
        void index.invalidate(p.appId).catch((err) => onError(err, 'catalog invalidation'));
      }
    });
    const notifyInstalled = async (notice: InstallNotice): Promise<void> => {
      index.recordInstall(notice.appId, notice.releaseId, notice.deviceId, notice.fromVersion);
      await bus.publish(RELEASE_INSTALLED, { ...notice, origin });
    };
    const unsubscribeInstalls = bus.subscribe(RELEASE_INSTALLED, (payload) => {
      const p = payload as Partial<InstallNotice> & { origin?: unknown };
      if (p.origin === origin || typeof p.appId !== 'string' || typeof p.releaseId !== 'string') return;
      if (typeof p.deviceId !== 'string') return;
      index.recordInstall(p.appId, p.releaseId, p.deviceId, typeof p.fromVersion === 'string' ? p.fromVersion : null);
    });
    closers.unshift(async () => {
      unsubscribe();
      unsubscribeCatalogForConfig();
      unsubscribeInstalls();
    });

    const stats = new ReleaseStats({
      store: releaseStore,
      clock,
      ...(opts.statsFlushIntervalMs !== undefined ? { flushIntervalMs: opts.statsFlushIntervalMs } : {}),
    });
    stats.start();
    closers.unshift(() => stats.stop());

    const apps = new AppService({ appStore, clock, notifyChanged });
    const packages = new PackageService({
      packageStore,
      blobs,
      apps,
      clock,
      notifyChanged,
      config,
    });
    const releases = new ReleaseService({
      releaseStore,
      packageStore,
      apps,
      stats,
      clock,
      notifyChanged,
    });
    const deltaRunner =
      opts.deltaRunner ??
      (config.delta.workers > 0 && workerScriptAvailable()
        ? createWorkerDeltaRunner(config.delta.workers)
        : createInlineDeltaRunner());
    closers.unshift(() => deltaRunner.close());
    const deltas = new DeltaService({
      store: createSqlDeltaStore(sql.db),
      blobs,
      packages: packageStore,
      runner: deltaRunner,
      clock,
      config,
      announce: (from, to) => bus.publish(DELTA_CHANGED, { from, to, origin }),
      onError: (err, context) => onError(err, context),
    });
    const unsubscribeDeltas = bus.subscribe(DELTA_CHANGED, (payload) => {
      const p = payload as { from?: unknown; to?: unknown; origin?: unknown };
      if (p.origin === origin || typeof p.from !== 'string' || typeof p.to !== 'string') return;
      void deltas.refresh(p.from, p.to).catch((err) => onError(err, 'delta refresh'));
    });
    await deltas.start();
    // Patches whose either end is no longer released go away (at start, then every 10 minutes).
    const collect = () =>
      void releaseStore
        .livePackageIds()
        .then((live) => deltas.collectGarbage(live))
        .catch((err) => onError(err, 'delta garbage collection'));
    collect();
    const gcTimer = setInterval(collect, 10 * 60_000);
    gcTimer.unref();
    closers.unshift(async () => {
      clearInterval(gcTimer);
      unsubscribeDeltas();
      await deltas.close();
    });

    const { gateway, gatewayProxy, close: closeGateway } = await composeGateway(config, {
      db: sql.db,
      bus,
      clock,
      origin,
      onError: (err, context) => onError(err, context),
    });
    closers.unshift(closeGateway);

    // Feedback items go to the health slice's feedback watch (bound once it exists).
    let onFeedback: (items: readonly FeedbackNotice[]) => Promise<unknown> = async () => 0;
    const events = new EventsService({
      store: createSqlEventsStore(sql.db, sql.dialect),
      attribution: createIndexAttribution(index),
      clock,
      config,
      onError: (err, context) => onError(err, context),
      onFeedback: (items) => onFeedback(items),
    });
    events.start();
    closers.unshift(async () => events.stop());

    const diagnostics = await createDiagnosticsSlice({
      db: sql.db,
      bus,
      clock,
      config,
      apps,
      origin,
      ...(opts.statsFlushIntervalMs !== undefined ? { flushIntervalMs: opts.statsFlushIntervalMs } : {}),
      onError: (err, context) => onError(err, context),
    });
    closers.unshift(() => diagnostics.close());

    const dynamicConfig = await createConfigSlice({
      db: sql.db,
      bus,
      clock,
      config,
      apps,
      productionAppForKey: (key) => index.appIdForKey(key),
      origin,
      onError: (err, context) => onError(err, context),
    });
    catalogChanged = dynamicConfig.catalogChanged;
    closers.unshift(() => dynamicConfig.close());

    const client = new ClientService({
      index,
      stats,
      releaseStore,
      clock,
      notifyInstalled,
      deltas,
      commands: diagnostics.feed,
      switches: dynamicConfig.moduleSwitches,
    });
    const codepush = await createCodePushSlice({
      db: sql.db,
      bus,
      origin,
      clock,
      config,
      blobs,
      apps,
      packages,
      releases,
      index,
      stats,
      client,
      notifyChanged,
      onError: (err, context) => onError(err, context),
    });
    closers.unshift(() => codepush.close());
    let log = (level: 'warn' | 'info', msg: string, data: Record<string, unknown>): void => {
      if (level === 'warn') process.stderr.write(`${msg} ${JSON.stringify(data)}\n`);
    };
    const health = createHealthSlice({
      db: sql.db,
      clock,
      config,
      releases,
      packages,
      apps,
      events,
      holder: origin,
      onError: (err, context) => onError(err, context),
      log: (level, msg, data) => log(level, msg, data),
    });
    onFeedback = (items) => health.service.onFeedback(items);
    closers.unshift(() => health.close());
    const adminToken = await ensureAdminToken(config, apps);
    const api = await buildApiRole({
      config,
      apps,
      packages,
      releases,
      client,
      index,
      blobs,
      deltas,
      gateway,
      events,
      diagnostics: diagnostics.service,
      gatewayMetrics: gatewayProxy.metrics,
      packageStore,
      codepush,
      health: health.service,
      clock,
      dynamicConfig: { ...dynamicConfig, inactivityDelaySec: config.flags.sseInactivityDelaySec },
    });
    closers.unshift(() => api.close());

    onError = (err, context) => api.log.error({ err, context }, 'background task failed');
    log = (level, msg, data) => api.log[level](data, msg);
    return {
      config,
      api,
      adminToken,
      deltas,
      gateway,
      gatewayProxy,
      events,
      diagnostics: diagnostics.service,
      codepush,
      health: health.service,
      clock,
      dynamicConfig,
      async close() {
        for (const close of closers) await close().catch(() => {});
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => {});
    throw err;
  }
}

/** The gray gateway's state and proxy on a store and a bus; shared by role `all` and role `gateway`. */
async function composeGateway(
  config: Pick<Config, 'gateway'>,
  deps: {
    readonly db: Kysely<Database>;
    readonly bus: EventBus;
    readonly clock: Clock;
    /** This process's id on the bus (its own announcements are ignored). */
    readonly origin: string;
    readonly onError: (err: unknown, context: string) => void;
  },
): Promise<{ gateway: GatewayService; gatewayProxy: GatewayProxy; close: () => Promise<void> }> {
  const { bus, origin, onError } = deps;
  const gateway = new GatewayService({
    store: createSqlGatewayStore(deps.db),
    clock: deps.clock,
    configUpstreams: config.gateway.upstreams,
    configUpstreamTimeouts: config.gateway.upstreamTimeoutsMs,
    defaultUpstream: config.gateway.defaultUpstream,
    announce: () => bus.publish(GATEWAY_CHANGED, { origin }),
    onError,
  });
  await gateway.refresh();
  const unsubscribeGateway = bus.subscribe(GATEWAY_CHANGED, (payload) => {
    const p = payload as { origin?: unknown };
    if (p.origin === origin) return;
    void gateway.refresh().catch((err) => onError(err, 'gateway refresh'));
  });
  const gatewayProxy = new GatewayProxy({
    gateway,
    trustedProxies: config.gateway.trustedProxies,
    timeoutMs: config.gateway.timeoutMs,
    locations: config.gateway.locations,
    onError,
  });
  return {
    gateway,
    gatewayProxy,
    async close() {
      unsubscribeGateway();
      await gatewayProxy.close();
    },
  };
}

/** A process running the gateway role only (see {@link composeGatewayRole}). */
export interface GatewayRole {
  readonly config: Config;
  readonly gateway: GatewayService;
  readonly gatewayProxy: GatewayProxy;
  close(): Promise<void>;
}

/**
 * The composition root of role `gateway` (`halftone gateway`): only the gray gateway — its
 * store on the shared PostgreSQL database, the Redis bus that tells it about changes made
 * through the api processes, the gateway service and proxy. No admin API, no releases, no
 * patches. Needs `gateway.port` (the caller listens on it with `listenGateway`); `loadConfig`
 * already refused a role `gateway` config without PostgreSQL and Redis.
 *
 * @example
 * const role = await composeGatewayRole(loadConfig({ overrides: { role: 'gateway', gateway: { port: 8090 } } }));
 */
export async function composeGatewayRole(config: Config, opts: Pick<ComposeOptions, 'clock'> = {}): Promise<GatewayRole> {
  const problems: { pointer: string; message: string }[] = [];
  if (config.role !== 'gateway') {
    problems.push({ pointer: '/role', message: `role: composeGatewayRole runs role gateway, got ${JSON.stringify(config.role)}` });
  }
  if (config.gateway.port === undefined) {
    problems.push({
      pointer: '/gateway/port',
      message: 'HALFTONE_GATEWAY_PORT: role gateway needs the port of its proxy listener (--gateway-port)',
    });
  }
  if (!/^postgres(ql)?:/i.test(config.dbUrl) || !/^rediss?:/i.test(config.busUrl)) {
    problems.push({ pointer: '/dbUrl', message: 'role gateway needs a shared postgres:// dbUrl and a redis:// busUrl' });
  }
  if (problems.length > 0) {
    throw configInvalid(undefined, { detail: problems.map((p) => p.message).join('\n'), fields: problems });
  }
  const clock = opts.clock ?? systemClock;
  const onError = (err: unknown, context: string): void => {
    process.stderr.write(`${context}: ${err instanceof Error ? err.message : String(err)}\n`);
  };
  const sql = await createSqlDatabase<Database>(config.dbUrl);
  const closers: (() => Promise<void>)[] = [() => sql.close()];
  try {
    // The migrator takes a lock, so a gateway starting beside an api process is safe.
    await migrateToLatest(sql.db, migrations);
    const bus = await createEventBus(config.busUrl);
    closers.unshift(() => bus.close());
    const wired = await composeGateway(config, { db: sql.db, bus, clock, origin: randomUUID(), onError });
    closers.unshift(wired.close);
    return {
      config,
      gateway: wired.gateway,
      gatewayProxy: wired.gatewayProxy,
      async close() {
        for (const close of closers) await close().catch(() => {});
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => {});
    throw err;
  }
}

/**
 * The bootstrap admin token: HALFTONE_ADMIN_TOKEN when set; otherwise generated once and kept in
 * `<dataDir>/admin-token` (mode 0600) so restarts keep it. Only its hash goes to the database.
 */
async function ensureAdminToken(
  config: Pick<Config, 'adminToken' | 'dataDir'>,
  apps: AppService,
): Promise<Halftone['adminToken']> {
  if (config.adminToken !== undefined) {
    await apps.setBootstrapToken(config.adminToken);
    return { token: config.adminToken, generated: false };
  }
  const file = join(config.dataDir, 'admin-token');
  let token: string | undefined;
  let generated = false;
  try {
    token = (await readFile(file, 'utf8')).trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (token === undefined) {
    token = generateSecret('hat_');
    generated = true;
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, `${token}\n`, { mode: 0o600 });
  }
  await apps.setBootstrapToken(token);
  return { token, generated, file };
}
