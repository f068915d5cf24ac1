import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientKeyHook } from '../client/client-key.js';
import { AppIdParam } from '../apps/app-routes.js';
import type { AppService } from '../apps/app-service.js';
import type { ReleaseIndex } from '../releases/release-index.js';
import { decodeBatch } from './batch-decoding.js';
import { EventsBatchTooLarge, EventsQueryInvalid, EventsRateLimited } from './events-errors.js';
import { HealthResponse, IngestResponse } from './events-schemas.js';
import type { CohortHealth, EventsService } from './events-service.js';

export interface EventsClientRoutesDeps {
  readonly events: EventsService;
  readonly index: Pick<ReleaseIndex, 'appIdForKey'>;
  readonly maxBatchBytes: number;
  readonly maxBatchItems: number;
}

/**
 * `POST /client/v1/events`: a batch of client events. Registered in its own scope: the body is
 * read raw here (any content type, gzip or not) and capped at `events.maxBatchBytes` as sent.
 */
export async function eventsClientRoutes(app: FastifyInstance, deps: EventsClientRoutesDeps): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  const max = deps.maxBatchBytes;
  const tooLarge = () =>
    EventsBatchTooLarge({ limit: `${max} bytes` }, {
      detail: `The batch exceeds ${max} bytes (HALFTONE_EVENTS_MAX_BATCH_BYTES); send smaller batches`,
    });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      payload.resume();
      done(tooLarge(), undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    payload.on('data', (chunk: Buffer) => {
      if (finished) return;
      size += chunk.length;
      if (size > max) {
        finished = true;
        done(tooLarge(), undefined);
        return;
      }
      chunks.push(chunk);
    });
    payload.on('end', () => {
      if (finished) return;
      finished = true;
      done(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    payload.on('error', (err) => {
      if (finished) return;
      finished = true;
      done(err, undefined);
    });
  });

  const requireClientKey = clientKeyHook(app, deps.index);

  app.post(
    '/client/v1/events',
    {
      onRequest: requireClientKey,
      schema: {
        tags: ['client'],
        summary: 'Send a batch of client events (sessions, crashes, ANRs, page views, results, feedback…)',
        description:
          'JSON `{header, items}` or NDJSON (header line, then one item per line), optionally ' +
          '`Content-Encoding: gzip`. Invalid items are dropped and listed in `rejected`; resent ' +
          'items (same id) are counted in `duplicates`. Answered after the batch is committed.',
        headers: { type: 'object', properties: { 'x-halftone-key': { type: 'string' } } },
        response: { 200: IngestResponse },
      },
    },
    async (req, reply) => {
      const batch = decodeBatch(req.body as Buffer | undefined, req.headers['content-type'], req.headers['content-encoding'], {
        maxBytes: max,
        maxItems: deps.maxBatchItems,
      });
      const result = await deps.events.ingest(req.halftoneAppId, batch.header, batch.items);
      if (result.kind === 'rate_limited') {
        reply
          .header('retry-after', String(result.retryAfterSeconds))
          .header('x-halftone-rate-limits', `${result.retryAfterSeconds}:${result.categories.join(';')}`);
        throw EventsRateLimited({ categories: result.categories.join(', '), retryAfter: result.retryAfterSeconds });
      }
      const { kind: _kind, ...body } = result;
      return body;
    },
  );
}

export interface EventsAdminRoutesDeps {
  readonly events: EventsService;
  readonly apps: Pick<AppService, 'getApp'>;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
  readonly now: () => Date;
}

const HealthQuerystring = Type.Object(
  {
    release: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'A release id, or `none` for the baseline (no release)' }),
    ),
    module: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    from: Type.Optional(Type.String({ description: 'RFC 3339 date-time; default `to` − 24 h' })),
    to: Type.Optional(Type.String({ description: 'RFC 3339 date-time; default now' })),
    top: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'How many crash groups (default 10)' })),
  },
  { additionalProperties: false },
);

function parseDate(value: string | undefined, name: string, fallback: Date): Date {
  if (value === undefined) return fallback;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw EventsQueryInvalid(undefined, { detail: `\`${name}\` must be an RFC 3339 date-time` });
  return new Date(ms);
}

/** The wire form of a cohort's health (dates as ISO strings). */
export function healthToWire(h: CohortHealth) {
  return {
    ...h,
    app: h.appId,
    release: h.releaseId,
    from: h.from.toISOString(),
    to: h.to.toISOString(),
    topCrashGroups: h.topCrashGroups.map((g) => ({
      ...g,
      firstSeen: new Date(g.firstSeen).toISOString(),
      lastSeen: new Date(g.lastSeen).toISOString(),
    })),
  };
}

/** `GET /admin/v1/apps/:app/health`: release health numbers from the rollups. */
export async function eventsAdminRoutes(app: FastifyInstance, deps: EventsAdminRoutesDeps): Promise<void> {
  app.get(
    '/admin/v1/apps/:app/health',
    {
      onRequest: deps.requireAdmin,
      schema: {
        tags: ['health'],
        summary: 'Release health: sessions, crash-free rate, crash and ANR rates, devices, crash groups',
        description:
          '`release=<id>`: that release’s devices. `release=none&module=M[&version=V]`: devices on a ' +
          'version no release shipped (the baseline). `module=M[&version=V]` alone: every device on it.',
        params: Type.Object({ app: AppIdParam }),
        querystring: HealthQuerystring,
        response: { 200: HealthResponse },
      },
    },
    async (req) => {
      const { app: appId } = req.params as { app: string };
      const q = req.query as { release?: string; module?: string; version?: string; from?: string; to?: string; top?: string };
      await deps.apps.getApp(appId);
      const to = parseDate(q.to, 'to', deps.now());
      const from = parseDate(q.from, 'from', new Date(to.getTime() - 24 * 3_600_000));
      const health = await deps.events.health({
        appId,
        releaseId: q.release === 'none' ? '' : q.release,
        module: q.module,
        version: q.version,
        from,
        to,
        topCrashGroups: q.top === undefined ? 10 : Math.min(100, Number(q.top)),
      });
      return healthToWire(health);
    },
  );
}
