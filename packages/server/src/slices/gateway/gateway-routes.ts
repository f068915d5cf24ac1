import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { GatewayService } from './gateway-service.js';

export interface GatewayRoutesDeps {
  readonly gateway: GatewayService;
  readonly metrics?: GatewayMetrics | undefined;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
}

const UpstreamName = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });
const HostName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9.\\-\\[\\]:]+$' });
const PolicyId = Type.String({ minLength: 1, maxLength: 64 });

const UpstreamSchema = Type.Object({ name: Type.String(), urls: Type.Array(Type.String()), updatedAt: Type.String() });
const PolicySchema = Type.Object({
  id: Type.String(),
  levels: Type.Array(Type.Unknown()),
  revision: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const HostSchema = Type.Object({ host: Type.String(), policyId: Type.String(), updatedAt: Type.String() });

/** Admin API of the gray gateway: upstreams, policy groups, host bindings. */
export async function gatewayRoutes(app: FastifyInstance, deps: GatewayRoutesDeps): Promise<void> {
  const { gateway } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const tags = ['gateway'];
  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name] as string;

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
          { urls: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 64 }) },
          { additionalProperties: false },
        ),
        response: { 200: UpstreamSchema },
      },
    },
    async (req) => gateway.putUpstream(param(req, 'name'), (req.body as { urls: string[] }).urls),
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
      await gateway.deleteUpstream(param(req, 'name'));
      return reply.code(204).send();
    },
  );

  app.post(
    '/admin/v1/gateway/policies',
    {
      schema: {
        tags,
        summary: 'Create a policy group (ordered levels; the first level that maps a request wins)',
        body: Type.Object(
          { levels: Type.Array(Type.Unknown({ description: '{"divtype":…,"divdata":…}' }), { maxItems: 64 }) },
          { additionalProperties: false },
        ),
        response: { 201: PolicySchema },
      },
    },
    async (req, reply) => {
      const group = await gateway.createPolicy((req.body as { levels: unknown[] }).levels);
      return reply.code(201).header('etag', `"${group.revision}"`).send(group);
    },
  );
  app.get(
    '/admin/v1/gateway/policies/:id',
    { schema: { tags, summary: 'Read a policy group', params: Type.Object({ id: PolicyId }), response: { 200: PolicySchema } } },
    async (req) => gateway.getPolicy(param(req, 'id')),
  );
  app.delete(
    '/admin/v1/gateway/policies/:id',
    { schema: { tags, summary: 'Delete a policy group no host is bound to', params: Type.Object({ id: PolicyId }) } },
    async (req, reply) => {
      await gateway.deletePolicy(param(req, 'id'));
      return reply.code(204).send();
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
    async (req) => gateway.bindHost(param(req, 'host'), (req.body as { policyId: string }).policyId),
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
      await gateway.unbindHost(param(req, 'host'));
      return reply.code(204).send();
    },
  );
}
