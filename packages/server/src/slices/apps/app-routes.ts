import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PLATFORMS, type AppService, type Platform } from './app-service.js';
import type { App, Crowd } from './app-store.js';

export const AppIdParam = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'App id (slug)' });

const AppSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  platforms: Type.Array(Type.String()),
  clientKey: Type.String({ description: 'Client key for devices (X-Halftone-Key)' }),
  createdAt: Type.String(),
});
const CrowdSchema = Type.Object({
  name: Type.String(),
  members: Type.Array(Type.String()),
  updatedAt: Type.String(),
});
const CrowdName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });

const crowdView = (c: Crowd) => ({ name: c.name, members: c.members, updatedAt: c.updatedAt });
const appView = (a: App) => a;

export interface AppRoutesDeps {
  readonly apps: AppService;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
}

/** Admin API: apps and crowds. */
export async function appRoutes(app: FastifyInstance, deps: AppRoutesDeps): Promise<void> {
  const { apps, requireAdmin } = deps;
  app.addHook('onRequest', requireAdmin);

  app.post(
    '/admin/v1/apps',
    {
      schema: {
        tags: ['apps'],
        summary: 'Create an app and its client key',
        body: Type.Object(
          {
            id: AppIdParam,
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            platforms: Type.Array(Type.Union(PLATFORMS.map((p) => Type.Literal(p))), {
              minItems: 1,
              maxItems: PLATFORMS.length,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: AppSchema },
      },
    },
    async (req, reply) => {
      const body = req.body as { id: string; name?: string; platforms: Platform[] };
      return reply.code(201).send(appView(await apps.createApp(body)));
    },
  );

  app.get(
    '/admin/v1/apps',
    { schema: { tags: ['apps'], summary: 'List apps', response: { 200: Type.Object({ apps: Type.Array(AppSchema) }) } } },
    async () => ({ apps: (await apps.listApps()).map(appView) }),
  );

  app.get(
    '/admin/v1/apps/:app',
    {
      schema: {
        tags: ['apps'],
        summary: 'Show an app',
        params: Type.Object({ app: AppIdParam }),
        response: { 200: AppSchema },
      },
    },
    async (req) => appView(await apps.getApp((req.params as { app: string }).app)),
  );

  app.put(
    '/admin/v1/apps/:app/crowds/:crowd',
    {
      schema: {
        tags: ['apps'],
        summary: 'Create or replace a crowd (a named list of user or device ids)',
        params: Type.Object({ app: AppIdParam, crowd: CrowdName }),
        body: Type.Object(
          { members: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 100_000 }) },
          { additionalProperties: false },
        ),
        response: { 200: CrowdSchema },
      },
    },
    async (req) => {
      const { app: appId, crowd } = req.params as { app: string; crowd: string };
      return crowdView(await apps.setCrowd(appId, crowd, (req.body as { members: string[] }).members));
    },
  );

  app.get(
    '/admin/v1/apps/:app/crowds',
    {
      schema: {
        tags: ['apps'],
        summary: 'List crowds',
        params: Type.Object({ app: AppIdParam }),
        response: { 200: Type.Object({ crowds: Type.Array(CrowdSchema) }) },
      },
    },
    async (req) => ({
      crowds: (await apps.listCrowds((req.params as { app: string }).app)).map(crowdView),
    }),
  );
}
