import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authClientKeyInvalid, authClientKeyMissing } from '../../platform/errors/platform-errors.js';
import type { ReleaseIndex } from '../releases/release-index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The app of the client key (set by the client API's key check). */
    halftoneAppId: string;
  }
}

/**
 * The device-facing key check shared by every `/client/v1/…` route plugin: reads
 * `X-Halftone-Key`, resolves it through the in-memory index (no database query), sets
 * `req.halftoneAppId`, and refuses with 401 `HT_AUTH_CLIENT_KEY_MISSING` / `…_INVALID`. Declares
 * the request decorator once, so every request object keeps one shape.
 *
 * @example
 * const requireClientKey = clientKeyHook(app, index);
 * app.post('/client/v1/events', { onRequest: requireClientKey }, handler);
 */
export function clientKeyHook(
  app: FastifyInstance,
  index: Pick<ReleaseIndex, 'appIdForKey'>,
): (req: FastifyRequest) => Promise<void> {
  if (!app.hasRequestDecorator('halftoneAppId')) app.decorateRequest('halftoneAppId', '');
  return async (req) => {
    const key = req.headers['x-halftone-key'];
    if (typeof key !== 'string' || key === '') throw authClientKeyMissing();
    const appId = index.appIdForKey(key);
    if (appId === undefined) throw authClientKeyInvalid();
    req.halftoneAppId = appId;
  };
}
