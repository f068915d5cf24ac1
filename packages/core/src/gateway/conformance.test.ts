/**
 * ABTestingGateway conformance cases (/work/shared/reference/abtesting-conformance.json) that are
 * about diversion semantics or policy validation, run at the engine level. A tiny in-memory
 * "admin + store" emulation replays each case's setup calls; admin cases about the HTTP wire
 * format, ids, the policy store or Redis are skipped with a reason (they belong to the server).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePolicyGroup } from './compile.js';
import { rawQueryArg, resolveClientIp, singleHeaderValue } from './features.js';
import type { GatewayRequestFeatures, Policy } from './types.js';
import { abErrorCodeOf, validatePolicy, validatePolicyGroupObject, type PolicyIssue } from './validate.js';

const FILE = '/work/shared/reference/abtesting-conformance.json';

interface Req {
  target: 'admin' | 'gateway';
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  remoteAddr: string;
  body?: unknown;
  rawBody?: string;
  http10NoHost?: boolean;
}
interface Step {
  type?: 'request' | 'expireCaches' | 'stopStore';
  method?: string;
  path?: string;
  body?: unknown;
  request?: Req;
  expect?: { upstream?: string; errcode?: number };
}
interface Case {
  id: string;
  title: string;
  setup: Step[];
  request: Req;
  expect: { upstream?: string; errcode?: number; desc?: string };
  quirk?: string;
  referenceBug?: string;
  informative?: boolean;
}

const DEFAULT_UPSTREAM = 'stable';

/** ABTestingGateway's message prefixes, to rebuild `desc` (reference errcode.lua). */
const PREFIX: Record<number, string> = {
  200: 'success ',
  50101: 'expected parameter for ',
  50102: 'parameter error for ',
  50104: 'parameter type error for ',
  50201: 'policies invalid for ',
};

function queryOf(path: string): URLSearchParams {
  const q = path.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
}

function header(h: Record<string, string | string[]>, name: string): string | string[] | undefined {
  const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : h[k];
}

/** Emulates the reference's admin/store just enough to replay setups (reference semantics). */
class Emulator {
  policies = new Map<number, Policy>();
  groups = new Map<number, number[]>();
  runtimes = new Map<string, number[]>();
  nextPolicy = 0;
  nextGroup = 0;

  admin(step: Step): number {
    const action = queryOf(step.path ?? '').get('action');
    const q = queryOf(step.path ?? '');
    switch (action) {
      case 'policy_set': {
        const b = step.body as { divtype: unknown; divdata: unknown };
        if (validatePolicy(b.divtype, b.divdata).some((i) => i.severity === 'error')) return 50201;
        this.policies.set(this.nextPolicy++, b as Policy);
        return 200;
      }
      case 'policygroup_set': {
        const b = step.body as Record<string, Policy>;
        if (validatePolicyGroupObject(b).some((i) => i.severity === 'error')) return 50201;
        const ids: number[] = [];
        for (let l = 1; l <= Object.keys(b).length; l++) {
          ids.push(this.nextPolicy);
          this.policies.set(this.nextPolicy++, b[String(l)] as Policy);
        }
        this.groups.set(this.nextGroup++, ids);
        return 200;
      }
      case 'runtime_set': {
        const host = q.get('hostname') ?? '';
        // The reference deletes the old binding first, even when the set then fails (RT-06, SW-06).
        this.runtimes.delete(host);
        const pid = q.get('policyid');
        if (pid !== null) {
          if (!this.policies.has(Number(pid))) return 50401;
          this.runtimes.set(host, [Number(pid)]);
          return 200;
        }
        const group = this.groups.get(Number(q.get('policygroupid')));
        if (group === undefined) return 50104;
        this.runtimes.set(host, group);
        return 200;
      }
      case 'runtime_del':
        this.runtimes.delete(q.get('hostname') ?? '');
        return 200;
      case 'policy_del':
        this.policies.delete(Number(q.get('policyid')));
        return 200;
      default:
        throw new Error(`emulator: unsupported setup action ${String(action)}`);
    }
  }

  route(req: Req): string {
    if (req.http10NoHost === true) return DEFAULT_UPSTREAM; // no Host: diversion skipped (HOST-04)
    const host = String(header(req.headers, 'Host') ?? '');
    const key = /^\/abc\/(i|f)\//.test(req.path) ? `${host}.abc` : host;
    const ids = this.runtimes.get(key);
    if (ids === undefined) return DEFAULT_UPSTREAM;
    const group: Policy[] = [];
    for (const id of ids) {
      const p = this.policies.get(id);
      if (p === undefined) return DEFAULT_UPSTREAM; // dangling runtime: fail open (SW-05)
      group.push(p);
    }
    const h = req.headers;
    const one = (n: string) => {
      const v = header(h, n);
      return typeof v === 'string' ? v : undefined;
    };
    const features: GatewayRequestFeatures = {
      uid: singleHeaderValue(header(h, 'X-Uid')),
      ip: resolveClientIp(req.remoteAddr, one('X-Real-IP'), one('X-Forwarded-For'), () => true),
      city: rawQueryArg(req.path, 'city'),
      url: req.path,
      headers: one,
      cookie: () => undefined,
      query: (n) => rawQueryArg(req.path, n),
    };
    return compilePolicyGroup(group)(features)?.upstream ?? DEFAULT_UPSTREAM;
  }
}

function firstError(issues: readonly PolicyIssue[]): PolicyIssue | undefined {
  return issues.find((i) => i.severity === 'error');
}

/** Why a case does not run here, or undefined when it does. */
function skipReason(c: Case): string | undefined {
  if (c.informative === true) return 'informative: not a pass/fail requirement';
  if (c.request.target === 'admin') {
    const action = queryOf(c.request.path).get('action');
    if (c.request.rawBody !== undefined) return 'JSON body parsing is the admin HTTP layer (server part)';
    if (action !== 'policy_check' && action !== 'policygroup_check') {
      return `admin action ${String(action)}: wire format / policy store / Redis (server part)`;
    }
  }
  return undefined;
}

const cases: Case[] = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Case[]) : [];

describe('ABTestingGateway conformance (engine level)', () => {
  it('finds the conformance file', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  const run = cases.filter((c) => skipReason(c) === undefined);
  const skipped = cases.filter((c) => skipReason(c) !== undefined);

  it('runs every diversion case and every policy validation case', () => {
    expect(run.filter((c) => c.request.target === 'gateway').length).toBe(
      cases.filter((c) => c.request.target === 'gateway').length,
    );
  });

  for (const c of skipped) {
    it.skip(`${c.id} ${c.title} — skipped: ${skipReason(c) ?? ''}`, () => {});
  }

  for (const c of run) {
    it(`${c.id} ${c.title}${c.quirk !== undefined ? ' (quirk kept)' : ''}`, () => {
      if (c.request.target === 'admin') {
        const action = queryOf(c.request.path).get('action');
        const body = c.request.body as { divtype?: unknown; divdata?: unknown };
        const issues =
          action === 'policy_check' ? validatePolicy(body.divtype, body.divdata) : validatePolicyGroupObject(body);
        const err = firstError(issues);
        const code = err === undefined ? 200 : abErrorCodeOf(err.reason);
        expect(code).toBe(c.expect.errcode);
        if (c.expect.desc !== undefined) {
          const desc = err === undefined ? PREFIX[200] : `${PREFIX[code as number] ?? ''}${err.message}`;
          expect(desc).toBe(c.expect.desc);
        }
        return;
      }
      const emu = new Emulator();
      for (const s of c.setup) {
        if (s.type === 'expireCaches') continue; // the engine has no caches
        if (s.type === 'request') {
          expect(emu.route(s.request as Req)).toBe(s.expect?.upstream);
          continue;
        }
        const code = emu.admin(s);
        expect(code).toBe(s.expect?.errcode ?? 200);
      }
      expect(emu.route(c.request)).toBe(c.expect.upstream);
    });
  }
});
