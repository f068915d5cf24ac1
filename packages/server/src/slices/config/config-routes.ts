import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EvalContext, Evaluation } from '@halftone/core';
import { authClientKeyInvalid, authClientKeyMissing } from '../../platform/errors/platform-errors.js';
import { hashSecret } from '../../platform/ids.js';
import {
  deviceConfigJson,
  etagMatches,
  etagOf,
  ofrepErrorStatus,
  ofrepFlagJson,
  ofrepFlagsJson,
} from './config-delivery.js';
import type { ConfigDevice, ConfigIndex, EnvState } from './config-index.js';
import {
  CONFIG_ENVS,
  type ConfigEnv,
  type ConfigItemContent,
  DEFAULT_NAMESPACE,
  ITEM_KEY_PATTERN,
  NAMESPACE_PATTERN,
  qualifiedKey,
  type StoredConfigItem,
} from './config-model.js';
import type { ConfigItemPatch, ConfigService, NewConfigRule } from './config-service.js';
import type { ConfigStreams } from './config-streams.js';
import type { ConfigAuditEntry, ConfigRevision } from './config-store.js';
import { timingSafeEqual } from 'node:crypto';

const AppId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const Env = Type.Union(CONFIG_ENVS.map((e) => Type.Literal(e)), { description: 'test or production' });
const ItemKey = Type.String({
  pattern: `^(?:[a-z0-9][a-z0-9._-]{0,63}:)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`,
  description: 'Item key, or `namespace:key`',
});
const Namespace = Type.String({ pattern: NAMESPACE_PATTERN });
const ItemParams = Type.Object({ app: AppId, env: Env, key: ItemKey });
const NsQuery = Type.Object({ namespace: Type.Optional(Namespace) }, { additionalProperties: false });
const ConfigTypeSchema = Type.Union(['boolean', 'string', 'integer', 'float', 'json'].map((t) => Type.Literal(t)));

const ItemBody = Type.Object(
  {
    namespace: Type.Optional(Namespace),
    type: Type.Optional(ConfigTypeSchema),
    kind: Type.Optional(Type.Union([Type.Literal('config'), Type.Literal('switch')])),
    enabled: Type.Optional(Type.Boolean()),
    value: Type.Optional(Type.Unknown({ description: 'The default value (delivered when no rule matches)' })),
    offValue: Type.Optional(Type.Unknown({ description: 'Delivered while disabled; null clears it' })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    owner: Type.Optional(Type.String({ maxLength: 200 })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
    rules: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000 })),
    dependsOn: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 100 })),
    module: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()], {
      description: 'Bind this switch to a package module: while off for a device, its check answers `disable`',
    })),
  },
  { additionalProperties: false },
);
type ItemBody = Static<typeof ItemBody>;

const RuleBody = Type.Object(
  {
    namespace: Type.Optional(Namespace),
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    when: Type.Optional(Type.Unknown({ description: 'A dedicated rule: conditions in the core rule format' })),
    fromVersion: Type.Optional(Type.String({ description: 'A generic rule: app versions at or above this one' })),
    value: Type.Optional(Type.Unknown()),
    variant: Type.Optional(Type.String()),
    split: Type.Optional(Type.Unknown()),
    rollout: Type.Optional(Type.Unknown()),
    position: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
type RuleBody = Static<typeof RuleBody>;

function itemView(item: StoredConfigItem) {
  return {
    app: item.appId,
    env: item.env,
    namespace: item.namespace,
    key: item.key,
    qualifiedKey: qualifiedKey(item.namespace, item.key),
    type: item.type,
    kind: item.kind,
    enabled: item.enabled,
    value: item.defaultValue,
    ...(item.offValue !== undefined ? { offValue: item.offValue } : {}),
    description: item.description,
    owner: item.owner,
    tags: item.tags,
    rules: item.rules,
    dependsOn: item.dependsOn,
    module: item.module,
    revision: item.revision,
    updatedAt: item.updatedAt,
    updatedBy: item.updatedBy,
  };
}

const contentView = (c: ConfigItemContent | null) => (c === null ? null : { ...c, value: c.defaultValue, defaultValue: undefined });
const revisionView = (r: ConfigRevision) => ({ revision: r.revision, action: r.action, actor: r.actor, at: r.createdAt, item: contentView(r.item) });
const auditView = (a: ConfigAuditEntry) => ({
  id: a.id,
  env: a.env,
  namespace: a.namespace,
  key: a.key,
  action: a.action,
  actor: a.actor,
  at: a.createdAt,
  before: contentView(a.before),
  after: contentView(a.after),
});

/** `namespace:key` in the path wins over `?namespace=`. */
function splitKey(key: string, namespace: string | undefined): { namespace: string; key: string } {
  const i = key.indexOf(':');
  if (i >= 0) return { namespace: key.slice(0, i), key: key.slice(i + 1) };
  return { namespace: namespace ?? DEFAULT_NAMESPACE, key };
}

/** Who made an admin change: `X-Halftone-Actor` if sent, and the admin token's fingerprint. */
function actorOf(req: FastifyRequest): string {
  const match = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '');
  const fp = match?.[1] === undefined ? 'unknown' : hashSecret(match[1]).slice(0, 12);
  const raw = req.headers['x-halftone-actor'];
  const name = typeof raw === 'string' ? raw.replace(/[^\w.@+ -]/g, '').slice(0, 128).trim() : '';
  return name === '' ? `token:${fp}` : `${name} (token:${fp})`;
}

export interface ConfigAdminRoutesDeps {
  readonly config: ConfigService;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
}

/** Admin API: config items, rules, switches, history, restore, promote, audit; environment keys. */
export async function configAdminRoutes(app: FastifyInstance, deps: ConfigAdminRoutesDeps): Promise<void> {
  const { config, requireAdmin } = deps;
  app.addHook('onRequest', requireAdmin);
  const tags = ['config'];

  app.get(
    '/admin/v1/apps/:app/keys',
    {
      schema: {
        tags: ['apps'],
        summary: 'The client key of each environment (production is the app\'s clientKey)',
        params: Type.Object({ app: AppId }),
        response: { 200: Type.Object({ test: Type.String(), production: Type.String() }) },
      },
    },
    async (req) => config.keys((req.params as { app: string }).app),
  );

  app.get(
    '/admin/v1/apps/:app/config/:env/items',
    { schema: { tags, summary: 'List config items of an environment', params: Type.Object({ app: AppId, env: Env }), querystring: NsQuery } },
    async (req) => {
      const { app: appId, env } = req.params as { app: string; env: ConfigEnv };
      const { revision, items } = await config.list(appId, env, (req.query as { namespace?: string }).namespace);
      return { app: appId, env, revision, items: items.map(itemView) };
    },
  );

  app.get(
    '/admin/v1/apps/:app/config/:env/items/:key',
    { schema: { tags, summary: 'Show a config item', params: ItemParams, querystring: NsQuery } },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const k = splitKey(p.key, (req.query as { namespace?: string }).namespace);
      return itemView(await config.get(p.app, p.env, k.namespace, k.key));
    },
  );

  app.put(
    '/admin/v1/apps/:app/config/:env/items/:key',
    { schema: { tags, summary: 'Create a config item or change it (absent fields keep their value)', params: ItemParams, body: ItemBody } },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const body = req.body as ItemBody;
      const k = splitKey(p.key, body.namespace);
      const patch: ConfigItemPatch = {
        type: body.type as ConfigItemPatch['type'],
        kind: body.kind,
        enabled: body.enabled,
        ...('value' in body ? { defaultValue: body.value } : {}),
        ...('offValue' in body ? { offValue: body.offValue } : {}),
        description: body.description,
        owner: body.owner,
        tags: body.tags,
        rules: body.rules as ConfigItemPatch['rules'],
        dependsOn: body.dependsOn as ConfigItemPatch['dependsOn'],
        ...('module' in body ? { module: body.module } : {}),
      };
      return itemView(await config.set(p.app, p.env, k.namespace, k.key, patch, actorOf(req)));
    },
  );

  app.delete(
    '/admin/v1/apps/:app/config/:env/items/:key',
    { schema: { tags, summary: 'Delete a config item (its history stays)', params: ItemParams, querystring: NsQuery } },
    async (req, reply) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const k = splitKey(p.key, (req.query as { namespace?: string }).namespace);
      await config.delete(p.app, p.env, k.namespace, k.key, actorOf(req));
      return reply.code(204).send();
    },
  );

  app.get(
    '/admin/v1/apps/:app/config/:env/items/:key/rules',
    { schema: { tags, summary: 'List the rules of an item, in order', params: ItemParams, querystring: NsQuery } },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const k = splitKey(p.key, (req.query as { namespace?: string }).namespace);
      const item = await config.get(p.app, p.env, k.namespace, k.key);
      return { key: qualifiedKey(item.namespace, item.key), env: p.env, revision: item.revision, rules: item.rules };
    },
  );

  app.post(
    '/admin/v1/apps/:app/config/:env/items/:key/rules',
    {
      schema: {
        tags,
        summary: 'Add a rule: `when` (dedicated) or `fromVersion` (generic), with `value` or `split`',
        params: ItemParams,
        body: RuleBody,
      },
    },
    async (req, reply) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const { namespace, position, ...rule } = req.body as RuleBody;
      const k = splitKey(p.key, namespace);
      const item = await config.addRule(p.app, p.env, k.namespace, k.key, rule as NewConfigRule, position, actorOf(req));
      return reply.code(201).send(itemView(item));
    },
  );

  app.delete(
    '/admin/v1/apps/:app/config/:env/items/:key/rules/:rule',
    {
      schema: {
        tags,
        summary: 'Remove a rule',
        params: Type.Object({ app: AppId, env: Env, key: ItemKey, rule: Type.String({ minLength: 1, maxLength: 256 }) }),
        querystring: NsQuery,
      },
    },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string; rule: string };
      const k = splitKey(p.key, (req.query as { namespace?: string }).namespace);
      return itemView(await config.removeRule(p.app, p.env, k.namespace, k.key, p.rule, actorOf(req)));
    },
  );

  app.put(
    '/admin/v1/apps/:app/config/:env/switches/:key',
    {
      schema: {
        tags,
        summary: 'Switch an item on or off (a missing one is created as a switch defaulting to true)',
        params: ItemParams,
        body: Type.Object({ on: Type.Boolean(), namespace: Type.Optional(Namespace) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const body = req.body as { on: boolean; namespace?: string };
      const k = splitKey(p.key, body.namespace);
      return itemView(await config.setSwitch(p.app, p.env, k.namespace, k.key, body.on, actorOf(req)));
    },
  );

  app.get(
    '/admin/v1/apps/:app/config/:env/items/:key/history',
    { schema: { tags, summary: 'Revisions of an item, newest first', params: ItemParams, querystring: NsQuery } },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const k = splitKey(p.key, (req.query as { namespace?: string }).namespace);
      const revisions = await config.history(p.app, p.env, k.namespace, k.key);
      return { key: qualifiedKey(k.namespace, k.key), env: p.env, revisions: revisions.map(revisionView) };
    },
  );

  app.post(
    '/admin/v1/apps/:app/config/:env/items/:key/restore',
    {
      schema: {
        tags,
        summary: 'Make an old revision current again (as a new revision)',
        params: ItemParams,
        body: Type.Object({ revision: Type.Integer({ minimum: 1 }), namespace: Type.Optional(Namespace) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const p = req.params as { app: string; env: ConfigEnv; key: string };
      const body = req.body as { revision: number; namespace?: string };
      const k = splitKey(p.key, body.namespace);
      const item = await config.restore(p.app, p.env, k.namespace, k.key, body.revision, actorOf(req));
      return item === null ? { key: qualifiedKey(k.namespace, k.key), env: p.env, deleted: true } : itemView(item);
    },
  );

  const diffView = (d: Awaited<ReturnType<ConfigService['promoteDiff']>>) => ({
    from: d.from,
    to: d.to,
    fromRevision: d.fromRevision,
    toRevision: d.toRevision,
    changes: d.changes.map((c) => ({
      namespace: c.namespace,
      key: c.key,
      qualifiedKey: qualifiedKey(c.namespace, c.key),
      change: c.change,
      before: contentView(c.before),
      after: contentView(c.after),
    })),
  });

  app.get(
    '/admin/v1/apps/:app/config/promote',
    {
      schema: {
        tags,
        summary: 'The diff a promote would apply (`to` becomes what `from` is), with the revisions it was computed from',
        params: Type.Object({ app: AppId }),
        querystring: Type.Object({ from: Env, to: Env }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const q = req.query as { from: ConfigEnv; to: ConfigEnv };
      return diffView(await config.promoteDiff((req.params as { app: string }).app, q.from, q.to));
    },
  );

  app.post(
    '/admin/v1/apps/:app/config/promote',
    {
      schema: {
        tags,
        summary: 'Apply a promote atomically, guarded by the revisions of its diff (409 when stale); `dryRun` only diffs',
        params: Type.Object({ app: AppId }),
        body: Type.Object(
          {
            from: Env,
            to: Env,
            fromRevision: Type.Optional(Type.Integer({ minimum: 0 })),
            toRevision: Type.Optional(Type.Integer({ minimum: 0 })),
            dryRun: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const appId = (req.params as { app: string }).app;
      const b = req.body as { from: ConfigEnv; to: ConfigEnv; fromRevision?: number; toRevision?: number; dryRun?: boolean };
      if (b.dryRun === true) return { applied: false, ...diffView(await config.promoteDiff(appId, b.from, b.to)) };
      if (b.fromRevision === undefined || b.toRevision === undefined) {
        const { validationFailed } = await import('../../platform/errors/platform-errors.js');
        throw validationFailed(undefined, {
          detail: 'fromRevision and toRevision (from the diff) are required to apply a promote',
          fields: [{ pointer: '/body/fromRevision', message: 'required unless dryRun' }],
        });
      }
      const diff = await config.promote(appId, b.from, b.to, { fromRevision: b.fromRevision, toRevision: b.toRevision }, actorOf(req));
      return { applied: true, ...diffView(diff) };
    },
  );

  app.get(
    '/admin/v1/apps/:app/config/audit',
    {
      schema: {
        tags,
        summary: 'The audit log of config changes, newest first',
        params: Type.Object({ app: AppId }),
        querystring: Type.Object(
          {
            env: Type.Optional(Env),
            namespace: Type.Optional(Namespace),
            key: Type.Optional(Type.String({ pattern: ITEM_KEY_PATTERN })),
            limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const q = req.query as { env?: string; namespace?: string; key?: string; limit?: string };
      const entries = await config.audit((req.params as { app: string }).app, {
        ...(q.env !== undefined ? { env: q.env } : {}),
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(q.key !== undefined ? { key: q.key } : {}),
        limit: q.limit === undefined ? 100 : Math.min(1000, Number(q.limit)),
      });
      return { entries: entries.map(auditView) };
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Device-facing delivery: /client/v1/config and OFREP.

/** The client key of a request: `Authorization: Bearer`, `X-API-Key` or `X-Halftone-Key`. */
function clientKeyOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1];
  }
  for (const name of ['x-api-key', 'x-halftone-key'] as const) {
    const v = req.headers[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

const Str = (max: number) => Type.String({ minLength: 1, maxLength: max });
export const ConfigRequestBody = Type.Object(
  {
    deviceId: Str(256),
    userId: Type.Optional(Type.String({ maxLength: 256 })),
    platform: Type.Optional(Type.String({ maxLength: 32 })),
    appVersion: Type.Optional(Type.String({ maxLength: 64 })),
    osVersion: Type.Optional(Type.String({ maxLength: 64 })),
    channel: Type.Optional(Type.String({ maxLength: 128 })),
    deviceModel: Type.Optional(Type.String({ maxLength: 128 })),
    cpu: Type.Optional(Type.String({ maxLength: 128 })),
    region: Type.Optional(Type.String({ maxLength: 128 })),
    attributes: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]), {
        maxProperties: 64,
      }),
    ),
  },
  { additionalProperties: true },
);
type ConfigRequestBody = Static<typeof ConfigRequestBody>;

export interface ConfigDeliveryRoutesDeps {
  readonly index: ConfigIndex;
  readonly streams: ConfigStreams;
  /** Seconds an OFREP web provider keeps its stream while hidden (`inactivityDelaySec`). */
  readonly inactivityDelaySec: number;
}

const awaitMaybe = async <T>(v: T | Promise<T>): Promise<T> => v;

async function evaluateAllFor(index: ConfigIndex, appId: string, env: ConfigEnv, device: ConfigDevice): Promise<{ state: EnvState; evals: Evaluation[] }> {
  let state = index.state(appId, env);
  if (state instanceof Promise) state = await state;
  let members = index.members(appId);
  if (members instanceof Promise) members = await members;
  return { state, evals: state.set.evaluateAll(index.context(members, device)) };
}

/** `POST /client/v1/config`: every value for this device, ETag of this device's answer, 304. */
export async function configClientRoutes(app: FastifyInstance, deps: ConfigDeliveryRoutesDeps): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  const { index } = deps;
  app.post(
    '/client/v1/config',
    {
      schema: {
        tags: ['client'],
        summary: 'Every config value for this device (client key of the environment); ETag per device, 304 on If-None-Match',
        body: ConfigRequestBody,
      },
    },
    async (req, reply) => {
      const key = clientKeyOf(req);
      if (key === undefined) throw authClientKeyMissing();
      const who = index.resolveKey(key);
      if (who === undefined) throw authClientKeyInvalid();
      const b = req.body as ConfigRequestBody;
      const device: ConfigDevice = {
        deviceId: b.deviceId,
        userId: b.userId,
        appVersion: b.appVersion,
        platform: b.platform,
        osVersion: b.osVersion,
        channel: b.channel,
        region: b.region,
        deviceModel: b.deviceModel,
        cpu: b.cpu,
        remoteAddress: req.ip,
        attributes: b.attributes,
      };
      const { state, evals } = await evaluateAllFor(index, who.appId, who.env, device);
      const body = deviceConfigJson(state, evals);
      const etag = etagOf(body);
      reply.header('etag', etag).header('cache-control', 'private, no-cache').header('vary', 'authorization, x-api-key, x-halftone-key');
      if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );
}

const OFREP_FIELDS = new Set(['userId', 'appVersion', 'platform', 'osVersion', 'channel', 'region', 'deviceModel', 'cpu', 'remoteAddress']);

/** OFREP's evaluation context → a device: `targetingKey` is the device id; known names map by name; other scalars are custom attributes. */
function deviceOfContext(context: Record<string, unknown>): ConfigDevice {
  const fields: Record<string, string> = {};
  let attributes: Record<string, string | number | boolean> | undefined;
  for (const [name, v] of Object.entries(context)) {
    if (name === 'targetingKey') continue;
    if (OFREP_FIELDS.has(name)) {
      if (typeof v === 'string' || typeof v === 'number') fields[name] = String(v);
      continue;
    }
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      attributes ??= {};
      attributes[name] = v;
    }
  }
  const tk = context.targetingKey;
  return {
    deviceId: typeof tk === 'string' && tk !== '' ? tk : undefined,
    userId: fields.userId,
    appVersion: fields.appVersion,
    platform: fields.platform,
    osVersion: fields.osVersion,
    channel: fields.channel,
    region: fields.region,
    deviceModel: fields.deviceModel,
    cpu: fields.cpu,
    remoteAddress: fields.remoteAddress,
    attributes,
  };
}

class OfrepError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown> | undefined,
  ) {
    super('ofrep');
  }
}

function contextOf(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new OfrepError(400, { errorCode: 'INVALID_CONTEXT', errorDetails: 'the body must be an object {"context": {…}}' });
  }
  const context = (body as { context?: unknown }).context;
  if (context === undefined) return {};
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new OfrepError(400, { errorCode: 'INVALID_CONTEXT', errorDetails: 'context must be an object' });
  }
  return context as Record<string, unknown>;
}

/**
 * OFREP (OpenFeature Remote Evaluation Protocol, open-feature/protocol openapi v0.3.0):
 * single-flag and bulk evaluation and the SSE stream the bulk answer advertises. Errors use
 * OFREP's own bodies (not problem+json): 400 `{errorCode, errorDetails}`, 404 FLAG_NOT_FOUND,
 * 401/403 without a body.
 */
export async function ofrepRoutes(app: FastifyInstance, deps: ConfigDeliveryRoutesDeps): Promise<void> {
  const { index, streams } = deps;
  // Stream URLs and keys are secrets: never in info-level request logs.
  app.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  app.addHook('preClose', async () => streams.closeAll());
  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof OfrepError) {
      return err.body === undefined ? reply.code(err.status).send() : reply.code(err.status).send(err.body);
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const key = (req.params as { key?: string } | undefined)?.key;
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      const parse = typeof e.code === 'string' && (e.code.startsWith('FST_ERR_CTP') || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE');
      return reply.code(400).send({
        ...(key !== undefined ? { key } : {}),
        errorCode: parse ? 'PARSE_ERROR' : 'INVALID_CONTEXT',
        errorDetails: parse ? 'the body is not valid JSON' : String(e.message ?? 'bad request'),
      });
    }
    req.log.error({ err }, 'OFREP evaluation failed');
    return reply.code(500).send({ errorDetails: 'internal error' });
  });

  const authorize = (req: FastifyRequest): { appId: string; env: ConfigEnv } => {
    const key = clientKeyOf(req);
    if (key === undefined) throw new OfrepError(401, undefined);
    const who = index.resolveKey(key);
    if (who === undefined) throw new OfrepError(403, undefined);
    return who;
  };

  app.post('/ofrep/v1/evaluate/flags/:key', { schema: { tags: ['ofrep'], summary: 'OFREP single-flag evaluation' } }, async (req, reply) => {
    const who = authorize(req);
    const key = (req.params as { key: string }).key;
    const device = deviceOfContext(contextOf(req.body));
    let state = index.state(who.appId, who.env);
    if (state instanceof Promise) state = await state;
    const members = await awaitMaybe(index.members(who.appId));
    const e = state.set.evaluate(key, index.context(members, device));
    const status = e.reason === 'ERROR' ? ofrepErrorStatus(e) : 200;
    return reply.code(status).type('application/json; charset=utf-8').send(ofrepFlagJson(e));
  });

  app.post(
    '/ofrep/v1/evaluate/flags',
    { schema: { tags: ['ofrep'], summary: 'OFREP bulk evaluation (ETag per context, 304; SSE in eventStreams)' } },
    async (req, reply) => {
      const who = authorize(req);
      const device = deviceOfContext(contextOf(req.body));
      const { state, evals } = await evaluateAllFor(index, who.appId, who.env, device);
      const flags = ofrepFlagsJson(evals);
      const etag = etagOf(flags);
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();
      const stream = `/ofrep/v1/events/${state.appId}/${state.env}/${state.streamToken}`;
      const body =
        `{"flags":${flags},"metadata":{"environment":${JSON.stringify(state.env)}},` +
        `"eventStreams":[{"type":"sse","endpoint":{"requestUri":${JSON.stringify(stream)}},"inactivityDelaySec":${deps.inactivityDelaySec}}]}`;
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.get(
    '/ofrep/v1/events/:app/:env/:token',
    {
      schema: {
        tags: ['ofrep'],
        summary: 'Server-sent events: `refetchEvaluation` whenever a value of this app environment changes',
        params: Type.Object({ app: AppId, env: Env, token: Type.String({ pattern: '^[A-Za-z0-9_-]{32}$' }) }),
      },
    },
    async (req, reply: FastifyReply) => {
      const p = req.params as { app: string; env: ConfigEnv; token: string };
      let state: EnvState;
      try {
        state = await awaitMaybe(index.state(p.app, p.env));
      } catch {
        throw new OfrepError(403, undefined);
      }
      const a = Buffer.from(state.streamToken);
      const b = Buffer.from(p.token);
      if (a.length !== b.length || !timingSafeEqual(a, b)) throw new OfrepError(403, undefined);
      if (!streams.hasRoom()) {
        reply.header('retry-after', '5');
        throw new OfrepError(429, { errorDetails: 'too many event streams on this server' });
      }
      reply.hijack();
      streams.open(p.app, p.env, reply.raw);
    },
  );
}

export type { EvalContext };
