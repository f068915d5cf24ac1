/**
 * Write-time validation of config items: every problem with a JSON pointer, never a throw.
 */
import { isValidPercent } from '../bucket.js';
import { isRuleAttribute, validateRule } from '../rules.js';
import { parseVersion } from '../version.js';
import { findDependencyCycles } from './dependencies.js';
import { stickinessAttribute } from './split.js';
import { CONFIG_TYPES, type ConfigIssue, type ConfigItem, type ConfigType } from './types.js';

/**
 * Options of {@link validateConfigItem}.
 *
 * @example
 * validateConfigItem(item, { segments: new Set(['beta-testers']), keys: new Set(['parent']) });
 */
export interface ValidateConfigOptions {
  /** Known crowds; when given, a rule naming another crowd is an issue. */
  readonly segments?: ReadonlySet<string> | undefined;
  /** Known item keys; when given, a dependency on another key is an issue. */
  readonly keys?: ReadonlySet<string> | undefined;
}

/** Longest item key, rule id or variant name accepted. */
export const MAX_CONFIG_KEY_LENGTH = 256;
/** Most rules one item may hold. */
export const MAX_CONFIG_RULES = 1000;
/** Most arms one split may hold. */
export const MAX_SPLIT_VARIANTS = 100;
const MAX_JSON_DEPTH = 32;

const ITEM_KEYS = new Set(['key', 'type', 'kind', 'enabled', 'defaultValue', 'offValue', 'rules', 'dependsOn']);
const RULE_KEYS = new Set(['id', 'when', 'fromVersion', 'rollout', 'value', 'variant', 'split']);
const SPLIT_KEYS = new Set(['variants', 'stickiness', 'salt', 'unleashCompatible', 'groupId']);
const ROLLOUT_KEYS = new Set(['percent', 'stickiness', 'salt', 'unleashCompatible', 'groupId']);
const VARIANT_KEYS = new Set(['name', 'value', 'weight']);
const DEP_KEYS = new Set(['key', 'enabled', 'variants']);
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isJsonValue(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x) => isJsonValue(x, depth + 1));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as object).every((x) => isJsonValue(x, depth + 1));
  }
  return false;
}

/**
 * Why `value` is not a value of `type`, or `undefined` when it is.
 *
 * @example
 * typeMismatch('integer', 1.5); // 'expected an integer, got 1.5'
 * typeMismatch('json', { a: [1, null] }); // undefined
 */
export function typeMismatch(type: ConfigType, value: unknown): string | undefined {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected a boolean, got ${show(value)}`;
    case 'string':
      return typeof value === 'string' ? undefined : `expected a string, got ${show(value)}`;
    case 'integer':
      return Number.isSafeInteger(value) ? undefined : `expected an integer, got ${show(value)}`;
    case 'float':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `expected a finite number, got ${show(value)}`;
    case 'json':
      return value !== undefined && isJsonValue(value, 0)
        ? undefined
        : `expected a JSON value (object, array, string, finite number, boolean or null), got ${show(value)}`;
  }
}

function checkName(v: unknown, path: string, what: string, issues: ConfigIssue[]): v is string {
  if (typeof v !== 'string' || v === '' || v.length > MAX_CONFIG_KEY_LENGTH || CONTROL_RE.test(v)) {
    issues.push({
      path,
      message: `${what} must be a non-empty string of at most ${MAX_CONFIG_KEY_LENGTH} characters without control characters, got ${show(v)}`,
    });
    return false;
  }
  return true;
}

function unknownKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, path: string, issues: ConfigIssue[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) issues.push({ path: `${path}/${escapePointer(k)}`, message: `unknown key ${show(k)}` });
  }
}

function checkStickiness(v: unknown, path: string, issues: ConfigIssue[]): void {
  if (v === undefined) return;
  const names = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
  if (names === null || names.length === 0) {
    issues.push({ path, message: `stickiness must be a field name or a non-empty array of them, got ${show(v)}` });
    return;
  }
  names.forEach((n: unknown, i) => {
    const at = typeof v === 'string' ? path : `${path}/${i}`;
    if (typeof n !== 'string' || !isRuleAttribute(stickinessAttribute(n)) || n === 'segments' || n === 'currentTime') {
      issues.push({ path: at, message: `${show(n)} is not a context field usable as stickiness` });
    }
  });
}

function checkUnleashFields(
  o: Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
): boolean {
  if (o.unleashCompatible !== undefined && typeof o.unleashCompatible !== 'boolean') {
    issues.push({ path: `${path}/unleashCompatible`, message: 'unleashCompatible must be a boolean' });
  }
  const unleash = o.unleashCompatible === true;
  if (o.salt !== undefined) {
    if (unleash) issues.push({ path: `${path}/salt`, message: 'salt is for native bucketing; Unleash-compatible bucketing uses groupId' });
    else checkName(o.salt, `${path}/salt`, 'salt', issues);
  }
  if (o.groupId !== undefined) {
    if (!unleash) issues.push({ path: `${path}/groupId`, message: 'groupId only applies with unleashCompatible: true (use salt)' });
    else checkName(o.groupId, `${path}/groupId`, 'groupId', issues);
  }
  checkStickiness(o.stickiness, `${path}/stickiness`, issues);
  return unleash;
}

function collectSegments(rule: unknown, path: string, out: { path: string; name: unknown }[]): void {
  if (!isObject(rule)) return;
  for (const group of ['all', 'any'] as const) {
    const children = rule[group];
    if (Array.isArray(children)) {
      children.forEach((c: unknown, i) => {
        collectSegments(c, `${path}/${group}/${i}`, out);
      });
      return;
    }
  }
  if (rule.attribute === 'segments' && Array.isArray(rule.values)) {
    rule.values.forEach((name: unknown, i) => {
      out.push({ path: `${path}/values/${i}`, name });
    });
  }
}

function validateRuleEntry(
  item: Record<string, unknown>,
  type: ConfigType | undefined,
  rule: unknown,
  path: string,
  opts: ValidateConfigOptions,
  issues: ConfigIssue[],
): void {
  if (!isObject(rule)) {
    issues.push({ path, message: `a rule must be an object, got ${show(rule)}` });
    return;
  }
  unknownKeys(rule, RULE_KEYS, path, issues);
  checkName(rule.id, `${path}/id`, 'a rule id', issues);
  const hasWhen = rule.when !== undefined;
  const hasFrom = rule.fromVersion !== undefined;
  if (hasWhen === hasFrom) {
    issues.push({
      path,
      message: 'a rule has exactly one of "when" (a dedicated rule) and "fromVersion" (a generic rule)',
    });
  }
  if (hasWhen) {
    for (const i of validateRule(rule.when)) issues.push({ path: `${path}/when${i.path}`, message: i.message });
    if (opts.segments !== undefined) {
      const refs: { path: string; name: unknown }[] = [];
      collectSegments(rule.when, `${path}/when`, refs);
      for (const r of refs) {
        if (typeof r.name === 'string' && !opts.segments.has(r.name)) {
          issues.push({ path: r.path, message: `unknown segment ${show(r.name)}` });
        }
      }
    }
  }
  if (hasFrom && (typeof rule.fromVersion !== 'string' || parseVersion(rule.fromVersion) === null)) {
    issues.push({ path: `${path}/fromVersion`, message: `${show(rule.fromVersion)} is not a valid app version` });
  }
  if (rule.rollout !== undefined) {
    const at = `${path}/rollout`;
    const r = rule.rollout;
    if (!isObject(r)) {
      issues.push({ path: at, message: 'rollout must be an object { percent, stickiness?, … }' });
    } else {
      unknownKeys(r, ROLLOUT_KEYS, at, issues);
      const unleash = checkUnleashFields(r, at, issues);
      const p = r.percent;
      const ok = unleash
        ? Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 100
        : isValidPercent(p);
      if (!ok) {
        issues.push({
          path: `${at}/percent`,
          message: unleash
            ? `an Unleash-compatible rollout takes an integer percent 0..100, got ${show(p)}`
            : `percent must be a number 0..100 with at most two decimals, got ${show(p)}`,
        });
      }
    }
  }
  const hasValue = hasOwn(rule, 'value') && rule.value !== undefined;
  const hasSplit = rule.split !== undefined;
  if (hasValue === hasSplit) {
    issues.push({ path, message: 'a rule has exactly one of "value" and "split"' });
  }
  if (rule.variant !== undefined) {
    if (hasSplit) issues.push({ path: `${path}/variant`, message: '"variant" names a fixed value; split arms carry their own names' });
    else checkName(rule.variant, `${path}/variant`, 'a variant name', issues);
  }
  if (hasValue && type !== undefined) {
    const bad = typeMismatch(type, rule.value);
    if (bad !== undefined) issues.push({ path: `${path}/value`, message: bad });
  }
  if (hasSplit) validateSplit(item, type, rule.split, `${path}/split`, issues);
}

function validateSplit(
  _item: Record<string, unknown>,
  type: ConfigType | undefined,
  split: unknown,
  path: string,
  issues: ConfigIssue[],
): void {
  if (!isObject(split)) {
    issues.push({ path, message: 'split must be an object { variants, stickiness?, … }' });
    return;
  }
  unknownKeys(split, SPLIT_KEYS, path, issues);
  const unleash = checkUnleashFields(split, path, issues);
  const variants = split.variants;
  const at = `${path}/variants`;
  if (!Array.isArray(variants) || variants.length === 0 || variants.length > MAX_SPLIT_VARIANTS) {
    issues.push({ path: at, message: `variants must be an array of 1 to ${MAX_SPLIT_VARIANTS} arms` });
    return;
  }
  const names = new Set<string>();
  let total = 0;
  variants.forEach((v: unknown, i) => {
    const vp = `${at}/${i}`;
    if (!isObject(v)) {
      issues.push({ path: vp, message: 'an arm must be an object { name, value, weight }' });
      return;
    }
    unknownKeys(v, VARIANT_KEYS, vp, issues);
    if (checkName(v.name, `${vp}/name`, 'an arm name', issues)) {
      if (names.has(v.name)) issues.push({ path: `${vp}/name`, message: `duplicate arm name ${show(v.name)}` });
      names.add(v.name);
    }
    if (type !== undefined) {
      const bad = typeMismatch(type, v.value);
      if (bad !== undefined) issues.push({ path: `${vp}/value`, message: bad });
    }
    const w = v.weight;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || (unleash && !Number.isInteger(w))) {
      issues.push({
        path: `${vp}/weight`,
        message: unleash
          ? `an Unleash-compatible weight is a non-negative integer, got ${show(w)}`
          : `a weight is a finite number >= 0, got ${show(w)}`,
      });
    } else {
      total += w;
    }
  });
  if (total <= 0) issues.push({ path: at, message: 'the weights must add up to more than 0' });
}

/**
 * Checks one config item received from the outside (admin API, CLI, promote) and returns every
 * problem found; an empty array means {@link compileConfigSet} evaluates it normally. Checked:
 * key/type/kind (a switch is boolean), values of the declared type (default, off, each rule
 * value and arm), each rule's shape (exactly one of `when`/`fromVersion` and of `value`/`split`),
 * the targeting rule (unknown attribute or operator, bad regex, CIDR, version or date, via
 * `validateRule`), crowds named by `segments` conditions (when `opts.segments` is given),
 * split weights and names, rollout percentages, Unleash-mode restrictions, dependencies (no
 * self-dependency; known keys when `opts.keys` is given). Cycles across items need the whole set:
 * see {@link validateConfigSet} and {@link findDependencyCycles}.
 *
 * @example
 * validateConfigItem({ key: 'k', type: 'integer', kind: 'config', enabled: true, defaultValue: 1.5, rules: [] }, {});
 * // [{ path: '/defaultValue', message: 'expected an integer, got 1.5' }]
 */
export function validateConfigItem(item: unknown, opts: ValidateConfigOptions = {}): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isObject(item)) {
    return [{ path: '', message: `a config item must be an object, got ${show(item)}` }];
  }
  unknownKeys(item, ITEM_KEYS, '', issues);
  checkName(item.key, '/key', 'key', issues);
  let type: ConfigType | undefined;
  if (typeof item.type === 'string' && (CONFIG_TYPES as readonly string[]).includes(item.type)) {
    type = item.type as ConfigType;
  } else {
    issues.push({ path: '/type', message: `type must be one of ${CONFIG_TYPES.join(', ')}, got ${show(item.type)}` });
  }
  if (item.kind !== 'config' && item.kind !== 'switch') {
    issues.push({ path: '/kind', message: `kind must be "config" or "switch", got ${show(item.kind)}` });
  } else if (item.kind === 'switch' && type !== undefined && type !== 'boolean') {
    issues.push({ path: '/kind', message: `a switch is a boolean item, this one is ${type}` });
  }
  if (typeof item.enabled !== 'boolean') {
    issues.push({ path: '/enabled', message: `enabled must be a boolean, got ${show(item.enabled)}` });
  }
  if (type !== undefined) {
    const bad = typeMismatch(type, item.defaultValue);
    if (bad !== undefined) issues.push({ path: '/defaultValue', message: bad });
    if (item.offValue !== undefined) {
      const badOff = typeMismatch(type, item.offValue);
      if (badOff !== undefined) issues.push({ path: '/offValue', message: badOff });
    }
  }
  const rules = item.rules;
  if (!Array.isArray(rules)) {
    issues.push({ path: '/rules', message: 'rules must be an array' });
  } else if (rules.length > MAX_CONFIG_RULES) {
    issues.push({ path: '/rules', message: `an item holds at most ${MAX_CONFIG_RULES} rules, got ${rules.length}` });
  } else {
    const ids = new Set<string>();
    rules.forEach((r: unknown, i) => {
      validateRuleEntry(item, type, r, `/rules/${i}`, opts, issues);
      if (isObject(r) && typeof r.id === 'string') {
        if (ids.has(r.id)) issues.push({ path: `/rules/${i}/id`, message: `duplicate rule id ${show(r.id)}` });
        ids.add(r.id);
      }
    });
  }
  const deps = item.dependsOn;
  if (deps !== undefined) {
    if (!Array.isArray(deps)) {
      issues.push({ path: '/dependsOn', message: 'dependsOn must be an array' });
    } else {
      deps.forEach((d: unknown, i) => {
        const at = `/dependsOn/${i}`;
        if (!isObject(d)) {
          issues.push({ path: at, message: 'a dependency must be an object { key, enabled?, variants? }' });
          return;
        }
        unknownKeys(d, DEP_KEYS, at, issues);
        if (checkName(d.key, `${at}/key`, 'a dependency key', issues)) {
          if (d.key === item.key) issues.push({ path: `${at}/key`, message: 'an item cannot depend on itself (a cycle)' });
          else if (opts.keys !== undefined && !opts.keys.has(d.key)) {
            issues.push({ path: `${at}/key`, message: `unknown item ${show(d.key)}` });
          }
        }
        if (d.enabled !== undefined && typeof d.enabled !== 'boolean') {
          issues.push({ path: `${at}/enabled`, message: 'enabled must be a boolean' });
        }
        if (d.variants !== undefined) {
          if (!Array.isArray(d.variants)) issues.push({ path: `${at}/variants`, message: 'variants must be an array of names' });
          else {
            if (d.enabled === false && d.variants.length > 0) {
              issues.push({ path: `${at}/variants`, message: 'variants only apply when the parent must be enabled' });
            }
            d.variants.forEach((n: unknown, j) => {
              checkName(n, `${at}/variants/${j}`, 'a variant name', issues);
            });
          }
        }
      });
    }
  }
  return issues;
}

/**
 * A problem found by {@link validateConfigSet}: which item (its index and key) and where.
 *
 * @example
 * const i: ConfigSetIssue = { index: 0, key: 'a', path: '/dependsOn/0/key', message: 'dependency cycle: a → b → a' };
 */
export interface ConfigSetIssue extends ConfigIssue {
  readonly index: number;
  readonly key: string | undefined;
}

/**
 * Validates a whole set: every item ({@link validateConfigItem} with the set's keys as known
 * keys), duplicate keys, and dependency cycles.
 *
 * @example
 * validateConfigSet(items, { segments: new Set(['beta']) }); // [] when the set is valid
 */
export function validateConfigSet(
  items: readonly unknown[],
  opts: Pick<ValidateConfigOptions, 'segments'> = {},
): ConfigSetIssue[] {
  const out: ConfigSetIssue[] = [];
  const keyOf = (it: unknown): string | undefined =>
    isObject(it) && typeof it.key === 'string' ? it.key : undefined;
  const keys = new Set<string>();
  items.forEach((it, index) => {
    const key = keyOf(it);
    if (key !== undefined) {
      if (keys.has(key)) out.push({ index, key, path: '/key', message: `duplicate key ${show(key)}` });
      keys.add(key);
    }
  });
  items.forEach((it, index) => {
    for (const i of validateConfigItem(it, { segments: opts.segments, keys })) out.push({ index, key: keyOf(it), ...i });
  });
  const valid = items.filter(isObject) as unknown as ConfigItem[];
  for (const cycle of findDependencyCycles(valid)) {
    if (cycle.length === 1) continue; // a self-dependency is reported by validateConfigItem
    const first = cycle[0] as string;
    out.push({
      index: items.findIndex((it) => keyOf(it) === first),
      key: first,
      path: '/dependsOn',
      message: `dependency cycle: ${[...cycle, first].join(' → ')}`,
    });
  }
  return out;
}
