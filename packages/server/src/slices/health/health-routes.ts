import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { validationFailed } from '../../platform/errors/platform-errors.js';
import { AppIdParam } from '../apps/app-routes.js';
import type { ClockControl } from './health-clock.js';
import type { HealthService } from './health-service.js';

export interface HealthRoutesDeps {
  readonly health: HealthService;
  readonly clock: ClockControl;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Decision = Type.Object(
  {
    id: Type.String(),
    appId: Type.String(),
    releaseId: Type.Union([Type.String(), Type.Null()]),
    kind: Type.String(),
    stageIndex: Type.Union([Type.Integer(), Type.Null()]),
    stage: Type.Union([Type.String(), Type.Null()]),
    reason: Type.String(),
    gates: Type.Array(Type.Unknown()),
    data: Type.Unknown(),
    subjectKey: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String(),
  },
);
const HealthView = Type.Object({
  releaseId: Type.String(),
  policy: Type.Union([
    Type.Object({ template: Type.String(), onFailure: Type.String() }),
    Type.Null(),
  ]),
  template: Type.Unknown(),
  stageIndex: Type.Union([Type.Integer(), Type.Null()]),
  stage: Type.Unknown(),
  stageStartedAt: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union([Type.String(), Type.Null()]),
  lastVerdict: Type.Unknown(),
  lastEvaluatedAt: Type.Union([Type.String(), Type.Null()]),
  decisions: Type.Array(Decision),
  feedbackWatch: Type.Array(Type.String()),
  feedbackAlerts: Type.Array(Decision),
});
const Breaker = Type.Object({
  id: Type.String(),
  scope: Type.String(),
  target: Type.String(),
  metric: Type.String(),
  threshold: Type.Number(),
  action: Type.String(),
  minSessions: Type.Optional(Type.Number()),
  alpha: Type.Optional(Type.Number()),
  windowMinutes: Type.Integer(),
  createdAt: Type.String(),
  fired: Type.Array(Type.Object({ ruleId: Type.String(), subject: Type.String(), firedAt: Type.String() })),
});
const ClockView = Type.Object({ mode: Type.String(), now: Type.String() });

/** Admin API of release health: per-release health, confirm, feedback watch, breakers, evaluation, clock. */
export async function healthRoutes(app: FastifyInstance, deps: HealthRoutesDeps): Promise<void> {
  const { health, clock } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get(
    '/admin/v1/releases/:id/health',
    {
      schema: {
        tags: ['health'],
        summary: 'The health policy of a release, its stage, state, last verdict, decisions and feedback alerts',
        params: IdParams,
        response: { 200: HealthView },
      },
    },
    async (req) => health.view(id(req)),
  );

  app.post(
    '/admin/v1/releases/:id/confirm',
    {
      schema: {
        tags: ['health'],
        summary: 'Confirm a stage that waits for a human: the release moves to its next template stage',
        params: IdParams,
        response: { 200: HealthView },
      },
    },
    async (req) => health.confirm(id(req)),
  );

  app.put(
    '/admin/v1/releases/:id/feedback-watch',
    {
      schema: {
        tags: ['health'],
        summary: 'Set the keywords whose appearance in feedback raises an alert for this release',
        params: IdParams,
        body: Type.Object(
          { keywords: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ releaseId: Type.String(), keywords: Type.Array(Type.String()), updatedAt: Type.String() }),
        },
      },
    },
    async (req) => {
      const w = await health.setFeedbackWatch(id(req), (req.body as { keywords: string[] }).keywords);
      return { releaseId: w.releaseId, keywords: [...w.keywords], updatedAt: w.updatedAt };
    },
  );

  app.post(
    '/admin/v1/health/evaluate',
    {
      schema: {
        tags: ['health'],
        summary: 'Run one health evaluation pass now (every running release, then the breakers)',
        response: {
          200: Type.Object({
            evaluated: Type.Integer(),
            decisions: Type.Array(
              Type.Object({
                releaseId: Type.String(),
                decision: Type.String(),
                stage: Type.String(),
                stageIndex: Type.Integer(),
                state: Type.String(),
                reason: Type.String(),
                gates: Type.Array(Type.Unknown()),
                recorded: Type.Boolean(),
              }),
            ),
            breakers: Type.Array(Type.Unknown()),
          }),
        },
      },
    },
    async () => health.evaluate(),
  );

  app.get(
    '/admin/v1/clock',
    { schema: { tags: ['health'], summary: 'The server clock: its mode and current time', response: { 200: ClockView } } },
    async () => ({ mode: clock.mode, now: clock.now().toISOString() }),
  );

  app.put(
    '/admin/v1/clock',
    {
      schema: {
        tags: ['health'],
        summary: 'Move the manual clock forward (HALFTONE_CLOCK_MODE=manual only)',
        body: Type.Object(
          { now: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$' }) },
          { additionalProperties: false },
        ),
        response: { 200: ClockView },
      },
    },
    async (req) => {
      const { now } = req.body as { now: string };
      const t = new Date(now);
      if (Number.isNaN(t.getTime())) {
        throw validationFailed(undefined, {
          detail: '/body/now: must be an ISO 8601 date-time',
          fields: [{ pointer: '/body/now', message: 'must be an ISO 8601 date-time' }],
        });
      }
      clock.set(t);
      return { mode: clock.mode, now: clock.now().toISOString() };
    },
  );

  const AppParams = Type.Object({ app: AppIdParam });
  app.post(
    '/admin/v1/apps/:app/breakers',
    {
      schema: {
        tags: ['health'],
        summary: 'Add a circuit-breaker rule (a package or module, crash or ANR rate, threshold, action)',
        params: AppParams,
        body: Type.Object({}, { additionalProperties: true }),
        response: { 201: Breaker },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await health.addBreaker((req.params as { app: string }).app, req.body as Record<string, unknown>)),
  );

  app.get(
    '/admin/v1/apps/:app/breakers',
    {
      schema: {
        tags: ['health'],
        summary: 'List the circuit-breaker rules of an app and what each has fired',
        params: AppParams,
        response: { 200: Type.Object({ breakers: Type.Array(Breaker) }) },
      },
    },
    async (req) => ({ breakers: await health.listBreakers((req.params as { app: string }).app) }),
  );

  app.delete(
    '/admin/v1/apps/:app/breakers/:id',
    {
      schema: {
        tags: ['health'],
        summary: 'Remove a circuit-breaker rule',
        params: Type.Object({ app: AppIdParam, id: Type.String({ minLength: 1, maxLength: 128 }) }),
      },
    },
    async (req, reply) => {
      const p = req.params as { app: string; id: string };
      await health.deleteBreaker(p.app, p.id);
      return reply.code(204).send();
    },
  );
}
