import { describe, expect, it } from 'vitest';
import { parseRequestHead, type RequestHead } from './http1.js';
import { GatewayProxy } from './gateway-proxy.js';
import { GatewayService, normaliseHost } from './gateway-service.js';
import type { GatewayHostBinding, GatewayPolicyGroup, GatewayStore, GatewayUpstream } from './gateway-store.js';

/** A store whose reads can be made to fail, as an unreachable database would. */
function flakyStore() {
  const state = { down: false };
  const upstreams: GatewayUpstream[] = [{ name: 'b', urls: ['http://127.0.0.1:2'], timeoutMs: null, updatedAt: '' }];
  const policy: GatewayPolicyGroup = {
    id: 'gwp-1',
    levels: [{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'b' }] }] as GatewayPolicyGroup['levels'],
    revision: 1,
    createdAt: '',
    updatedAt: '',
  };
  const hosts: GatewayHostBinding[] = [{ host: 'api.example.com', policyId: 'gwp-1', updatedAt: '' }];
  const check = () => {
    if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
  };
  const store = {
    listUpstreams: async () => (check(), upstreams),
    listHosts: async () => (check(), hosts),
    getPolicy: async (id: string) => (check(), id === policy.id ? policy : undefined),
  } as unknown as GatewayStore;
  return { store, state, hosts };
}

describe('gateway service: policy store unreachable', () => {
  it('keeps the last table, records the error, and recovers on the next good reload', async () => {
    const { store, state } = flakyStore();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const errors: string[] = [];
    const gw = new GatewayService({
      store,
      clock: { now: () => new Date(now) },
      configUpstreams: { a: ['http://127.0.0.1:1'] },
      defaultUpstream: 'a',
      onError: (_err, context) => errors.push(context),
    });
    expect(gw.status).toEqual({ loadedAt: undefined, revision: 0, storeOk: true });
    await gw.refresh();
    const loaded = gw.table;
    expect(loaded.hosts.has('api.example.com')).toBe(true);
    expect(gw.status).toEqual({ loadedAt: '2026-01-01T00:00:00.000Z', revision: 1, storeOk: true });

    state.down = true;
    now += 60_000;
    await expect(gw.refresh()).rejects.toThrow('ECONNREFUSED');
    expect(gw.table).toBe(loaded); // the last table stays in force
    expect(gw.status).toMatchObject({
      loadedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
      storeOk: false,
      lastError: 'connect ECONNREFUSED 127.0.0.1:5432',
      lastErrorAt: '2026-01-01T00:01:00.000Z',
    });

    // Health and metrics say so.
    const proxy = new GatewayProxy({ gateway: gw, trustedProxies: [], timeoutMs: 1000 });
    expect(proxy.health()).toEqual({
      ok: true,
      policies: {
        loadedAt: '2026-01-01T00:00:00.000Z',
        revision: 1,
        storeOk: false,
        lastError: 'connect ECONNREFUSED 127.0.0.1:5432',
        lastErrorAt: '2026-01-01T00:01:00.000Z',
      },
      upstreams: ['a', 'b'],
    });
    expect(await proxy.metrics.text()).toContain('halftone_gateway_policy_store_ok 0');
    const req = parseRequestHead('GET / HTTP/1.1\r\nHost: api.example.com\r\nX-Uid: 1') as RequestHead;
    expect(proxy.choose(req, '10.0.0.1')?.name).toBe('b'); // still routed by the last policies

    state.down = false;
    now += 60_000;
    await gw.refresh();
    expect(gw.status).toEqual({ loadedAt: '2026-01-01T00:02:00.000Z', revision: 2, storeOk: true });
    expect(await proxy.metrics.text()).toContain('halftone_gateway_policy_store_ok 1');
    await proxy.close();
  });
});

describe('normaliseHost', () => {
  it('lower-cases and drops the port and surrounding space; an already normal host is returned as it is', () => {
    expect(normaliseHost('api.example.com')).toBe('api.example.com');
    expect(normaliseHost('Example.COM:8080')).toBe('example.com');
    expect(normaliseHost(' api.example.com ')).toBe('api.example.com');
    expect(normaliseHost('api.example.com:80')).toBe('api.example.com');
    expect(normaliseHost('[::1]:8080')).toBe('[::1]');
    expect(normaliseHost('[::1]')).toBe('[::1]');
    expect(normaliseHost('\u00a0api.example.com')).toBe('api.example.com');
    expect(normaliseHost('ÀPI.example.com')).toBe('àpi.example.com');
    expect(normaliseHost('')).toBe('');
  });
});
