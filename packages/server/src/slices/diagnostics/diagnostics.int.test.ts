import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeHalftone, type Halftone } from '../../compose.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { createScaleOutEnvironment, type ScaleOutEnvironment } from '../../platform/sql/test-databases.test-helpers.js';
import { diagnosticsBlobUrl } from './create-diagnostics-slice.js';

const pgUrl = process.env.HALFTONE_TEST_PG_URL;
const redisUrl = process.env.HALFTONE_TEST_REDIS_URL;
const TOKEN = 'hat_diagnostics_int_token_42';

async function eventually(fn: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fn();
}

describe('diagnosticsBlobUrl', () => {
  const diagnostics = { uploadMaxBytes: 1, defaultExpirySeconds: 1, maxExpirySeconds: 1, sweepIntervalMs: 1000 };
  it('keeps uploads out of the package blob store', () => {
    expect(diagnosticsBlobUrl({ blobUrl: 'memory:', diagnostics })).toBe('memory:');
    expect(diagnosticsBlobUrl({ blobUrl: 'file:/srv/ht/blobs', diagnostics })).toBe('file:/srv/ht/diagnostics');
    expect(diagnosticsBlobUrl({ blobUrl: 'file:///srv/ht/blobs/', diagnostics })).toBe('file:/srv/ht/diagnostics');
    expect(diagnosticsBlobUrl({ blobUrl: 'file:/srv/ht/blobs', diagnostics: { ...diagnostics, blobUrl: 'file:/x' } })).toBe('file:/x');
  });
});

describe.skipIf(!pgUrl || !redisUrl)(
  'diagnostics across two server processes on one PostgreSQL database and one Redis bus (needs HALFTONE_TEST_PG_URL and HALFTONE_TEST_REDIS_URL)',
  () => {
    let so: ScaleOutEnvironment | undefined;
    let a: Halftone;
    let b: Halftone;
    let key: string;

    beforeAll(async () => {
      so = await createScaleOutEnvironment({ pgUrl: pgUrl as string, redisUrl: redisUrl as string, token: TOKEN, prefix: 'halftone-diag-int-', extra: { HALFTONE_DELTA_WORKERS: '0' } });
      const env = so.env;
      a = await composeHalftone(loadConfig({ env }));
      b = await composeHalftone(loadConfig({ env }));
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await so?.cleanup();
    });

    const commandsFor = async (node: Halftone, deviceId: string) => {
      const res = await node.api.inject({
        method: 'POST',
        url: '/client/v1/check',
        headers: { 'x-halftone-key': key },
        payload: { deviceId, platform: 'android', appVersion: '8.0.0', modules: [] },
      });
      expect(res.statusCode).toBe(200);
      return ((res.json() as { commands?: { id: string }[] }).commands ?? []).map((c) => c.id);
    };
    const admin = (node: Halftone, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      node.api.inject({ method, url, headers: { authorization: `Bearer ${TOKEN}` }, ...(payload ? { payload } : {}) });

    it('a command created, uploaded or cancelled through one process is seen by the other’s warm feed', async () => {
      const app = await admin(a, 'POST', '/admin/v1/apps', { id: 'demo', platforms: ['android'] });
      expect(app.statusCode).toBe(201);
      key = (app.json() as { clientKey: string }).clientKey;
      await eventually(async () => (await b.api.inject({ method: 'POST', url: '/client/v1/ping', headers: { 'x-halftone-key': key } })).statusCode === 200);
      // Warm b's feed for the app (empty), then create through a.
      expect(await commandsFor(b, 'dev-1')).toEqual([]);
      const created = await admin(a, 'POST', '/admin/v1/apps/demo/diagnostics', { deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 6 });
      expect(created.statusCode).toBe(201);
      const id = (created.json() as { id: string }).id;
      expect(await eventually(async () => (await commandsFor(b, 'dev-1')).includes(id))).toBe(true);
      // Delivered through b (written at b's next flush or admin read), visible through a.
      await admin(b, 'GET', `/admin/v1/apps/demo/diagnostics/${id}`);
      expect((await admin(a, 'GET', `/admin/v1/apps/demo/diagnostics/${id}`)).json()).toMatchObject({ state: 'delivered', deliveredTo: 'dev-1' });
      // Uploaded through b: a stops handing it out and serves the file.
      expect(await commandsFor(a, 'dev-1')).toEqual([id]);
      const up = await b.api.inject({
        method: 'POST',
        url: `/client/v1/diagnostics/${id}`,
        headers: { 'x-halftone-key': key, 'x-halftone-device-id': 'dev-1', 'content-type': 'text/plain' },
        payload: 'log line\n',
      });
      expect(up.statusCode, up.body).toBe(200);
      expect(await eventually(async () => (await commandsFor(a, 'dev-1')).length === 0)).toBe(true);
      const down = await admin(a, 'GET', `/admin/v1/apps/demo/diagnostics/${id}/upload`);
      expect(down.body).toBe('log line\n');
      // Cancelled through a: b stops handing it out.
      const second = (await admin(a, 'POST', '/admin/v1/apps/demo/diagnostics', { userId: 'alice', kind: 'upload_crash_dumps' })).json() as { id: string };
      expect(await eventually(async () => {
        const res = await b.api.inject({
          method: 'POST',
          url: '/client/v1/check',
          headers: { 'x-halftone-key': key },
          payload: { deviceId: 'dev-9', userId: 'alice', platform: 'android', appVersion: '8.0.0', modules: [] },
        });
        return JSON.stringify(res.json()).includes(second.id);
      })).toBe(true);
      expect((await admin(a, 'DELETE', `/admin/v1/apps/demo/diagnostics/${second.id}`)).statusCode).toBe(200);
      expect(await eventually(async () => {
        const res = await b.api.inject({
          method: 'POST',
          url: '/client/v1/check',
          headers: { 'x-halftone-key': key },
          payload: { deviceId: 'dev-9', userId: 'alice', platform: 'android', appVersion: '8.0.0', modules: [] },
        });
        return (res.json() as { commands?: unknown[] }).commands === undefined;
      })).toBe(true);
    });
  },
);
