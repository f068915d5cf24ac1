import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Config } from '../../platform/config/config-schema.js';
import type { ClockControl } from './health-clock.js';
import { type HealthServiceDeps, HealthService } from './health-service.js';
import { createSqlHealthStore } from './health-store.sql.js';
import { WebhookDispatcher } from './health-webhooks.js';

export interface HealthSliceDeps extends Omit<HealthServiceDeps, 'store' | 'webhooks' | 'config' | 'clock'> {
  readonly db: Kysely<Database>;
  readonly clock: ClockControl;
  readonly config: Pick<Config, 'health'>;
  readonly log: (level: 'warn' | 'info', msg: string, data: Record<string, unknown>) => void;
}

export interface HealthSlice {
  readonly service: HealthService;
  readonly webhooks: WebhookDispatcher;
  readonly clock: ClockControl;
  close(): Promise<void>;
}

/**
 * The health slice on the SQL database: the service, its webhooks and (system clock only) the
 * periodic evaluator. With a manual clock nothing runs by itself: `POST /admin/v1/health/evaluate`.
 */
export function createHealthSlice(deps: HealthSliceDeps): HealthSlice {
  const h = deps.config.health;
  const webhooks = new WebhookDispatcher({
    targets: h.webhooks,
    maxAttempts: h.webhookMaxAttempts,
    backoffMs: h.webhookBackoffMs,
    timeoutMs: h.webhookTimeoutMs,
    log: deps.log,
  });
  const service = new HealthService({
    ...deps,
    store: createSqlHealthStore(deps.db),
    webhooks,
    config: { evaluateIntervalMs: h.evaluateIntervalMs, breakerWindowMinutes: h.breakerWindowMinutes },
  });
  if (deps.clock.mode === 'system') service.start();
  return {
    service,
    webhooks,
    clock: deps.clock,
    async close() {
      await service.stop();
      webhooks.close();
    },
  };
}
