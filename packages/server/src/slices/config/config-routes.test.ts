import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';

let h: TestApp;
let prodKey: string;
let testKey: string;

beforeEach(async () => {
  h = await createTestApp();
  prodKey = await h.createApp('demo');
  const keys = await h.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/keys', headers: h.admin });
  testKey = (keys.json() as { test: string }).test;
});
afterEach(async () => {
  await h.close();
});

const base = '/admin/v1/apps/demo/config';
async function admin(method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const res = await h.api.inject({ method, url: `${base}${url}`, headers: { ...h.admin, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body === '' ? undefined : (res.json() as Record<string, any>), res };
}
async function device(body: Record<string, unknown>, headers: Record<string, string> = { authorization: `Bearer ${prodKey}` }) {
  const res = await h.api.inject({ method: 'POST', url: '/client/v1/config', headers, payload: { deviceId: 'd-1', ...body } });
  return res;
}
const values = async (body: Record<string, unknown>, key = prodKey) =>
  ((await device(body, { authorization: `Bearer ${key}` })).json() as { values: Record<string, unknown> }).values;

describe('environments and keys', () => {
  it('gives every app a test key besides the production clientKey', async () => {
    const res = await h.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/keys', headers: h.admin });
    expect(res.json()).toEqual({ test: testKey, production: prodKey });
    expect(testKey).toMatch(/^hck_/);
    expect(testKey).not.toBe(prodKey);
  });

  it('serves each environment its own values, by key, in all three headers', async () => {
    await admin('PUT', '/test/items/colour', { type: 'string', value: 'red' });
    await admin('PUT', '/production/items/colour', { type: 'string', value: 'blue' });
    expect(await values({}, testKey)).toEqual({ colour: 'red' });
    expect(await values({}, prodKey)).toEqual({ colour: 'blue' });
    expect((await device({}, { 'x-api-key': testKey })).json()).toEqual({ values: { colour: 'red' } });
    expect((await device({}, { 'x-halftone-key': prodKey })).json()).toEqual({ values: { colour: 'blue' } });
    const missing = await device({}, {});
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'HT_AUTH_CLIENT_KEY_MISSING' });
    expect((await device({}, { 'x-api-key': 'hck_nope' })).json()).toMatchObject({ code: 'HT_AUTH_CLIENT_KEY_INVALID' });
  });
});

describe('Ctrip dedicated vs generic, through /client/v1/config', () => {
  beforeEach(async () => {
    await admin('PUT', '/production/items/banner', { type: 'string', value: 'default' });
    await admin('POST', '/production/items/banner/rules', { when: { attribute: 'channel', operator: 'eq', value: 'huawei' }, value: 'dedicated-huawei' });
    await admin('POST', '/production/items/banner/rules', { when: { attribute: 'appVersion', operator: 'version_eq', value: '8.1.5' }, value: 'dedicated-8.1.5' });
    await admin('POST', '/production/items/banner/rules', { fromVersion: '8.0', value: 'generic-8.0' });
    await admin('POST', '/production/items/banner/rules', { fromVersion: '8.2', value: 'generic-8.2' });
    await admin('POST', '/production/items/banner/rules', { fromVersion: '7.0', value: 'generic-7.0' });
  });

  it('a client gets the dedicated config that matches it if there is one', async () => {
    expect((await values({ channel: 'huawei', appVersion: '6.0' })).banner).toBe('dedicated-huawei');
    expect((await values({ channel: 'xiaomi', appVersion: '8.1.5' })).banner).toBe('dedicated-8.1.5');
  });

  it('otherwise the newest generic config whose version is at or below the client app version', async () => {
    expect((await values({ channel: 'xiaomi', appVersion: '8.3.1' })).banner).toBe('generic-8.2');
    expect((await values({ channel: 'xiaomi', appVersion: '8.2' })).banner).toBe('generic-8.2');
    expect((await values({ channel: 'xiaomi', appVersion: '8.1.9' })).banner).toBe('generic-8.0');
    expect((await values({ channel: 'xiaomi', appVersion: '7.5' })).banner).toBe('generic-7.0');
    expect((await values({ channel: 'xiaomi', appVersion: '6.9' })).banner).toBe('default');
  });

  it('when both match, only the dedicated one is delivered', async () => {
    const res = await device({ channel: 'huawei', appVersion: '8.3.1' });
    expect(res.json()).toEqual({ values: { banner: 'dedicated-huawei' } });
  });
});

describe('per-device ETag and 304', () => {
  it('hashes this device\'s answer, not a global revision', async () => {
    await admin('PUT', '/production/items/banner', { type: 'string', value: 'default' });
    await admin('POST', '/production/items/banner/rules', { when: { attribute: 'channel', operator: 'eq', value: 'huawei' }, value: 'h' });
    const a = await device({ channel: 'xiaomi' });
    const etag = a.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect((await device({ channel: 'xiaomi' }, { authorization: `Bearer ${prodKey}`, 'if-none-match': etag })).statusCode).toBe(304);
    // Another device with another answer gets 200 for the same tag.
    const b = await device({ channel: 'huawei' }, { authorization: `Bearer ${prodKey}`, 'if-none-match': etag });
    expect(b.statusCode).toBe(200);
    expect(b.headers.etag).not.toBe(etag);
    // A change that does not touch this device's values keeps its 304.
    await admin('POST', '/production/items/banner/rules', { when: { attribute: 'channel', operator: 'eq', value: 'oppo' }, value: 'o' });
    expect((await device({ channel: 'xiaomi' }, { authorization: `Bearer ${prodKey}`, 'if-none-match': etag })).statusCode).toBe(304);
    // One that does, does not.
    await admin('PUT', '/production/items/banner', { value: 'changed' });
    const c = await device({ channel: 'xiaomi' }, { authorization: `Bearer ${prodKey}`, 'if-none-match': etag });
    expect(c.statusCode).toBe(200);
    expect(c.json()).toEqual({ values: { banner: 'changed' } });
  });
});

describe('bad input: a clear problem, nothing changed', () => {
  async function expectRefused(res: { status: number; body?: Record<string, any> }, code: string) {
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toMatchObject({ code });
    const list = await admin('GET', '/production/items');
    return list.body as { revision: number; items: { key: string; revision: number }[] };
  }

  it('refuses a value of the wrong type', async () => {
    const res = await admin('PUT', '/production/items/flag', { type: 'boolean', value: 'yes' });
    expect(res.res.headers['content-type']).toMatch(/application\/problem\+json/);
    const list = await expectRefused(res, 'HT_CONFIG_ITEM_INVALID');
    expect(res.body?.errors[0]).toMatchObject({ pointer: '/defaultValue' });
    expect(list).toMatchObject({ revision: 0, items: [] });
  });

  it('refuses unknown segments and operators, invalid regexes and CIDRs', async () => {
    await admin('PUT', '/production/items/flag', { type: 'boolean', value: false });
    const cases: unknown[] = [
      { attribute: 'segments', operator: 'in', values: ['no-such-crowd'] },
      { attribute: 'channel', operator: 'sounds_like', value: 'x' },
      { attribute: 'deviceModel', operator: 'regex', value: '([a-z' },
      { attribute: 'remoteAddress', operator: 'in_cidr', values: ['10.0.0.0/33'] },
    ];
    for (const when of cases) {
      const res = await admin('POST', '/production/items/flag/rules', { when, value: true });
      const list = await expectRefused(res, 'HT_CONFIG_ITEM_INVALID');
      expect(list.items[0]?.revision).toBe(1);
    }
    const history = await admin('GET', '/production/items/flag/history');
    expect(history.body?.revisions.length).toBe(1);
    // A crowd that exists is fine.
    await h.api.inject({ method: 'PUT', url: '/admin/v1/apps/demo/crowds/staff', headers: h.admin, payload: { members: ['d-9'] } });
    const ok = await admin('POST', '/production/items/flag/rules', { when: { attribute: 'segments', operator: 'in', values: ['staff'] }, value: true });
    expect(ok.status).toBe(201);
    expect((await values({ deviceId: 'd-9' })).flag).toBe(true);
    expect((await values({ deviceId: 'd-1' })).flag).toBe(false);
  });

  it('refuses a dependency cycle', async () => {
    await admin('PUT', '/production/items/family', { type: 'boolean', value: true });
    await admin('PUT', '/production/items/pkg', { type: 'boolean', value: true, dependsOn: [{ key: 'family' }] });
    const res = await admin('PUT', '/production/items/family', { dependsOn: [{ key: 'pkg' }] });
    await expectRefused(res, 'HT_CONFIG_DEPENDENCY_CYCLE');
    expect(res.body?.detail).toMatch(/family|pkg/);
    expect((await admin('GET', '/production/items/family')).body?.dependsOn).toEqual([]);
    // A parent switched off turns its children off.
    await admin('PUT', '/production/switches/family', { on: false });
    expect(await values({})).toEqual({ family: false, pkg: false });
    expect((await admin('DELETE', '/production/items/family')).body).toMatchObject({ code: 'HT_CONFIG_ITEM_IN_USE' });
  });

  it('answers 404s and validation errors as problems', async () => {
    expect((await admin('GET', '/production/items/nope')).body).toMatchObject({ code: 'HT_CONFIG_ITEM_NOT_FOUND' });
    expect((await admin('GET', '/staging/items/nope')).body).toMatchObject({ code: 'HT_VALIDATION' });
    expect((await admin('PUT', '/production/items/x', { value: 1 })).body).toMatchObject({ code: 'HT_CONFIG_ITEM_INVALID' });
    await admin('PUT', '/production/items/s', { type: 'string', value: 'a' });
    expect((await admin('PUT', '/production/switches/s', { on: false })).body).toMatchObject({ code: 'HT_CONFIG_NOT_A_SWITCH' });
    expect((await admin('DELETE', '/production/items/s/rules/r9')).body).toMatchObject({ code: 'HT_CONFIG_RULE_NOT_FOUND' });
    expect((await admin('POST', '/production/items/s/restore', { revision: 9 })).body).toMatchObject({ code: 'HT_CONFIG_REVISION_NOT_FOUND' });
  });
});

describe('revisions, restore and audit', () => {
  it('records every change and restores any revision as a new one', async () => {
    await admin('PUT', '/production/items/limit', { type: 'integer', value: 10, owner: 'ops', tags: ['perf'] }, { 'x-halftone-actor': 'alice' });
    await admin('PUT', '/production/items/limit', { value: 20 });
    await admin('POST', '/production/items/limit/rules', { fromVersion: '9.0', value: 30 });
    const history = await admin('GET', '/production/items/limit/history');
    expect(history.body?.revisions.map((r: { revision: number; action: string }) => [r.revision, r.action])).toEqual([
      [3, 'rule.add'],
      [2, 'set'],
      [1, 'create'],
    ]);
    const restored = await admin('POST', '/production/items/limit/restore', { revision: 1 });
    expect(restored.body).toMatchObject({ value: 10, rules: [], revision: 4, owner: 'ops', tags: ['perf'] });
    expect(await values({ appVersion: '9.1' })).toEqual({ limit: 10 });
    const audit = await admin('GET', '/audit?key=limit');
    expect(audit.body?.entries.length).toBe(4);
    const first = audit.body?.entries.at(-1);
    expect(first).toMatchObject({ action: 'create', env: 'production', before: null, after: { value: 10 } });
    expect(first.actor).toMatch(/^alice \(token:[0-9a-f]{12}\)$/);
    expect(audit.body?.entries[0]).toMatchObject({ action: 'restore:1', before: { value: 20 }, after: { value: 10 } });
    // Delete, then restore the deleted item.
    expect((await admin('DELETE', '/production/items/limit')).status).toBe(204);
    expect(await values({})).toEqual({});
    await admin('POST', '/production/items/limit/restore', { revision: 2 });
    expect(await values({})).toEqual({ limit: 20 });
  });

  it('keeps namespaces apart (namespace:key)', async () => {
    await admin('PUT', '/production/items/colour', { type: 'string', value: 'a' });
    await admin('PUT', '/production/items/colour', { namespace: 'checkout', type: 'string', value: 'b' });
    await admin('PUT', '/production/items/checkout:size', { type: 'integer', value: 3 });
    expect(await values({})).toEqual({ colour: 'a', 'checkout:colour': 'b', 'checkout:size': 3 });
    const list = await admin('GET', '/production/items?namespace=checkout');
    expect(list.body?.items.map((i: { key: string }) => i.key)).toEqual(['colour', 'size']);
  });
});

describe('promote test → production', () => {
  it('diffs, applies atomically and refuses a stale diff', async () => {
    await admin('PUT', '/test/items/a', { type: 'string', value: 'new' });
    await admin('PUT', '/test/items/b', { type: 'boolean', value: true });
    await admin('PUT', '/production/items/a', { type: 'string', value: 'old' });
    await admin('PUT', '/production/items/gone', { type: 'integer', value: 1 });
    const diff = await admin('GET', '/promote?from=test&to=production');
    expect(diff.body?.changes.map((c: { key: string; change: string }) => [c.key, c.change])).toEqual([
      ['a', 'changed'],
      ['b', 'added'],
      ['gone', 'removed'],
    ]);
    const dry = await admin('POST', '/promote', { from: 'test', to: 'production', dryRun: true });
    expect(dry.body).toMatchObject({ applied: false, changes: diff.body?.changes });
    // Production changes after the diff: applying it is refused and changes nothing.
    await admin('PUT', '/production/items/gone', { value: 2 });
    const stale = await admin('POST', '/promote', { from: 'test', to: 'production', fromRevision: diff.body?.fromRevision, toRevision: diff.body?.toRevision });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'HT_CONFIG_PROMOTE_STALE' });
    expect(await values({})).toEqual({ a: 'old', gone: 2 });
    const fresh = await admin('GET', '/promote?from=test&to=production');
    const applied = await admin('POST', '/promote', { from: 'test', to: 'production', fromRevision: fresh.body?.fromRevision, toRevision: fresh.body?.toRevision });
    expect(applied.body).toMatchObject({ applied: true });
    expect(await values({})).toEqual({ a: 'new', b: true });
    expect((await admin('GET', '/promote?from=test&to=production')).body?.changes).toEqual([]);
    expect((await admin('GET', '/production/items/a/history')).body?.revisions[0]).toMatchObject({ action: 'promote:test' });
    expect((await admin('GET', '/promote?from=test&to=test')).body).toMatchObject({ code: 'HT_CONFIG_PROMOTE_SAME_ENV' });
  });
});

describe('switches and the release check', () => {
  it('a switch bound to a module makes the check answer disable while it is off', async () => {
    await admin('PUT', '/production/items/pkg.home', { type: 'boolean', kind: 'switch', value: true, module: 'home' });
    const check = async () =>
      (
        await h.api.inject({
          method: 'POST',
          url: '/client/v1/check',
          headers: { 'x-halftone-key': prodKey },
          payload: { deviceId: 'd-1', platform: 'android', appVersion: '8.0', modules: [{ name: 'home', version: '1.0.0' }, { name: 'feed' }] },
        })
      ).json() as { modules: { name: string; action: string; version?: string }[] };
    expect((await check()).modules).toEqual([{ name: 'home', action: 'none' }, { name: 'feed', action: 'none' }]);
    await admin('PUT', '/production/switches/pkg.home', { on: false });
    expect((await check()).modules).toEqual([{ name: 'home', action: 'disable', version: '1.0.0' }, { name: 'feed', action: 'none' }]);
    // Off for one channel only: a dedicated rule.
    await admin('PUT', '/production/switches/pkg.home', { on: true });
    await admin('POST', '/production/items/pkg.home/rules', { when: { attribute: 'platform', operator: 'eq', value: 'ios' }, value: false });
    expect((await check()).modules[0]?.action).toBe('none');
    expect((await admin('PUT', '/production/items/colour', { type: 'string', value: 'x', module: 'feed' })).body).toMatchObject({ code: 'HT_CONFIG_ITEM_INVALID' });
  });
});
