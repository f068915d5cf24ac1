import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeHalftone, type Halftone } from './compose.js';
import { loadConfig } from './platform/config/load-config.js';
import { createScaleOutEnvironment, type ScaleOutEnvironment } from './platform/sql/test-databases.test-helpers.js';
import { buildYazlZip } from './slices/packages/archive.test-helpers.js';
import { multipart } from './test-app.test-helpers.js';

const pgUrl = process.env.HALFTONE_TEST_PG_URL;
const redisUrl = process.env.HALFTONE_TEST_REDIS_URL;
const TOKEN = 'hat_scale_out_test_token_42';

/** Polls `fn` until it returns true or ten seconds pass (the machine may be busy). */
async function eventually(fn: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fn();
}

describe.skipIf(!pgUrl || !redisUrl)(
  'two server processes on one PostgreSQL database and one Redis bus (needs HALFTONE_TEST_PG_URL and HALFTONE_TEST_REDIS_URL)',
  () => {
    let so: ScaleOutEnvironment | undefined;
    let a: Halftone;
    let b: Halftone;
    let key: string;

    const admin = async (node: Halftone) =>
      (await node.api.inject({ method: 'GET', url: '/admin/v1/apps', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode;

    beforeAll(async () => {
      so = await createScaleOutEnvironment({ pgUrl: pgUrl as string, redisUrl: redisUrl as string, token: TOKEN, prefix: 'halftone-scale-' });
      const env = so.env;
      a = await composeHalftone(loadConfig({ env }));
      b = await composeHalftone(loadConfig({ env }));
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await so?.cleanup();
    });

    const check = async (node: Halftone, version?: string) => {
      const res = await node.api.inject({
        method: 'POST',
        url: '/client/v1/check',
        headers: { 'x-halftone-key': key },
        payload: { deviceId: 'd-1', platform: 'android', appVersion: '8.0', modules: [{ name: 'home', ...(version ? { version } : {}) }] },
      });
      return res.statusCode === 200 ? (res.json().modules[0] as { action: string; version?: string }) : { action: `HTTP ${res.statusCode}` };
    };

    it('a change made through one process is served by the other', async () => {
      expect(await admin(a)).toBe(200);
      expect(await admin(b)).toBe(200);
      const app = await a.api.inject({
        method: 'POST',
        url: '/admin/v1/apps',
        headers: { authorization: `Bearer ${TOKEN}` },
        payload: { id: 'demo', platforms: ['android'] },
      });
      key = app.json().clientKey;
      // B learns the new client key from the bus.
      expect(await eventually(async () => (await check(b)).action === 'none')).toBe(true);

      const body = multipart({ module: 'home', version: '1.0.0', kind: 'h5' }, { name: 'p.zip', data: await buildYazlZip({ 'index.html': Buffer.from('v1') }) });
      const pkg = await a.api.inject({
        method: 'POST',
        url: '/admin/v1/apps/demo/packages',
        headers: { authorization: `Bearer ${TOKEN}`, ...body.headers },
        payload: body.payload,
      });
      expect(pkg.statusCode).toBe(201);
      const rel = await a.api.inject({
        method: 'POST',
        url: '/admin/v1/apps/demo/releases',
        headers: { authorization: `Bearer ${TOKEN}` },
        payload: { module: 'home', version: '1.0.0', percent: 100 },
      });
      const releaseId = rel.json().id as string;
      expect(await eventually(async () => (await check(b)).action === 'update')).toBe(true);

      await a.api.inject({ method: 'POST', url: `/admin/v1/releases/${releaseId}/halt`, headers: { authorization: `Bearer ${TOKEN}` }, payload: {} });
      expect(await eventually(async () => (await check(b)).action === 'none')).toBe(true);

      // Roll back on A, install reported late to B: A's checks send that device back.
      await a.api.inject({ method: 'POST', url: `/admin/v1/releases/${releaseId}/rollback`, headers: { authorization: `Bearer ${TOKEN}` }, payload: {} });
      expect(await eventually(async () => (await check(a, '1.0.0')).action === 'none')).toBe(true);
      const report = await b.api.inject({
        method: 'POST',
        url: '/client/v1/report',
        headers: { 'x-halftone-key': key },
        payload: { deviceId: 'd-1', events: [{ type: 'install', releaseId, ok: true, fromVersion: '0.5.0' }] },
      });
      expect(report.json().accepted).toBe(1);
      expect(await eventually(async () => (await check(a, '1.0.0')).action === 'rollback')).toBe(true);
    });
  },
);
