/**
 * Every admin case of /work/shared/reference/abtesting-conformance.json, replayed against the real
 * HTTP API (`/ab_admin?action=…` on the composed app, with the admin token): HTTP status, `code`,
 * exact `desc` where given, and `data` with the case's comparison rules. Setup calls are replayed
 * over HTTP too and must answer the code they expect.
 */
import { existsSync, readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../platform/clock.js';
import { createTestApp, type TestApp } from '../../test-app.test-helpers.js';
import { AbTestingAdmin } from './abtesting-admin.js';
import { abTestingRoutes } from './abtesting-routes.js';
import { GatewayService } from './gateway-service.js';
import type { GatewayStore } from './gateway-store.js';

const FILE = '/work/shared/reference/abtesting-conformance.json';

interface Req {
  target: 'admin' | 'gateway';
  method: string;
  path: string;
  body?: unknown;
  rawBody?: string;
}
interface Step {
  type?: 'request' | 'expireCaches' | 'stopStore';
  method?: string;
  path?: string;
  body?: unknown;
  rawBody?: string;
  expect?: { errcode?: number };
}
interface Case {
  id: string;
  title: string;
  setup: Step[];
  request: Req;
  expect: { status?: number; errcode?: number; desc?: string; data?: unknown; compare?: Record<string, string> };
  quirk?: string;
  referenceBug?: string;
  informative?: boolean;
}

const cases: Case[] = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Case[]) : [];
const adminCases = cases.filter((c) => c.request.target === 'admin');

type Inject = (step: { method?: string; path?: string; body?: unknown; rawBody?: string }) => Promise<{
  statusCode: number;
  body: string;
}>;

function injector(app: { inject: (o: object) => Promise<{ statusCode: number; body: string }> }, headers: object): Inject {
  return (s) =>
    app.inject({
      method: s.method ?? 'GET',
      url: s.path,
      headers: { ...headers, ...(s.body !== undefined || s.rawBody !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(s.rawBody !== undefined ? { payload: s.rawBody } : s.body !== undefined ? { payload: JSON.stringify(s.body) } : {}),
    });
}

function pairs(list: unknown): string[] {
  const a = list as string[];
  const out: string[] = [];
  for (let i = 0; i < a.length; i += 2) out.push(`${a[i]}=${a[i + 1]}`);
  return out.sort();
}

function checkData(actual: unknown, expected: unknown, compare: Record<string, string>, path = 'data'): void {
  const rule = compare[path];
  if (rule === 'pairs-unordered') {
    expect(pairs(actual), path).toEqual(pairs(expected));
    return;
  }
  if (rule === 'numeric-approx') {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, number>;
    expect(Object.keys(a).sort(), path).toEqual(Object.keys(e).sort());
    for (const [k, v] of Object.entries(e)) expect(Number(a[k]), `${path}.${k}`).toBeCloseTo(v, 6);
    return;
  }
  if (rule === 'empty-collection') {
    expect(actual === null || typeof actual !== 'object' ? actual : Object.keys(actual).length, path).toBe(0);
    return;
  }
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    expect(actual, path).toBeTypeOf('object');
    for (const [k, v] of Object.entries(expected)) checkData((actual as Record<string, unknown>)[k], v, compare, `${path}.${k}`);
    return;
  }
  expect(actual, path).toEqual(expected);
}

async function runCase(c: Case, inject: Inject): Promise<void> {
  for (const s of c.setup) {
    if (s.type === 'expireCaches') continue; // no caches: every change is in force at once
    if (s.type === 'stopStore') continue; // handled by the caller's store
    if (s.type === 'request') throw new Error(`${c.id}: gateway warm-up requests are not admin cases`);
    const res = await inject(s);
    expect(res.statusCode, `setup ${s.path}`).toBe(200);
    expect((JSON.parse(res.body) as { code: number }).code, `setup ${s.path}: ${res.body}`).toBe(s.expect?.errcode ?? 200);
  }
  const res = await inject(c.request);
  expect(res.statusCode).toBe(c.expect.status ?? 200);
  expect(res.body.endsWith('\n')).toBe(true);
  const body = JSON.parse(res.body) as { code: number; desc: string; data?: unknown };
  expect(body.code, res.body).toBe(c.expect.errcode);
  expect(typeof body.desc).toBe('string');
  if (c.expect.desc !== undefined) expect(body.desc).toBe(c.expect.desc);
  if (c.expect.data !== undefined) checkData(body.data, c.expect.data, c.expect.compare ?? {});
}

function failingStore(): GatewayStore {
  const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  return {
    listUpstreams: down,
    getUpstream: down,
    putUpstream: down,
    deleteUpstream: down,
    listPolicies: down,
    getPolicy: down,
    insertPolicy: down,
    updatePolicy: down,
    deletePolicy: down,
    listHosts: down,
    getHost: down,
    putHost: down,
    deleteHost: down,
    appendHistory: down,
    listHistory: down,
    historyKeys: down,
  };
}

describe('ABTestingGateway conformance: admin cases over HTTP', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('finds the admin cases', () => {
    expect(adminCases.length).toBeGreaterThan(20);
  });

  it('with the store down every known action answers 50301, an unknown one 50501', async () => {
    const app = Fastify();
    await app.register(abTestingRoutes, { admin: new AbTestingAdmin(new GatewayService({ store: failingStore(), clock: systemClock })) });
    try {
      const inject = injector(app, {});
      for (const action of ['policy_check', 'policy_set', 'policygroup_check', 'policy_get&policyid=0', 'runtime_del&hostname=a']) {
        const res = await inject({ method: 'POST', path: `/ab_admin?action=${action}`, body: { divtype: 'uidsuffix', divdata: [] } });
        expect(JSON.parse(res.body), action).toEqual({ code: 50301, desc: 'redis connect error for connect ECONNREFUSED 127.0.0.1:6379' });
      }
      const res = await inject({ path: '/ab_admin?action=bogus' });
      expect(JSON.parse(res.body)).toEqual({ code: 50501, desc: 'error during action of bogus' });
    } finally {
      await app.close();
    }
  });

  for (const c of adminCases) {
    const needsStoreDown = c.setup.some((s) => s.type === 'stopStore');
    it(`${c.id} ${c.title}`, async () => {
      if (!needsStoreDown) {
        await runCase(c, injector(t.api, t.admin));
        return;
      }
      // The store is unreachable: the same routes over a gateway service whose store refuses every call.
      const app = Fastify();
      const gateway = new GatewayService({ store: failingStore(), clock: systemClock });
      await app.register(abTestingRoutes, { admin: new AbTestingAdmin(gateway) });
      try {
        await runCase(c, injector(app, {}));
      } finally {
        await app.close();
      }
    });
  }
});
