import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeHalftone, type Halftone } from './compose.js';
import { loadConfig } from './platform/config/load-config.js';
import { createScaleOutEnvironment, type ScaleOutEnvironment } from './platform/sql/test-databases.test-helpers.js';
import { type RunningGateway, serveGateway } from './serve.js';

const pgUrl = process.env.HALFTONE_TEST_PG_URL;
const redisUrl = process.env.HALFTONE_TEST_REDIS_URL;
const TOKEN = 'hat_gateway_role_test_token_7';
const HOST = 'api.example.com';
/** The promise: a change reaches every gateway process within one second. */
const WITHIN_MS = 1000;

/** A real upstream answering its own name. */
async function upstream(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** GET / on the gateway as `HOST` with `X-Uid: uid`: the upstream it chose (header) and the body. */
function viaGateway(gatewayUrl: string, uid: string): Promise<{ status: number; upstream: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gatewayUrl}/`, { headers: { host: HOST, 'x-uid': uid }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = res.headers['x-halftone-upstream'];
        resolve({ status: res.statusCode ?? 0, upstream: Array.isArray(h) ? h[0] : h, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls until `uid` is routed to `expected` or WITHIN_MS pass; returns how long it took (ms) or undefined. */
async function routedWithin(gatewayUrl: string, uid: string, expected: string): Promise<number | undefined> {
  const start = Date.now();
  for (;;) {
    const r = await viaGateway(gatewayUrl, uid);
    if (r.upstream === expected && r.body === expected) return Date.now() - start;
    if (Date.now() - start > WITHIN_MS) return undefined;
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe.skipIf(!pgUrl || !redisUrl)(
  'role gateway in its own process, policies from an api process over PostgreSQL + Redis (needs HALFTONE_TEST_PG_URL and HALFTONE_TEST_REDIS_URL)',
  () => {
    let so: ScaleOutEnvironment | undefined;
    let api: Halftone;
    let gw: RunningGateway;
    const upstreams: Server[] = [];
    const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
      api.api.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(payload === undefined ? {} : { payload }) });

    beforeAll(async () => {
      so = await createScaleOutEnvironment({ pgUrl: pgUrl as string, redisUrl: redisUrl as string, token: TOKEN, prefix: 'halftone-gwrole-', extra: { HALFTONE_DELTA_WORKERS: '0' } });
      const env = so.env;
      const stable = await upstream('stable');
      const beta = await upstream('beta');
      upstreams.push(stable.server, beta.server);
      // The api process: the all-in-one composition (admin REST), no gateway listener of its own.
      api = await composeHalftone(loadConfig({ env }));
      expect((await admin('PUT', '/admin/v1/gateway/upstreams/beta', { urls: [beta.url] })).statusCode).toBe(200);
      // The gateway process: only the gateway role; `stable` from its own flags, `beta` from the store.
      gw = await serveGateway({
        env,
        gatewayPort: 0,
        upstreams: { stable: [stable.url] },
        defaultUpstream: 'stable',
        print: () => {},
        handleSignals: false,
      });
    });
    afterAll(async () => {
      await gw?.close();
      await api?.close();
      for (const s of upstreams) await new Promise((r) => s.close(r));
      await so?.cleanup();
    });

    it('a policy created, bound and changed through the api process is honoured by the gateway within 1 s', async () => {
      expect(gw.config.role).toBe('gateway');
      // Nothing bound yet: the default upstream.
      expect(await viaGateway(gw.gatewayUrl, '17')).toMatchObject({ status: 200, upstream: 'stable', body: 'stable' });

      let res = await admin('POST', '/admin/v1/gateway/policies', {
        levels: [{ divtype: 'uidsuffix', divdata: [{ suffix: '7', upstream: 'beta' }] }],
      });
      expect(res.statusCode, res.body).toBe(201);
      const { id } = res.json() as { id: string };
      res = await admin('PUT', `/admin/v1/gateway/hosts/${HOST}`, { policyId: id });
      expect(res.statusCode, res.body).toBe(200);
      expect(await routedWithin(gw.gatewayUrl, '17', 'beta'), 'bound policy seen by the gateway process').toBeDefined();
      expect(await viaGateway(gw.gatewayUrl, '18')).toMatchObject({ upstream: 'stable' });

      // Change the policy in place: uid suffix 8 now goes to beta, 7 back to the default.
      res = await admin('PUT', `/admin/v1/gateway/policies/${id}`, {
        levels: [{ divtype: 'uidsuffix', divdata: [{ suffix: '8', upstream: 'beta' }] }],
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(await routedWithin(gw.gatewayUrl, '18', 'beta'), 'changed policy seen by the gateway process').toBeDefined();
      expect(await viaGateway(gw.gatewayUrl, '17')).toMatchObject({ upstream: 'stable' });

      // Unbinding the host: back to the default upstream.
      res = await admin('DELETE', `/admin/v1/gateway/hosts/${HOST}`);
      expect(res.statusCode).toBe(204);
      expect(await routedWithin(gw.gatewayUrl, '18', 'stable'), 'unbinding seen by the gateway process').toBeDefined();
    });
  },
);

describe('role gateway: configuration', () => {
  const refusal = async (env: Record<string, string>, gatewayPort?: number) => {
    try {
      await serveGateway({ env: { HALFTONE_LOG_LEVEL: 'silent', ...env }, gatewayPort, print: () => {}, handleSignals: false });
      return undefined;
    } catch (err) {
      return err as { code?: string; detail?: string };
    }
  };

  it('is refused on SQLite and the in-process bus, saying why', async () => {
    const err = await refusal({}, 0);
    expect(err?.code).toBe('HT_CONFIG_INVALID');
    expect(err?.detail).toContain('role gateway');
    expect(err?.detail).toContain('postgres://');
    expect(err?.detail).toContain('redis://');
  });

  it('is refused without a gateway port', async () => {
    const err = await refusal({ HALFTONE_DB_URL: 'postgres://u@127.0.0.1:1/db', HALFTONE_BUS_URL: 'redis://127.0.0.1:1' });
    expect(err?.code).toBe('HT_CONFIG_INVALID');
    expect(err?.detail).toContain('HALFTONE_GATEWAY_PORT');
  });

  it('is not run by the all-in-one composition', async () => {
    const config = loadConfig({
      env: { HALFTONE_ROLE: 'gateway', HALFTONE_DB_URL: 'postgres://u@127.0.0.1:1/db', HALFTONE_BUS_URL: 'redis://127.0.0.1:1' },
    });
    await expect(composeHalftone(config)).rejects.toMatchObject({ code: 'HT_CONFIG_INVALID', detail: expect.stringContaining('halftone gateway') });
  });
});
