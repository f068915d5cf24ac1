import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../../platform/clock.js';
import { buildYazlZip } from '../packages/archive.test-helpers.js';
import { createTestApp, multipart, type TestApp } from '../../test-app.test-helpers.js';

const T0 = Date.parse('2026-11-21T08:00:00.000Z');
const MIN = 60_000;

describe('health admin routes', () => {
  let t: TestApp;
  let key: string;
  const clock = createFakeClock(new Date(T0));

  beforeEach(async () => {
    clock.set(new Date(T0));
    t = await createTestApp({ HALFTONE_CLOCK_MODE: 'manual' }, { clock });
    key = await t.createApp('demo', ['android']);
  });
  afterEach(async () => {
    await t.close();
  });

  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    t.api.inject({ method, url, headers: t.admin, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const publish = async (version: string) => {
    const body = multipart(
      { module: 'home', version, kind: 'h5', fallbackUrl: 'https://m.example.com/home' },
      { name: 'p.zip', data: await buildYazlZip({ 'home/index.html': Buffer.from(version) }) },
    );
    const res = await t.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/packages', headers: { ...t.admin, ...body.headers }, payload: body.payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string };
  };
  const sessions = async (version: string, device: string, n: number, crashed: number, feedback?: string) => {
    const at = clock.now().getTime();
    const items: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const sid = randomUUID();
      items.push({ id: randomUUID(), type: 'session', ts: at - 2000, sid, phase: 'start', status: 'ok' });
      items.push({ id: randomUUID(), type: 'session', ts: at - 1000, sid, phase: 'end', status: i < crashed ? 'crashed' : 'exited' });
    }
    if (feedback !== undefined) items.push({ id: randomUUID(), type: 'feedback', ts: at - 500, text: feedback });
    const res = await t.api.inject({
      method: 'POST',
      url: '/client/v1/events',
      headers: { 'content-type': 'application/json', 'x-halftone-key': key },
      payload: JSON.stringify({
        header: { deviceId: device, app: 'demo', platform: 'android', appVersion: '8.3.0', sent_at: at, modules: { home: version } },
        items,
      }),
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const check = async (version: string, device = 'dev-x') => {
    const res = await t.api.inject({
      method: 'POST',
      url: '/client/v1/check',
      headers: { 'x-halftone-key': key },
      payload: { platform: 'android', appVersion: '8.3.0', deviceId: device, modules: [{ name: 'home', version }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const first = (res.json().modules as { name: string; action: string; fallbackUrl?: string }[])[0];
    if (first === undefined) throw new Error(`no module in the check answer: ${res.body}`);
    return first;
  };

  it('GET/PUT /admin/v1/clock: forward only, ISO times, admin token', async () => {
    expect((await admin('GET', '/admin/v1/clock')).json()).toEqual({ mode: 'manual', now: new Date(T0).toISOString() });
    const later = new Date(T0 + 5 * MIN).toISOString();
    expect((await admin('PUT', '/admin/v1/clock', { now: later })).json()).toEqual({ mode: 'manual', now: later });
    expect(clock.now().toISOString()).toBe(later);
    const back = await admin('PUT', '/admin/v1/clock', { now: new Date(T0).toISOString() });
    expect(back.statusCode).toBe(400);
    expect(back.json().code).toBe('HT_CLOCK_BACKWARDS');
    expect((await admin('PUT', '/admin/v1/clock', { now: 'tomorrow' })).json().code).toBe('HT_VALIDATION');
    const anon = await t.api.inject({ method: 'PUT', url: '/admin/v1/clock', payload: { now: later } });
    expect(anon.statusCode).toBe(401);
  });

  it('PUT /admin/v1/clock answers 409 on the system clock', async () => {
    const sys = await createTestApp();
    try {
      const res = await sys.api.inject({ method: 'PUT', url: '/admin/v1/clock', headers: sys.admin, payload: { now: new Date().toISOString() } });
      expect(res.statusCode).toBe(409);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.json().code).toBe('HT_CLOCK_NOT_MANUAL');
      expect((await sys.api.inject({ method: 'GET', url: '/admin/v1/clock', headers: sys.admin })).json().mode).toBe('system');
    } finally {
      await sys.close();
    }
  });

  it('validates health policies on create (pointers into the inline template)', async () => {
    await publish('1.0.0');
    const bad = await admin('POST', '/admin/v1/apps/demo/releases', {
      module: 'home',
      version: '1.0.0',
      health: { template: { name: 'x', stages: [{ kind: 'percentage', percent: 120, minExposure: { sessions: 1, devices: 1, minutes: 1 } }] } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('HT_HEALTH_TEMPLATE_INVALID');
    expect(bad.json().errors.map((e: { pointer: string }) => e.pointer)).toContain('/body/health/template/stages/0/percent');
    const unknown = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', health: { template: 'yolo' } });
    expect(unknown.json().code).toBe('HT_HEALTH_TEMPLATE_UNKNOWN');
    const conflict = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: 5, health: { template: 'fast' } });
    expect(conflict.json().code).toBe('HT_HEALTH_POLICY_CONFLICT');
    const onFailure = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', health: { template: 'fast', onFailure: 'explode' } });
    expect(onFailure.json().code).toBe('HT_VALIDATION');
    const ok = await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', health: { template: 'standard', onFailure: 'halt' } });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ stage: 'whitelist', percent: 0 });
    const h = (await admin('GET', `/admin/v1/releases/${ok.json().id}/health`)).json();
    expect(h).toMatchObject({ policy: { template: 'standard', onFailure: 'halt' }, stageIndex: 0, state: 'running', lastVerdict: null, decisions: [] });
    expect(h.stage).toMatchObject({ name: 'whitelist', kind: 'whitelist', confirm: true });
    expect(h.stageStartedAt).toBe(new Date(T0).toISOString());
  });

  it('waits for a confirmation, keeps evaluating while waiting, and confirm moves on', async () => {
    await publish('1.0.0');
    const template = {
      name: 'confirm-me',
      stages: [
        { kind: 'internal', confirm: true, minExposure: { sessions: 60, devices: 2, minutes: 5 } },
        { kind: 'percentage', percent: 20, minExposure: { sessions: 100000, devices: 1, minutes: 5 } },
        { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 0 } },
      ],
    };
    const rel = (await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', crowds: [], health: { template } })).json();
    expect(rel).toMatchObject({ stage: 'internal', percent: 0 });
    clock.advance(MIN);
    await sessions('1.0.0', 'd1', 40, 0);
    await sessions('1.0.0', 'd2', 40, 0);
    const confirmEarly = await admin('POST', `/admin/v1/releases/${rel.id}/confirm`);
    expect(confirmEarly.statusCode).toBe(409);
    expect(confirmEarly.json().code).toBe('HT_HEALTH_NOT_AWAITING_CONFIRMATION');
    clock.advance(5 * MIN);
    let pass = (await admin('POST', '/admin/v1/health/evaluate')).json();
    expect(pass.decisions[0]).toMatchObject({ decision: 'await_confirmation', state: 'awaiting_confirmation' });
    pass = (await admin('POST', '/admin/v1/health/evaluate')).json();
    expect(pass.decisions[0]).toMatchObject({ decision: 'await_confirmation', recorded: false });
    const confirmed = await admin('POST', `/admin/v1/releases/${rel.id}/confirm`);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ state: 'running', stageIndex: 1, stageStartedAt: clock.now().toISOString() });
    expect(confirmed.json().decisions.map((d: { kind: string }) => d.kind)).toEqual(['confirmed', 'await_confirmation']);
    expect((await admin('GET', `/admin/v1/releases/${rel.id}`)).json()).toMatchObject({ stage: 'percentage', percent: 20 });
    const history = (await admin('GET', `/admin/v1/releases/${rel.id}/status`)).json().history;
    expect(history.at(-1)).toMatchObject({ type: 'release.advanced', data: { by: 'health', to: 'percentage', percent: 20 } });
    const none = await admin('POST', `/admin/v1/releases/${rel.id}/confirm`);
    expect(none.statusCode).toBe(409);
  });

  it('confirm of a release without a policy is 404', async () => {
    await publish('1.0.0');
    const rel = (await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: 5 })).json();
    const res = await admin('POST', `/admin/v1/releases/${rel.id}/confirm`);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('HT_HEALTH_POLICY_NOT_FOUND');
    expect((await admin('GET', `/admin/v1/releases/${rel.id}/health`)).json()).toMatchObject({ policy: null, state: null, decisions: [] });
    expect((await admin('GET', '/admin/v1/releases/rel_missing/health')).statusCode).toBe(404);
  });

  it('breakers: add, validate, list, fire once (disable → check answers disable + fallback URL), remove', async () => {
    const pkg = await publish('1.0.0');
    const rel = (await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: 100 })).json();
    const invalid = await admin('POST', '/admin/v1/apps/demo/breakers', { id: 'b', scope: 'thing', target: '', metric: 'crash', threshold: 2, action: 'disable', windowMinutes: 0 });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().code).toBe('HT_BREAKER_INVALID');
    expect(invalid.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/body/scope', '/body/target', '/body/threshold', '/body/windowMinutes']);
    const rule = { id: 'home-crash', scope: 'package', target: pkg.id, metric: 'crash', threshold: 0.02, action: 'disable', windowMinutes: 30 };
    const added = await admin('POST', '/admin/v1/apps/demo/breakers', rule);
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({ ...rule, fired: [] });
    expect((await admin('POST', '/admin/v1/apps/demo/breakers', rule)).json().code).toBe('HT_BREAKER_EXISTS');
    await admin('POST', '/admin/v1/apps/demo/breakers', { id: 'notify-anr', scope: 'module', target: 'home', metric: 'anr', threshold: 0.5, action: 'notify' });

    clock.advance(MIN);
    expect((await check('1.0.0')).action).not.toBe('disable');
    await sessions('1.0.0', 'd1', 100, 20);
    clock.advance(MIN);
    const pass = (await admin('POST', '/admin/v1/health/evaluate')).json();
    expect(pass.breakers).toEqual([expect.objectContaining({ ruleId: 'home-crash', action: 'disable', packageId: pkg.id, releaseId: rel.id })]);
    expect(await check('1.0.0')).toMatchObject({ action: 'disable', fallbackUrl: 'https://m.example.com/home' });
    expect((await admin('POST', '/admin/v1/health/evaluate')).json().breakers).toEqual([]);
    const list = (await admin('GET', '/admin/v1/apps/demo/breakers')).json().breakers;
    expect(list.map((b: { id: string }) => b.id)).toEqual(['home-crash', 'notify-anr']);
    expect(list[0].fired).toEqual([{ ruleId: 'home-crash', subject: rel.id, firedAt: clock.now().toISOString() }]);
    expect(list[1]).toMatchObject({ windowMinutes: 30, fired: [] });
    const h = (await admin('GET', `/admin/v1/releases/${rel.id}/health`)).json();
    expect(h.decisions[0]).toMatchObject({ kind: 'breaker', data: { action: 'disable', rule: { id: 'home-crash' } } });
    expect((await admin('DELETE', '/admin/v1/apps/demo/breakers/home-crash')).statusCode).toBe(204);
    expect((await admin('DELETE', '/admin/v1/apps/demo/breakers/home-crash')).json().code).toBe('HT_BREAKER_NOT_FOUND');
    expect((await admin('GET', '/admin/v1/apps/nope/breakers')).statusCode).toBe(404);
  });

  it('breakers: halt_and_rollback sends only installers back, once', async () => {
    await publish('1.0.0');
    const rel = (await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: 100, health: undefined })).json();
    await admin('POST', '/admin/v1/apps/demo/breakers', { id: 'hr', scope: 'module', target: 'home', metric: 'crash', threshold: 0.05, action: 'halt_and_rollback' });
    clock.advance(MIN);
    await sessions('1.0.0', 'd1', 100, 30);
    clock.advance(MIN);
    const pass = (await admin('POST', '/admin/v1/health/evaluate')).json();
    expect(pass.breakers).toEqual([expect.objectContaining({ ruleId: 'hr', action: 'halt_and_rollback', releaseId: rel.id })]);
    expect((await admin('GET', `/admin/v1/releases/${rel.id}`)).json().status).toBe('rolled_back');
  });

  it('feedback watch: matching feedback raises one alert, listed with the release health', async () => {
    await publish('1.0.0');
    const rel = (await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: 100 })).json();
    const watch = await admin('PUT', `/admin/v1/releases/${rel.id}/feedback-watch`, { keywords: ['crash', '闪退', 'crash'] });
    expect(watch.statusCode, watch.body).toBe(200);
    expect(watch.json()).toMatchObject({ releaseId: rel.id, keywords: ['crash', '闪退'] });
    expect((await admin('PUT', `/admin/v1/releases/${rel.id}/feedback-watch`, { keywords: 'crash' })).json().code).toBe('HT_VALIDATION');
    expect((await admin('PUT', '/admin/v1/releases/rel_nope/feedback-watch', { keywords: [] })).statusCode).toBe(404);
    clock.advance(MIN);
    await sessions('1.0.0', 'd1', 1, 0, '首页打开就闪退');
    await sessions('1.0.0', 'd2', 1, 0, 'love the new look');
    await sessions('1.0.0', 'd3', 1, 0, 'It CRASHES every time');
    await waitFor(async () => (await admin('GET', `/admin/v1/releases/${rel.id}/health`)).json().feedbackAlerts.length === 2);
    const h = (await admin('GET', `/admin/v1/releases/${rel.id}/health`)).json();
    expect(h.feedbackWatch).toEqual(['crash', '闪退']);
    expect(h.feedbackAlerts.map((a: { data: { keywords: string[]; deviceId: string } }) => [a.data.deviceId, a.data.keywords]).sort()).toEqual([
      ['d1', ['闪退']],
      ['d3', ['crash']],
    ]);
    expect(h.decisions).toEqual([]);
  });
});

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
