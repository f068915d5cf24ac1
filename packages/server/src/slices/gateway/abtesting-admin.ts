/**
 * ABTestingGateway's two admin dialects on top of {@link GatewayService}:
 *
 * - current (`/ab_admin?action=…`): `{code, desc, data?}`, HTTP 200 always;
 * - v1.0 (`/admin/policy/check|set|get|del`, `/admin/runtime/set|get|del`): `{errcode, errinfo, data?}`.
 *
 * Model mapping (everything lives in the one gateway store, so the three admin APIs and the proxy
 * see the same state):
 *
 * - policy `<n>` (integer id, from 0) ↔ Halftone policy group `abp-<n>` with one level;
 * - policy group `<g>` ↔ Halftone policy group `abg-<g>~<m1>.<m2>…` whose levels are its members'
 *   (so Halftone's REST API can bind a host to it directly);
 * - runtime of a hostname ↔ host binding `ab-runtime:abp-<m1>,abp-<m2>…` (see AB_RUNTIME_PREFIX).
 *
 * Reference defects fixed here (§1.10 of the study): `policygroup_del` deletes exactly its
 * member policies (GRP-10); a successful `runtime_set` swaps the binding in one write (the old one
 * is still removed when the set fails, as documented, RT-06); more than 9 levels can be bound
 * (RT-11); policies are validated fully before anything is written (ADM-21); changes reach the
 * proxy before the call returns (no 60–120 s cache window); uids given as JSON numbers of more
 * than 15 digits keep their source text (DIV-34).
 *
 * Other deliberate differences: validation is the core engine's (stricter where the reference
 * raised a Lua error, 40201, or wrote half a policy: such input is 50201 here); `policygroup_get`
 * of a missing group answers `group: []` (the reference's Lua `{}`); hostnames are runtime keys
 * after lower-casing and dropping a port; responses carry `content-type: application/json`;
 * any store failure is 50301 `redis connect error for <message>`; `divsteps` deeper than the
 * group is 50104 `divsteps is deeper than policyGroupID` (text not recorded in the reference).
 * v1.0 calls take the runtime key from `hostname`, else `domain_name`, else the request's Host
 * (the original used the admin server's `$domain_name`), and bind one level only.
 */
import {
  type Policy,
  abErrorCodeOf,
  uidToNumber,
  validatePolicy,
  validatePolicyGroupObject,
  type PolicyIssue,
} from '@halftone/core';
import { isHalftoneError } from '../../platform/errors/halftone-error.js';
import { type GatewayService, runtimeMembers } from './gateway-service.js';
import type { GatewayPolicyGroup } from './gateway-store.js';

/** ABTestingGateway's error codes and message prefixes (`lib/abtesting/error/errcode.lua`). */
export const AB_CODES = {
  SUCCESS: [200, 'success '],
  REDIS_ERROR: [40101, 'redis error for '],
  POLICY_DB_ERROR: [40102, 'policy in db error '],
  RUNTIME_DB_ERROR: [40103, 'runtime info in db error '],
  LUA_RUNTIME_ERROR: [40201, 'lua runtime error '],
  BLANK_INFO_ERROR: [40202, 'errinfo blank in handler '],
  PARAMETER_NONE: [50101, 'expected parameter for '],
  PARAMETER_ERROR: [50102, 'parameter error for '],
  PARAMETER_NEEDED: [50103, 'need parameter for '],
  PARAMETER_TYPE_ERROR: [50104, 'parameter type error for '],
  POLICY_INVALID_ERROR: [50201, 'policies invalid for '],
  POLICY_BUSY_ERROR: [50202, 'policy is busy and policyID is '],
  REDIS_CONNECT_ERROR: [50301, 'redis connect error for '],
  REDIS_KEEPALIVE_ERROR: [50302, 'redis keepalive error for '],
  POLICY_BLANK_ERROR: [50401, 'policy contains no data '],
  RUNTIME_BLANK_ERROR: [50402, 'expect runtime info for '],
  MODULE_BLANK_ERROR: [50403, 'no required module for '],
  USERINFO_BLANK_ERROR: [50404, 'no userinfo fetched from '],
  ARG_BLANK_ERROR: [50405, 'no arg fetched from req '],
  ACTION_BLANK_ERROR: [50406, 'no action fetched from '],
  DOACTION_ERROR: [50501, 'error during action of '],
  UNKNOWN_ERROR: [50601, 'unknown reason '],
} as const satisfies Record<string, readonly [number, string]>;

type CodeName = keyof typeof AB_CODES;
const PREFIX_BY_CODE = new Map<number, string>(Object.values(AB_CODES).map(([c, p]) => [c, p]));

/** The current dialect's response body. */
export interface AbEnvelope {
  code: number;
  desc: string;
  data?: unknown;
}

/** The v1.0 dialect's response body. */
export interface AbV1Envelope {
  errcode: number;
  errinfo: string;
  data?: unknown;
}

/** One admin call, independent of the HTTP server that received it. */
export interface AbAdminCall {
  readonly query: URLSearchParams;
  /** The raw request body ('' when none). */
  readonly body: string;
}

class AbError extends Error {
  constructor(
    readonly code: number,
    readonly desc: string,
  ) {
    super(desc);
  }
}

function fail(name: CodeName, detail: string): never {
  const [code, prefix] = AB_CODES[name];
  throw new AbError(code, `${prefix}${detail}`);
}

function ok(data?: unknown, detail = ''): AbEnvelope {
  return data === undefined ? { code: 200, desc: `success ${detail}` } : { code: 200, desc: `success ${detail}`, data };
}

const LEVEL_NAMES = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth'];

function levelName(i: number): string {
  return LEVEL_NAMES[i] ?? `level${i + 1}`;
}

function userInfoModule(divtype: string): string {
  switch (divtype) {
    case 'iprange':
      return 'abtesting.userinfo.ipParser';
    case 'uidrange':
    case 'uidsuffix':
    case 'uidappoint':
      return 'abtesting.userinfo.uidParser';
    case 'arg_city':
      return 'abtesting.userinfo.cityParser';
    case 'url':
      return 'abtesting.userinfo.urlParser';
    default:
      return `halftone.userinfo.${divtype}`;
  }
}

const KNOWN_ACTIONS = new Set([
  'policy_check',
  'policy_set',
  'policy_get',
  'policy_del',
  'policygroup_check',
  'policygroup_set',
  'policygroup_get',
  'policygroup_del',
  'runtime_set',
  'runtime_get',
  'runtime_del',
]);

const policyKey = (n: number) => `abp-${n}`;
const GROUP_RE = /^abg-(\d+)~([\d.]*)$/;
const POLICY_RE = /^abp-(\d+)$/;

/** Parses an id parameter like Lua `tonumber` + `>= 0`; undefined when invalid. */
function parseId(raw: string | null | undefined): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  const n = uidToNumber(raw.trim());
  if (n === undefined || !Number.isFinite(n) || n < 0) return undefined;
  return n;
}

function firstError(issues: readonly PolicyIssue[]): PolicyIssue | undefined {
  return issues.find((i) => i.severity === 'error');
}

function throwIssue(issue: PolicyIssue): never {
  const code = abErrorCodeOf(issue.reason) ?? 50201;
  // The reference's text is exactly `unsupported divtype` (the engine names the divtype too).
  const message = issue.reason === 'unknown_divtype' ? issue.message.replace(/unsupported divtype.*$/s, 'unsupported divtype') : issue.message;
  throw new AbError(code, `${PREFIX_BY_CODE.get(code) ?? ''}${message}`);
}

/**
 * Quotes integer literals of more than 15 digits (outside strings) so they survive `JSON.parse`
 * as their source text: a long uid given as a JSON number is stored exactly (the reference keeps
 * 14 significant digits, DIV-34). Where a number is required (range bounds) the quoted value is
 * then rejected as not a number instead of being silently rounded.
 */
export function quoteLongIntegers(json: string): string {
  let out = '';
  let i = 0;
  let last = 0;
  while (i < json.length) {
    const ch = json[i] as string;
    if (ch === '"') {
      i++;
      while (i < json.length && json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if ((ch >= '0' && ch <= '9') || ch === '-') {
      let j = i + (ch === '-' ? 1 : 0);
      while (j < json.length && (json[j] as string) >= '0' && (json[j] as string) <= '9') j++;
      const digits = j - i - (ch === '-' ? 1 : 0);
      let k = j;
      while (k < json.length && /[0-9.eE+-]/.test(json[k] as string)) k++;
      if (digits > 15 && k === j) {
        out += `${json.slice(last, i)}"${json.slice(i, j)}"`;
        last = j;
      }
      i = Math.max(k, i + 1);
      continue;
    }
    i++;
  }
  return out + json.slice(last);
}

/** `divdata` as the reference's `policy_get` shows it: raw Redis shapes. */
function rawDivdata(p: Policy): unknown {
  switch (p.divtype) {
    case 'iprange':
    case 'uidrange': {
      const out: Record<string, string> = {};
      p.divdata.forEach((r, n) => {
        out[`${2 * n}:${r.upstream}`] = String(r.range.start - 0.3);
        out[`${2 * n + 1}:${r.upstream}`] = String(r.range.end + 0.3);
      });
      return out;
    }
    case 'uidsuffix':
    case 'uidappoint':
    case 'arg_city':
    case 'url': {
      const hash = new Map<string, string>();
      for (const r of p.divdata as unknown as readonly Record<string, unknown>[]) {
        const up = String(r['upstream']);
        if (p.divtype === 'uidsuffix') hash.set(String(r['suffix']), up);
        else if (p.divtype === 'uidappoint') for (const u of r['uidset'] as unknown[]) hash.set(String(u), up);
        else if (p.divtype === 'arg_city') hash.set(String(r['city']), up);
        else hash.set(String(r['url']), up);
      }
      if (hash.size === 0) return {};
      return [...hash].flat();
    }
    default:
      return p.divdata;
  }
}

/**
 * The dialects' actions. Mutations are serialised (ids are allocated from the store's contents,
 * like the reference's `INCR` counters: first policy id 0, first group id 0).
 */
export class AbTestingAdmin {
  #queue: Promise<unknown> = Promise.resolve();
  readonly #gateway: GatewayService;
  /**
   * Who the mutation being run is logged as (`ab_admin` or `v1.0`). Safe as a field because
   * mutations run one at a time (`#serial`); no AsyncLocalStorage, which would slow every async
   * operation of the process (the proxy's socket writes included) once enabled.
   */
  #actor = 'ab_admin';

  constructor(gateway: GatewayService) {
    this.#gateway = gateway;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Runs a current-dialect action; never throws. Changes are logged as made by `ab_admin`. */
  action(action: string | null, call: AbAdminCall): Promise<AbEnvelope> {
    return this.#action(action, call, 'ab_admin');
  }

  async #action(action: string | null, call: AbAdminCall, actor: string): Promise<AbEnvelope> {
    try {
      return await this.#serial(() => {
        this.#actor = actor;
        return this.#dispatch(action, call);
      });
    } catch (err) {
      if (err instanceof AbError) return { code: err.code, desc: err.desc };
      if (isHalftoneError(err) && err.status < 500) {
        // Engine-level rejections that passed the reference checks (e.g. a regex that does not compile).
        return { code: 50201, desc: `${AB_CODES.POLICY_INVALID_ERROR[1]}${err.message}` };
      }
      // The policy store failed: the reference's "cannot reach Redis".
      const msg = err instanceof Error ? err.message : String(err);
      return { code: 50301, desc: `${AB_CODES.REDIS_CONNECT_ERROR[1]}${msg}` };
    }
  }

  /**
   * Runs a v1.0 call: `kind` is `policy` or `runtime`, `op` one of check/set/get/del. `host` is
   * the runtime key when no `hostname` parameter is given (v1.0 used the admin server's
   * `$domain_name`); `policyid` may also be POSTed as `{"policyid":N}`. Changes are logged as
   * made by `v1.0`.
   */
  v1(kind: string, op: string, call: AbAdminCall, host: string | undefined): Promise<AbV1Envelope> {
    return this.#v1(kind, op, call, host);
  }

  async #v1(kind: string, op: string, call: AbAdminCall, host: string | undefined): Promise<AbV1Envelope> {
    const query = new URLSearchParams(call.query);
    let body = call.body;
    const actions: Record<string, string> = {
      'policy/check': 'policy_check',
      'policy/set': 'policy_set',
      'policy/get': 'policy_get',
      'policy/del': 'policy_del',
      'runtime/set': 'runtime_set',
      'runtime/get': 'runtime_get',
      'runtime/del': 'runtime_del',
    };
    const action = actions[`${kind}/${op}`] ?? `${kind}_${op}`;
    if ((action === 'policy_get' || action === 'policy_del' || action === 'runtime_set') && !query.has('policyid')) {
      try {
        const parsed = JSON.parse(body) as unknown;
        if (parsed !== null && typeof parsed === 'object' && 'policyid' in parsed) {
          query.set('policyid', String((parsed as { policyid: unknown }).policyid));
          body = '';
        }
      } catch {
        // not JSON: the parameter check reports it
      }
    }
    if (kind === 'runtime' && !query.has('hostname')) {
      const h = query.get('domain_name') ?? host;
      if (h !== undefined && h !== '') query.set('hostname', h);
    }
    if (action === 'runtime_set') query.delete('policygroupid'); // v1.0 is single level
    const r = await this.#action(action, { query, body }, 'v1.0');
    return r.data === undefined ? { errcode: r.code, errinfo: r.desc } : { errcode: r.code, errinfo: r.desc, data: r.data };
  }

  async #dispatch(action: string | null, call: AbAdminCall): Promise<AbEnvelope> {
    const q = call.query;
    // The reference connects to Redis before every action: with the store down, even a
    // policy_check answers 50301 (STORE-02).
    if (action !== null && KNOWN_ACTIONS.has(action)) await this.#gateway.findHost('ab-admin.ping');
    switch (action) {
      case 'policy_check':
        this.#checkPolicy(call.body);
        return ok();
      case 'policy_set': {
        const p = this.#checkPolicy(call.body);
        const id = await this.#nextPolicyId();
        await this.#gateway.createPolicy([p], policyKey(id), this.#actor);
        return ok(undefined, ` the id of new policy is ${id}`);
      }
      case 'policy_get': {
        const id = this.#idParam(q.get('policyid'), 'policyID invalid');
        const g = Number.isInteger(id) ? await this.#findPolicy(policyKey(id)) : undefined;
        const p = g?.levels[0];
        if (p === undefined) return ok({ divtype: null, divdata: null });
        return ok({ divtype: p.divtype, divdata: rawDivdata(p) });
      }
      case 'policy_del': {
        const id = this.#idParam(q.get('policyid'), 'policyID invalid');
        if (Number.isInteger(id)) await this.#gateway.removePolicy(policyKey(id), this.#actor);
        return ok();
      }
      case 'policygroup_check':
        this.#checkGroup(call.body);
        return ok();
      case 'policygroup_set': {
        const levels = this.#checkGroup(call.body);
        const first = await this.#nextPolicyId();
        const gid = await this.#nextGroupId();
        const ids = levels.map((_, i) => first + i);
        for (const [i, p] of levels.entries()) await this.#gateway.createPolicy([p], policyKey(ids[i] as number), this.#actor);
        await this.#gateway.createPolicy(levels, `abg-${gid}~${ids.join('.')}`, this.#actor);
        return ok({ groupid: gid, group: ids });
      }
      case 'policygroup_get': {
        const gid = this.#idParam(q.get('policygroupid'), 'policyGroupId invalid');
        const g = await this.#findGroup(gid);
        return ok({ groupid: gid, group: (g?.members ?? []).map(String) });
      }
      case 'policygroup_del': {
        const gid = this.#idParam(q.get('policygroupid'), 'policyGroupId invalid');
        const g = await this.#findGroup(gid);
        if (g !== undefined) {
          // Exactly the members (the reference deletes by prefix without ':', GRP-10).
          for (const m of g.members) await this.#gateway.removePolicy(policyKey(m), this.#actor);
          await this.#gateway.removePolicy(g.group.id, this.#actor);
        }
        return ok();
      }
      case 'runtime_set':
        return this.#runtimeSet(q);
      case 'runtime_get': {
        const host = this.#hostParam(q);
        return ok(await this.#runtimeInfo(host));
      }
      case 'runtime_del': {
        const host = this.#hostParam(q);
        await this.#gateway.unbindHostIfBound(host, this.#actor);
        return ok();
      }
      default:
        return fail('DOACTION_ERROR', action ?? '');
    }
  }

  #parseBody(body: string): unknown {
    if (body.trim() === '') fail('PARAMETER_NONE', 'postData');
    try {
      return JSON.parse(quoteLongIntegers(body)) as unknown;
    } catch {
      return fail('PARAMETER_ERROR', 'postData is not a json string');
    }
  }

  #checkPolicy(body: string): Policy {
    const p = this.#parseBody(body);
    const o = (p !== null && typeof p === 'object' && !Array.isArray(p) ? p : {}) as Record<string, unknown>;
    const err = firstError(validatePolicy(o['divtype'], o['divdata']));
    if (err !== undefined) throwIssue(err);
    this.#gateway.validate([o]);
    return { divtype: o['divtype'], divdata: o['divdata'] } as Policy;
  }

  #checkGroup(body: string): Policy[] {
    const g = this.#parseBody(body);
    const err = firstError(validatePolicyGroupObject(g));
    if (err !== undefined) throwIssue(err);
    const o = g as Record<string, Record<string, unknown>>;
    const byLevel = new Map<number, Record<string, unknown>>();
    for (const [k, v] of Object.entries(o)) byLevel.set(uidToNumber(k) as number, v);
    const levels: Policy[] = [];
    for (let l = 1; l <= byLevel.size; l++) {
      const v = byLevel.get(l) as Record<string, unknown>;
      levels.push({ divtype: v['divtype'], divdata: v['divdata'] } as Policy);
    }
    this.#gateway.validate(levels);
    return levels;
  }

  #idParam(raw: string | null, detail: string): number {
    const n = parseId(raw);
    if (n === undefined) fail('PARAMETER_TYPE_ERROR', detail);
    return n;
  }

  #hostParam(q: URLSearchParams): string {
    const h = q.get('hostname');
    if (h === null || h === '') fail('PARAMETER_TYPE_ERROR', `arg hostname invalid: ${h ?? ''}`);
    return h;
  }

  async #findPolicy(id: string): Promise<GatewayPolicyGroup | undefined> {
    try {
      return await this.#gateway.getPolicy(id);
    } catch (err) {
      if (isHalftoneError(err) && err.status === 404) return undefined;
      throw err;
    }
  }

  async #groups(): Promise<{ gid: number; members: number[]; group: GatewayPolicyGroup }[]> {
    const out: { gid: number; members: number[]; group: GatewayPolicyGroup }[] = [];
    for (const g of await this.#gateway.listPolicies()) {
      const m = GROUP_RE.exec(g.id);
      if (m === null) continue;
      const members = (m[2] as string) === '' ? [] : (m[2] as string).split('.').map(Number);
      out.push({ gid: Number(m[1]), members, group: g });
    }
    return out;
  }

  async #findGroup(gid: number): Promise<{ members: number[]; group: GatewayPolicyGroup } | undefined> {
    return (await this.#groups()).find((g) => g.gid === gid);
  }

  // Ids are never reused, like the reference's INCR counters: a dangling runtime must not come
  // back to life when a new policy gets the id of a deleted one. The counters are the highest id
  // ever created (the change log keeps deleted ones).
  async #nextPolicyId(): Promise<number> {
    let max = -1;
    for (const id of await this.#gateway.createdPolicyIds('abp-')) {
      const m = POLICY_RE.exec(id);
      if (m !== null) max = Math.max(max, Number(m[1]));
    }
    return max + 1;
  }

  async #nextGroupId(): Promise<number> {
    let max = -1;
    for (const id of await this.#gateway.createdPolicyIds('abg-')) {
      const m = GROUP_RE.exec(id);
      if (m !== null) max = Math.max(max, Number(m[1]));
    }
    return max + 1;
  }

  async #runtimeSet(q: URLSearchParams): Promise<AbEnvelope> {
    const host = this.#hostParam(q);
    const members: string[] = [];
    try {
      if (q.has('policyid')) {
        const id = this.#idParam(q.get('policyid'), 'policyID invalid');
        if (!Number.isInteger(id) || (await this.#findPolicy(policyKey(id))) === undefined) {
          fail('POLICY_BLANK_ERROR', `policy NO ${id}`);
        }
        members.push(policyKey(id));
      } else if (q.has('policygroupid')) {
        const gid = this.#idParam(q.get('policygroupid'), 'policyGroupId invalid');
        const g = await this.#findGroup(gid);
        if (g === undefined || g.members.length === 0) fail('PARAMETER_TYPE_ERROR', 'blank policyGroupId');
        let steps = g.members.length;
        if (q.has('divsteps')) {
          const s = parseId(q.get('divsteps'));
          if (s === undefined || !Number.isInteger(s)) fail('PARAMETER_TYPE_ERROR', 'divsteps invalid');
          if (s > g.members.length) fail('PARAMETER_TYPE_ERROR', 'divsteps is deeper than policyGroupID');
          steps = s;
        }
        for (const m of g.members.slice(0, steps)) {
          if ((await this.#findPolicy(policyKey(m))) === undefined) fail('POLICY_BLANK_ERROR', `policy NO ${m}`);
          members.push(policyKey(m));
        }
      } else {
        fail('PARAMETER_TYPE_ERROR', 'policyId or policyGroupid invalid');
      }
    } catch (err) {
      // Documented reference behaviour (RT-06, SW-06): a failed set leaves the host unbound.
      if (err instanceof AbError) await this.#gateway.unbindHostIfBound(host, this.#actor);
      throw err;
    }
    await this.#gateway.bindRuntime(host, members, this.#actor);
    return ok();
  }

  async #runtimeInfo(host: string): Promise<{ divsteps: number; runtimegroup: Record<string, unknown> }> {
    const b = await this.#gateway.findHost(host);
    if (b === undefined) return { divsteps: 0, runtimegroup: {} };
    const levels: { key: string; divtype: string }[] = [];
    const members = runtimeMembers(b.policyId);
    if (members !== undefined) {
      for (const id of members) {
        const p = await this.#findPolicy(id);
        const m = POLICY_RE.exec(id);
        levels.push({ key: m !== null ? `ab:policies:${m[1]}:divdata` : `ab:policies:${id}:divdata`, divtype: p?.levels[0]?.divtype ?? 'unknown' });
      }
    } else {
      // A host bound through Halftone's REST API: one level per level of its policy group.
      const g = await this.#findPolicy(b.policyId);
      for (const [i, p] of (g?.levels ?? []).entries()) {
        levels.push({ key: `ab:policies:${b.policyId}#${i + 1}:divdata`, divtype: p.divtype });
      }
    }
    const runtimegroup: Record<string, unknown> = {};
    levels.forEach((l, i) => {
      runtimegroup[levelName(i)] = {
        divModulename: `abtesting.diversion.${l.divtype}`,
        divDataKey: l.key,
        userInfoModulename: userInfoModule(l.divtype),
      };
    });
    return { divsteps: levels.length, runtimegroup };
  }
}

const admins = new WeakMap<GatewayService, AbTestingAdmin>();

/** The one dialect adapter of a gateway service (shared by the admin and gateway ports, so id allocation is serialised). */
export function abTestingAdminFor(gateway: GatewayService): AbTestingAdmin {
  let a = admins.get(gateway);
  if (a === undefined) {
    a = new AbTestingAdmin(gateway);
    admins.set(gateway, a);
  }
  return a;
}
