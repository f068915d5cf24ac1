import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientKeyHook } from '../client/client-key.js';
import { AppIdParam } from '../apps/app-routes.js';
import type { ReleaseIndex } from '../releases/release-index.js';
import { type DiagnosticCommand, effectiveState, expiredAt, stateHistory } from './diagnostic-command.js';
import { DiagParamsInvalid } from './diagnostics-errors.js';
import {
  CommandList,
  CommandView,
  CreateCommandBody,
  ListCommandsQuery,
  UploadResponse,
} from './diagnostics-schemas.js';
import type { DiagnosticsService } from './diagnostics-service.js';

const CommandId = Type.String({ minLength: 1, maxLength: 64 });

/** The wire view of a command at `now`. */
export function commandView(cmd: DiagnosticCommand, now: Date): CommandView {
  return {
    id: cmd.id,
    app: cmd.appId,
    target: { type: cmd.targetType, id: cmd.targetId },
    kind: cmd.kind,
    params: { ...cmd.params },
    note: cmd.note,
    state: effectiveState(cmd, now),
    createdAt: cmd.createdAt,
    expiresAt: cmd.expiresAt,
    deliveredAt: cmd.deliveredAt,
    deliveredTo: cmd.deliveredTo,
    uploadedAt: cmd.uploadedAt,
    cancelledAt: cmd.cancelledAt,
    expiredAt: expiredAt(cmd, now),
    upload:
      cmd.upload === null
        ? null
        : { size: cmd.upload.size, sha256: cmd.upload.sha256, contentType: cmd.upload.contentType, deviceId: cmd.upload.deviceId },
    history: stateHistory(cmd, now),
  };
}

/** A file name extension for a stored content type (the download's Content-Disposition). */
function extensionFor(contentType: string): string {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/gzip' || type === 'application/x-gzip') return '.gz';
  if (type === 'application/zip' || type === 'application/x-zip-compressed') return '.zip';
  if (type === 'application/json') return '.json';
  if (type.startsWith('text/')) return '.txt';
  return '.bin';
}

/** A content type worth keeping: printable, short, `type/subtype[; params]`; else octet-stream. */
function storedContentType(header: string | undefined): string {
  if (header === undefined) return 'application/octet-stream';
  const value = header.trim();
  if (value.length === 0 || value.length > 255 || !/^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(value)) {
    return 'application/octet-stream';
  }
  return value;
}

export interface DiagnosticsAdminRoutesDeps {
  readonly diagnostics: DiagnosticsService;
  readonly requireAdmin: (req: FastifyRequest) => Promise<void>;
  readonly now: () => Date;
}

/** Admin API: create, list, show and cancel diagnostic commands; download their uploads. */
export async function diagnosticsAdminRoutes(app: FastifyInstance, deps: DiagnosticsAdminRoutesDeps): Promise<void> {
  const { diagnostics, now } = deps;
  app.addHook('onRequest', deps.requireAdmin);
  const AppParams = Type.Object({ app: AppIdParam });
  const OneParams = Type.Object({ app: AppIdParam, id: CommandId });

  app.post(
    '/admin/v1/apps/:app/diagnostics',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'Ask one device (`deviceId`) or every device of one user (`userId`) for diagnostics',
        description:
          'Kinds: `upload_logs` (needs `sinceHours`), `upload_crash_dumps` (optional `sinceHours`), ' +
          '`custom` (needs `payload`, at most 4 KB of JSON). The device receives the command in its ' +
          'next `/client/v1/check` and uploads to its `uploadUrl`.',
        params: AppParams,
        body: CreateCommandBody,
        response: { 201: CommandView },
      },
    },
    async (req, reply) => {
      const { app: appId } = req.params as { app: string };
      const body = req.body as CreateCommandBody;
      if ((body.deviceId === undefined) === (body.userId === undefined)) {
        throw DiagParamsInvalid(undefined, { detail: 'Give exactly one of `deviceId` and `userId`' });
      }
      const cmd = await diagnostics.create(appId, {
        targetType: body.deviceId !== undefined ? 'device' : 'user',
        targetId: body.deviceId ?? body.userId ?? '',
        kind: body.kind,
        sinceHours: body.sinceHours,
        payload: body.payload,
        expiresInSeconds: body.expiresInSeconds,
        note: body.note,
      });
      return reply.code(201).send(commandView(cmd, now()));
    },
  );

  app.get(
    '/admin/v1/apps/:app/diagnostics',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'List diagnostic commands, newest first (filter by state, device or user; paged by `cursor`)',
        params: AppParams,
        querystring: ListCommandsQuery,
        response: { 200: CommandList },
      },
    },
    async (req) => {
      const { app: appId } = req.params as { app: string };
      const q = req.query as ListCommandsQuery;
      const limit = Math.min(200, Math.max(1, q.limit === undefined ? 50 : Number(q.limit)));
      const page = await diagnostics.list(appId, {
        state: q.state,
        deviceId: q.device,
        userId: q.user,
        cursor: q.cursor,
        limit,
      });
      const at = now();
      return { commands: page.commands.map((c) => commandView(c, at)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/admin/v1/apps/:app/diagnostics/:id',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'Show a diagnostic command with the times of its states',
        params: OneParams,
        response: { 200: CommandView },
      },
    },
    async (req) => {
      const { app: appId, id } = req.params as { app: string; id: string };
      return commandView(await diagnostics.get(appId, id), now());
    },
  );

  app.delete(
    '/admin/v1/apps/:app/diagnostics/:id',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'Cancel a pending or delivered command (devices stop receiving it; uploads answer 410)',
        params: OneParams,
        response: { 200: CommandView },
      },
    },
    async (req) => {
      const { app: appId, id } = req.params as { app: string; id: string };
      return commandView(await diagnostics.cancel(appId, id), now());
    },
  );

  app.get(
    '/admin/v1/apps/:app/diagnostics/:id/upload',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'Download the uploaded file (streamed; X-Halftone-Sha256 carries its SHA-256)',
        params: OneParams,
      },
    },
    async (req, reply) => {
      const { app: appId, id } = req.params as { app: string; id: string };
      const { upload, stream } = await diagnostics.openUpload(appId, id);
      return reply
        .header('content-type', upload.contentType)
        .header('content-length', upload.size)
        .header('content-disposition', `attachment; filename="${id}${extensionFor(upload.contentType)}"`)
        .header('x-halftone-sha256', upload.sha256)
        .header('etag', `"${upload.sha256}"`)
        .header('cache-control', 'private, no-store')
        // Device-supplied bytes under a device-supplied type: never rendered by a browser.
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', 'sandbox')
        .send(stream);
    },
  );
}

export interface DiagnosticsClientRoutesDeps {
  readonly diagnostics: DiagnosticsService;
  readonly index: Pick<ReleaseIndex, 'appIdForKey'>;
}

/**
 * `POST /client/v1/diagnostics/:commandId`: a device's upload for a command. Registered in its
 * own scope: the body (any content type, compressed or not, kept as opaque bytes) is not parsed
 * but streamed by the service into the diagnostics blob store.
 */
export async function diagnosticsClientRoutes(app: FastifyInstance, deps: DiagnosticsClientRoutesDeps): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const requireClientKey = clientKeyHook(app, deps.index);

  app.post(
    '/client/v1/diagnostics/:commandId',
    {
      onRequest: requireClientKey,
      schema: {
        tags: ['client'],
        summary: 'Upload the file a diagnostic command asked for (the body is the file, any content type)',
        description:
          'Send `X-Halftone-Device-Id` (and `X-Halftone-User-Id` for commands sent to a user). ' +
          'Compressed files are kept as they are: send them as `application/gzip` or `application/zip`. ' +
          '403 for a device the command does not target, 404 unknown, 409 already uploaded, 410 ' +
          'expired or cancelled, 413 over `diagnostics.uploadMaxBytes` (nothing stored).',
        params: Type.Object({ commandId: CommandId }),
        headers: {
          type: 'object',
          properties: {
            'x-halftone-key': { type: 'string' },
            'x-halftone-device-id': { type: 'string', minLength: 1, maxLength: 256 },
            'x-halftone-user-id': { type: 'string', maxLength: 256 },
          },
          required: ['x-halftone-device-id'],
        },
        response: { 200: UploadResponse },
      },
    },
    async (req) => {
      const { commandId } = req.params as { commandId: string };
      const userId = req.headers['x-halftone-user-id'];
      const declared = Number(req.headers['content-length']);
      const body = req.body as Readable | undefined;
      const cmd = await deps.diagnostics.upload(
        req.halftoneAppId,
        commandId,
        { deviceId: String(req.headers['x-halftone-device-id']), userId: typeof userId === 'string' && userId !== '' ? userId : undefined },
        body ?? [],
        {
          contentType: storedContentType(req.headers['content-type']),
          declaredLength: Number.isFinite(declared) ? declared : undefined,
        },
      );
      return {
        id: cmd.id,
        state: 'uploaded' as const,
        size: cmd.upload?.size ?? 0,
        sha256: cmd.upload?.sha256 ?? '',
        uploadedAt: cmd.uploadedAt ?? '',
      };
    },
  );
}
