import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayRequestFeatures } from '@halftone/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';
import { abTestingAdminFor } from './abtesting-admin.js';
import { abTestingGatewayHandler, isAbTestingPath } from './abtesting-routes.js';

const suffixPolicy = {
  divtype: 'uidsuffix',
  divdata: [
    { suffix: '1', upstream: 'beta1' },
    { suffix: '0', upstream: 'beta3' },
  ],
};
const cityPolicy = { divtype: 'arg_city', divdata: [{ city: 'BJ', upstream: 'beta2' }] };

function features(uid?: string, city?: string): GatewayRequestFeatures {
  return { uid, city, url: '/', headers: () => undefined, cookie: () => undefined, query: () => undefined };
}

describe('ABTestingGateway admin dialects', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.close();
  });
  const ab = async (query: string, body?: unknown) => {
    const res = await t.api.inject({
      method: body === undefined ? 'GET' : 'POST',
      url: `/ab_admin?${query}`,
      headers: t.admin,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    expect(res.statusCode).toBe(200);
    return res.json() as { code: number; desc: string; data?: unknown };
  };
  const route = (host: string, f: GatewayRequestFeatures) => t.gateway.table.hosts.get(host)?.matcher(f)?.upstream;

  it('needs the admin token on the admin port', async () => {
    for (const url of ['/ab_admin?action=runtime_get&hostname=a', '/admin/runtime/get?hostname=a']) {
      const res = await t.api.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(401);
    }
  });

  it('answers 50501 for an unknown or missing action', async () => {
    expect(await ab('action=nope')).toEqual({ code: 50501, desc: 'error during action of nope' });
    expect((await ab('')).code).toBe(50501);
  });

  it('a runtime set through /ab_admin routes the next request and shows in the REST API', async () => {
    expect((await ab('action=policy_set', suffixPolicy)).desc).toBe('success  the id of new policy is 0');
    expect((await ab('action=runtime_set&policyid=0&hostname=api.weibo.cn')).code).toBe(200);
    expect(route('api.weibo.cn', features('31'))).toBe('beta1');
    expect(route('api.weibo.cn', features('39'))).toBeUndefined();
    const rest = await t.api.inject({ method: 'GET', url: '/admin/v1/gateway/hosts/api.weibo.cn', headers: t.admin });
    expect(rest.json()).toMatchObject({ host: 'api.weibo.cn', policyId: 'ab-runtime:abp-0' });
    const pol = await t.api.inject({ method: 'GET', url: '/admin/v1/gateway/policies/abp-0', headers: t.admin });
    expect(pol.json()).toMatchObject({ id: 'abp-0', levels: [suffixPolicy] });
    // Halftone's REST API refuses to delete a policy a runtime uses …
    const del = await t.api.inject({ method: 'DELETE', url: '/admin/v1/gateway/policies/abp-0', headers: t.admin });
    expect(del.statusCode).toBe(409);
    // … the original's policy_del does not: the runtime dangles and the host falls back to the default.
    expect((await ab('action=policy_del&policyid=0')).code).toBe(200);
    expect(t.gateway.table.hosts.has('api.weibo.cn')).toBe(false);
    expect(((await ab('action=runtime_get&hostname=api.weibo.cn')).data as { divsteps: number }).divsteps).toBe(1);
    expect((await ab('action=runtime_del&hostname=api.weibo.cn')).code).toBe(200);
    expect((await ab('action=runtime_get&hostname=api.weibo.cn')).data).toEqual({ divsteps: 0, runtimegroup: {} });
  });

  it('a host bound through the REST API shows in runtime_get', async () => {
    let res = await t.api.inject({ method: 'POST', url: '/admin/v1/gateway/policies', headers: t.admin, payload: { levels: [suffixPolicy, cityPolicy] } });
    const id = (res.json() as { id: string }).id;
    res = await t.api.inject({ method: 'PUT', url: '/admin/v1/gateway/hosts/other.test', headers: t.admin, payload: { policyId: id } });
    expect(res.statusCode).toBe(200);
    const data = (await ab('action=runtime_get&hostname=other.test')).data as { divsteps: number; runtimegroup: Record<string, { divModulename: string }> };
    expect(data.divsteps).toBe(2);
    expect(data.runtimegroup['second']?.divModulename).toBe('abtesting.diversion.arg_city');
  });

  it('binds a group prefix with divsteps, more than 9 levels, and rejects too deep divsteps', async () => {
    const group: Record<string, unknown> = {};
    for (let l = 1; l <= 10; l++) group[String(l)] = { divtype: 'arg_city', divdata: [{ city: `C${l}`, upstream: `up${l}` }] };
    const set = await ab('action=policygroup_set', group);
    expect(set.data).toEqual({ groupid: 0, group: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect((await ab('action=runtime_set&policygroupid=0&hostname=h.test')).code).toBe(200);
    expect(route('h.test', features(undefined, 'C10'))).toBe('up10'); // the reference fails a 10th level (RT-11)
    expect((await ab('action=runtime_set&policygroupid=0&hostname=h.test&divsteps=2')).code).toBe(200);
    expect(route('h.test', features(undefined, 'C2'))).toBe('up2');
    expect(route('h.test', features(undefined, 'C3'))).toBeUndefined();
    expect((await ab('action=runtime_set&policygroupid=0&hostname=h.test&divsteps=0')).code).toBe(200);
    expect((await ab('action=runtime_get&hostname=h.test')).data).toEqual({ divsteps: 0, runtimegroup: {} });
    expect(route('h.test', features(undefined, 'C1'))).toBeUndefined();
    expect((await ab('action=runtime_set&policygroupid=0&hostname=h.test&divsteps=11')).code).toBe(50104);
    expect((await ab('action=runtime_set&hostname=h.test')).desc).toBe('parameter type error for policyId or policyGroupid invalid');
  });

  it('policygroup_del deletes exactly its members (reference bug GRP-10 fixed)', async () => {
    await ab('action=policygroup_set', { '1': suffixPolicy, '2': cityPolicy }); // policies 0, 1
    for (let i = 2; i <= 11; i++) expect((await ab('action=policy_set', suffixPolicy)).desc).toBe(`success  the id of new policy is ${i}`);
    expect((await ab('action=policygroup_del&policygroupid=0')).code).toBe(200);
    expect(((await ab('action=policy_get&policyid=1')).data as { divtype: unknown }).divtype).toBeNull();
    expect(((await ab('action=policy_get&policyid=10')).data as { divtype: unknown }).divtype).toBe('uidsuffix');
    expect(((await ab('action=policy_get&policyid=11')).data as { divtype: unknown }).divtype).toBe('uidsuffix');
  });

  it('keeps long uids given as JSON numbers exactly (reference bug DIV-34 fixed)', async () => {
    const res = await t.api.inject({
      method: 'POST',
      url: '/ab_admin?action=policy_set',
      headers: t.admin,
      payload: '{"divtype":"uidappoint","divdata":[{"uidset":[223456789012345678],"upstream":"beta2"}]}',
    });
    expect(res.json()).toEqual({ code: 200, desc: 'success  the id of new policy is 0' });
    await ab('action=runtime_set&policyid=0&hostname=api.weibo.cn');
    expect(route('api.weibo.cn', features('223456789012345678'))).toBe('beta2');
    expect(route('api.weibo.cn', features('223456789012345680'))).toBeUndefined();
    expect(((await ab('action=policy_get&policyid=0')).data as { divdata: unknown }).divdata).toEqual(['223456789012345678', 'beta2']);
  });

  it('never reuses policy or group ids, so a dangling runtime stays dangling', async () => {
    await ab('action=policy_set', suffixPolicy); // 0
    await ab('action=runtime_set&policyid=0&hostname=api.weibo.cn');
    await ab('action=policy_del&policyid=0');
    expect((await ab('action=policy_set', cityPolicy)).desc).toBe('success  the id of new policy is 1');
    expect(t.gateway.table.hosts.has('api.weibo.cn')).toBe(false);
    expect((await ab('action=policygroup_set', { '1': cityPolicy })).data).toEqual({ groupid: 0, group: [2] });
    await ab('action=policygroup_del&policygroupid=0');
    expect((await ab('action=policygroup_set', { '1': cityPolicy })).data).toEqual({ groupid: 1, group: [3] });
  });

  it('a failed runtime_set never binds, and a valid one swaps in one step', async () => {
    await ab('action=policy_set', suffixPolicy);
    await ab('action=policy_set', cityPolicy);
    await ab('action=runtime_set&policyid=0&hostname=api.weibo.cn');
    expect((await ab('action=runtime_set&policyid=1&hostname=api.weibo.cn')).code).toBe(200);
    expect(route('api.weibo.cn', features('31', 'BJ'))).toBe('beta2');
    const bad = await ab('action=runtime_set&policyid=7&hostname=api.weibo.cn');
    expect(bad).toEqual({ code: 50401, desc: 'policy contains no data policy NO 7' });
    expect(t.gateway.table.hosts.has('api.weibo.cn')).toBe(false);
  });

  it('serves the v1.0 dialect with {errcode, errinfo, data}', async () => {
    const v1 = async (path: string, body?: unknown, host = 'api.weibo.cn') => {
      const res = await t.api.inject({
        method: 'POST',
        url: path,
        headers: { ...t.admin, host },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      expect(res.statusCode).toBe(200);
      return res.json() as { errcode: number; errinfo: string; data?: unknown };
    };
    expect(await v1('/admin/policy/check', suffixPolicy)).toEqual({ errcode: 200, errinfo: 'success ' });
    expect(await v1('/admin/policy/check', { divtype: 'nope', divdata: [] })).toEqual({
      errcode: 50104,
      errinfo: 'parameter type error for unsupported divtype',
    });
    expect((await v1('/admin/policy/set', suffixPolicy)).errinfo).toBe('success  the id of new policy is 0');
    const got = await v1('/admin/policy/get', { policyid: 0 });
    expect(got.data).toMatchObject({ divtype: 'uidsuffix' });
    // runtime key from the request's host (v1.0: the admin server's $domain_name), policyid POSTed.
    expect((await v1('/admin/runtime/set', { policyid: 0 })).errcode).toBe(200);
    expect(route('api.weibo.cn', features('30'))).toBe('beta3');
    const rt = await v1('/admin/runtime/get');
    expect(rt.data).toMatchObject({ divsteps: 1, runtimegroup: { first: { divDataKey: 'ab:policies:0:divdata' } } });
    expect((await v1('/admin/runtime/set?policyid=9')).errcode).toBe(50401);
    expect((await v1('/admin/runtime/del')).errcode).toBe(200);
    expect((await v1('/admin/policy/get?policyid=-1')).errcode).toBe(50104);
    expect((await v1('/admin/policy/del', { policyid: 0 })).errcode).toBe(200);
  });

  describe('on the gateway port (--gateway-admin-compat)', () => {
    let server: Server;
    let base: string;
    beforeEach(async () => {
      const compat = abTestingGatewayHandler(abTestingAdminFor(t.gateway));
      server = createServer((req, res) => {
        if (!compat(req, res)) res.writeHead(418).end('proxied');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('answers loopback peers without a token, shares state with the admin port, proxies the rest', async () => {
      let res = await fetch(`${base}/ab_admin?action=policy_set`, { method: 'POST', body: JSON.stringify(suffixPolicy) });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"code":200,"desc":"success  the id of new policy is 0"}\n');
      res = await fetch(`${base}/ab_admin?action=runtime_set&policyid=0&hostname=api.weibo.cn`);
      expect(await res.json()).toEqual({ code: 200, desc: 'success ' });
      expect(route('api.weibo.cn', features('31'))).toBe('beta1');
      expect(((await ab('action=runtime_get&hostname=api.weibo.cn')).data as { divsteps: number }).divsteps).toBe(1);
      res = await fetch(`${base}/admin/policy/check`, { method: 'POST', body: 'divtype=uidsuffix' });
      expect(await res.json()).toEqual({ errcode: 50102, errinfo: 'parameter error for postData is not a json string' });
      res = await fetch(`${base}/other/path`);
      expect(res.status).toBe(418);
    });

    it('recognises only the dialect paths', () => {
      expect(isAbTestingPath('/ab_admin?action=x')).toBe(true);
      expect(isAbTestingPath('/admin/runtime/get')).toBe(true);
      expect(isAbTestingPath('/admin/v1/gateway/hosts')).toBe(false);
      expect(isAbTestingPath('/ab_adminx')).toBe(false);
    });
  });
});
