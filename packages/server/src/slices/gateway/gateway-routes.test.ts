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

  it('keeps an upstream\'s own timeout, and null means gateway.timeoutMs', async () => {
    let res = await admin('PUT', '/admin/v1/gateway/upstreams/slow', { urls: ['http://10.0.0.9:8080'], timeoutMs: 90_000 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: 'slow', timeoutMs: 90_000 });
    expect(t.gateway.table.timeouts?.get('slow')).toBe(90_000);
    res = await admin('PUT', '/admin/v1/gateway/upstreams/slow', { urls: ['http://10.0.0.9:8080'] });
    expect(res.json().timeoutMs).toBeNull();
    expect(t.gateway.table.timeouts?.has('slow')).toBe(false);
    for (const timeoutMs of [0, -1, 1.5, '5', 3_600_001]) {
      res = await admin('PUT', '/admin/v1/gateway/upstreams/slow', { urls: ['http://10.0.0.9:8080'], timeoutMs });
      expect(res.statusCode, JSON.stringify(timeoutMs)).toBe(400);
    }
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

  describe('policy updates and history', () => {
    const uidsuffix = { divtype: 'uidsuffix', divdata: [{ suffix: '7', upstream: 'beta' }] };
    const features = (uid: string) => ({ uid, url: '/', headers: () => undefined, cookie: () => undefined, query: () => undefined });

    it('lists policy groups', async () => {
      const a = (await admin('POST', '/admin/v1/gateway/policies', { levels: [uidrange] })).json() as { id: string };
      const b = (await admin('POST', '/admin/v1/gateway/policies', { levels: [uidsuffix] })).json() as { id: string };
      const res = await admin('GET', '/admin/v1/gateway/policies');
      expect(res.statusCode).toBe(200);
      expect(res.json().policies.map((p: { id: string }) => p.id).sort()).toEqual([a.id, b.id].sort());
    });

    it('replaces the levels of a bound group: the table changes at once, revisions are checked', async () => {
      let res = await admin('POST', '/admin/v1/gateway/policies', { levels: [uidrange] });
      const { id } = res.json() as { id: string };
      expect(res.headers.etag).toBe('"1"');
      await admin('PUT', '/admin/v1/gateway/hosts/api.example.com', { policyId: id });
      expect(t.gateway.table.hosts.get('api.example.com')?.matcher(features('57'))?.upstream).toBe('beta');

      res = await t.api.inject({
        method: 'PUT',
        url: `/admin/v1/gateway/policies/${id}`,
        headers: { ...t.admin, 'if-match': '"1"' },
        payload: { levels: [uidsuffix] },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id, revision: 2, levels: [uidsuffix] });
      expect(res.headers.etag).toBe('"2"');
      const bound = t.gateway.table.hosts.get('api.example.com');
      expect(bound?.matcher(features('57'))?.upstream).toBe('beta');
      expect(bound?.matcher(features('50'))).toBeNull(); // the old uidrange level is gone

      // A stale revision (header or body) is refused and changes nothing.
      const before = t.gateway.table;
      res = await t.api.inject({
        method: 'PUT',
        url: `/admin/v1/gateway/policies/${id}`,
        headers: { ...t.admin, 'if-match': '"1"' },
        payload: { levels: [uidrange] },
      });
      expect(res.statusCode).toBe(409);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().code).toBe('HT_GATEWAY_POLICY_REVISION_CONFLICT');
      res = await admin('PUT', `/admin/v1/gateway/policies/${id}`, { levels: [uidrange], revision: 5 });
      expect(res.json().code).toBe('HT_GATEWAY_POLICY_REVISION_CONFLICT');
      // Invalid levels are refused with pointers; unknown groups are 404.
      res = await admin('PUT', `/admin/v1/gateway/policies/${id}`, { levels: [{ divtype: 'nope', divdata: [] }] });
      expect(res.json().code).toBe('HT_GATEWAY_POLICY_INVALID');
      res = await admin('PUT', '/admin/v1/gateway/policies/gwp_missing', { levels: [uidrange] });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('HT_GATEWAY_POLICY_NOT_FOUND');
      expect(t.gateway.table).toBe(before);
      expect((await admin('GET', `/admin/v1/gateway/policies/${id}`)).json().revision).toBe(2);
    });

    it("answers each revision of a policy: number, when, who, levels, what happened", async () => {
      let res = await admin('POST', '/admin/v1/gateway/policies', { levels: [uidrange] });
      const { id } = res.json() as { id: string };
      await admin('PUT', `/admin/v1/gateway/policies/${id}`, { levels: [uidsuffix] });
      await admin('DELETE', `/admin/v1/gateway/policies/${id}`);

      res = await admin('GET', `/admin/v1/gateway/policies/${id}/history`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { id: string; revisions: { revision: number; change: string; actor: string; levels: unknown; at: string }[] };
      expect(body.id).toBe(id);
      expect(body.revisions.map((r) => [r.revision, r.change, r.actor])).toEqual([
        [1, 'created', 'admin-api'],
        [2, 'updated', 'admin-api'],
        [3, 'deleted', 'admin-api'],
      ]);
      expect(body.revisions.map((r) => r.levels)).toEqual([[uidrange], [uidsuffix], [uidsuffix]]);
      for (const r of body.revisions) expect(Number.isNaN(Date.parse(r.at))).toBe(false);
    });

    it('records the ABTestingGateway dialects as the actor', async () => {
      const policy = JSON.stringify({ divtype: 'uidsuffix', divdata: [{ suffix: '3', upstream: 'beta' }] });
      let res = await t.api.inject({ method: 'POST', url: '/ab_admin?action=policy_set', headers: t.admin, payload: policy });
      expect(res.json().code, res.body).toBe(200);
      res = await t.api.inject({ method: 'POST', url: '/admin/policy/set', headers: t.admin, payload: policy });
      expect(res.json().errcode, res.body).toBe(200);
      res = await admin('GET', '/admin/v1/gateway/policies/abp-0/history');
      expect(res.json().revisions).toMatchObject([{ revision: 1, change: 'created', actor: 'ab_admin' }]);
      res = await admin('GET', '/admin/v1/gateway/policies/abp-1/history');
      expect(res.json().revisions).toMatchObject([{ revision: 1, change: 'created', actor: 'v1.0' }]);
    });

    it('404s (problem+json) for a policy that never existed, 400 for a bad id', async () => {
      let res = await admin('GET', '/admin/v1/gateway/policies/gwp_nope/history');
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().code).toBe('HT_GATEWAY_POLICY_NOT_FOUND');
      res = await admin('GET', `/admin/v1/gateway/policies/${'x'.repeat(65)}/history`);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('HT_VALIDATION');
    });

    it('pages the whole change log newest first with a cursor', async () => {
      await admin('PUT', '/admin/v1/gateway/upstreams/beta', { urls: ['http://10.0.0.1:8080'] });
      const { id } = (await admin('POST', '/admin/v1/gateway/policies', { levels: [uidrange] })).json() as { id: string };
      await admin('PUT', '/admin/v1/gateway/hosts/api.example.com', { policyId: id });
      await admin('PUT', `/admin/v1/gateway/policies/${id}`, { levels: [uidsuffix] });
      await admin('DELETE', '/admin/v1/gateway/hosts/api.example.com');

      const all = (await admin('GET', '/admin/v1/gateway/history')).json() as { entries: { id: string; target: string; change: string; key: string; actor: string; revision: number | null }[]; next: string | null };
      expect(all.next).toBeNull();
      expect(all.entries.map((e) => `${e.target}:${e.change}`)).toEqual([
        'host:deleted',
        'policy:updated',
        'host:set',
        'policy:created',
        'upstream:set',
      ]);
      expect(all.entries[1]).toMatchObject({ key: id, revision: 2, actor: 'admin-api', kind: 'policy.update' });
      expect(all.entries[2]).toMatchObject({ key: 'api.example.com', data: { policyId: id } });

      const seen: string[] = [];
      let before: string | null = null;
      for (let page = 0; page < 10; page++) {
        const url: string = `/admin/v1/gateway/history?limit=2${before === null ? '' : `&before=${before}`}`;
        const res = await admin('GET', url);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as { entries: { id: string }[]; next: string | null };
        expect(body.entries.length).toBeLessThanOrEqual(2);
        seen.push(...body.entries.map((e) => e.id));
        before = body.next;
        if (before === null) break;
      }
      expect(seen).toEqual(all.entries.map((e) => e.id));
    });

    it('validates the query of the change log', async () => {
      for (const q of ['limit=0', 'limit=501', 'limit=abc', 'before=nope', 'other=1']) {
        const res = await admin('GET', `/admin/v1/gateway/history?${q}`);
        expect(res.statusCode, q).toBe(400);
        expect(res.json().code, q).toBe('HT_VALIDATION');
      }
    });
  });
});
