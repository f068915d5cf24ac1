import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AbTestingAdmin } from './abtesting-admin.js';
import { isLoopback } from './gateway-proxy.js';

export interface AbTestingRoutesDeps {
  readonly admin: AbTestingAdmin;
  /** The admin-token check (absent only in tests of the raw dialects). */
  readonly requireAdmin?: (req: FastifyRequest) => Promise<void>;
}

const V1_RE = /^\/admin\/(policy|runtime)\/([A-Za-z_]+)\/?$/;

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return { path: q < 0 ? url : url.slice(0, q), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

function hostOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  const colon = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Answers one ABTestingGateway-dialect call, or returns undefined when the path is not one of
 * them. The reference answers HTTP 200 with a one-line JSON body for every outcome.
 */
export async function answerAbTesting(
  admin: AbTestingAdmin,
  url: string,
  body: string,
  host: string | undefined,
): Promise<string | undefined> {
  const { path, query } = splitUrl(url);
  if (path === '/ab_admin' || path.startsWith('/ab_admin/')) {
    return `${JSON.stringify(await admin.action(query.get('action'), { query, body }))}\n`;
  }
  const m = V1_RE.exec(path);
  if (m !== null) {
    return `${JSON.stringify(await admin.v1(m[1] as string, m[2] as string, { query, body }, hostOf(host)))}\n`;
  }
  return undefined;
}

/** Whether a path belongs to one of the ABTestingGateway admin dialects. */
export function isAbTestingPath(url: string): boolean {
  const { path } = splitUrl(url);
  return path === '/ab_admin' || path.startsWith('/ab_admin/') || V1_RE.test(path);
}

/**
 * The ABTestingGateway admin dialects on the admin port: `/ab_admin?action=…` and the v1.0
 * `/admin/policy/*`, `/admin/runtime/*`. Any method, raw bodies (the reference reads the POST body
 * as JSON whatever its content type), the admin token like every admin call.
 */
export async function abTestingRoutes(app: FastifyInstance, deps: AbTestingRoutesDeps): Promise<void> {
  if (deps.requireAdmin !== undefined) app.addHook('onRequest', deps.requireAdmin);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const out = await answerAbTesting(deps.admin, req.url, body, req.headers.host);
    return reply
      .code(200)
      .header('content-type', 'application/json')
      .send(out ?? `${JSON.stringify({ code: 50501, desc: 'error during action of ' })}\n`);
  };
  const schema = { hide: true };
  app.all('/ab_admin', { schema }, handler);
  app.all('/ab_admin/*', { schema }, handler);
  app.all('/admin/policy/:op', { schema }, handler);
  app.all('/admin/runtime/:op', { schema }, handler);
}

const MAX_BODY = 1024 * 1024;

/**
 * For the gateway port with `gateway.adminCompat`: serves the two dialects to loopback peers
 * (no token, like the original's admin server) and returns true; returns false for every other
 * request, which the caller proxies as usual.
 */
export function abTestingGatewayHandler(admin: AbTestingAdmin): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    if (!isAbTestingPath(url) || !isLoopback(req.socket.remoteAddress)) return false;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const host = Array.isArray(req.headers.host) ? req.headers.host[0] : req.headers.host;
      void answerAbTesting(admin, url, Buffer.concat(chunks).toString('utf8'), host).then(
        (out) => {
          const body = out ?? '';
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
        },
        () => res.writeHead(500).end(),
      );
    });
    return true;
  };
}
