// Two server processes (two compositions) on one PostgreSQL database and one Redis bus: a config
// change made through one is delivered by the other at once (its compiled environment dropped on
// the bus), its event streams hear `refetchEvaluation`, and a test key created on one is known to
// the other.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeHalftone, type Halftone } from '../../compose.js';
import { loadConfig } from '../../platform/config/load-config.js';
import { createScaleOutEnvironment, type ScaleOutEnvironment } from '../../platform/sql/test-databases.test-helpers.js';

const pgUrl = process.env.HALFTONE_TEST_PG_URL;
const redisUrl = process.env.HALFTONE_TEST_REDIS_URL;
const TOKEN = 'hat_config_int_test_token_42';
const auth = { authorization: `Bearer ${TOKEN}` };

async function eventually(fn: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fn();
}

describe.skipIf(!pgUrl || !redisUrl)('config across two processes (needs HALFTONE_TEST_PG_URL and HALFTONE_TEST_REDIS_URL)', () => {
  let so: ScaleOutEnvironment | undefined;
  let a: Halftone;
  let b: Halftone;
  let prodKey: string;

  const values = async (node: Halftone, key: string) =>
    (
      await node.api.inject({ method: 'POST', url: '/client/v1/config', headers: { 'x-api-key': key }, payload: { deviceId: 'd-1', appVersion: '8.3' } })
    ).json() as { values?: Record<string, unknown> };

  beforeAll(async () => {
    so = await createScaleOutEnvironment({ pgUrl: pgUrl as string, redisUrl: redisUrl as string, token: TOKEN, prefix: 'halftone-config-int-', extra: { HALFTONE_DELTA_WORKERS: '0' } });
    const env = so.env;
    a = await composeHalftone(loadConfig({ env }));
    b = await composeHalftone(loadConfig({ env }));
    const created = await a.api.inject({ method: 'POST', url: '/admin/v1/apps', headers: auth, payload: { id: 'demo', platforms: ['android'] } });
    prodKey = created.json().clientKey;
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await so?.cleanup();
  });

  it('a change on one process is served by the other and pushed to its event streams', async () => {
    await a.api.inject({ method: 'PUT', url: '/admin/v1/apps/demo/config/production/items/kill', headers: auth, payload: { type: 'boolean', value: true } });
    expect(await eventually(async () => (await values(b, prodKey)).values?.kill === true)).toBe(true);

    await b.api.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(b.api.server.address() as { port: number }).port}`;
    const bulk = await fetch(`${url}/ofrep/v1/evaluate/flags`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${prodKey}` },
      body: JSON.stringify({ context: { targetingKey: 'd-1' } }),
    });
    const stream = new EventSource(new URL(((await bulk.json()) as { eventStreams: { endpoint: { requestUri: string } }[] }).eventStreams[0]?.endpoint.requestUri as string, url).href);
    try {
      await new Promise<void>((resolve, reject) => {
        stream.onopen = () => resolve();
        stream.onerror = () => reject(new Error('stream failed'));
      });
      const heard = new Promise<number>((resolve) => {
        stream.onmessage = () => resolve(Date.now());
      });
      const t0 = Date.now();
      await a.api.inject({ method: 'PUT', url: '/admin/v1/apps/demo/config/production/switches/kill', headers: auth, payload: { on: false } });
      expect((await heard) - t0).toBeLessThan(1000);
      expect((await values(b, prodKey)).values?.kill).toBe(false);
    } finally {
      stream.close();
    }
  });

  it('a test key created on one process is accepted by the other', async () => {
    const keys = (await a.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/keys', headers: auth })).json() as { test: string };
    await a.api.inject({ method: 'PUT', url: '/admin/v1/apps/demo/config/test/items/colour', headers: auth, payload: { type: 'string', value: 'red' } });
    expect(await eventually(async () => (await values(b, keys.test)).values?.colour === 'red')).toBe(true);
  });
});
