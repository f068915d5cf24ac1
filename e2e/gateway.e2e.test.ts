import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './harness.js';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

/** node:http with a keep-alive-less request (fetch cannot set Host). */
function send(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gray gateway against the real server', () => {
  let server: RunningServer;
  let gateway: string;
  const upstreams: Server[] = [];
  const urls: Record<string, string> = {};

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/admin/v1/gateway${path}`, {
      method,
      headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  };
  const createPolicy = async (levels: unknown[]) => {
    const res = await admin('POST', '/policies', { levels });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body?.id as string;
  };
  const bind = async (host: string, policyId: string) => {
    const res = await admin('PUT', `/hosts/${host}`, { policyId });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const via = (uid: string, host = 'app.example.com') => send(gateway, '/hello?x=1', { host, 'x-uid': uid });

  beforeAll(async () => {
    for (const name of ['alpha', 'beta', 'gamma']) {
      const s = createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      urls[name] = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    }
    server = await startServer({
      HALFTONE_GATEWAY_PORT: '0',
      HALFTONE_GATEWAY_UPSTREAMS: JSON.stringify({ alpha: [urls.alpha], beta: [urls.beta] }),
      HALFTONE_GATEWAY_DEFAULT_UPSTREAM: 'alpha',
    });
    const m = /gateway\s+(http:\/\/\S+)/.exec(server.output());
    expect(m?.[1]).toBeDefined();
    gateway = m?.[1] as string;
    // The third upstream comes from the admin API.
    expect((await admin('PUT', '/upstreams/gamma', { urls: [urls.gamma] })).status).toBe(200);
    expect((await admin('PUT', '/upstreams/down', { urls: ['http://127.0.0.1:1'] })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    for (const s of upstreams) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('routes each uid to the upstream its policy group names', async () => {
    const id = await createPolicy([
      { divtype: 'uidrange', divdata: [{ range: { start: 1, end: 100 }, upstream: 'beta' }] },
      { divtype: 'uidsuffix', divdata: [{ suffix: '7', upstream: 'gamma' }] },
    ]);
    await bind('app.example.com', id);
    const expected: Record<string, string> = { '50': 'beta', '100': 'beta', '107': 'gamma', '1007': 'gamma', '108': 'alpha', abc: 'alpha' };
    for (const [uid, name] of Object.entries(expected)) {
      const res = await via(uid);
      expect(res.status).toBe(200);
      expect(res.text, `uid ${uid}`).toBe(name);
      expect(res.headers['x-halftone-upstream']).toBe(name);
    }
    // No X-Uid, or another host: the default upstream.
    expect((await send(gateway, '/', { host: 'app.example.com' })).text).toBe('alpha');
    expect((await via('50', 'other.example.com')).text).toBe('alpha');
  });

  it('switches the policy at runtime with zero failed requests, visible right after the change', async () => {
    const before = await createPolicy([{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'beta' }] }]);
    await bind('app.example.com', before);
    const after = await createPolicy([{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'gamma' }] }]);

    let running = true;
    let switchedAt = Number.POSITIVE_INFINITY;
    const failures: string[] = [];
    let total = 0;
    let lateBeta = 0;
    const worker = async (w: number) => {
      let i = 0;
      while (running) {
        const uid = `${w}${i++}1`;
        const started = performance.now();
        try {
          const res = await via(uid);
          total++;
          if (res.status !== 200 || (res.text !== 'beta' && res.text !== 'gamma')) failures.push(`${res.status} ${res.text}`);
          if (res.text === 'beta' && started > switchedAt) lateBeta++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w + 1));
    await new Promise((r) => setTimeout(r, 500));
    await bind('app.example.com', after);
    switchedAt = performance.now();
    expect((await via('11')).text).toBe('gamma');
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThan(100);
    expect(lateBeta).toBe(0);
  });

  it('answers 502 problem+json when the chosen upstream is down', async () => {
    const id = await createPolicy([{ divtype: 'uidappoint', divdata: [{ uidset: ['666'], upstream: 'down' }] }]);
    await bind('down.example.com', id);
    const res = await via('666', 'down.example.com');
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['x-halftone-upstream']).toBe('down');
    expect((JSON.parse(res.text) as { code: string }).code).toBe('HT_GATEWAY_UPSTREAM_UNREACHABLE');
    // Other uids on that host still reach the default.
    expect((await via('667', 'down.example.com')).text).toBe('alpha');
  });
});
