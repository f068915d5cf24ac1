import type { FastifyRequest } from 'fastify';
import { authTokenInvalid, authTokenMissing } from '../../platform/errors/platform-errors.js';
import type { AppService } from './app-service.js';

/** An onRequest hook: admin calls need `Authorization: Bearer <admin token>`. */
export function createRequireAdmin(apps: Pick<AppService, 'isAdminToken'>) {
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') throw authTokenMissing();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || match[1] === undefined) throw authTokenMissing();
    if (!(await apps.isAdminToken(match[1]))) throw authTokenInvalid();
  };
}
