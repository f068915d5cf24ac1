import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../../platform/clock.js';
import { type TestApp, createTestApp } from '../../test-app.test-helpers.js';

const NOW = new Date('2026-11-21T10:00:00.000Z');

function header(over: Record<string, unknown> = {}) {
  return {
    deviceId: 'dev-1',
    app: 'demo',
    platform: 'android',
    appVersion: '8.3.0',
    sent_at: NOW.getTime(),
    modules: { home: '1.0.0' },
    deviceModel: 'Pixel 8',
    ...over,
  };
}

const session = (phase: 'start' | 'end', status = 'ok', ts = NOW.getTime() - 1000) => ({
  id: randomUUID(),
  type: 'session',
  ts,
  sid: 's1',
  phase,
  status,
});

describe('POST /client/v1/events', () => {
  let t: TestApp;
  let key: string;
  const clock = createFakeClock(NOW);

  const send = (payload: unknown, headers: Record<string, string> = {}) =>
    t.api.inject({
      method: 'POST',
      url: '/client/v1/events',
      headers: { 'content-type': 'application/json', 'x-halftone-key': key, ...headers },
      payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    });

  beforeEach(async () => {
    clock.set(NOW);
    t = await createTestApp(
      {
        HALFTONE_EVENTS_RATE_LIMITS_CRASH: '3',
        HALFTONE_EVENTS_MAX_BATCH_ITEMS: '20',
        HALFTONE_EVENTS_MAX_BATCH_BYTES: '20000',
        HALFTONE_EVENTS_FEEDBACK_MAX_CHARS: '10',
      },
      { clock },
    );
    key = await t.createApp('demo', ['android']);
  });
  afterEach(async () => {
    await t.close();
  });

  it('stores a JSON batch, reports bad items, and counts sessions in the health numbers', async () => {
    const items = [
      session('start'),
      session('end', 'crashed'),
      { id: randomUUID(), type: 'crash', ts: NOW.getTime() - 900, exceptionType: 'TypeError', stack: 'at a (x.js:1:2)' },
      { id: 'not-a-uuid', type: 'session' },
      { id: randomUUID(), type: 'teleport', ts: 1 },
    ];
    const res = await send({ header: header(), items });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 3, duplicates: 0, truncated: [], skewMs: 0 });
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [3, 'HT_EVENTS_ITEM_INVALID'],
      [4, 'HT_EVENTS_ITEM_TYPE_UNKNOWN'],
    ]);
    const health = await t.api.inject({
      method: 'GET',
      url: '/admin/v1/apps/demo/health?module=home&version=1.0.0',
      headers: t.admin,
    });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      sessions: 1,
      sessionsCrashed: 1,
      crashes: 1,
      crashRate: 1,
      crashFreeSessionRate: 0,
      distinctDevices: 1,
      byDeviceModel: [{ deviceModel: 'Pixel 8', sessions: 1 }],
      topCrashGroups: [{ exceptionType: 'TypeError', count: 1 }],
    });
  });

  it('accepts NDJSON with gzip, and deduplicates a resent batch', async () => {
    const items = [session('start'), session('end', 'exited')];
    const ndjson = [header(), ...items].map((x) => JSON.stringify(x)).join('\n');
    const body = gzipSync(Buffer.from(ndjson));
    const h = { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' };
    const first = await send(body, h);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    const again = await send(body, h);
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 2 });
    const health = await t.events.health({ appId: 'demo', module: 'home', from: new Date(0), to: NOW });
    expect(health.sessions).toBe(1);
    expect(health.sessionsExited).toBe(1);
  });

  it('answers 413 naming the limit for a big batch, too many items, or a gzip bomb', async () => {
    const big = await send({ header: header(), items: [{ x: 'y'.repeat(30_000) }] });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'HT_EVENTS_BATCH_TOO_LARGE' });
    expect(big.json().title).toContain('20000 bytes');
    const many = await send({ header: header(), items: Array.from({ length: 21 }, () => session('start')) });
    expect(many.statusCode).toBe(413);
    expect(many.json().title).toContain('20 items');
    const bomb = gzipSync(Buffer.alloc(5_000_000, 32));
    const res = await send(bomb, { 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('401 for an unknown key, 400 for a malformed header, app mismatch or bad body, 415 for other encodings', async () => {
    const unknown = await send({ header: header(), items: [] }, { 'x-halftone-key': 'hck_nope' });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().code).toBe('HT_AUTH_CLIENT_KEY_INVALID');
    const bad = await send({ header: { deviceId: 'd' }, items: [] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('HT_EVENTS_HEADER_INVALID');
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const other = await send({ header: header({ app: 'other' }), items: [] });
    expect(other.json().code).toBe('HT_EVENTS_APP_MISMATCH');
    const notJson = await send('{nope');
    expect(notJson.json().code).toBe('HT_EVENTS_BODY_INVALID');
    const brotli = await send({ header: header(), items: [] }, { 'content-encoding': 'br' });
    expect(brotli.statusCode).toBe(415);
    const corrupt = await send(Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    expect(corrupt.json().code).toBe('HT_EVENTS_BODY_INVALID');
  });

  it('rate-limits per category with 429 and Retry-After, storing nothing of the refused batch', async () => {
    const crash = () => ({ id: randomUUID(), type: 'crash', ts: NOW.getTime(), message: 'boom' });
    const ok = await send({ header: header(), items: [crash(), crash()] });
    expect(ok.statusCode).toBe(200);
    clock.advance(15_000);
    const limited = await send({ header: header(), items: [crash(), crash(), session('start')] });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('45');
    expect(limited.headers['x-halftone-rate-limits']).toBe('45:crash');
    expect(limited.json().code).toBe('HT_EVENTS_RATE_LIMITED');
    // Another device has its own budget.
    const other = await send({ header: header({ deviceId: 'dev-2' }), items: [crash(), crash()] });
    expect(other.statusCode).toBe(200);
    clock.advance(45_000);
    const later = await send({ header: header(), items: [crash(), crash()] });
    expect(later.statusCode).toBe(200);
    const health = await t.events.health({ appId: 'demo', module: 'home', from: new Date(0), to: new Date(NOW.getTime() + 3_600_000) });
    expect(health.crashes).toBe(6);
    expect(health.sessions).toBe(0);
    expect(health.crashRate).toBeNull();
  });

  it('corrects clock skew from sent_at and truncates long feedback', async () => {
    const deviceNow = NOW.getTime() - 3_600_000; // device clock one hour behind
    const res = await send({
      header: header({ sent_at: new Date(deviceNow).toISOString() }),
      items: [
        { ...session('start', 'ok', deviceNow - 60_000) },
        { id: randomUUID(), type: 'feedback', ts: deviceNow, text: 'this text is far too long' },
      ],
    });
    expect(res.json()).toMatchObject({ accepted: 2, skewMs: 3_600_000, truncated: [1] });
    // The session counts in the minute before NOW, not an hour earlier.
    const lastMinutes = await t.events.health({
      appId: 'demo',
      module: 'home',
      from: new Date(NOW.getTime() - 120_000),
      to: new Date(NOW.getTime() + 60_000),
    });
    expect(lastMinutes.sessions).toBe(1);
    expect(lastMinutes.feedback).toBe(1);
  });

  it('serves the baseline (release=none) and refuses unknown releases, missing scope and no token', async () => {
    // Release attribution: events-service.test.ts and e2e/events.e2e.test.ts; here the baseline.
    await send({ header: header(), items: [session('start')] });
    const baseline = await t.api.inject({
      method: 'GET',
      url: '/admin/v1/apps/demo/health?release=none&module=home&version=1.0.0',
      headers: t.admin,
    });
    expect(baseline.json()).toMatchObject({ release: '', sessions: 1 });
    const unknown = await t.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/health?release=rel_nope', headers: t.admin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('HT_EVENTS_RELEASE_UNKNOWN');
    const noScope = await t.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/health', headers: t.admin });
    expect(noScope.json().code).toBe('HT_EVENTS_QUERY_INVALID');
    const noAuth = await t.api.inject({ method: 'GET', url: '/admin/v1/apps/demo/health?module=home' });
    expect(noAuth.statusCode).toBe(401);
  });
});
