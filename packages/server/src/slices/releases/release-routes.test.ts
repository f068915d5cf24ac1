import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, multipart, type TestApp } from '../../test-app.test-helpers.js';
import { buildYazlZip } from '../packages/archive.test-helpers.js';

describe('gray releases over the admin and client APIs', () => {
  let t: TestApp;
  let key: string;
  beforeEach(async () => {
    t = await createTestApp();
    key = await t.createApp('demo', ['android', 'ios']);
  });
  afterEach(async () => {
    await t.close();
  });

  const publish = async (module: string, version: string, extra: Record<string, string> = {}) => {
    const body = multipart(
      { module, version, kind: 'h5', fallbackUrl: `https://m.example.com/${module}`, ...extra },
      { name: 'p.zip', data: await buildYazlZip({ [`${module}/index.html`]: Buffer.from(version) }) },
    );
    const res = await t.api.inject({
      method: 'POST',
      url: '/admin/v1/apps/demo/packages',
      headers: { ...t.admin, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; hash: string };
  };
  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: unknown, headers = {}) =>
    t.api.inject({ method, url, headers: { ...t.admin, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const create = async (body: Record<string, unknown>) => {
    const res = await admin('POST', '/admin/v1/apps/demo/releases', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; stage: string; percent: number; revision: number };
  };
  const check = async (body: Record<string, unknown>) => {
    const res = await t.api.inject({
      method: 'POST',
      url: '/client/v1/check',
      headers: { 'x-halftone-key': key },
      payload: { platform: 'android', appVersion: '8.3.0', ...body },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().modules as { name: string; action: string; version?: string; url?: string; fallbackUrl?: string }[];
  };

  it('validates rules at write time with pointers to the bad part', async () => {
    await publish('home', '1.0.0');
    const res = await admin('POST', '/admin/v1/apps/demo/releases', {
      module: 'home',
      version: '1.0.0',
      rule: { all: [{ attribute: 'shoeSize', operator: 'eq', value: '42' }, { attribute: 'appVersion', operator: 'version_gte', value: 'x' }] },
    });
    expect(res.statusCode).toBe(400);
    const problem = res.json();
    expect(problem.code).toBe('HT_RELEASE_RULE_INVALID');
    expect(problem.errors.map((e: { pointer: string }) => e.pointer)).toEqual(
      expect.arrayContaining(['/rule/all/0/attribute', '/rule/all/1/value']),
    );
    const op = await admin('POST', '/admin/v1/apps/demo/releases', {
      module: 'home', version: '1.0.0', rule: { attribute: 'channel', operator: 'like', value: 'x' },
    });
    expect(op.json().code).toBe('HT_RELEASE_RULE_INVALID');
  });

  it('refuses percentages out of range, lower than now, and unknown packages', async () => {
    await publish('home', '1.0.0');
    for (const percent of [-1, 101, 10.123]) {
      const res = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('HT_ROLLOUT_PERCENT_OUT_OF_RANGE');
    }
    const rel = await create({ module: 'home', version: '1.0.0', percent: 20 });
    const lower = await admin('POST', `/admin/v1/releases/${rel.id}/percent`, { percent: 10 });
    expect(lower.statusCode).toBe(400);
    expect(lower.json().code).toBe('HT_ROLLOUT_PERCENT_DECREASE');
    const missing = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '3.0.0' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('HT_RELEASE_PACKAGE_NOT_FOUND');
    const dup = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('HT_RELEASE_EXISTS');
    const wrongType = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: '10' });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().code).toBe('HT_VALIDATION');
  });

  it('two concurrent edits of one release: the second gets 409', async () => {
    await publish('home', '1.0.0');
    const rel = await create({ module: 'home', version: '1.0.0', percent: 5 });
    const get = await admin('GET', `/admin/v1/releases/${rel.id}`);
    expect(get.headers.etag).toBe('"1"');
    const first = await admin('POST', `/admin/v1/releases/${rel.id}/percent`, { percent: 10 }, { 'if-match': '"1"' });
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).toBe('"2"');
    const second = await admin('POST', `/admin/v1/releases/${rel.id}/halt`, { revision: 1 });
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('HT_RELEASE_REVISION_CONFLICT');
    // Racing without naming a revision: both read revision 2, exactly one write wins.
    const racing = await Promise.all([
      admin('POST', `/admin/v1/releases/${rel.id}/percent`, { percent: 30 }),
      admin('POST', `/admin/v1/releases/${rel.id}/percent`, { percent: 40 }),
    ]);
    const codes = racing.map((r) => r.statusCode).sort();
    expect(codes[0]).toBe(200);
    expect([200, 409]).toContain(codes[1]);
  });

  it('advances whitelist → internal → gray → percentage → full, recording history', async () => {
    await publish('home', '1.0.0');
    await admin('PUT', '/admin/v1/apps/demo/crowds/staff', { members: ['emp-1'] });
    const rel = await create({
      module: 'home', version: '1.0.0', whitelist: ['wl-1'], crowds: ['staff'],
      rule: { attribute: 'channel', operator: 'in', values: ['huawei'] },
    });
    expect(rel.stage).toBe('gray');
    await publish('me', '1.0.0');
    const plain = await create({ module: 'me', version: '1.0.0', whitelist: ['wl-1'] });
    expect(plain.stage).toBe('whitelist');
    const stages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await admin('POST', `/admin/v1/releases/${plain.id}/advance`);
      expect(res.statusCode).toBe(200);
      stages.push(`${res.json().stage}@${res.json().percent}`);
    }
    expect(stages).toEqual(['internal@0', 'percentage@1', 'full@100']);
    const beyond = await admin('POST', `/admin/v1/releases/${plain.id}/advance`);
    expect(beyond.statusCode).toBe(409);
    expect(beyond.json().code).toBe('HT_RELEASE_STATE_INVALID');
    const status = await admin('GET', `/admin/v1/releases/${plain.id}/status`);
    expect(status.json().history.map((h: { type: string }) => h.type)).toEqual([
      'release.created', 'release.advanced', 'release.advanced', 'release.advanced',
    ]);
    const unknownCrowd = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', crowds: ['nobody'] });
    expect(unknownCrowd.json().code).toBe('HT_CROWD_NOT_FOUND');
  });

  it('a change through the admin API is visible to the very next check', async () => {
    await publish('home', '1.0.0');
    const rel = await create({ module: 'home', version: '1.0.0', whitelist: ['wl-1'] });
    expect((await check({ deviceId: 'd-1', modules: [{ name: 'home' }] }))[0]?.action).toBe('none');
    await admin('POST', `/admin/v1/releases/${rel.id}/percent`, { percent: 100 });
    const [home] = await check({ deviceId: 'd-1', modules: [{ name: 'home' }] });
    expect(home).toMatchObject({ action: 'update', version: '1.0.0', fallbackUrl: 'https://m.example.com/home' });
    expect(home?.url).toMatch(/^https:\/\/cdn\.example\.com\/client\/v1\/blobs\/[0-9a-f]{64}$/);
    await admin('POST', `/admin/v1/releases/${rel.id}/halt`);
    expect((await check({ deviceId: 'd-1', modules: [{ name: 'home' }] }))[0]?.action).toBe('none');
  });

  it('reaches whitelisted devices and users, then the crowd at the internal stage', async () => {
    await publish('home', '1.0.0');
    await admin('PUT', '/admin/v1/apps/demo/crowds/staff', { members: ['emp-1', 'dev-staff'] });
    const rel = await create({ module: 'home', version: '1.0.0', whitelist: ['wl-dev', 'wl-user'] });
    const action = async (deviceId: string, userId?: string) =>
      (await check({ deviceId, ...(userId ? { userId } : {}), modules: [{ name: 'home' }] }))[0]?.action;
    expect(await action('wl-dev')).toBe('update');
    expect(await action('other', 'wl-user')).toBe('update');
    expect(await action('dev-staff')).toBe('none');
    await admin('PATCH', `/admin/v1/releases/${rel.id}`, { crowds: ['staff'] });
    await admin('POST', `/admin/v1/releases/${rel.id}/advance`);
    expect(await action('dev-staff')).toBe('update');
    expect(await action('x', 'emp-1')).toBe('update');
    expect(await action('x', 'emp-2')).toBe('none');
    expect(await action('wl-dev', 'emp-1')).toBe('update');
  });

  it('answers every listed module and adds unlisted ones it should update', async () => {
    await publish('home', '1.0.0');
    await publish('feed', '2.0.0');
    await create({ module: 'home', version: '1.0.0', percent: 100 });
    await create({ module: 'feed', version: '2.0.0', percent: 100 });
    const modules = await check({ deviceId: 'd-1', modules: [{ name: 'home', version: '1.0.0' }, { name: 'ghost' }] });
    expect(modules.map((m) => `${m.name}:${m.action}`)).toEqual(['home:none', 'ghost:none', 'feed:update']);
  });

  it('disabling a package makes devices running it fall back to the online page', async () => {
    const pkg = await publish('home', '1.0.0');
    await create({ module: 'home', version: '1.0.0', percent: 100 });
    await admin('POST', `/admin/v1/packages/${pkg.id}/disable`);
    const [home] = await check({ deviceId: 'd-1', modules: [{ name: 'home', version: '1.0.0' }] });
    expect(home).toMatchObject({ action: 'disable', fallbackUrl: 'https://m.example.com/home' });
    const [fresh] = await check({ deviceId: 'd-2', modules: [{ name: 'home' }] });
    expect(fresh?.action).toBe('none');
  });

  it('asks for a store update when the package needs a newer native app', async () => {
    await publish('home', '1.0.0', { minAppVersion: '9.0' });
    await create({ module: 'home', version: '1.0.0', percent: 100 });
    const [home] = await check({ deviceId: 'd-1', appVersion: '8.3', modules: [{ name: 'home' }] });
    expect(home).toMatchObject({ action: 'store-update', version: '9.0' });
  });

  it('a late install report of a rolled-back release makes rollback reach that device', async () => {
    await publish('home', '1.0.0');
    const rel = await create({ module: 'home', version: '1.0.0', percent: 100 });
    await check({ deviceId: 'd-1', modules: [{ name: 'home' }] }); // warms the catalogue
    await admin('POST', `/admin/v1/releases/${rel.id}/rollback`);
    const before = await check({ deviceId: 'd-1', modules: [{ name: 'home', version: '1.0.0' }] });
    expect(before[0]?.action).toBe('none');
    await t.api.inject({
      method: 'POST',
      url: '/client/v1/report',
      headers: { 'x-halftone-key': key },
      payload: { deviceId: 'd-1', events: [{ type: 'install', releaseId: rel.id, ok: true, fromVersion: '0.9.0' }] },
    });
    const [home] = await check({ deviceId: 'd-1', modules: [{ name: 'home', version: '1.0.0' }] });
    expect(home).toMatchObject({ action: 'rollback', version: '0.9.0' });
  });

  it('rejects reports for releases of other apps, item by item', async () => {
    await publish('home', '1.0.0');
    const rel = await create({ module: 'home', version: '1.0.0', percent: 100 });
    const res = await t.api.inject({
      method: 'POST',
      url: '/client/v1/report',
      headers: { 'x-halftone-key': key },
      payload: { deviceId: 'd-1', events: [{ type: 'install', releaseId: rel.id, ok: true }, { type: 'download', releaseId: 'rel_other', ok: true }] },
    });
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: 'HT_REPORT_RELEASE_UNKNOWN' }] });
  });
});
