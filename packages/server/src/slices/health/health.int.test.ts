import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildYazlZip } from '../packages/archive.test-helpers.js';
import { createTestApp, multipart, type TestApp } from '../../test-app.test-helpers.js';

// The whole server (manual clock) driven over HTTP only: real event batches through
// /client/v1/events, evaluation passes through /admin/v1/health/evaluate, webhooks to a real
// local receiver.

const T0 = Date.parse('2026-11-21T08:00:00.000Z');
const MIN = 60_000;
const SECRET = 'whsec_test_0123456789';

const TINY = {
  name: 'tiny',
  defaults: { comparison: { minBaselineSessions: 500, minAbsoluteIncrease: 0.01 } },
  stages: [
    { kind: 'percentage', percent: 10, minExposure: { sessions: 400, devices: 20, minutes: 10 } },
    { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 0 } },
  ],
};

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

describe('health gates end to end (manual clock, real events, webhooks)', () => {
  let receiver: Server;
  let received: Received[] = [];
  let hookUrl = '';
  let t: TestApp;
  let key: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=abc`;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  beforeEach(async () => {
    received = [];
    t = await createTestApp({
      HALFTONE_CLOCK_MODE: 'manual',
      HALFTONE_CLOCK_START: new Date(T0).toISOString(),
      HALFTONE_HEALTH_WEBHOOKS: JSON.stringify([{ url: hookUrl, secret: SECRET }]),
      HALFTONE_HEALTH_WEBHOOK_BACKOFF_MS: '10',
    });
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
    const res = await t.api.inject({
      method: 'POST',
      url: '/admin/v1/apps/demo/packages',
      headers: { ...t.admin, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string };
  };
  const setClock = async (ms: number) => {
    const res = await admin('PUT', '/admin/v1/clock', { now: new Date(ms).toISOString() });
    expect(res.statusCode, res.body).toBe(200);
  };
  const evaluate = async () => {
    const res = await admin('POST', '/admin/v1/health/evaluate');
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as {
      evaluated: number;
      decisions: { releaseId: string; decision: string; stage: string; state: string; reason: string; gates: { gate: string; status: string; numbers: Record<string, number> }[] }[];
    };
  };
  /** `devices` devices on home@version, each with `perDevice` sessions, `crashed` of them crashing in all. */
  const traffic = async (version: string, devices: number, perDevice: number, crashed: number, at: number) => {
    await setClock(at);
    let crashesLeft = crashed;
    for (let d = 0; d < devices; d++) {
      const items: unknown[] = [];
      for (let s = 0; s < perDevice; s++) {
        const sid = randomUUID();
        const crash = crashesLeft > 0 && s === 0;
        if (crash) crashesLeft--;
        items.push({ id: randomUUID(), type: 'session', ts: at - 2000, sid, phase: 'start', status: 'ok' });
        items.push({ id: randomUUID(), type: 'session', ts: at - 1000, sid, phase: 'end', status: crash ? 'crashed' : 'exited' });
      }
      const res = await t.api.inject({
        method: 'POST',
        url: '/client/v1/events',
        headers: { 'content-type': 'application/json', 'x-halftone-key': key },
        payload: JSON.stringify({
          header: {
            deviceId: `dev-${version}-${d}`,
            app: 'demo',
            platform: 'android',
            appVersion: '8.3.0',
            sent_at: at,
            modules: { home: version },
            deviceModel: `Model ${d % 3}`,
          },
          items,
        }),
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    return crashed - crashesLeft;
  };
  const setUp = async (onFailure?: 'halt' | 'rollback') => {
    await publish('1.0.0');
    const base = (await admin('POST', '/admin/v1/apps/demo/releases', { module: 'home', version: '1.0.0', percent: 100 })).json() as { id: string };
    expect((await admin('POST', `/admin/v1/releases/${base.id}/advance`)).statusCode).toBe(200);
    await publish('1.1.0');
    const res = await admin('POST', '/admin/v1/apps/demo/releases', {
      module: 'home',
      version: '1.1.0',
      health: onFailure === undefined ? { template: TINY } : { template: TINY, onFailure },
    });
    expect(res.statusCode, res.body).toBe(201);
    const rel = res.json() as { id: string; stage: string; percent: number };
    expect(rel).toMatchObject({ stage: 'percentage', percent: 10 });
    return rel.id;
  };

  it('advances a healthy release after the minimum exposure, then completes; webhooks are signed', async () => {
    const id = await setUp();
    await traffic('1.0.0', 30, 40, 2, T0 + MIN);
    await traffic('1.1.0', 25, 20, 0, T0 + MIN);

    await setClock(T0 + 2 * MIN);
    let pass = await evaluate();
    expect(pass.evaluated).toBe(1);
    expect(pass.decisions[0]).toMatchObject({ releaseId: id, decision: 'hold', stage: '10%', state: 'running' });

    await setClock(T0 + 11 * MIN);
    pass = await evaluate();
    expect(pass.decisions[0], JSON.stringify(pass.decisions[0])).toMatchObject({ decision: 'advance', stage: '10%' });
    const release = (await admin('GET', `/admin/v1/releases/${id}`)).json();
    expect(release).toMatchObject({ stage: 'full', percent: 100, status: 'active' });

    pass = await evaluate();
    expect(pass.decisions[0]).toMatchObject({ stage: 'full', decision: 'advance', state: 'completed' });
    const health = (await admin('GET', `/admin/v1/releases/${id}/health`)).json();
    expect(health).toMatchObject({ policy: { template: 'tiny', onFailure: 'rollback' }, state: 'completed', stageIndex: 1 });
    expect(health.decisions.map((d: { kind: string }) => d.kind)).toEqual(['completed', 'advance', 'advance', 'hold']);
    expect((await evaluate()).evaluated).toBe(0);

    await t.health.evaluate(); // no-op; then wait for deliveries
    await waitFor(() => received.length >= 4);
    const kinds = received.map((r) => JSON.parse(r.body).kind);
    expect(kinds).toEqual(expect.arrayContaining(['hold', 'advance', 'completed']));
    for (const r of received) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
      expect(r.headers['x-halftone-signature']).toBe(expected);
      expect(r.headers['content-type']).toBe('application/json');
    }
  });

  it('halts and rolls back a crashing release (3 %) with the numbers recorded', async () => {
    const id = await setUp();
    await traffic('1.0.0', 30, 40, 2, T0 + MIN);
    const crashed = await traffic('1.1.0', 40, 25, 30, T0 + MIN);
    expect(crashed).toBe(30);
    await setClock(T0 + 2 * MIN);
    const pass = await evaluate();
    expect(pass.decisions[0]).toMatchObject({ decision: 'halt', state: 'halted' });
    const release = (await admin('GET', `/admin/v1/releases/${id}`)).json();
    expect(release.status).toBe('rolled_back');
    const health = (await admin('GET', `/admin/v1/releases/${id}/health`)).json();
    expect(health.state).toBe('halted');
    expect(health.decisions.map((d: { kind: string }) => d.kind)).toEqual(['rollback', 'halt']);
    const halt = health.decisions[1];
    const ceiling = halt.gates.find((g: { gate: string }) => g.gate === 'crash_ceiling');
    expect(ceiling).toMatchObject({ status: 'fail', numbers: { sessions: 1000, events: 30, observed: 0.03, threshold: 0.0109 } });
    expect((await evaluate()).evaluated).toBe(0);
    await waitFor(() => received.some((r) => JSON.parse(r.body).kind === 'rollback'));
  });

  it('halts (onFailure halt) without rolling back; resuming by hand re-arms the policy from a fresh window', async () => {
    const id = await setUp('halt');
    await traffic('1.0.0', 30, 40, 2, T0 + MIN);
    await traffic('1.1.0', 40, 25, 30, T0 + MIN);
    await setClock(T0 + 2 * MIN);
    expect((await evaluate()).decisions[0]).toMatchObject({ decision: 'halt', state: 'halted' });
    expect((await admin('GET', `/admin/v1/releases/${id}`)).json().status).toBe('halted');
    // Still halted by the release: the policy stays halted and nothing is evaluated.
    await setClock(T0 + 3 * MIN);
    expect((await evaluate()).evaluated).toBe(0);
    expect((await admin('GET', `/admin/v1/releases/${id}/health`)).json().state).toBe('halted');

    expect((await admin('POST', `/admin/v1/releases/${id}/resume`)).statusCode).toBe(200);
    await setClock(T0 + 4 * MIN);
    const pass = await evaluate();
    // Re-armed, then judged on the fresh window (empty): hold, not a second halt.
    expect(pass.decisions[0]).toMatchObject({ releaseId: id, decision: 'hold', state: 'running' });
    const health = (await admin('GET', `/admin/v1/releases/${id}/health`)).json();
    expect(health).toMatchObject({ state: 'running', stageStartedAt: new Date(T0 + 4 * MIN).toISOString() });
    expect(health.decisions.map((d: { kind: string }) => d.kind).slice(0, 3)).toEqual(['hold', 'resumed', 'halt']);
  });

  it('holds a release with too little traffic, recording the hold once', async () => {
    const id = await setUp();
    await traffic('1.0.0', 30, 40, 2, T0 + MIN);
    await traffic('1.1.0', 3, 3, 0, T0 + MIN);
    for (const m of [2, 11, 30, 90]) {
      await setClock(T0 + m * MIN);
      const pass = await evaluate();
      expect(pass.decisions[0]).toMatchObject({ releaseId: id, decision: 'hold', state: 'running' });
    }
    const health = (await admin('GET', `/admin/v1/releases/${id}/health`)).json();
    expect(health.decisions.map((d: { kind: string }) => d.kind)).toEqual(['hold']);
    expect(health.lastVerdict).toMatchObject({ decision: 'hold', minutesInStage: 90 });
    expect((await admin('GET', `/admin/v1/releases/${id}`)).json()).toMatchObject({ stage: 'percentage', percent: 10, status: 'active' });
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
