import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppIdParam } from '../apps/app-routes.js';
import type { AppService } from '../apps/app-service.js';
import { ModuleName } from '../packages/package-routes.js';
import type { Package, PackageStore } from '../packages/package-store.js';
import { DeltaNotFound, DeltaVersionUnknown } from './delta-errors.js';
import type { DeltaService } from './delta-service.js';

export interface DeltaRoutesDeps {
  readonly deltas: Pick<DeltaService, 'state'>;
  readonly apps: Pick<AppService, 'getApp'>;
  readonly packages: Pick<PackageStore, 'findPackagesByVersion'>;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
  readonly publicUrl: string | undefined;
}

const PatchState = Type.Object({
  from: Type.String(),
  to: Type.String(),
  status: Type.String({ description: 'requested | pending | running | ready | too_large | failed' }),
  size: Type.Union([Type.Number(), Type.Null()]),
  fullSize: Type.Union([Type.Number(), Type.Null()]),
  ratio: Type.Union([Type.Number(), Type.Null()], { description: 'patch size ÷ full package size' }),
  url: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
});

/** Admin API: where the patch between two versions of a module stands. */
export async function deltaRoutes(app: FastifyInstance, deps: DeltaRoutesDeps): Promise<void> {
  app.addHook('onRequest', deps.requireAdmin);

  app.get(
    '/admin/v1/apps/:app/patches',
    {
      schema: {
        tags: ['delta'],
        summary: 'The patch between two versions of a module: asked for, computing, ready (with its size), too large or failed',
        params: Type.Object({ app: AppIdParam }),
        querystring: Type.Object(
          {
            module: ModuleName,
            from: Type.String({ minLength: 1, maxLength: 64 }),
            to: Type.String({ minLength: 1, maxLength: 64 }),
            platform: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PatchState },
      },
    },
    async (req) => {
      const appId = (req.params as { app: string }).app;
      const q = req.query as { module: string; from: string; to: string; platform?: string };
      await deps.apps.getApp(appId);
      const pick = async (version: string): Promise<Package> => {
        const all = await deps.packages.findPackagesByVersion(appId, q.module, version);
        const pkg = all.find((p) => p.platform === (q.platform ?? null)) ?? all.find((p) => p.platform === null) ?? all[0];
        if (pkg === undefined) {
          throw DeltaVersionUnknown({ app: appId, module: q.module, version, platform: q.platform ? ` for ${q.platform}` : '' });
        }
        return pkg;
      };
      const [from, to] = [await pick(q.from), await pick(q.to)];
      const state = deps.deltas.state(from.id, to.id);
      if (state === undefined) throw DeltaNotFound({ from: q.from, to: q.to });
      const base = deps.publicUrl ?? `${req.protocol}://${req.host}`;
      if (state === 'requested') {
        return { from: q.from, to: q.to, status: 'requested', size: null, fullSize: to.size, ratio: null, url: null, attempts: 0, error: null, updatedAt: null };
      }
      return {
        from: q.from,
        to: q.to,
        status: state.status,
        size: state.size,
        fullSize: state.fullSize,
        ratio: state.size === null ? null : state.size / state.fullSize,
        url: state.status === 'ready' && state.blobSha256 !== null ? `${base}/client/v1/blobs/${state.blobSha256}` : null,
        attempts: state.attempts,
        error: state.error,
        updatedAt: state.updatedAt,
      };
    },
  );
}
