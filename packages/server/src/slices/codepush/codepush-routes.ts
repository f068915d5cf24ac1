import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseWith } from '../../platform/http/parse-with.js';
import { AppIdParam } from '../apps/app-routes.js';
import { PackageFileMissing } from '../packages/package-errors.js';
import type { CheckQuery, CodePushAcquisition, UpdateInfo } from './codepush-acquisition.js';
import type { CodePushLabelView, CodePushService } from './codepush-service.js';
import type { CodePushDeployment } from './codepush-store.js';

const Str = Type.Optional(Type.String({ maxLength: 1024 }));

/** Update-check query of both dialects (every field optional: empty and missing mean the same). */
const CheckQuerySchema = Type.Object({
  deploymentKey: Str,
  deployment_key: Str,
  appVersion: Str,
  app_version: Str,
  packageHash: Str,
  package_hash: Str,
  label: Str,
  clientUniqueId: Str,
  client_unique_id: Str,
  isCompanion: Str,
  is_companion: Str,
});
const ReportBodySchema = Type.Object({
  deploymentKey: Str,
  deployment_key: Str,
  appVersion: Str,
  app_version: Str,
  clientUniqueId: Str,
  client_unique_id: Str,
  label: Str,
  status: Str,
  previousLabelOrAppVersion: Str,
  previous_label_or_app_version: Str,
  previousDeploymentKey: Str,
  previous_deployment_key: Str,
});
type Q = Record<string, string | undefined>;

const SNAKE: Record<keyof UpdateInfo, string> = {
  downloadURL: 'download_url',
  description: 'description',
  isAvailable: 'is_available',
  isMandatory: 'is_mandatory',
  appVersion: 'app_version',
  packageHash: 'package_hash',
  label: 'label',
  packageSize: 'package_size',
  updateAppVersion: 'update_app_version',
  shouldRunBinaryVersion: 'should_run_binary_version',
};

/** The answer body of a dialect; both carry `target_binary_range` like the original server. */
export function updateCheckBody(info: UpdateInfo, dialect: 'legacy' | 'v0.1'): Record<string, unknown> {
  if (dialect === 'legacy') return { updateInfo: { ...info, target_binary_range: info.appVersion } };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) out[SNAKE[k as keyof UpdateInfo]] = v;
  out.target_binary_range = info.appVersion;
  return { update_info: out };
}

export interface CodePushAcquisitionRoutesDeps {
  readonly acquisition: CodePushAcquisition;
  readonly publicUrl: string | undefined;
}

/**
 * The CodePush acquisition API in both dialects. These answer with CodePush's own bodies, not
 * problem+json, because the clients parse them: 200 JSON for checks, `200 OK` text for
 * reports, `400` text for a malformed request and `404 Not Found` (text) for an unknown
 * deployment key — what the original servers sent (ADR 0003, docs/errors.md).
 */
export async function codePushAcquisitionRoutes(app: FastifyInstance, deps: CodePushAcquisitionRoutesDeps): Promise<void> {
  // Devices call these all the time, and the URL holds the deployment key: no request log lines.
  app.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  const baseUrl = (req: FastifyRequest): string => deps.publicUrl ?? `${req.protocol}://${req.host}`;
  const text = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type('text/plain; charset=utf-8').send(body);

  const check = (dialect: 'legacy' | 'v0.1') => async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Q;
    const query: CheckQuery = {
      deploymentKey: q.deploymentKey || q.deployment_key,
      appVersion: q.appVersion || q.app_version,
      packageHash: q.packageHash || q.package_hash,
      label: q.label,
      clientUniqueId: q.clientUniqueId || q.client_unique_id,
      isCompanion: q.isCompanion || q.is_companion,
    };
    const out = await deps.acquisition.updateCheck(query, baseUrl(req));
    if (out.kind === 'unknown-key') return text(reply, 404, 'Not Found');
    if (out.kind === 'malformed') return text(reply, 400, out.message);
    return reply.header('cache-control', 'no-store').send(updateCheckBody(out.updateInfo, dialect));
  };
  const deploy = async (req: FastifyRequest, reply: FastifyReply) => {
    const b = (req.body ?? {}) as Q;
    const message = await deps.acquisition.reportDeploy({
      deploymentKey: b.deploymentKey || b.deployment_key,
      appVersion: b.appVersion || b.app_version,
      clientUniqueId: b.clientUniqueId || b.client_unique_id,
      label: b.label,
      status: b.status,
      previousLabelOrAppVersion: b.previousLabelOrAppVersion || b.previous_label_or_app_version,
      previousDeploymentKey: b.previousDeploymentKey || b.previous_deployment_key,
    });
    return message === undefined ? text(reply, 200, 'OK') : text(reply, 400, message);
  };
  const download = async (req: FastifyRequest, reply: FastifyReply) => {
    const b = (req.body ?? {}) as Q;
    const ok = await deps.acquisition.reportDownload({
      deploymentKey: b.deploymentKey || b.deployment_key,
      label: b.label,
      clientUniqueId: b.clientUniqueId || b.client_unique_id,
    });
    return ok ? text(reply, 200, 'OK') : text(reply, 400, 'A download status report must contain a valid deploymentKey and package label.');
  };
  const checkSchema = { tags: ['codepush'], summary: 'CodePush update check', querystring: CheckQuerySchema };
  const reportSchema = { tags: ['codepush'], body: Type.Union([ReportBodySchema, Type.Null()]) };
  app.get('/updateCheck', { schema: checkSchema }, check('legacy'));
  app.get('/v0.1/public/codepush/update_check', { schema: checkSchema }, check('v0.1'));
  for (const prefix of ['/reportStatus', '/v0.1/public/codepush/report_status']) {
    app.post(`${prefix}/deploy`, { schema: { ...reportSchema, summary: 'CodePush deploy report' } }, deploy);
    app.post(`${prefix}/download`, { schema: { ...reportSchema, summary: 'CodePush download report' } }, download);
  }
}

const DeploymentName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'Deployment name, e.g. Staging' });
const Label = Type.String({ pattern: '^v[1-9][0-9]{0,8}$' });
const Range = Type.String({ minLength: 1, maxLength: 256, description: 'semver range of binary versions' });
const Rollout = Type.Number({ description: 'Percentage of devices, above 0, at most 100' });
const DeploymentSchema = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  name: Type.String(),
  platform: Type.String(),
  module: Type.String(),
  key: Type.String(),
  bucketing: Type.String(),
  createdAt: Type.String(),
});
const LabelSchema = Type.Object({
  label: Type.String(),
  appVersion: Type.String(),
  packageHash: Type.String(),
  blobSha256: Type.Union([Type.String(), Type.Null()]),
  size: Type.Number(),
  isMandatory: Type.Boolean(),
  isDisabled: Type.Boolean(),
  rollout: Type.Number(),
  description: Type.Union([Type.String(), Type.Null()]),
  releaseId: Type.String(),
  status: Type.String(),
  stage: Type.String(),
  releasedFrom: Type.Union([Type.String(), Type.Null()]),
  uploadTime: Type.String(),
});
const ReleaseFields = Type.Object(
  {
    targetBinaryVersion: Range,
    mandatory: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    disabled: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    rollout: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$' })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);
const PromoteBody = Type.Object(
  {
    label: Type.Optional(Label),
    targetBinaryVersion: Type.Optional(Range),
    mandatory: Type.Optional(Type.Boolean()),
    disabled: Type.Optional(Type.Boolean()),
    rollout: Type.Optional(Rollout),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);
const PatchBody = PromoteBody;
const RollbackBody = Type.Object({ targetRelease: Type.Optional(Label) }, { additionalProperties: false });
const Params = Type.Object({ app: AppIdParam, deployment: DeploymentName });

export interface CodePushAdminRoutesDeps {
  readonly codepush: CodePushService;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
}

const deploymentView = (d: CodePushDeployment) => ({ ...d });
const bool = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : v === 'true');

/** The admin API for CodePush deployments: `/admin/v1/apps/:app/codepush/...` (admin token, problem+json). */
export async function codePushAdminRoutes(app: FastifyInstance, deps: CodePushAdminRoutesDeps): Promise<void> {
  const { codepush } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const base = '/admin/v1/apps/:app/codepush/deployments';
  app.post(
    base,
    {
      schema: {
        tags: ['codepush'],
        summary: 'Add a CodePush deployment; its deployment key is generated unless given',
        params: Type.Object({ app: AppIdParam }),
        body: Type.Object(
          {
            name: DeploymentName,
            platform: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
            key: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{10,100}$', description: 'Keep an existing key when migrating' })),
            bucketing: Type.Optional(Type.Union([Type.Literal('halftone'), Type.Literal('codepush')])),
          },
          { additionalProperties: false },
        ),
        response: { 201: DeploymentSchema },
      },
    },
    async (req, reply) => {
      const { app: appId } = req.params as { app: string };
      const body = req.body as { name: string; platform?: string; key?: string; bucketing?: 'halftone' | 'codepush' };
      return reply.code(201).send(deploymentView(await codepush.addDeployment(appId, body)));
    },
  );
  app.get(
    base,
    {
      schema: {
        tags: ['codepush'],
        summary: 'List CodePush deployments with their keys',
        params: Type.Object({ app: AppIdParam }),
        response: { 200: Type.Object({ deployments: Type.Array(DeploymentSchema) }) },
      },
    },
    async (req) => ({
      deployments: (await codepush.listDeployments((req.params as { app: string }).app)).map(deploymentView),
    }),
  );
  app.get(
    `${base}/:deployment`,
    { schema: { tags: ['codepush'], summary: 'Show a deployment', params: Params, response: { 200: DeploymentSchema } } },
    async (req) => {
      const p = req.params as { app: string; deployment: string };
      return deploymentView(await codepush.deployment(p.app, p.deployment));
    },
  );
  app.get(
    `${base}/:deployment/history`,
    {
      schema: {
        tags: ['codepush'],
        summary: 'Labels of a deployment, oldest first',
        params: Params,
        response: { 200: Type.Object({ releases: Type.Array(LabelSchema) }) },
      },
    },
    async (req) => {
      const p = req.params as { app: string; deployment: string };
      return { releases: await codepush.history(p.app, p.deployment) };
    },
  );
  app.get(
    `${base}/:deployment/metrics`,
    {
      schema: {
        tags: ['codepush'],
        summary: 'Report counters per label (active, downloaded, installed, failed, rolledBack, ignored; "" = ignored reports)',
        params: Params,
      },
    },
    async (req) => {
      const p = req.params as { app: string; deployment: string };
      return { metrics: await codepush.metrics(p.app, p.deployment) };
    },
  );
  app.post(
    `${base}/:deployment/release`,
    {
      schema: {
        tags: ['codepush'],
        summary:
          'Release a package (multipart: fields targetBinaryVersion, mandatory, rollout, description, disabled, then the part "package")',
        params: Params,
        response: { 201: LabelSchema },
      },
    },
    async (req, reply) => {
      const p = req.params as { app: string; deployment: string };
      const fields: Record<string, string> = {};
      let released: CodePushLabelView | undefined;
      if (!req.isMultipart()) throw PackageFileMissing();
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          if (released === undefined) fields[part.fieldname] = String(part.value);
          continue;
        }
        if (!['package', 'file'].includes(part.fieldname) || released !== undefined) {
          part.file.resume();
          continue;
        }
        let meta: ReturnType<typeof parseWith<typeof ReleaseFields>>;
        try {
          meta = parseWith(ReleaseFields, fields, '/body');
        } catch (err) {
          part.file.resume();
          throw err;
        }
        released = await codepush.release(
          p.app,
          p.deployment,
          {
            targetBinaryVersion: meta.targetBinaryVersion,
            mandatory: bool(meta.mandatory),
            disabled: bool(meta.disabled),
            rollout: meta.rollout === undefined ? undefined : Number(meta.rollout),
            description: meta.description,
          },
          part.file,
        );
      }
      if (released === undefined) {
        parseWith(ReleaseFields, fields, '/body');
        throw PackageFileMissing();
      }
      return reply.code(201).send(released);
    },
  );
  app.post(
    `${base}/:deployment/promote/:to`,
    {
      schema: {
        tags: ['codepush'],
        summary: 'Promote the latest (or a given) label of a deployment to another one',
        params: Type.Object({ app: AppIdParam, deployment: DeploymentName, to: DeploymentName }),
        body: Type.Union([PromoteBody, Type.Null()]),
        response: { 201: LabelSchema },
      },
    },
    async (req, reply) => {
      const p = req.params as { app: string; deployment: string; to: string };
      const b = (req.body ?? {}) as Record<string, never>;
      return reply.code(201).send(await codepush.promote(p.app, p.deployment, p.to, b));
    },
  );
  app.post(
    `${base}/:deployment/rollback`,
    {
      schema: {
        tags: ['codepush'],
        summary: 'Roll back: re-release the previous (or the given) label as a new label',
        params: Params,
        body: Type.Union([RollbackBody, Type.Null()]),
        response: { 201: LabelSchema },
      },
    },
    async (req, reply) => {
      const p = req.params as { app: string; deployment: string };
      const b = (req.body ?? {}) as { targetRelease?: string };
      return reply.code(201).send(await codepush.rollback(p.app, p.deployment, b.targetRelease));
    },
  );
  app.patch(
    `${base}/:deployment/release`,
    {
      schema: {
        tags: ['codepush'],
        summary: 'Change the latest (or the given) label: rollout (only grows), mandatory, disabled, description, range',
        params: Params,
        body: PatchBody,
        response: { 200: LabelSchema },
      },
    },
    async (req) => {
      const p = req.params as { app: string; deployment: string };
      const { label, ...opts } = req.body as { label?: string } & Record<string, never>;
      return codepush.patch(p.app, p.deployment, label, opts);
    },
  );
}
