import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';

describe('gray gateway admin API', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.close();
  });
  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    t.api.inject({ method, url, headers: t.admin, ...(payload !== undefined ? { payload: payload as object } : {}) });

  const uidrange = {
    divtype: 'uidrange',
    divdata: [
      { range: { start: 1, end: 100 }, upstream: 'beta' },
      { range: { start: 101, end: 200 }, upstream: 'stable' },
    ],
  };

  it('needs the admin token', async () => {
    const res = await t.api.inject({ method: 'GET', url: '/admin/v1/gateway/upstreams' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('creates, reads, lists and deletes upstreams', async () => {
    let res = await admin('PUT', '/admin/v1/gateway/upstreams/beta', { urls: ['http://10.0.0.1:8080/', 'https://b.example.com/api/'] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: 'beta', urls: ['http://10.0.0.1:8080', 'https://b.example.com/api'] });
    res = await admin('GET', '/admin/v1/gateway/upstreams/beta');
    expect(res.json().urls).toHaveLength(2);
    res = await admin('GET', '/admin/v1/gateway/upstreams');
    expect(res.json().upstreams.map((u: { name: string }) => u.name)).toEqual(['beta']);
    expect(t.gateway.table.upstreams.get('beta')).toEqual(['http://10.0.0.1:8080', 'https://b.example.com/api']);
    res = await admin('DELETE', '/admin/v1/gateway/upstreams/beta');
    expect(res.statusCode).toBe(204);
    res = await admin('GET', '/admin/v1/gateway/upstreams/beta');
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('HT_GATEWAY_UPSTREAM_NOT_FOUND');
    expect(t.gateway.table.upstreams.has('beta')).toBe(false);
  });

  it('rejects bad upstream URLs and names', async () => {
    let res = await admin('PUT', '/admin/v1/gateway/upstreams/beta', { urls: ['ftp://x'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('HT_GATEWAY_UPSTREAM_INVALID');
    res = await admin('PUT', '/admin/v1/gateway/upstreams/bad%20name', { urls: ['http://x'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('HT_VALIDATION');
    res = await admin('PUT', '/admin/v1/gateway/upstreams/beta', { urls: [] });
    expect(res.json().code).toBe('HT_VALIDATION');
  });

  it('creates policy groups, binds hosts and compiles them into the table at once', async () => {
    let res = await admin('POST', '/admin/v1/gateway/policies', { levels: [uidrange] });
    expect(res.statusCode, res.body).toBe(201);
    const policy = res.json() as { id: string; revision: number };
    expect(policy.revision).toBe(1);
    res = await admin('GET', `/admin/v1/gateway/policies/${policy.id}`);
    expect(res.json().levels).toEqual([uidrange]);

    res = await admin('PUT', '/admin/v1/gateway/hosts/API.Example.com', { policyId: policy.id });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ host: 'api.example.com', policyId: policy.id });
    const bound = t.gateway.table.hosts.get('api.example.com');
    expect(bound?.policyId).toBe(policy.id);
    const features = (uid: string) => ({ uid, url: '/', headers: () => undefined, cookie: () => undefined, query: () => undefined });
    expect(bound?.matcher(features('50'))?.upstream).toBe('beta');
    expect(bound?.matcher(features('150'))?.upstream).toBe('stable');
    expect(bound?.matcher(features('250'))).toBeNull();

    res = await admin('GET', '/admin/v1/gateway/hosts/api.example.com');
    expect(res.json().policyId).toBe(policy.id);
    res = await admin('DELETE', `/admin/v1/gateway/policies/${policy.id}`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('HT_GATEWAY_POLICY_IN_USE');
    res = await admin('DELETE', '/admin/v1/gateway/hosts/api.example.com');
    expect(res.statusCode).toBe(204);
    expect(t.gateway.table.hosts.size).toBe(0);
    res = await admin('GET', '/admin/v1/gateway/hosts/api.example.com');
    expect(res.json().code).toBe('HT_GATEWAY_HOST_NOT_FOUND');
    res = await admin('DELETE', `/admin/v1/gateway/policies/${policy.id}`);
    expect(res.statusCode).toBe(204);
    res = await admin('GET', `/admin/v1/gateway/policies/${policy.id}`);
    expect(res.json().code).toBe('HT_GATEWAY_POLICY_NOT_FOUND');
  });

  it('rejects an invalid policy group with pointers, leaving the policy in force untouched', async () => {
    const good = (await admin('POST', '/admin/v1/gateway/policies', { levels: [uidrange] })).json() as { id: string };
    await admin('PUT', '/admin/v1/gateway/hosts/api.example.com', { policyId: good.id });
    const before = t.gateway.table;

    let res = await admin('POST', '/admin/v1/gateway/policies', {
      levels: [uidrange, { divtype: 'uidsuffix', divdata: [{ suffix: 'x', upstream: 'a' }] }],
    });
    expect(res.statusCode).toBe(400);
    const problem = res.json();
    expect(problem.code).toBe('HT_GATEWAY_POLICY_INVALID');
    expect(problem.errors[0].pointer).toMatch(/^\/body\/levels\/1/);
    res = await admin('POST', '/admin/v1/gateway/policies', { levels: [{ divtype: 'nope', divdata: [] }] });
    expect(res.json().code).toBe('HT_GATEWAY_POLICY_INVALID');

    res = await admin('PUT', '/admin/v1/gateway/hosts/api.example.com', { policyId: 'gwp_missing' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('HT_GATEWAY_POLICY_NOT_FOUND');
    expect(t.gateway.table).toBe(before);
    expect(t.gateway.table.hosts.get('api.example.com')?.policyId).toBe(good.id);
  });
});
