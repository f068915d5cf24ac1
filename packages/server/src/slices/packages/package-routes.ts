import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseWith } from '../../platform/http/parse-with.js';
import { AppIdParam } from '../apps/app-routes.js';
import { PackageFileMissing, PackageLinkRequired } from './package-errors.js';
import type { PackageMeta, PackageService } from './package-service.js';
import { PACKAGE_KINDS, type Package } from './package-store.js';

export const ModuleName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
  description: 'Business module name',
});
const Version = Type.String({ minLength: 1, maxLength: 64 });
const HttpUrl = Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 });

const MetaFields = {
  module: ModuleName,
  version: Version,
  kind: Type.Union(PACKAGE_KINDS.map((k) => Type.Literal(k))),
  platform: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  minAppVersion: Type.Optional(Version),
  maxAppVersion: Type.Optional(Version),
  fallbackUrl: Type.Optional(HttpUrl),
  description: Type.Optional(Type.String({ maxLength: 4000 })),
};
const UploadFields = Type.Object(MetaFields, { additionalProperties: false });
const LinkBody = Type.Object({ ...MetaFields, url: HttpUrl }, { additionalProperties: false });

export const PackageSchema = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  module: Type.String(),
  version: Type.String(),
  kind: Type.String(),
  platform: Type.Union([Type.String(), Type.Null()]),
  format: Type.String(),
  hash: Type.Union([Type.String(), Type.Null()], { description: 'SHA-256 of the stored file' }),
  contentHash: Type.String({ description: 'Sorted path:sha256 list → SHA-256' }),
  size: Type.Number(),
  fileCount: Type.Integer(),
  url: Type.String({ description: 'Where devices download it' }),
  minAppVersion: Type.Union([Type.String(), Type.Null()]),
  maxAppVersion: Type.Union([Type.String(), Type.Null()]),
  fallbackUrl: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export interface PackageRoutesDeps {
  readonly packages: PackageService;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
  readonly publicUrl: string | undefined;
}

/** Admin API: publishing packages and disabling them. */
export async function packageRoutes(app: FastifyInstance, deps: PackageRoutesDeps): Promise<void> {
  const { packages } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const view = (req: FastifyRequest, p: Package) => ({
    id: p.id,
    appId: p.appId,
    module: p.module,
    version: p.version,
    kind: p.kind,
    platform: p.platform,
    format: p.format,
    hash: p.blobSha256,
    contentHash: p.contentHash,
    size: p.size,
    fileCount: p.fileCount,
    url: p.linkUrl ?? `${deps.publicUrl ?? `${req.protocol}://${req.host}`}/client/v1/blobs/${p.blobSha256}`,
    minAppVersion: p.minAppVersion,
    maxAppVersion: p.maxAppVersion,
    fallbackUrl: p.fallbackUrl,
    description: p.description,
    disabled: p.disabled,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  });

  app.post(
    '/admin/v1/apps/:app/packages',
    {
      schema: {
        tags: ['packages'],
        summary: 'Publish a package: multipart/form-data (fields first, then the part "file"), or JSON with "url" for an installer link',
        params: Type.Object({ app: AppIdParam }),
        response: { 201: PackageSchema },
      },
    },
    async (req, reply) => {
      const appId = (req.params as { app: string }).app;
      if (!req.isMultipart()) {
        const body = parseWith(LinkBody, req.body, '/body');
        if (body.kind !== 'installer') throw PackageFileMissing();
        const { url, ...meta } = body;
        return reply.code(201).send(view(req, await packages.publishLink(appId, meta as PackageMeta, url)));
      }
      const fields: Record<string, string> = {};
      let published: Package | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          if (published === undefined) fields[part.fieldname] = String(part.value);
          continue;
        }
        if (part.fieldname !== 'file' || published !== undefined) {
          part.file.resume();
          continue;
        }
        const meta = parseWith(UploadFields, fields, '/body');
        if (meta.kind === 'installer') throw PackageLinkRequired();
        published = await packages.publishUpload(appId, meta as PackageMeta, part.file);
      }
      if (published === undefined) {
        parseWith(UploadFields, fields, '/body');
        throw PackageFileMissing();
      }
      return reply.code(201).send(view(req, published));
    },
  );

  app.get(
    '/admin/v1/apps/:app/packages',
    {
      schema: {
        tags: ['packages'],
        summary: 'List packages',
        params: Type.Object({ app: AppIdParam }),
        querystring: Type.Object({ module: Type.Optional(ModuleName) }),
        response: { 200: Type.Object({ packages: Type.Array(PackageSchema) }) },
      },
    },
    async (req) => {
      const { app: appId } = req.params as { app: string };
      const { module } = req.query as { module?: string };
      return { packages: (await packages.listPackages(appId, module)).map((p) => view(req, p)) };
    },
  );

  const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
  app.get(
    '/admin/v1/packages/:id',
    { schema: { tags: ['packages'], summary: 'Show a package', params: IdParams, response: { 200: PackageSchema } } },
    async (req) => view(req, await packages.getPackage((req.params as { id: string }).id)),
  );
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(
      `/admin/v1/packages/:id/${verb}`,
      {
        schema: {
          tags: ['packages'],
          summary: disabled
            ? 'Disable a package: devices running it are told to fall back to its fallback URL'
            : 'Enable a disabled package again',
          params: IdParams,
          response: { 200: PackageSchema },
        },
      },
      async (req) => view(req, await packages.setDisabled((req.params as { id: string }).id, disabled)),
    );
  }
}
