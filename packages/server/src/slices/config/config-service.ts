import {
  type ConfigDependency,
  type ConfigRule,
  type ConfigType,
  findDependencyCycles,
  validateConfigItem,
} from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { generateSecret, newId } from '../../platform/ids.js';
import type { AppService } from '../apps/app-service.js';
import {
  ConfigConflict,
  ConfigDependencyCycle,
  ConfigItemInUse,
  ConfigItemInvalid,
  ConfigItemNotFound,
  ConfigNotASwitch,
  ConfigPromoteSameEnv,
  ConfigPromoteStale,
  ConfigRevisionNotFound,
  ConfigRuleNotFound,
} from './config-errors.js';
import {
  CONFIG_ENVS,
  type ConfigEnv,
  type ConfigItemContent,
  contentOf,
  qualifiedKey,
  sameContent,
  type StoredConfigItem,
  toCoreItem,
} from './config-model.js';
import type { ConfigAuditEntry, ConfigRevision, ConfigStore, ConfigWrite } from './config-store.js';

/** What `config set` may change; absent fields keep their value (a new item needs `type` and `defaultValue`). */
export interface ConfigItemPatch {
  readonly type?: ConfigType | undefined;
  readonly kind?: 'config' | 'switch' | undefined;
  readonly enabled?: boolean | undefined;
  readonly defaultValue?: unknown;
  /** `null` clears it. */
  readonly offValue?: unknown;
  readonly description?: string | undefined;
  readonly owner?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly rules?: readonly ConfigRule[] | undefined;
  readonly dependsOn?: readonly ConfigDependency[] | undefined;
  /** `null` unbinds it. */
  readonly module?: string | null | undefined;
}

/** A rule to add; `id` defaults to the next free `r<n>`. */
export type NewConfigRule = Omit<ConfigRule, 'id'> & { readonly id?: string | undefined };

/** One line of a promote diff. */
export interface ConfigDiffEntry {
  readonly namespace: string;
  readonly key: string;
  readonly change: 'added' | 'changed' | 'removed';
  readonly before: ConfigItemContent | null;
  readonly after: ConfigItemContent | null;
}

/** A promote diff, with the environment revisions it was computed from. */
export interface ConfigDiff {
  readonly from: ConfigEnv;
  readonly to: ConfigEnv;
  readonly fromRevision: number;
  readonly toRevision: number;
  readonly changes: readonly ConfigDiffEntry[];
}

/** Tells every process (and the event streams) that an environment of an app changed. */
export type ConfigChangedNotifier = (appId: string, env: string, revision: number) => Promise<void>;

export interface ConfigServiceDeps {
  readonly store: ConfigStore;
  readonly apps: Pick<AppService, 'getApp' | 'listCrowds'>;
  readonly clock: Clock;
  readonly notify: ConfigChangedNotifier;
  /** A new non-production key was created (the key index of every process must learn it). */
  readonly keyCreated: (appId: string, env: string, clientKey: string) => Promise<void>;
}

interface Change {
  readonly namespace: string;
  readonly key: string;
  readonly action: string;
  /** null deletes. */
  readonly after: ConfigItemContent | null;
}

const ATTEMPTS = 5;

/**
 * Config items and switches: validated writes, a revision per change of an item in an
 * environment, the audit log, restore, and promotion between environments.
 */
export class ConfigService {
  readonly #d: ConfigServiceDeps;

  constructor(deps: ConfigServiceDeps) {
    this.#d = deps;
  }

  /** The client key of each environment (production's is the app's `clientKey`). */
  async keys(appId: string): Promise<Record<ConfigEnv, string>> {
    const app = await this.#d.apps.getApp(appId);
    const candidate = generateSecret('hck_');
    const test = await this.#d.store.ensureEnvKey(appId, 'test', candidate, this.#now());
    if (test === candidate) await this.#d.keyCreated(appId, 'test', test);
    return { test, production: app.clientKey };
  }

  async list(appId: string, env: ConfigEnv, namespace?: string): Promise<{ revision: number; items: StoredConfigItem[] }> {
    await this.#d.apps.getApp(appId);
    const [revision, items] = await Promise.all([
      this.#d.store.envRevision(appId, env),
      this.#d.store.listItems(appId, env),
    ]);
    return { revision, items: namespace === undefined ? items : items.filter((i) => i.namespace === namespace) };
  }

  async get(appId: string, env: ConfigEnv, namespace: string, key: string): Promise<StoredConfigItem> {
    await this.#d.apps.getApp(appId);
    const item = await this.#d.store.getItem(appId, env, namespace, key);
    if (item === null) throw ConfigItemNotFound({ app: appId, env, namespace, key });
    return item;
  }

  /** Creates an item or changes it (`config set`). */
  async set(appId: string, env: ConfigEnv, namespace: string, key: string, patch: ConfigItemPatch, actor: string): Promise<StoredConfigItem> {
    return this.#changeOne(appId, env, namespace, key, actor, (current) => {
      if (current === null) {
        if (patch.type === undefined || patch.defaultValue === undefined) {
          throw ConfigItemInvalid({ key, reason: 'a new item needs a type and a value' }, {
            fields: [{ pointer: '/body', message: 'type and value are required to create an item' }],
          });
        }
      }
      const base: ConfigItemContent = current ?? {
        namespace,
        key,
        type: patch.type as ConfigType,
        kind: patch.kind ?? 'config',
        enabled: true,
        defaultValue: patch.defaultValue,
        description: '',
        owner: '',
        tags: [],
        rules: [],
        dependsOn: [],
        module: null,
      };
      const { offValue: _off, ...rest } = base;
      const offValue = patch.offValue === undefined ? base.offValue : patch.offValue === null ? undefined : patch.offValue;
      const after: ConfigItemContent = {
        ...rest,
        ...(offValue !== undefined ? { offValue } : {}),
        ...(patch.type !== undefined ? { type: patch.type } : {}),
        ...(patch.kind !== undefined ? { kind: patch.kind } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        ...(patch.defaultValue !== undefined ? { defaultValue: patch.defaultValue } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.owner !== undefined ? { owner: patch.owner } : {}),
        ...(patch.tags !== undefined ? { tags: [...new Set(patch.tags)] } : {}),
        ...(patch.rules !== undefined ? { rules: patch.rules } : {}),
        ...(patch.dependsOn !== undefined ? { dependsOn: patch.dependsOn } : {}),
        ...(patch.module !== undefined ? { module: patch.module } : {}),
      };
      return { namespace, key, action: current === null ? 'create' : 'set', after };
    });
  }

  /** Adds a rule (at `position`, default the end). */
  async addRule(appId: string, env: ConfigEnv, namespace: string, key: string, rule: NewConfigRule, position: number | undefined, actor: string): Promise<StoredConfigItem> {
    return this.#changeOne(appId, env, namespace, key, actor, (current) => {
      if (current === null) throw ConfigItemNotFound({ app: appId, env, namespace, key });
      const ids = new Set(current.rules.map((r) => r.id));
      let id = rule.id;
      if (id === undefined) {
        let n = current.rules.length + 1;
        while (ids.has(`r${n}`)) n++;
        id = `r${n}`;
      } else if (ids.has(id)) {
        throw ConfigItemInvalid({ key, reason: `rule id "${id}" is taken` }, {
          fields: [{ pointer: '/body/id', message: `rule "${id}" already exists` }],
        });
      }
      const rules = [...current.rules];
      const at = position === undefined ? rules.length : Math.max(0, Math.min(position, rules.length));
      rules.splice(at, 0, { ...rule, id } as ConfigRule);
      return { namespace, key, action: 'rule.add', after: { ...current, rules } };
    });
  }

  async removeRule(appId: string, env: ConfigEnv, namespace: string, key: string, ruleId: string, actor: string): Promise<StoredConfigItem> {
    return this.#changeOne(appId, env, namespace, key, actor, (current) => {
      if (current === null) throw ConfigItemNotFound({ app: appId, env, namespace, key });
      if (!current.rules.some((r) => r.id === ruleId)) throw ConfigRuleNotFound({ key, rule: ruleId });
      return { namespace, key, action: 'rule.remove', after: { ...current, rules: current.rules.filter((r) => r.id !== ruleId) } };
    });
  }

  /**
   * Switches an item on or off (kill switch: off delivers its off value, `false`, to everyone).
   * A missing item is created as a switch defaulting to `true`.
   */
  async setSwitch(appId: string, env: ConfigEnv, namespace: string, key: string, on: boolean, actor: string): Promise<StoredConfigItem> {
    return this.#changeOne(appId, env, namespace, key, actor, (current) => {
      if (current !== null && current.type !== 'boolean') throw ConfigNotASwitch({ key, type: current.type });
      const base: ConfigItemContent = current ?? {
        namespace,
        key,
        type: 'boolean',
        kind: 'switch',
        enabled: true,
        defaultValue: true,
        description: '',
        owner: '',
        tags: [],
        rules: [],
        dependsOn: [],
        module: null,
      };
      return { namespace, key, action: on ? 'switch.on' : 'switch.off', after: { ...base, enabled: on } };
    });
  }

  async delete(appId: string, env: ConfigEnv, namespace: string, key: string, actor: string): Promise<void> {
    await this.#change(appId, env, actor, (items) => {
      const qk = qualifiedKey(namespace, key);
      if (!items.has(qk)) throw ConfigItemNotFound({ app: appId, env, namespace, key });
      const dependents = [...items.values()]
        .filter((i) => i.dependsOn.some((d) => d.key === qk))
        .map((i) => qualifiedKey(i.namespace, i.key));
      if (dependents.length > 0) throw ConfigItemInUse({ key: qk, dependents: dependents.join(', ') });
      return [{ namespace, key, action: 'delete', after: null }];
    });
  }

  async history(appId: string, env: ConfigEnv, namespace: string, key: string): Promise<ConfigRevision[]> {
    await this.#d.apps.getApp(appId);
    return this.#d.store.listRevisions(appId, env, namespace, key);
  }

  /** Makes an old revision current again (as a new revision); a deletion revision deletes. */
  async restore(appId: string, env: ConfigEnv, namespace: string, key: string, revision: number, actor: string): Promise<StoredConfigItem | null> {
    await this.#d.apps.getApp(appId);
    const old = await this.#d.store.getRevision(appId, env, namespace, key, revision);
    if (old === null) throw ConfigRevisionNotFound({ key: qualifiedKey(namespace, key), revision, env });
    const written = await this.#change(appId, env, actor, (items) => {
      const qk = qualifiedKey(namespace, key);
      if (old.item === null && !items.has(qk)) return [];
      return [{ namespace, key, action: `restore:${revision}`, after: old.item === null ? null : contentOf(old.item) }];
    });
    return written.find((w) => w.namespace === namespace && w.key === key)?.item ?? null;
  }

  async audit(appId: string, filter: { env?: string; namespace?: string; key?: string; limit?: number }): Promise<ConfigAuditEntry[]> {
    await this.#d.apps.getApp(appId);
    return this.#d.store.listAudit(appId, { ...filter, limit: filter.limit ?? 100 });
  }

  /** What promoting `from` to `to` would change: `to` becomes what `from` is. */
  async promoteDiff(appId: string, from: ConfigEnv, to: ConfigEnv): Promise<ConfigDiff> {
    if (from === to) throw ConfigPromoteSameEnv({ env: from });
    await this.#d.apps.getApp(appId);
    // Revisions first: a change landing between these reads and the items makes the diff stale, never wrong.
    const [fromRevision, toRevision] = await Promise.all([
      this.#d.store.envRevision(appId, from),
      this.#d.store.envRevision(appId, to),
    ]);
    const [source, target] = await Promise.all([this.#d.store.listItems(appId, from), this.#d.store.listItems(appId, to)]);
    const bySource = new Map(source.map((i) => [qualifiedKey(i.namespace, i.key), i]));
    const byTarget = new Map(target.map((i) => [qualifiedKey(i.namespace, i.key), i]));
    const changes: ConfigDiffEntry[] = [];
    for (const [qk, s] of bySource) {
      const t = byTarget.get(qk);
      if (t === undefined) changes.push({ namespace: s.namespace, key: s.key, change: 'added', before: null, after: contentOf(s) });
      else if (!sameContent(s, t)) changes.push({ namespace: s.namespace, key: s.key, change: 'changed', before: contentOf(t), after: contentOf(s) });
    }
    for (const [qk, t] of byTarget) {
      if (!bySource.has(qk)) changes.push({ namespace: t.namespace, key: t.key, change: 'removed', before: contentOf(t), after: null });
    }
    changes.sort((a, b) => (a.namespace === b.namespace ? (a.key < b.key ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
    return { from, to, fromRevision, toRevision, changes };
  }

  /**
   * Applies a promote atomically, provided neither environment changed since the diff was
   * computed at `fromRevision`/`toRevision` (else HT_CONFIG_PROMOTE_STALE and nothing changes).
   */
  async promote(appId: string, from: ConfigEnv, to: ConfigEnv, expected: { fromRevision: number; toRevision: number }, actor: string): Promise<ConfigDiff> {
    const diff = await this.promoteDiff(appId, from, to);
    if (diff.fromRevision !== expected.fromRevision) {
      throw ConfigPromoteStale({ env: from, expected: expected.fromRevision, actual: diff.fromRevision });
    }
    if (diff.toRevision !== expected.toRevision) {
      throw ConfigPromoteStale({ env: to, expected: expected.toRevision, actual: diff.toRevision });
    }
    if (diff.changes.length === 0) return diff;
    const at = this.#now();
    const writes: ConfigWrite[] = [];
    for (const c of diff.changes) {
      const last = await this.#d.store.lastRevision(appId, to, c.namespace, c.key);
      writes.push(this.#write(appId, to, { namespace: c.namespace, key: c.key, action: `promote:${from}`, after: c.after }, c.before, last + 1, actor, at));
    }
    const revisions = await this.#d.store.commit({
      appId,
      guards: { [from]: expected.fromRevision, [to]: expected.toRevision },
      writes,
      at,
    });
    if (revisions === null) {
      const actual = await this.#d.store.envRevision(appId, to);
      throw ConfigPromoteStale({ env: to, expected: expected.toRevision, actual });
    }
    await this.#d.notify(appId, to, revisions[to] as number);
    return diff;
  }

  async #changeOne(
    appId: string,
    env: ConfigEnv,
    namespace: string,
    key: string,
    actor: string,
    make: (current: ConfigItemContent | null) => Change,
  ): Promise<StoredConfigItem> {
    const written = await this.#change(appId, env, actor, (items) => [make(items.get(qualifiedKey(namespace, key)) ?? null)]);
    const item = written[0]?.item;
    if (item === undefined || item === null) throw ConfigItemNotFound({ app: appId, env, namespace, key });
    return item;
  }

  /**
   * The write path: read the environment, compute the changes, validate the resulting set
   * (types, rules, segments, dependencies, cycles), commit guarded by the environment revision
   * that was read (retrying when a concurrent change got there first), announce.
   */
  async #change(
    appId: string,
    env: ConfigEnv,
    actor: string,
    compute: (items: ReadonlyMap<string, StoredConfigItem>) => Change[],
  ): Promise<ConfigWrite[]> {
    await this.#d.apps.getApp(appId);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const revision = await this.#d.store.envRevision(appId, env);
      const [list, crowds] = await Promise.all([this.#d.store.listItems(appId, env), this.#d.apps.listCrowds(appId)]);
      const items = new Map(list.map((i) => [qualifiedKey(i.namespace, i.key), i]));
      const changes = compute(items);
      if (changes.length === 0) return [];
      const after = new Map<string, ConfigItemContent>(items);
      for (const c of changes) {
        const qk = qualifiedKey(c.namespace, c.key);
        if (c.after === null) after.delete(qk);
        else after.set(qk, c.after);
      }
      this.#validate(changes, after, new Set(crowds.map((c) => c.name)));
      const at = this.#now();
      const writes: ConfigWrite[] = [];
      for (const c of changes) {
        const before = items.get(qualifiedKey(c.namespace, c.key)) ?? null;
        const last = await this.#d.store.lastRevision(appId, env, c.namespace, c.key);
        writes.push(this.#write(appId, env, c, before === null ? null : contentOf(before), last + 1, actor, at));
      }
      const revisions = await this.#d.store.commit({ appId, guards: { [env]: revision }, writes, at });
      if (revisions === null) continue;
      await this.#d.notify(appId, env, revisions[env] as number);
      return writes;
    }
    throw ConfigConflict({ app: appId, env });
  }

  #validate(changes: readonly Change[], after: ReadonlyMap<string, ConfigItemContent>, segments: ReadonlySet<string>): void {
    const keys = new Set(after.keys());
    for (const c of changes) {
      if (c.after === null) continue;
      const issues = validateConfigItem(toCoreItem(c.after), { segments, keys });
      if (c.after.module !== null && c.after.type !== 'boolean') {
        issues.push({ path: '/module', message: 'only a boolean item (a switch) can be bound to a module' });
      }
      if (issues.length > 0) {
        const first = issues[0] as { path: string; message: string };
        throw ConfigItemInvalid(
          { key: qualifiedKey(c.namespace, c.key), reason: `${first.path || '/'} ${first.message}` },
          { fields: issues.map((i) => ({ pointer: i.path || '/', message: i.message })) },
        );
      }
    }
    const cycles = findDependencyCycles([...after.values()].map(toCoreItem));
    if (cycles.length > 0) {
      throw ConfigDependencyCycle({ cycle: cycles.map((c) => [...c, c[0]].join(' → ')).join('; ') });
    }
  }

  #write(appId: string, env: string, c: Change, before: ConfigItemContent | null, revision: number, actor: string, at: string): ConfigWrite {
    const item: StoredConfigItem | null =
      c.after === null ? null : { ...contentOf(c.after), appId, env, revision, updatedAt: at, updatedBy: actor };
    return {
      env,
      namespace: c.namespace,
      key: c.key,
      item,
      revision: { appId, env, namespace: c.namespace, key: c.key, revision, action: c.action, item: c.after === null ? null : contentOf(c.after), actor, createdAt: at },
      audit: { id: newId('cfa'), appId, env, namespace: c.namespace, key: c.key, action: c.action, actor, before, after: c.after === null ? null : contentOf(c.after), createdAt: at },
    };
  }

  #now(): string {
    return this.#d.clock.now().toISOString();
  }
}

export { CONFIG_ENVS };
