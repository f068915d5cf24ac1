import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';
import { type GatewayListener, listenGateway } from './gateway-listener.js';
import { GatewayProxy, isLoopback } from './gateway-proxy.js';
import { parseRequestHead, type RequestHead } from './http1.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: () => { code: string };
}

/** node:http, since fetch cannot set Host. */
function send(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as { code: string } });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('gateway proxy', () => {
  let t: TestApp;
  let gw: GatewayListener;
  let gwUrl: string;
  const upstreams: Server[] = [];
  const seen: Seen[] = [];

  const upstream = async (name: string, delayMs = 0) => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, x-private', 'x-private': 'secret' });
          res.end(name);
        }, delayMs);
      });
    });
    upstreams.push(s);
    return listen(s);
  };

  beforeEach(async () => {
    seen.length = 0;
    const a = await upstream('a');
    const b = await upstream('b');
    const slow = await upstream('slow', 2_000);
    t = await createTestApp({
      HALFTONE_GATEWAY_UPSTREAMS: JSON.stringify({ a: [a], b: [`${b}/base`], slow: [slow], down: ['http://127.0.0.1:1'] }),
      HALFTONE_GATEWAY_DEFAULT_UPSTREAM: 'a',
      HALFTONE_GATEWAY_TIMEOUT_MS: '300',
    });
    gw = await listenGateway({ proxy: t.gatewayProxy, gateway: t.gateway, port: 0, host: '127.0.0.1', adminCompat: false });
    gwUrl = gw.url;
  });
  afterEach(async () => {
    await gw.close();
    for (const s of upstreams.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await t.close();
  });

  const bind = async (host: string, levels: unknown[]) => {
    const p = await t.api.inject({ method: 'POST', url: '/admin/v1/gateway/policies', headers: t.admin, payload: { levels } });
    expect(p.statusCode, p.body).toBe(201);
    const res = await t.api.inject({ method: 'PUT', url: `/admin/v1/gateway/hosts/${host}`, headers: t.admin, payload: { policyId: p.json().id } });
    expect(res.statusCode, res.body).toBe(200);
  };

  it('maps a configured location to the runtime key <host><suffix> (first match, case-insensitive, path only)', async () => {
    const table = {
      hosts: new Map<string, { matcher: () => { upstream: string } | undefined }>([
        ['api.weibo.cn', { matcher: () => ({ upstream: 'root' }) }],
      ]),
      upstreams: new Map([
        ['root', ['http://127.0.0.1:1']],
        ['stable', ['http://127.0.0.1:2']],
      ]),
      defaultUpstream: 'stable',
    };
    const proxy = new GatewayProxy({
      gateway: { table } as unknown as ConstructorParameters<typeof GatewayProxy>[0]['gateway'],
      trustedProxies: [],
      timeoutMs: 1000,
      locations: [
        { pattern: '/abc/(i|f)/', suffix: '.abc' },
        { pattern: '^/abc/', suffix: '.other' },
      ],
    });
    const host = 'API.weibo.cn:8030';
    const req = (url: string) => parseRequestHead(`GET ${url} HTTP/1.1\r\nHost: ${host}`) as RequestHead;
    expect(proxy.runtimeKey(host, '/abc/I/x?y=1')).toBe('api.weibo.cn.abc');
    expect(proxy.runtimeKey(host, '/abc/z')).toBe('api.weibo.cn.other');
    expect(proxy.runtimeKey(host, '/x?q=/abc/i/')).toBe('api.weibo.cn');
    // Locations match the normalised path ($uri): escapes decoded, slashes merged, dots resolved.
    expect(proxy.runtimeKey(host, '/%61bc/%69/x')).toBe('api.weibo.cn.abc');
    expect(proxy.runtimeKey(host, '//abc//f/')).toBe('api.weibo.cn.abc');
    expect(proxy.runtimeKey(host, '/x/../abc/./i/')).toBe('api.weibo.cn.abc');
    expect(proxy.runtimeKey(host, '/../abc/i/')).toBeUndefined();
    expect(proxy.choose(req('/'), '127.0.0.1')?.name).toBe('root');
    // The location has its own key: no binding there means the default, not the host's binding.
    expect(proxy.choose(req('/abc/i/x'), '127.0.0.1')?.name).toBe('stable');
    await proxy.close();
  });

  it('routes by policy, falls back to the default, streams bodies and sets forwarding headers', async () => {
    await bind('api.example.com', [
      { divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'b' }] },
      { divtype: 'arg_city', divdata: [{ city: 'BJ', upstream: 'b' }] },
    ]);
    const get = (path: string, headers: Record<string, string> = {}) =>
      send(gwUrl, path, { headers: { host: 'api.example.com', ...headers } });

    let res = await get('/x?y=1', { 'x-uid': '31' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('b');
    expect(res.headers['x-halftone-upstream']).toBe('b');
    expect(res.headers['x-private']).toBeUndefined();
    expect(seen.at(-1)?.url).toBe('/base/x?y=1');
    expect(seen.at(-1)?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.at(-1)?.headers['x-forwarded-host']).toBe('api.example.com');
    expect(seen.at(-1)?.headers['x-forwarded-proto']).toBe('http');

    res = await get('/x', { 'x-uid': '32' });
    expect(res.text).toBe('a');
    res = await get('/x?city=BJ');
    expect(res.text).toBe('b');
    res = await send(gwUrl, '/x', { headers: { host: 'other.example.com', 'x-uid': '31' } });
    expect(res.text).toBe('a'); // other host: no policy → default

    const body = 'x'.repeat(200_000);
    res = await send(gwUrl, '/post', { method: 'POST', body, headers: { host: 'api.example.com', 'x-uid': '1' } });
    expect(res.text).toBe('b');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body });
  });

  it('answers 502 for a down upstream, 504 for a slow one, 502 when there is no upstream', async () => {
    await bind('down.example.com', [{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'down' }, { suffix: '2', upstream: 'slow' }] }]);
    let res = await send(gwUrl, '/', { headers: { host: 'down.example.com', 'x-uid': '1' } });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('HT_GATEWAY_UPSTREAM_UNREACHABLE');
    expect(res.headers['x-halftone-upstream']).toBe('down');

    res = await send(gwUrl, '/', { headers: { host: 'down.example.com', 'x-uid': '2' } });
    expect(res.status).toBe(504);
    expect(res.json().code).toBe('HT_GATEWAY_UPSTREAM_TIMEOUT');

    await gw.close();
    await t.close();
    t = await createTestApp({ HALFTONE_GATEWAY_UPSTREAMS: '{}' });
    gw = await listenGateway({ proxy: t.gatewayProxy, gateway: t.gateway, port: 0, host: '127.0.0.1', adminCompat: false });
    res = await send(gw.url, '/');
    expect(res.status).toBe(502);
    expect(res.json().code).toBe('HT_GATEWAY_NO_UPSTREAM');
  });
  it('counts proxied requests per upstream, policy and status class, with latency', async () => {
    await bind('api.example.com', [{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'b' }] }]);
    const policyId = (await t.gateway.getHost('api.example.com')).policyId;
    await send(gwUrl, '/x', { headers: { host: 'api.example.com', 'x-uid': '1' } });
    await send(gwUrl, '/x', { headers: { host: 'api.example.com', 'x-uid': '1' } });
    await send(gwUrl, '/x', { headers: { host: 'other.example.com' } });
    const text = await t.gatewayProxy.metrics.text();
    expect(text).toContain(`halftone_gateway_requests_total{upstream="b",policy="${policyId}",code_class="2xx"} 2`);
    expect(text).toContain('halftone_gateway_requests_total{upstream="a",policy="none",code_class="2xx"} 1');
    expect(text).toContain('halftone_gateway_request_duration_seconds_count{upstream="b"} 2');
    expect(text).toContain('halftone_gateway_policy_store_ok 1');
    expect(text).toMatch(/halftone_gateway_policy_table_age_seconds \d/);

    // Served on the gateway port to loopback peers, and on the admin API with the token.
    const res = await send(gwUrl, '/metrics', { headers: { host: 'api.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toContain('halftone_gateway_requests_total{upstream="b"');
    const admin = await t.api.inject({ method: 'GET', url: '/admin/v1/gateway/metrics', headers: t.admin });
    expect(admin.statusCode).toBe(200);
    expect(admin.body).toContain('halftone_gateway_upstream_errors_total');
    expect((await t.api.inject({ method: 'GET', url: '/admin/v1/gateway/metrics' })).statusCode).toBe(401);
  });

  it('counts upstream errors on 502 and 504, and no_upstream', async () => {
    await bind('down.example.com', [{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'down' }, { suffix: '2', upstream: 'slow' }] }]);
    expect((await send(gwUrl, '/', { headers: { host: 'down.example.com', 'x-uid': '1' } })).status).toBe(502);
    expect((await send(gwUrl, '/', { headers: { host: 'down.example.com', 'x-uid': '2' } })).status).toBe(504);
    const text = await t.gatewayProxy.metrics.text();
    expect(text).toContain('halftone_gateway_upstream_errors_total{upstream="down",kind="unreachable"} 1');
    expect(text).toContain('halftone_gateway_upstream_errors_total{upstream="slow",kind="timeout"} 1');
    expect(text).toMatch(/halftone_gateway_requests_total\{upstream="down",policy="[^"]+",code_class="5xx"\} 1/);
    expect(text).toMatch(/halftone_gateway_requests_total\{upstream="slow",policy="[^"]+",code_class="5xx"\} 1/);

    const empty = new GatewayProxy({
      gateway: { table: { hosts: new Map(), upstreams: new Map(), defaultUpstream: undefined } },
      trustedProxies: [],
      timeoutMs: 1000,
    });
    const s = await listenGateway({ proxy: empty, port: 0, host: '127.0.0.1', adminCompat: false });
    const url = s.url;
    try {
      expect((await send(url, '/')).status).toBe(502);
      const m = await empty.metrics.text();
      expect(m).toContain('halftone_gateway_upstream_errors_total{upstream="none",kind="no_upstream"} 1');
      expect(m).toContain('halftone_gateway_requests_total{upstream="none",policy="none",code_class="5xx"} 1');
    } finally {
      await s.close();
    }
  });

  it('answers /healthz itself for loopback peers', async () => {
    const res = await send(gwUrl, '/healthz', { headers: { host: 'api.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-halftone-upstream']).toBeUndefined();
    const body = JSON.parse(res.text) as { ok: boolean; policies: { loadedAt: string; storeOk: boolean; revision: number }; upstreams: string[] };
    expect(body.ok).toBe(true);
    expect(body.policies.storeOk).toBe(true);
    expect(typeof body.policies.loadedAt).toBe('string');
    expect(body.policies.revision).toBeGreaterThan(0);
    expect(body.upstreams.sort()).toEqual(['a', 'b', 'down', 'slow']);
    // Other paths (and a query) are proxied as usual.
    expect((await send(gwUrl, '/healthz?x=1', { headers: { host: 'x' } })).headers['x-halftone-upstream']).toBe('a');
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
