import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from './gateway-metrics.js';
import { type GatewayService, HISTORY_PAGE_MAX, type PolicyRevision } from './gateway-service.js';
import type { GatewayHistoryRecord, GatewayPolicyGroup } from './gateway-store.js';

export interface GatewayRoutesDeps {
  readonly gateway: GatewayService;
  readonly metrics?: GatewayMetrics | undefined;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
  /**
   * Who an authenticated admin request acts as, for the change log (e.g. the admin token's
   * name); default `admin-api`.
   */
  readonly actorOf?: ((req: FastifyRequest) => string | undefined) | undefined;
}

/** Who REST admin changes are logged as when `actorOf` names no one. */
export const REST_ACTOR = 'admin-api';

const UpstreamName = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });
const HostName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9.\\-\\[\\]:]+$' });
const PolicyId = Type.String({ minLength: 1, maxLength: 64 });

const UpstreamSchema = Type.Object({
  name: Type.String(),
  urls: Type.Array(Type.String()),
  timeoutMs: Type.Union([Type.Integer(), Type.Null()], { description: 'Own inactivity timeout (ms); null = gateway.timeoutMs' }),
  updatedAt: Type.String(),
});
const PolicySchema = Type.Object({
  id: Type.String(),
  levels: Type.Array(Type.Unknown()),
  revision: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const HostSchema = Type.Object({ host: Type.String(), policyId: Type.String(), updatedAt: Type.String() });
const Levels = Type.Array(Type.Unknown({ description: '{"divtype":…,"divdata":…}' }), { maxItems: 64 });
const Actor = Type.Union([Type.String(), Type.Null()], {
  description: 'Who made the change: `admin-api`, `ab_admin`, `v1.0`, `system`; null for changes logged before actors were',
});
const PolicyRevisionSchema = Type.Object({
  revision: Type.Integer({ minimum: 1 }),
  change: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')]),
  at: Type.String(),
  actor: Actor,
  levels: Type.Union([Type.Array(Type.Unknown()), Type.Null()], { description: 'The levels after the change (when deleted: as they were)' }),
  historyId: Type.String(),
});
const HistoryCursor = Type.String({ pattern: '^gwh_[0-9a-hjkmnp-tv-z]{26}$', description: 'The `next` of the previous page' });
const HistoryEntrySchema = Type.Object({
  id: Type.String(),
  at: Type.String(),
  actor: Actor,
  target: Type.String({ description: '`policy`, `host` or `upstream`' }),
  key: Type.String({ description: 'The policy-group id, host or upstream name' }),
  change: Type.String({ description: '`created`, `updated`, `deleted` (policies), `set`, `deleted` (hosts, upstreams)' }),
  kind: Type.String({ description: 'The raw change kind, e.g. `policy.update`' }),
  revision: Type.Union([Type.Integer(), Type.Null()]),
  data: Type.Unknown(),
});

const CHANGE_WORDS: Readonly<Record<string, string>> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  put: 'set',
};

function toWireEntry(r: GatewayHistoryRecord) {
  const dot = r.kind.indexOf('.');
  const verb = dot < 0 ? r.kind : r.kind.slice(dot + 1);
  return {
    id: r.id,
    at: r.createdAt,
    actor: r.actor,
    target: dot < 0 ? r.kind : r.kind.slice(0, dot),
    key: r.key,
    change: CHANGE_WORDS[verb] ?? verb,
    kind: r.kind,
    revision: r.revision,
    data: r.data,
  };
}

const toWireRevision = (r: PolicyRevision) => ({ ...r, levels: r.levels === null ? null : [...r.levels] });

/** `If-Match: "3"` (or `W/"3"`) or a body `revision` name the revision an update is based on. */
function expectedRevision(req: FastifyRequest): number | undefined {
  const body = req.body as { revision?: number } | undefined;
  if (body?.revision !== undefined) return body.revision;
  const ifMatch = req.headers['if-match'];
  if (typeof ifMatch !== 'string') return undefined;
  const m = /^(?:W\/)?"(\d+)"$/.exec(ifMatch.trim());
  // An If-Match that is no revision of ours can never match (RFC 9110 §13.1.1): 0 never is.
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

const sendPolicy = (reply: FastifyReply, group: GatewayPolicyGroup, code = 200) =>
  reply.code(code).header('etag', `"${group.revision}"`).send(group);

/** Admin API of the gray gateway: upstreams, policy groups, host bindings. */
export async function gatewayRoutes(app: FastifyInstance, deps: GatewayRoutesDeps): Promise<void> {
  const { gateway } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const tags = ['gateway'];
  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] as string;
  // Every change made through this API is logged as made by the caller.
  const actor = (req: FastifyRequest): string => deps.actorOf?.(req) ?? REST_ACTOR;

  const { metrics } = deps;
  if (metrics !== undefined) {
    app.get(
      '/admin/v1/gateway/metrics',
      { schema: { tags, summary: 'Prometheus metrics of the gateway (text exposition format)' } },
      async (_req, reply) => reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(await metrics.text()),
    );
  }
  app.get(
    '/admin/v1/gateway/upstreams',
    { schema: { tags, summary: 'List upstreams set through the admin API', response: { 200: Type.Object({ upstreams: Type.Array(UpstreamSchema) }) } } },
    async () => ({ upstreams: await gateway.listUpstreams() }),
  );
  app.put(
    '/admin/v1/gateway/upstreams/:name',
    {
      schema: {
        tags,
        summary: 'Create or replace an upstream (base URLs, round-robin)',
        params: Type.Object({ name: UpstreamName }),
        body: Type.Object(
          {
            urls: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 64 }),
            timeoutMs: Type.Optional(
              Type.Union([Type.Integer({ minimum: 1, maximum: 3_600_000 }), Type.Null()], {
                description: 'Inactivity timeout of requests to this upstream (ms); absent or null = gateway.timeoutMs',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: UpstreamSchema },
      },
    },
    async (req) => {
      const body = req.body as { urls: string[]; timeoutMs?: number | null };
      return gateway.putUpstream(param(req, 'name'), body.urls, body.timeoutMs ?? null, actor(req));
    },
  );
  app.get(
    '/admin/v1/gateway/upstreams/:name',
    { schema: { tags, summary: 'Read an upstream', params: Type.Object({ name: UpstreamName }), response: { 200: UpstreamSchema } } },
    async (req) => gateway.getUpstream(param(req, 'name')),
  );
  app.delete(
    '/admin/v1/gateway/upstreams/:name',
    { schema: { tags, summary: 'Delete an upstream', params: Type.Object({ name: UpstreamName }) } },
    async (req, reply) => {
      await gateway.deleteUpstream(param(req, 'name'), actor(req));
      return reply.code(204).send();
    },
  );

  app.get(
    '/admin/v1/gateway/policies',
    { schema: { tags, summary: 'List policy groups', response: { 200: Type.Object({ policies: Type.Array(PolicySchema) }) } } },
    async () => ({ policies: await gateway.listPolicies() }),
  );
  app.post(
    '/admin/v1/gateway/policies',
    {
      schema: {
        tags,
        summary: 'Create a policy group (ordered levels; the first level that maps a request wins)',
        body: Type.Object({ levels: Levels }, { additionalProperties: false }),
        response: { 201: PolicySchema },
      },
    },
    async (req, reply) => {
      const group = await gateway.createPolicy((req.body as { levels: unknown[] }).levels, undefined, actor(req));
      return sendPolicy(reply, group, 201);
    },
  );
  app.get(
    '/admin/v1/gateway/policies/:id',
    { schema: { tags, summary: 'Read a policy group', params: Type.Object({ id: PolicyId }), response: { 200: PolicySchema } } },
    async (req, reply) => sendPolicy(reply, await gateway.getPolicy(param(req, 'id'))),
  );
  app.put(
    '/admin/v1/gateway/policies/:id',
    {
      schema: {
        tags,
        summary:
          'Replace the levels of a policy group (hosts bound to it use them from the next request). ' +
          'Send `If-Match: "<revision>"` or `revision` to refuse the change if someone else changed it first.',
        params: Type.Object({ id: PolicyId }),
        body: Type.Object({ levels: Levels, revision: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        response: { 200: PolicySchema },
      },
    },
    async (req, reply) => {
      const levels = (req.body as { levels: unknown[] }).levels;
      const group = await gateway.updatePolicy(param(req, 'id'), levels, expectedRevision(req), actor(req));
      return sendPolicy(reply, group);
    },
  );
  app.delete(
    '/admin/v1/gateway/policies/:id',
    { schema: { tags, summary: 'Delete a policy group no host is bound to', params: Type.Object({ id: PolicyId }) } },
    async (req, reply) => {
      await gateway.deletePolicy(param(req, 'id'), actor(req));
      return reply.code(204).send();
    },
  );
  app.get(
    '/admin/v1/gateway/policies/:id/history',
    {
      schema: {
        tags,
        summary: 'Every revision of a policy group, oldest first (deleted groups keep their history)',
        params: Type.Object({ id: PolicyId }),
        response: { 200: Type.Object({ id: Type.String(), revisions: Type.Array(PolicyRevisionSchema) }) },
      },
    },
    async (req) => {
      const id = param(req, 'id');
      return { id, revisions: (await gateway.policyHistory(id)).map(toWireRevision) };
    },
  );
  app.get(
    '/admin/v1/gateway/history',
    {
      schema: {
        tags,
        summary: 'The change log of upstreams, policy groups and host bindings, newest first; page with `before`=`next`',
        querystring: Type.Object(
          {
            // Query strings are never coerced (the API's ajv has coerceTypes off): a pattern for 1–500.
            limit: Type.Optional(
              Type.String({ pattern: '^(?:[1-9][0-9]?|[1-4][0-9][0-9]|500)$', description: `Page size, 1–${HISTORY_PAGE_MAX} (default 50)` }),
            ),
            before: Type.Optional(HistoryCursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(HistoryEntrySchema), next: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (req) => {
      const q = req.query as { limit?: string; before?: string };
      const page = await gateway.history({ limit: q.limit === undefined ? 50 : Number(q.limit), before: q.before });
      return { entries: page.entries.map(toWireEntry), next: page.next ?? null };
    },
  );

  app.get(
    '/admin/v1/gateway/hosts',
    { schema: { tags, summary: 'List host bindings', response: { 200: Type.Object({ hosts: Type.Array(HostSchema) }) } } },
    async () => ({ hosts: await gateway.listHosts() }),
  );
  app.put(
    '/admin/v1/gateway/hosts/:host',
    {
      schema: {
        tags,
        summary: 'Bind a host to a policy group (takes effect for the next request)',
        params: Type.Object({ host: HostName }),
        body: Type.Object({ policyId: PolicyId }, { additionalProperties: false }),
        response: { 200: HostSchema },
      },
    },
    async (req) => gateway.bindHost(param(req, 'host'), (req.body as { policyId: string }).policyId, actor(req)),
  );
  app.get(
    '/admin/v1/gateway/hosts/:host',
    { schema: { tags, summary: 'Read a host binding', params: Type.Object({ host: HostName }), response: { 200: HostSchema } } },
    async (req) => gateway.getHost(param(req, 'host')),
  );
  app.delete(
    '/admin/v1/gateway/hosts/:host',
    { schema: { tags, summary: 'Unbind a host (its requests go to the default upstream)', params: Type.Object({ host: HostName }) } },
    async (req, reply) => {
      await gateway.unbindHost(param(req, 'host'), actor(req));
      return reply.code(204).send();
    },
  );
}
