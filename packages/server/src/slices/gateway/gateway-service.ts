import {
  type GatewayMatcher,
  type Policy,
  type PolicyIssue,
  compilePolicyGroup,
  hasErrors,
  validatePolicyGroup,
} from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { newId } from '../../platform/ids.js';
import {
  GatewayHostNotFound,
  GatewayPolicyInUse,
  GatewayPolicyInvalid,
  GatewayPolicyNotFound,
  GatewayPolicyRevisionConflict,
  GatewayUpstreamInvalid,
  GatewayUpstreamNotFound,
} from './gateway-errors.js';
import type {
  GatewayHistoryRecord,
  GatewayHostBinding,
  GatewayPolicyGroup,
  GatewayStore,
  GatewayUpstream,
} from './gateway-store.js';

/** Who made a change when no caller said (start-up, tests). */
export const SYSTEM_ACTOR = 'system';

/** What happened to a policy group in one revision. */
export type PolicyChange = 'created' | 'updated' | 'deleted';

/** One revision of a policy group, from the change log. */
export interface PolicyRevision {
  /** 1 for the creation, +1 per update; a deletion takes the next number. */
  readonly revision: number;
  readonly change: PolicyChange;
  /** When (ISO-8601). */
  readonly at: string;
  /** Who: `admin-api`, `ab_admin`, `v1.0`, `system`; null for changes older than the log's actor column. */
  readonly actor: string | null;
  /** The levels as they were after the change (for a deletion: as they were when deleted); null if unknown. */
  readonly levels: readonly Policy[] | null;
  /** The change-log row (`gwh_…`). */
  readonly historyId: string;
}

/** A page of the change log, newest first. */
export interface GatewayHistoryPage {
  readonly entries: readonly GatewayHistoryRecord[];
  /** Pass as `before` to get the next (older) page; undefined on the last page. */
  readonly next: string | undefined;
}

/** The largest page of the change log one call returns. */
export const HISTORY_PAGE_MAX = 500;

const POLICY_CHANGES: Readonly<Record<string, PolicyChange>> = {
  'policy.create': 'created',
  'policy.update': 'updated',
  'policy.delete': 'deleted',
};

/** What the proxy reads per request: built whole, then swapped in one assignment. */
export interface GatewayTable {
  /** host (lower case, no port) → the compiled policy group bound to it. */
  readonly hosts: ReadonlyMap<string, { readonly policyId: string; readonly matcher: GatewayMatcher }>;
  /** upstream name → base URLs (configuration first, admin API entries win). */
  readonly upstreams: ReadonlyMap<string, readonly string[]>;
  /** upstream name → its own inactivity timeout (ms), for those that have one. */
  readonly timeouts?: ReadonlyMap<string, number>;
  readonly defaultUpstream: string | undefined;
}

/** Where the table in force came from (health endpoint and metrics). */
export interface GatewayTableStatus {
  /** When the table in force was loaded from the store (ISO), undefined before the first load. */
  readonly loadedAt: string | undefined;
  /** How many times a table was loaded from the store (1 after the first load). */
  readonly revision: number;
  /** False when the last reload failed: the previous table stays in force. */
  readonly storeOk: boolean;
  /** The error of the last failed reload, while `storeOk` is false. */
  readonly lastError?: string;
  readonly lastErrorAt?: string;
}

export interface GatewayServiceDeps {
  readonly store: GatewayStore;
  readonly clock: Clock;
  /** Upstreams from the configuration file. */
  readonly configUpstreams?: Readonly<Record<string, readonly string[]>>;
  /** Per-upstream timeouts from the configuration file (ms). */
  readonly configUpstreamTimeouts?: Readonly<Record<string, number>>;
  readonly defaultUpstream?: string | undefined;
  /** Tells the other processes that the gateway tables changed (they call `refresh`). */
  readonly announce?: () => Promise<void>;
  readonly onError?: (err: unknown, context: string) => void;
}

/** `Example.COM:8080` → `example.com`; `[::1]:80` → `[::1]`. */
export function normaliseHost(host: string): string {
  // Usually already normal: lower case, no port, no surrounding space.
  let plain = host.length > 0 && host.charCodeAt(0) !== 0x5b; // '['
  for (let i = 0; i < host.length && plain; i++) {
    const c = host.charCodeAt(i);
    // A-Z, ':', space and controls, anything beyond ASCII: the full treatment.
    if ((c >= 0x41 && c <= 0x5a) || c === 0x3a || c <= 0x20 || c >= 0x7f) plain = false;
  }
  if (plain) return host;
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/** Checks and normalises an upstream base URL (`http(s)://host[:port][/base]`, no query). */
export function normaliseUpstreamUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw GatewayUpstreamInvalid({ url: JSON.stringify(url) });
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '' || u.username !== '') {
    throw GatewayUpstreamInvalid({ url: JSON.stringify(url) });
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * Host bindings whose policy id starts with this prefix are ABTestingGateway runtimes: the rest
 * is a comma-separated list of policy-group ids whose levels are concatenated in that order
 * (`ab-runtime:abp-0,abp-1`). An empty list is "bound but off" (divsteps 0); a missing member
 * makes the host fall back to the default upstream (the reference's dangling runtime, SW-05).
 */
export const AB_RUNTIME_PREFIX = 'ab-runtime:';

/** The member policy-group ids of an ABTestingGateway runtime binding, or undefined for a plain one. */
export function runtimeMembers(policyId: string): string[] | undefined {
  if (!policyId.startsWith(AB_RUNTIME_PREFIX)) return undefined;
  const rest = policyId.slice(AB_RUNTIME_PREFIX.length);
  return rest === '' ? [] : rest.split(',');
}

function issuePointer(i: PolicyIssue): string {
  let p = '/body/levels';
  if (i.level !== undefined) p += `/${i.level - 1}`;
  if (i.entry !== undefined) p += `/divdata/${i.entry}`;
  return p;
}

/**
 * The gray gateway's state: upstreams, policy groups and host bindings in the store, and the
 * compiled table the proxy reads. Every change is validated with the core engine first (a
 * rejected change leaves the table in force untouched), written, then the table is rebuilt
 * before the call returns, so the next request sees it; other processes rebuild on the bus.
 */
export class GatewayService {
  #table: GatewayTable;
  #queue: Promise<void> = Promise.resolve();
  #status: GatewayTableStatus = { loadedAt: undefined, revision: 0, storeOk: true };
  readonly #deps: GatewayServiceDeps;

  constructor(deps: GatewayServiceDeps) {
    this.#deps = deps;
    this.#table = {
      hosts: new Map(),
      upstreams: this.#configUpstreams(),
      timeouts: new Map(Object.entries(deps.configUpstreamTimeouts ?? {})),
      defaultUpstream: deps.defaultUpstream,
    };
  }

  /** The table in force (a snapshot: never mutated). */
  get table(): GatewayTable {
    return this.#table;
  }

  /** Where the table in force came from, and whether the last reload from the store worked. */
  get status(): GatewayTableStatus {
    return this.#status;
  }

  #configUpstreams(): Map<string, readonly string[]> {
    const m = new Map<string, readonly string[]>();
    for (const [name, urls] of Object.entries(this.#deps.configUpstreams ?? {})) {
      m.set(name, urls.map(normaliseUpstreamUrl));
    }
    return m;
  }

  /** Rebuilds the table from the store; calls are serialised so the last one wins. */
  refresh(): Promise<void> {
    const next = this.#queue.then(async () => {
      try {
        await this.#rebuild();
      } catch (err) {
        // The store is unreachable (or broke mid-read): keep serving with the last table.
        this.#status = {
          loadedAt: this.#status.loadedAt,
          revision: this.#status.revision,
          storeOk: false,
          lastError: err instanceof Error ? err.message : String(err),
          lastErrorAt: this.#now(),
        };
        throw err;
      }
      this.#status = { loadedAt: this.#now(), revision: this.#status.revision + 1, storeOk: true };
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  async #rebuild(): Promise<void> {
    const { store } = this.#deps;
    const [upstreamRows, hostRows] = await Promise.all([store.listUpstreams(), store.listHosts()]);
    const upstreams = this.#configUpstreams();
    const timeouts = new Map(Object.entries(this.#deps.configUpstreamTimeouts ?? {}));
    for (const u of upstreamRows) {
      upstreams.set(u.name, u.urls);
      if (u.timeoutMs !== null) timeouts.set(u.name, u.timeoutMs);
      else timeouts.delete(u.name);
    }
    const hosts = new Map<string, { policyId: string; matcher: GatewayMatcher }>();
    const compiled = new Map<string, GatewayMatcher>();
    for (const b of hostRows) {
      let matcher = compiled.get(b.policyId);
      if (matcher === undefined) {
        const members = runtimeMembers(b.policyId);
        let levels: Policy[] | undefined;
        if (members === undefined) {
          const group = await store.getPolicy(b.policyId);
          levels = group === undefined ? undefined : [...group.levels];
        } else {
          levels = [];
          for (const id of members) {
            const group = await store.getPolicy(id);
            if (group === undefined) {
              levels = undefined;
              break;
            }
            levels.push(...group.levels);
          }
        }
        if (levels === undefined) continue;
        try {
          matcher = compilePolicyGroup(levels);
        } catch (err) {
          this.#deps.onError?.(err, `gateway policy ${b.policyId}`);
          continue;
        }
        compiled.set(b.policyId, matcher);
      }
      hosts.set(b.host, { policyId: b.policyId, matcher });
    }
    this.#table = { hosts, upstreams, timeouts, defaultUpstream: this.#deps.defaultUpstream };
  }

  async #changed(kind: string, key: string, data: unknown, actor: string): Promise<void> {
    await this.#deps.store.appendHistory({ kind, key, data, createdAt: this.#now(), actor });
    await this.#applied();
  }

  /** Rebuilds the local table, then tells the other processes. */
  async #applied(): Promise<void> {
    await this.refresh();
    await this.#deps.announce?.().catch((err: unknown) => this.#deps.onError?.(err, 'gateway announce'));
  }

  #now(): string {
    return this.#deps.clock.now().toISOString();
  }

  // Upstreams

  async listUpstreams(): Promise<GatewayUpstream[]> {
    return this.#deps.store.listUpstreams();
  }

  async getUpstream(name: string): Promise<GatewayUpstream> {
    const u = await this.#deps.store.getUpstream(name);
    if (u === undefined) throw GatewayUpstreamNotFound({ name });
    return u;
  }

  /** Creates or replaces an upstream; `timeoutMs` null/absent = `gateway.timeoutMs`. */
  async putUpstream(
    name: string,
    urls: readonly string[],
    timeoutMs: number | null = null,
    actor: string = SYSTEM_ACTOR,
  ): Promise<GatewayUpstream> {
    const upstream: GatewayUpstream = { name, urls: urls.map(normaliseUpstreamUrl), timeoutMs, updatedAt: this.#now() };
    await this.#deps.store.putUpstream(upstream);
    await this.#changed('upstream.put', name, timeoutMs === null ? { urls: upstream.urls } : { urls: upstream.urls, timeoutMs }, actor);
    return upstream;
  }

  async deleteUpstream(name: string, actor: string = SYSTEM_ACTOR): Promise<void> {
    if (!(await this.#deps.store.deleteUpstream(name))) throw GatewayUpstreamNotFound({ name });
    await this.#changed('upstream.delete', name, null, actor);
  }

  // Policy groups

  /** Validates `levels` with the core engine; throws HT_GATEWAY_POLICY_INVALID listing every error. */
  validate(levels: readonly unknown[]): readonly Policy[] {
    const issues = validatePolicyGroup(levels);
    if (hasErrors(issues)) {
      const errors = issues.filter((i) => i.severity === 'error');
      throw GatewayPolicyInvalid(
        { summary: errors.map((i) => (i.level !== undefined ? `level ${i.level}: ${i.message}` : i.message)).join('; ') },
        { fields: errors.map((i) => ({ pointer: issuePointer(i), message: `${i.reason}: ${i.message}` })) },
      );
    }
    const policies = levels as readonly Policy[];
    try {
      compilePolicyGroup(policies);
    } catch (err) {
      throw GatewayPolicyInvalid({ summary: err instanceof Error ? err.message : String(err) });
    }
    return policies;
  }

  /** `id` is for the ABTestingGateway admin dialects (`abp-<n>`, `abg-<n>~…`); default: a new id. */
  async createPolicy(levels: readonly unknown[], id?: string, actor: string = SYSTEM_ACTOR): Promise<GatewayPolicyGroup> {
    const policies = this.validate(levels);
    const now = this.#now();
    const group: GatewayPolicyGroup = { id: id ?? newId('gwp'), levels: policies, revision: 1, createdAt: now, updatedAt: now };
    await this.#deps.store.insertPolicy(group, {
      kind: 'policy.create',
      key: group.id,
      data: { levels: policies },
      createdAt: now,
      actor,
      revision: 1,
    });
    return group;
  }

  /**
   * Replaces the levels of a policy group (revision + 1); hosts bound to it use the new levels
   * from the next request. With `expectedRevision`, refuses (HT_GATEWAY_POLICY_REVISION_CONFLICT)
   * unless that is still the stored revision; a rejected change leaves the group in force.
   */
  async updatePolicy(
    id: string,
    levels: readonly unknown[],
    expectedRevision?: number,
    actor: string = SYSTEM_ACTOR,
  ): Promise<GatewayPolicyGroup> {
    const policies = this.validate(levels);
    const current = await this.getPolicy(id);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw GatewayPolicyRevisionConflict({ id, expected: expectedRevision, actual: current.revision });
    }
    const now = this.#now();
    const next: GatewayPolicyGroup = { ...current, levels: policies, revision: current.revision + 1, updatedAt: now };
    const ok = await this.#deps.store.updatePolicy(next, current.revision, {
      kind: 'policy.update',
      key: id,
      data: { levels: policies },
      createdAt: now,
      actor,
      revision: next.revision,
    });
    if (!ok) {
      const actual = await this.getPolicy(id);
      throw GatewayPolicyRevisionConflict({ id, expected: current.revision, actual: actual.revision });
    }
    await this.#applied();
    return next;
  }

  async getPolicy(id: string): Promise<GatewayPolicyGroup> {
    const g = await this.#deps.store.getPolicy(id);
    if (g === undefined) throw GatewayPolicyNotFound({ id });
    return g;
  }

  async deletePolicy(id: string, actor: string = SYSTEM_ACTOR): Promise<void> {
    const bound = (await this.#deps.store.listHosts()).filter((h) => h.policyId === id || (runtimeMembers(h.policyId)?.includes(id) ?? false)).map((h) => h.host);
    if (bound.length > 0) throw GatewayPolicyInUse({ id, hosts: bound.join(', ') });
    if (!(await this.#removePolicy(id, actor))) throw GatewayPolicyNotFound({ id });
  }

  /**
   * Deletes a policy group without the in-use check (ABTestingGateway's `policy_del`): hosts
   * bound to it fall back to the default upstream. Returns whether it existed.
   */
  async removePolicy(id: string, actor: string = SYSTEM_ACTOR): Promise<boolean> {
    return this.#removePolicy(id, actor);
  }

  async #removePolicy(id: string, actor: string): Promise<boolean> {
    const deleted = await this.#deps.store.deletePolicy(id, {
      kind: 'policy.delete',
      key: id,
      createdAt: this.#now(),
      actor,
    });
    if (deleted) await this.#applied();
    return deleted;
  }

  /**
   * Every revision of a policy group, oldest first, deleted groups included (their history
   * stays). HT_GATEWAY_POLICY_NOT_FOUND when no group of this id ever existed.
   */
  async policyHistory(id: string): Promise<PolicyRevision[]> {
    const rows = (await this.#deps.store.listHistory({ key: id, kindPrefix: 'policy.', limit: 100_000 })).reverse();
    if (rows.length === 0) {
      // A group created before its creation was logged still has a (current) revision.
      const g = await this.getPolicy(id);
      return [{ revision: g.revision, change: 'created', at: g.createdAt, actor: null, levels: g.levels, historyId: '' }];
    }
    const out: PolicyRevision[] = [];
    let last = 0;
    for (const r of rows) {
      const change = POLICY_CHANGES[r.kind];
      if (change === undefined) continue;
      const revision = r.revision ?? (change === 'created' ? 1 : last + 1);
      last = revision;
      const data = r.data as { levels?: unknown } | null;
      out.push({
        revision,
        change,
        at: r.createdAt,
        actor: r.actor,
        levels: Array.isArray(data?.levels) ? (data.levels as Policy[]) : null,
        historyId: r.id,
      });
    }
    return out;
  }

  /** One page of the whole change log, newest first; `before` is the previous page's `next`. */
  async history(opts: { readonly limit: number; readonly before?: string | undefined }): Promise<GatewayHistoryPage> {
    const limit = Math.min(Math.max(1, Math.trunc(opts.limit)), HISTORY_PAGE_MAX);
    const rows = await this.#deps.store.listHistory({ limit: limit + 1, before: opts.before });
    const entries = rows.slice(0, limit);
    return { entries, next: rows.length > limit ? entries[entries.length - 1]?.id : undefined };
  }

  /** Ids of every policy group ever created whose id starts with `prefix` (deleted ones included). */
  async createdPolicyIds(prefix: string): Promise<string[]> {
    return this.#deps.store.historyKeys('policy.create', prefix);
  }

  async listPolicies(): Promise<GatewayPolicyGroup[]> {
    return this.#deps.store.listPolicies();
  }

  // Host bindings

  async listHosts(): Promise<GatewayHostBinding[]> {
    return this.#deps.store.listHosts();
  }

  async getHost(host: string): Promise<GatewayHostBinding> {
    const b = await this.#deps.store.getHost(normaliseHost(host));
    if (b === undefined) throw GatewayHostNotFound({ host });
    return b;
  }

  async bindHost(host: string, policyId: string, actor: string = SYSTEM_ACTOR): Promise<GatewayHostBinding> {
    await this.getPolicy(policyId);
    const binding: GatewayHostBinding = { host: normaliseHost(host), policyId, updatedAt: this.#now() };
    await this.#deps.store.putHost(binding);
    await this.#changed('host.put', binding.host, { policyId }, actor);
    return binding;
  }

  /**
   * Binds an ABTestingGateway runtime: the levels of `memberIds` in order (see
   * {@link AB_RUNTIME_PREFIX}). The caller checks the members; the swap is one write.
   */
  async bindRuntime(host: string, memberIds: readonly string[], actor: string = SYSTEM_ACTOR): Promise<GatewayHostBinding> {
    const policyId = `${AB_RUNTIME_PREFIX}${memberIds.join(',')}`;
    const binding: GatewayHostBinding = { host: normaliseHost(host), policyId, updatedAt: this.#now() };
    await this.#deps.store.putHost(binding);
    await this.#changed('host.put', binding.host, { policyId }, actor);
    return binding;
  }

  /** The binding of a host, or undefined. */
  async findHost(host: string): Promise<GatewayHostBinding | undefined> {
    return this.#deps.store.getHost(normaliseHost(host));
  }

  /** Unbinds a host if it is bound; returns whether it was. */
  async unbindHostIfBound(host: string, actor: string = SYSTEM_ACTOR): Promise<boolean> {
    const h = normaliseHost(host);
    if (!(await this.#deps.store.deleteHost(h))) return false;
    await this.#changed('host.delete', h, null, actor);
    return true;
  }

  async unbindHost(host: string, actor: string = SYSTEM_ACTOR): Promise<void> {
    const h = normaliseHost(host);
    if (!(await this.#deps.store.deleteHost(h))) throw GatewayHostNotFound({ host: h });
    await this.#changed('host.delete', h, null, actor);
  }
}
