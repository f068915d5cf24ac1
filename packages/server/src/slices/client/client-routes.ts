import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import type { BlobReader } from '../../platform/blob/blob-store.js';
import { blobNotFound, rangeNotSatisfiable } from '../../platform/errors/platform-errors.js';
import type { ReleaseIndex } from '../releases/release-index.js';
import { clientKeyHook } from './client-key.js';
import type { ClientService } from './client-service.js';
import { CheckBody, CheckResponse, ReportBody, ReportResponse } from './client-schemas.js';

export interface ClientRoutesDeps {
  readonly client: ClientService;
  readonly index: Pick<ReleaseIndex, 'appIdForKey'>;
  readonly blobs: BlobReader;
  /** Base URL devices download from; `undefined` = the URL the device reached us on. */
  readonly publicUrl: string | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The device-facing API: check, report and package downloads. */
export async function clientRoutes(app: FastifyInstance, deps: ClientRoutesDeps): Promise<void> {
  // Devices call these thousands of times a second: no per-request log lines below warn.
  app.addHook('onRoute', (route) => {
    route.logLevel = 'warn';
  });
  const baseUrl = (req: FastifyRequest): string =>
    deps.publicUrl ?? `${req.protocol}://${req.host}`;

  const requireClientKey = clientKeyHook(app, deps.index);

  app.post(
    '/client/v1/check',
    {
      onRequest: requireClientKey,
      schema: {
        tags: ['client'],
        summary: 'What should this device run for each module of the app?',
        headers: { type: 'object', properties: { 'x-halftone-key': { type: 'string' } } },
        body: CheckBody,
        response: { 200: CheckResponse },
      },
    },
    async (req, reply) => {
      const json = await deps.client.checkJson(req.halftoneAppId, req.body as CheckBody, baseUrl(req));
      // Written by the service from cached fragments; a string is sent as it is.
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );

  app.post(
    '/client/v1/report',
    {
      onRequest: requireClientKey,
      schema: {
        tags: ['client'],
        summary: 'Report download and install results',
        body: ReportBody,
        response: { 200: ReportResponse },
      },
    },
    async (req) => deps.client.report(req.halftoneAppId, req.body as ReportBody),
  );

  app.post(
    '/client/v1/ping',
    {
      onRequest: requireClientKey,
      schema: { tags: ['client'], summary: 'Connectivity check: checks the key, parses the body, answers {ok:true}' },
    },
    async () => ({ ok: true }),
  );

  app.get(
    '/client/v1/blobs/:sha256',
    {
      schema: {
        tags: ['client'],
        summary: 'Download a package (ETag, Range, exact Content-Length, never compressed)',
        params: {
          type: 'object',
          properties: { sha256: { type: 'string', pattern: SHA256.source } },
          required: ['sha256'],
        },
      },
    },
    async (req: FastifyRequest<{ Params: { sha256: string } }>, reply: FastifyReply) => {
      const { sha256 } = req.params;
      const stat = await deps.blobs.stat(sha256);
      if (stat === null) throw blobNotFound({ sha256 });
      const etag = `"${sha256}"`;
      reply
        .header('etag', etag)
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-type', 'application/octet-stream');
      const inm = req.headers['if-none-match'];
      if (inm !== undefined && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
        return reply.code(304).send();
      }
      const rangeHeader = req.headers.range;
      const ifRange = req.headers['if-range'];
      if (rangeHeader !== undefined && (ifRange === undefined || ifRange === etag) && stat.size > 0) {
        const ranges = parseRange(stat.size, rangeHeader, { combine: true });
        if (ranges === -1) {
          reply.header('content-range', `bytes */${stat.size}`);
          throw rangeNotSatisfiable();
        }
        if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1 && ranges[0]) {
          const { start, end } = ranges[0];
          reply
            .code(206)
            .header('content-range', `bytes ${start}-${end}/${stat.size}`)
            .header('content-length', end - start + 1);
          return reply.send(await deps.blobs.openRead(sha256, { start, end }));
        }
      }
      reply.header('content-length', stat.size);
      return reply.send(await deps.blobs.openRead(sha256));
    },
  );
}
