import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';

let h: TestApp;
let url: string;
let streamUri: string;

/** Opens a raw SSE request and collects what arrives. */
function open(path: string): Promise<{ status: number; headers: Record<string, unknown>; text: () => string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { accept: 'text/event-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('error', () => {});
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: () => text, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  h = await createTestApp({ HALFTONE_FLAGS_SSE_MAX_CONNECTIONS: '1', HALFTONE_FLAGS_SSE_HEARTBEAT_MS: '1000' });
  const key = await h.createApp('demo');
  await h.api.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(h.api.server.address() as { port: number }).port}`;
  const bulk = await fetch(`${url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: '{"context":{}}' });
  streamUri = ((await bulk.json()) as { eventStreams: { endpoint: { requestUri: string } }[] }).eventStreams[0]?.endpoint.requestUri as string;
});
afterAll(async () => {
  await h.close();
});

describe('config event streams', () => {
  it('streams events with heartbeats, refuses a wrong token and streams over the limit', async () => {
    const wrong = await open(streamUri.replace(/[^/]{32}$/, 'A'.repeat(32)));
    expect(wrong.status).toBe(403);
    wrong.close();
    const s = await open(streamUri);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    const extra = await open(streamUri);
    expect(extra.status).toBe(429);
    expect(extra.headers['retry-after']).toBe('5');
    extra.close();
    await h.api.inject({ method: 'PUT', url: '/admin/v1/apps/demo/config/production/switches/kill', headers: h.admin, payload: { on: false } });
    await new Promise((r) => setTimeout(r, 1300));
    expect(s.text()).toMatch(/^retry: 1000\n: connected\n\n/);
    expect(s.text()).toMatch(/event: message\ndata: \{"type":"refetchEvaluation","etag":"1","lastModified":\d+\}\n\n/);
    expect(s.text()).toMatch(/: ping\n\n/);
    s.close();
    for (let i = 0; i < 50 && h.dynamicConfig.streams.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.dynamicConfig.streams.size).toBe(0);
  });
});
