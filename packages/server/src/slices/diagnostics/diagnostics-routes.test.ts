import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../../platform/clock.js';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';

const LIMIT = 64 * 1024;

describe('diagnostics over the admin and client APIs', () => {
  let t: TestApp;
  let key: string;
  let clock: FakeClock;
  beforeEach(async () => {
    clock = createFakeClock(new Date('2026-11-21T08:00:00.000Z'));
    t = await createTestApp(
      { HALFTONE_DIAGNOSTICS_UPLOAD_MAX_BYTES: String(LIMIT), HALFTONE_DIAGNOSTICS_MAX_EXPIRY_SECONDS: String(10 * 86_400) },
      { clock },
    );
    key = await t.createApp('demo', ['android', 'ios']);
  });
  afterEach(async () => {
    await t.close();
  });

  const admin = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    t.api.inject({ method, url, headers: t.admin, ...(payload !== undefined ? { payload } : {}) });
  const request = async (body: Record<string, unknown>) => {
    const res = await admin('POST', '/admin/v1/apps/demo/diagnostics', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; state: string; expiresAt: string; params: unknown };
  };
  const check = async (deviceId: string, userId?: string, clientKey = key) => {
    const res = await t.api.inject({
      method: 'POST',
      url: '/client/v1/check',
      headers: { 'x-halftone-key': clientKey },
      payload: { deviceId, ...(userId ? { userId } : {}), platform: 'android', appVersion: '8.0.0', modules: [] },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { modules: unknown[]; commands?: { id: string; kind: string; params: unknown; expiresAt: string; uploadUrl: string }[] };
  };
  const upload = (id: string, data: Buffer, headers: Record<string, string> = {}) =>
    t.api.inject({
      method: 'POST',
      url: `/client/v1/diagnostics/${id}`,
      headers: { 'x-halftone-key': key, 'x-halftone-device-id': 'dev-1', 'content-type': 'application/gzip', ...headers },
      payload: data,
    });
  const show = async (id: string) => {
    const res = await admin('GET', `/admin/v1/apps/demo/diagnostics/${id}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Record<string, unknown> & { state: string; history: { state: string; at: string }[] };
  };

  it('creates a command for a device, hands it out in that device’s check only, and records the delivery', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 24, note: 'ticket 42' });
    expect(cmd).toMatchObject({ state: 'pending', params: { sinceHours: 24 }, expiresAt: '2026-11-28T08:00:00.000Z' });
    expect((await check('dev-2')).commands).toBeUndefined();
    const answer = await check('dev-1');
    expect(answer.commands).toEqual([
      {
        id: cmd.id,
        kind: 'upload_logs',
        params: { sinceHours: 24 },
        expiresAt: '2026-11-28T08:00:00.000Z',
        uploadUrl: `https://cdn.example.com/client/v1/diagnostics/${cmd.id}`,
      },
    ]);
    clock.advance(1000);
    // Still handed out until answered; the first delivery is what is recorded.
    expect((await check('dev-1')).commands?.map((c) => c.id)).toEqual([cmd.id]);
    const shown = await show(cmd.id);
    expect(shown).toMatchObject({ state: 'delivered', deliveredAt: '2026-11-21T08:00:00.000Z', deliveredTo: 'dev-1', note: 'ticket 42' });
    expect(shown.history.map((h) => h.state)).toEqual(['pending', 'delivered']);
  });

  it('reaches every device of a targeted user, and no one else', async () => {
    const cmd = await request({ userId: 'alice', kind: 'upload_crash_dumps' });
    expect((await check('phone', 'bob')).commands).toBeUndefined();
    expect((await check('phone')).commands).toBeUndefined();
    expect((await check('phone', 'alice')).commands?.[0]).toMatchObject({ id: cmd.id, kind: 'upload_crash_dumps', params: {} });
    expect((await check('tablet', 'alice')).commands?.[0]?.id).toBe(cmd.id);
    const other = await upload(cmd.id, Buffer.from('x'), { 'x-halftone-device-id': 'tablet', 'x-halftone-user-id': 'bob' });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ code: 'HT_DIAG_TARGET_MISMATCH' });
    const ok = await upload(cmd.id, Buffer.from('dump'), { 'x-halftone-device-id': 'tablet', 'x-halftone-user-id': 'alice' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await show(cmd.id)).upload).toMatchObject({ deviceId: 'tablet', size: 4 });
  });

  it('takes one upload, streams it back to admins with its digest, then answers 409', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 2 });
    const data = Buffer.alloc(40_000, 7);
    const res = await upload(cmd.id, data);
    expect(res.statusCode, res.body).toBe(200);
    const sha256 = createHash('sha256').update(data).digest('hex');
    expect(res.json()).toEqual({ id: cmd.id, state: 'uploaded', size: data.length, sha256, uploadedAt: '2026-11-21T08:00:00.000Z' });
    expect(await show(cmd.id)).toMatchObject({
      state: 'uploaded',
      upload: { size: data.length, sha256, contentType: 'application/gzip', deviceId: 'dev-1' },
    });
    const again = await upload(cmd.id, data);
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json()).toMatchObject({ code: 'HT_DIAG_ALREADY_UPLOADED' });
    // An answered command is no longer handed out.
    expect((await check('dev-1')).commands).toBeUndefined();

    const down = await admin('GET', `/admin/v1/apps/demo/diagnostics/${cmd.id}/upload`);
    expect(down.statusCode).toBe(200);
    expect(down.rawPayload.equals(data)).toBe(true);
    expect(down.headers).toMatchObject({
      'content-type': 'application/gzip',
      'content-length': String(data.length),
      'content-disposition': `attachment; filename="${cmd.id}.gz"`,
      'x-halftone-sha256': sha256,
      'x-content-type-options': 'nosniff',
    });
    // Admin token only: a client key does not open it.
    const asDevice = await t.api.inject({ method: 'GET', url: `/admin/v1/apps/demo/diagnostics/${cmd.id}/upload`, headers: { 'x-halftone-key': key } });
    expect(asDevice.statusCode).toBe(401);
    // Not in the public, content-addressed package blobs.
    expect((await t.api.inject({ method: 'GET', url: `/client/v1/blobs/${sha256}` })).statusCode).toBe(404);
  });

  it('refuses an upload over the limit with 413 naming it, and keeps nothing', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 2 });
    const res = await upload(cmd.id, Buffer.alloc(LIMIT + 1));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'HT_DIAG_UPLOAD_TOO_LARGE', title: `Diagnostic upload exceeds the limit of ${LIMIT} bytes` });
    expect(await show(cmd.id)).toMatchObject({ state: 'pending', upload: null });
    expect((await admin('GET', `/admin/v1/apps/demo/diagnostics/${cmd.id}/upload`)).json()).toMatchObject({ code: 'HT_DIAG_UPLOAD_MISSING' });
    // Exactly at the limit is fine.
    expect((await upload(cmd.id, Buffer.alloc(LIMIT))).statusCode).toBe(200);
  });

  it('answers 404 for unknown commands and commands of another app, 401 without a key, 400 without a device id', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 2 });
    expect((await upload('diag_nope', Buffer.from('x'))).json()).toMatchObject({ status: 404, code: 'HT_DIAG_NOT_FOUND' });
    const otherKey = await t.createApp('other', ['android']);
    expect((await upload(cmd.id, Buffer.from('x'), { 'x-halftone-key': otherKey })).statusCode).toBe(404);
    expect((await upload(cmd.id, Buffer.from('x'), { 'x-halftone-key': 'wrong' })).json()).toMatchObject({ code: 'HT_AUTH_CLIENT_KEY_INVALID' });
    const noDevice = await t.api.inject({
      method: 'POST',
      url: `/client/v1/diagnostics/${cmd.id}`,
      headers: { 'x-halftone-key': key },
      payload: Buffer.from('x'),
    });
    expect(noDevice.statusCode).toBe(400);
    expect(noDevice.json()).toMatchObject({ code: 'HT_VALIDATION' });
    expect((await admin('GET', '/admin/v1/apps/demo/diagnostics/diag_nope')).statusCode).toBe(404);
  });

  it('accepts a body without a content type, stored as octet-stream', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 2 });
    const res = await t.api.inject({
      method: 'POST',
      url: `/client/v1/diagnostics/${cmd.id}`,
      headers: { 'x-halftone-key': key, 'x-halftone-device-id': 'dev-1' },
      payload: Buffer.from('raw log lines'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await show(cmd.id)).upload).toMatchObject({ contentType: 'application/octet-stream', size: 13 });
  });

  it('expires commands on read and in the sweep: no longer handed out, uploads answer 410', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'upload_logs', sinceHours: 2, expiresInSeconds: 3600 });
    expect((await check('dev-1')).commands).toHaveLength(1);
    clock.advance(3600_000);
    expect((await check('dev-1')).commands).toBeUndefined();
    const shown = await show(cmd.id);
    expect(shown).toMatchObject({ state: 'expired', expiredAt: '2026-11-21T09:00:00.000Z' });
    expect(shown.history.map((h) => h.state)).toEqual(['pending', 'delivered', 'expired']);
    const res = await upload(cmd.id, Buffer.from('late'));
    expect(res.statusCode).toBe(410);
    expect(res.json()).toMatchObject({ code: 'HT_DIAG_EXPIRED' });
    expect(await t.diagnostics.sweep()).toBe(1);
    expect(await show(cmd.id)).toMatchObject({ state: 'expired', expiredAt: '2026-11-21T09:00:00.000Z' });
    const list = await admin('GET', '/admin/v1/apps/demo/diagnostics?state=expired');
    expect((list.json() as { commands: { id: string }[] }).commands.map((c) => c.id)).toEqual([cmd.id]);
    expect((await admin('DELETE', `/admin/v1/apps/demo/diagnostics/${cmd.id}`)).json()).toMatchObject({ code: 'HT_DIAG_NOT_CANCELLABLE' });
  });

  it('cancels: the device stops receiving it, its upload answers 410, cancelling again is harmless', async () => {
    const cmd = await request({ deviceId: 'dev-1', kind: 'custom', payload: { action: 'dump-db', tables: ['a'] } });
    expect((await check('dev-1')).commands?.[0]?.params).toEqual({ action: 'dump-db', tables: ['a'] });
    clock.advance(5000);
    const res = await admin('DELETE', `/admin/v1/apps/demo/diagnostics/${cmd.id}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ state: 'cancelled', cancelledAt: '2026-11-21T08:00:05.000Z' });
    expect((await check('dev-1')).commands).toBeUndefined();
    expect((await upload(cmd.id, Buffer.from('x'))).json()).toMatchObject({ status: 410, code: 'HT_DIAG_CANCELLED' });
    expect((await admin('DELETE', `/admin/v1/apps/demo/diagnostics/${cmd.id}`)).statusCode).toBe(200);
    expect((await show(cmd.id)).history.map((h) => h.state)).toEqual(['pending', 'delivered', 'cancelled']);
  });

  it('validates creation: one target, kind parameters, expiry limit, known app', async () => {
    const bad = async (body: Record<string, unknown>, code: string, url = '/admin/v1/apps/demo/diagnostics') => {
      const res = await admin('POST', url, body);
      expect(res.json(), JSON.stringify(body)).toMatchObject({ code });
    };
    await bad({ kind: 'upload_logs', sinceHours: 1 }, 'HT_DIAG_PARAMS_INVALID');
    await bad({ deviceId: 'a', userId: 'b', kind: 'upload_logs', sinceHours: 1 }, 'HT_DIAG_PARAMS_INVALID');
    await bad({ deviceId: 'a', kind: 'upload_logs' }, 'HT_DIAG_PARAMS_INVALID');
    await bad({ deviceId: 'a', kind: 'custom' }, 'HT_DIAG_PARAMS_INVALID');
    await bad({ deviceId: 'a', kind: 'custom', payload: { big: 'x'.repeat(5000) } }, 'HT_DIAG_PARAMS_INVALID');
    await bad({ deviceId: 'a', kind: 'upload_logs', sinceHours: 1, payload: {} }, 'HT_DIAG_PARAMS_INVALID');
    await bad({ deviceId: 'a', kind: 'reboot' }, 'HT_VALIDATION');
    await bad({ deviceId: 'a', kind: 'upload_logs', sinceHours: 0 }, 'HT_VALIDATION');
    await bad({ deviceId: 'a', kind: 'upload_logs', sinceHours: 1, expiresInSeconds: 11 * 86_400 }, 'HT_DIAG_EXPIRY_TOO_LONG');
    await bad({ deviceId: 'a', kind: 'upload_logs', sinceHours: 1 }, 'HT_APP_NOT_FOUND', '/admin/v1/apps/nope/diagnostics');
    expect((await t.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/diagnostics', payload: {} })).statusCode).toBe(401);
  });

  it('lists newest first with filters and pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await request({ deviceId: i % 2 === 0 ? 'even' : 'odd', kind: 'upload_logs', sinceHours: 1 })).id);
      clock.advance(1000);
    }
    await request({ userId: 'alice', kind: 'upload_crash_dumps' });
    const list = async (query: string) => {
      const res = await admin('GET', `/admin/v1/apps/demo/diagnostics${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { commands: { id: string; target: { id: string } }[]; nextCursor: string | null };
    };
    expect((await list('?device=even')).commands.map((c) => c.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await list('?user=alice')).commands.map((c) => c.target.id)).toEqual(['alice']);
    const first = await list('?limit=4');
    expect(first.commands).toHaveLength(4);
    const second = await list(`?limit=4&cursor=${first.nextCursor}`);
    expect(second.commands.map((c) => c.id)).toEqual([ids[1], ids[0]]);
    expect(second.nextCursor).toBeNull();
    expect((await list('?state=pending')).commands).toHaveLength(6);
    expect((await list('?state=uploaded')).commands).toHaveLength(0);
    expect((await admin('GET', '/admin/v1/apps/demo/diagnostics?state=bogus')).json()).toMatchObject({ code: 'HT_VALIDATION' });
    expect((await admin('GET', '/admin/v1/apps/demo/diagnostics?cursor=xyz')).json()).toMatchObject({ code: 'HT_DIAG_CURSOR_INVALID' });
  });
});
