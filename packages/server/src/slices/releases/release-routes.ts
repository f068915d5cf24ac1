import { RELEASE_STAGES, RELEASE_STATUSES, type Rule } from '@halftone/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppIdParam } from '../apps/app-routes.js';
import { parseWith } from '../../platform/http/parse-with.js';
import { ModuleName } from '../packages/package-routes.js';
import type { Release } from './release-store.js';
import type { CreateReleaseInput, ReleaseService, UpdateReleaseInput } from './release-service.js';

const RuleSchema = Type.Unknown({
  description:
    'Targeting rule: {"all":[…]} (AND), {"any":[…]} (OR), or a condition {"attribute","operator","value"|"values"}',
});
const Ids = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 });
const CrowdNames = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 });
const Revision = Type.Optional(
  Type.Integer({ minimum: 1, description: 'The revision you read; a different current one answers 409' }),
);

export const ReleaseSchema = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  module: Type.String(),
  version: Type.String(),
  packageId: Type.String(),
  platform: Type.Union([Type.String(), Type.Null()]),
  stage: Type.Union(RELEASE_STAGES.map((s) => Type.Literal(s))),
  status: Type.Union(RELEASE_STATUSES.map((s) => Type.Literal(s))),
  percent: Type.Number(),
  whitelist: Type.Array(Type.String()),
  crowds: Type.Array(Type.String()),
  rule: Type.Unknown(),
  mandatory: Type.Boolean(),
  grayId: Type.String(),
  stickiness: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  revision: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const Counters = Type.Object({
  checked: Type.Integer(),
  offered: Type.Integer(),
  downloaded: Type.Integer(),
  installed: Type.Integer(),
  failed: Type.Integer(),
});

const StatusSchema = Type.Object({
  release: ReleaseSchema,
  stats: Type.Object({
    total: Counters,
    stages: Type.Record(Type.String(), Counters),
  }),
  history: Type.Array(
    Type.Object({ type: Type.String(), data: Type.Unknown(), createdAt: Type.String() }),
  ),
});

/** The optional `health` member of a create body (the health slice validates the template). */
export interface ReleaseHealthInput {
  readonly template: string | Record<string, unknown>;
  readonly onFailure?: 'halt' | 'rollback' | undefined;
}

const HealthPolicySchema = Type.Object(
  {
    template: Type.Union([
      Type.String({ minLength: 1, maxLength: 64, description: 'standard | cautious | fast' }),
      Type.Object({}, { additionalProperties: true, description: 'An inline release template' }),
    ]),
    onFailure: Type.Optional(Type.Union([Type.Literal('halt'), Type.Literal('rollback')])),
  },
  { additionalProperties: false, description: 'Health gates: the release walks its template\'s stages by itself' },
);

export interface ReleaseRoutesDeps {
  readonly releases: ReleaseService;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
  /**
   * Creates a release with a health policy (the health slice). Without it a create naming
   * `health` is refused (HT_HEALTH_UNAVAILABLE).
   */
  readonly createWithHealth?: (appId: string, input: CreateReleaseInput, health: ReleaseHealthInput) => Promise<Release>;
  /** Thrown when `health` is given and no `createWithHealth` is wired. */
  readonly healthUnavailable?: () => Error;
}

/** `If-Match: "3"` (or `W/"3"`) or a body `revision` name the revision a change was based on. */
function expectedRevision(req: FastifyRequest): number | undefined {
  const body = req.body as { revision?: number } | undefined;
  if (body?.revision !== undefined) return body.revision;
  const ifMatch = req.headers['if-match'];
  if (typeof ifMatch !== 'string') return undefined;
  const m = /^(?:W\/)?"(\d+)"$/.exec(ifMatch.trim());
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

function sendRelease(reply: FastifyReply, release: Release, code = 200) {
  return reply.code(code).header('etag', `"${release.revision}"`).send(release);
}

/** Admin API: gray releases and their stages. */
export async function releaseRoutes(app: FastifyInstance, deps: ReleaseRoutesDeps): Promise<void> {
  const { releases } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.post(
    '/admin/v1/apps/:app/releases',
    {
      schema: {
        tags: ['releases'],
        summary: 'Start a gray release of a published package',
        params: Type.Object({ app: AppIdParam }),
        body: Type.Object(
          {
            module: ModuleName,
            version: Type.String({ minLength: 1, maxLength: 64 }),
            platform: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
            whitelist: Type.Optional(Ids),
            crowds: Type.Optional(CrowdNames),
            rule: Type.Optional(RuleSchema),
            percent: Type.Optional(Type.Number()),
            mandatory: Type.Optional(Type.Boolean()),
            grayId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            stickiness: Type.Optional(Type.Union([Type.Literal('userId'), Type.Literal('deviceId')])),
            description: Type.Optional(Type.String({ maxLength: 4000 })),
            health: Type.Optional(HealthPolicySchema),
          },
          { additionalProperties: false },
        ),
        response: { 201: ReleaseSchema },
      },
    },
    async (req, reply) => {
      const appId = (req.params as { app: string }).app;
      const { health, ...input } = req.body as CreateReleaseInput & { health?: ReleaseHealthInput };
      if (health !== undefined) {
        if (deps.createWithHealth === undefined) {
          throw deps.healthUnavailable?.() ?? new Error('health policies are not available');
        }
        return sendRelease(reply, await deps.createWithHealth(appId, input, health), 201);
      }
      return sendRelease(reply, await releases.create(appId, input), 201);
    },
  );

  app.get(
    '/admin/v1/apps/:app/releases',
    {
      schema: {
        tags: ['releases'],
        summary: 'List releases',
        params: Type.Object({ app: AppIdParam }),
        querystring: Type.Object({
          module: Type.Optional(ModuleName),
          status: Type.Optional(Type.Union(RELEASE_STATUSES.map((s) => Type.Literal(s)))),
        }),
        response: { 200: Type.Object({ releases: Type.Array(ReleaseSchema) }) },
      },
    },
    async (req) => {
      const appId = (req.params as { app: string }).app;
      return { releases: await releases.list(appId, req.query as { module?: string }) };
    },
  );

  app.get(
    '/admin/v1/releases/:id',
    { schema: { tags: ['releases'], summary: 'Show a release (ETag = revision)', params: IdParams, response: { 200: ReleaseSchema } } },
    async (req, reply) => sendRelease(reply, await releases.get(id(req))),
  );

  app.get(
    '/admin/v1/releases/:id/status',
    {
      schema: {
        tags: ['releases'],
        summary: 'A release with its per-stage funnel (checked, offered, downloaded, installed, failed) and history',
        params: IdParams,
        response: { 200: StatusSchema },
      },
    },
    async (req) => releases.status(id(req)),
  );

  const RevisionBody = Type.Object({ revision: Revision }, { additionalProperties: false });
  const verbs = {
    advance: 'Widen to the next stage',
    halt: 'Stop exposing anyone new (installers keep it)',
    resume: 'Resume a halted release (the same devices as before)',
    rollback: 'Send the devices that installed it back to the version they had',
  } as const;
  for (const [verb, summary] of Object.entries(verbs) as [keyof typeof verbs, string][]) {
    app.post(
      `/admin/v1/releases/:id/${verb}`,
      {
        schema: {
          tags: ['releases'],
          summary,
          params: IdParams,
          // The body is optional (a bare POST is fine), so it is checked in the handler.
          response: { 200: ReleaseSchema },
        },
      },
      async (req, reply) => {
        if (req.body !== undefined && req.body !== null) parseWith(RevisionBody, req.body, '/body');
        return sendRelease(reply, await releases[verb](id(req), expectedRevision(req)));
      },
    );
  }

  app.post(
    '/admin/v1/releases/:id/percent',
    {
      schema: {
        tags: ['releases'],
        summary: 'Widen the percentage (it never shrinks)',
        params: IdParams,
        body: Type.Object({ percent: Type.Number(), revision: Revision }, { additionalProperties: false }),
        response: { 200: ReleaseSchema },
      },
    },
    async (req, reply) =>
      sendRelease(
        reply,
        await releases.setPercent(id(req), (req.body as { percent: number }).percent, expectedRevision(req)),
      ),
  );

  app.patch(
    '/admin/v1/releases/:id',
    {
      schema: {
        tags: ['releases'],
        summary: 'Change the whitelist, crowds, gray rule, mandatory flag or description',
        params: IdParams,
        body: Type.Object(
          {
            whitelist: Type.Optional(Ids),
            crowds: Type.Optional(CrowdNames),
            rule: Type.Optional(Type.Union([RuleSchema, Type.Null()])),
            mandatory: Type.Optional(Type.Boolean()),
            description: Type.Optional(Type.String({ maxLength: 4000 })),
            revision: Revision,
          },
          { additionalProperties: false },
        ),
        response: { 200: ReleaseSchema },
      },
    },
    async (req, reply) => {
      const { revision: _r, ...input } = req.body as UpdateReleaseInput & { revision?: number; rule?: Rule | null };
      return sendRelease(reply, await releases.update(id(req), input, expectedRevision(req)));
    },
  );
}
