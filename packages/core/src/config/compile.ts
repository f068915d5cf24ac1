/**
 * Compiles a set of config items once; evaluates them per device with no parsing, no regex
 * building and (for fixed values and split arms) no allocation: every possible
 * {@link Evaluation} of a rule is built and frozen at compile time.
 */
import { compileRule, type CompiledRule, type RuleContext } from '../rules.js';
import { compareParsed, type ParsedVersion, parseVersion } from '../version.js';
import { findDependencyCycleMembers } from './dependencies.js';
import { compileArmPicker, compileGate, compileStickiness, type KeyGetter } from './split.js';
import type {
  ConfigItem,
  ConfigRule,
  ConfigType,
  EvalContext,
  Evaluation,
  EvaluationErrorCode,
} from './types.js';
import { validateConfigItem } from './validate.js';

/**
 * Options of {@link compileConfigSet}.
 *
 * @example
 * compileConfigSet(items, { transitiveDependencies: false }); // Unleash's one-level dependencies
 */
export interface CompileConfigOptions {
  /**
   * When false, a parent that itself depends on something never satisfies a dependency
   * (Unleash's rule: dependencies are one level deep). Default true: chains such as
   * family switch → package switch → feature are evaluated all the way up.
   */
  readonly transitiveDependencies?: boolean | undefined;
}

/**
 * Options of one evaluation.
 *
 * @example
 * set.evaluate('k', ctx, { type: 'boolean' }); // ERROR/TYPE_MISMATCH when k is not boolean
 */
export interface EvaluateOptions {
  /** The type the caller expects; a different declared type gives `ERROR`/`TYPE_MISMATCH`. */
  readonly type?: ConfigType | undefined;
}

/**
 * A compiled set of items, from {@link compileConfigSet}.
 *
 * @example
 * const set: CompiledConfigSet = compileConfigSet([]);
 * set.evaluate('missing', {}).errorCode; // 'FLAG_NOT_FOUND'
 */
export interface CompiledConfigSet {
  /** The item keys, in input order. */
  readonly keys: readonly string[];
  /** Evaluates one item; an unknown key gives `ERROR`/`FLAG_NOT_FOUND`. */
  evaluate(key: string, ctx: EvalContext, opts?: EvaluateOptions): Evaluation;
  /** Evaluates every item, in input order. */
  evaluateAll(ctx: EvalContext): Evaluation[];
  /** Whether `key` exists in the set. */
  has(key: string): boolean;
}

type Kind = 'dedicated' | 'generic';

interface CompiledConfigRule {
  readonly kind: Kind;
  readonly matches: CompiledRule | null;
  readonly fromVersion: ParsedVersion | null;
  readonly gate: ((ctx: RuleContext) => boolean) | null;
  /** Fixed value: the evaluation; split: null. */
  readonly fixed: Evaluation | null;
  readonly armKey: KeyGetter | null;
  readonly pickArm: ((key: string) => number) | null;
  readonly arms: readonly Evaluation[];
  /** The arm chosen when the device has no key: the only positive-weight arm, if there is one. */
  readonly keylessArm: Evaluation | null;
}

interface CompiledDependency {
  readonly parent: number; // index, or -1 for an unknown parent
  readonly wantOn: boolean;
  readonly variants: ReadonlySet<string> | null;
}

interface CompiledItem {
  readonly key: string;
  readonly type: ConfigType;
  readonly hasDependencies: boolean;
  readonly deps: readonly CompiledDependency[];
  /** Set when the item cannot be evaluated: disabled, invalid or in a dependency cycle. */
  readonly constant: Evaluation | null;
  readonly dedicated: readonly CompiledConfigRule[];
  /** Generic rules sorted by `fromVersion`, highest first. */
  readonly generic: readonly CompiledConfigRule[];
  readonly off: Evaluation;
  readonly fallback: Evaluation;
  readonly keyMissing: Evaluation;
}

const freeze = <T extends object>(o: T): T => Object.freeze(o);

function offValueOf(item: ConfigItem): unknown {
  if (item.offValue !== undefined) return item.offValue;
  return item.type === 'boolean' ? false : item.defaultValue;
}

function compileOneRule(item: ConfigItem, rule: ConfigRule): CompiledConfigRule {
  const kind: Kind = rule.when !== undefined ? 'dedicated' : 'generic';
  const matches = rule.when !== undefined ? compileRule(rule.when) : null;
  const fromVersion =
    rule.fromVersion !== undefined ? (parseVersion(rule.fromVersion) as ParsedVersion) : null;
  let gate: ((ctx: RuleContext) => boolean) | null = null;
  if (rule.rollout !== undefined) {
    const r = rule.rollout;
    const key = compileStickiness(r.stickiness);
    const inGate = compileGate(r.percent, {
      salt: r.salt ?? `config:${item.key}:${rule.id}:rollout`,
      unleashGroupId: r.unleashCompatible === true ? (r.groupId ?? item.key) : undefined,
    });
    const everyone = r.percent >= 100;
    gate = (ctx) => {
      const k = key(ctx);
      return k === undefined ? everyone : inGate(k);
    };
  }
  if (rule.split === undefined) {
    const fixed = freeze<Evaluation>(
      rule.variant === undefined
        ? { key: item.key, value: rule.value, reason: 'TARGETING_MATCH', ruleId: rule.id }
        : { key: item.key, value: rule.value, variant: rule.variant, reason: 'TARGETING_MATCH', ruleId: rule.id },
    );
    return { kind, matches, fromVersion, gate, fixed, armKey: null, pickArm: null, arms: [], keylessArm: null };
  }
  const split = rule.split;
  const arms = split.variants.map((v) =>
    freeze<Evaluation>({ key: item.key, value: v.value, variant: v.name, reason: 'SPLIT', ruleId: rule.id }),
  );
  const positive = split.variants.flatMap((v, i) => (v.weight > 0 ? [i] : []));
  const keylessArm = positive.length === 1 ? (arms[positive[0] as number] as Evaluation) : null;
  const pickArm = compileArmPicker(
    split.variants.map((v) => v.weight),
    {
      salt: split.salt ?? `config:${item.key}:${rule.id}`,
      unleashGroupId: split.unleashCompatible === true ? (split.groupId ?? item.key) : undefined,
    },
  );
  return {
    kind,
    matches,
    fromVersion,
    gate,
    fixed: null,
    armKey: compileStickiness(split.stickiness),
    pickArm,
    arms,
    keylessArm,
  };
}

function errorEvaluation(key: string, value: unknown, code: EvaluationErrorCode, details: string): Evaluation {
  return freeze<Evaluation>({ key, value, reason: 'ERROR', errorCode: code, errorDetails: details });
}

function compileItem(
  item: ConfigItem,
  index: ReadonlyMap<string, number>,
  inCycle: boolean,
): CompiledItem {
  const off = freeze<Evaluation>({ key: item.key, value: offValueOf(item), reason: 'DISABLED' });
  const hasRules = item.rules.length > 0;
  const fallback = freeze<Evaluation>({
    key: item.key,
    value: item.defaultValue,
    reason: hasRules ? 'DEFAULT' : 'STATIC',
  });
  const keyMissing = errorEvaluation(
    item.key,
    item.defaultValue,
    'TARGETING_KEY_MISSING',
    'this item splits by a key (stickiness) that the context does not carry',
  );
  const deps = (item.dependsOn ?? []).map(
    (d): CompiledDependency => ({
      parent: index.get(d.key) ?? -1,
      wantOn: d.enabled !== false,
      variants: d.variants !== undefined && d.variants.length > 0 ? new Set(d.variants) : null,
    }),
  );
  const base = {
    key: item.key,
    type: item.type,
    hasDependencies: deps.length > 0,
    deps,
    off,
    fallback,
    keyMissing,
  };
  if (inCycle) return { ...base, constant: off, dedicated: [], generic: [] };
  const issues = validateConfigItem(item, {});
  if (issues.length > 0) {
    const first = issues[0] as { path: string; message: string };
    const details = `invalid config item: ${first.path || '/'} ${first.message}`;
    return { ...base, constant: errorEvaluation(item.key, item.defaultValue, 'GENERAL', details), dedicated: [], generic: [] };
  }
  if (!item.enabled) {
    return { ...base, constant: off, dedicated: [], generic: [] };
  }
  const compiled = item.rules.map((r) => compileOneRule(item, r));
  const dedicated = compiled.filter((r) => r.kind === 'dedicated');
  const generic = compiled
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.kind === 'generic')
    .sort((a, b) => compareParsed(b.r.fromVersion as ParsedVersion, a.r.fromVersion as ParsedVersion) || a.i - b.i)
    .map(({ r }) => r);
  return { ...base, constant: null, dedicated, generic };
}

/**
 * Whether an evaluation counts as *on* for a dependency: not DISABLED or ERROR, and for a
 * boolean item the value `true`; for other types a rule matched or the item has no rules
 * (reason STATIC, TARGETING_MATCH or SPLIT), which is Unleash's "feature enabled".
 *
 * @example
 * isEvaluationOn({ key: 'k', value: true, reason: 'STATIC' }, 'boolean'); // true
 * isEvaluationOn({ key: 'k', value: 'x', reason: 'DEFAULT' }, 'string');  // false
 */
export function isEvaluationOn(e: Evaluation, type: ConfigType): boolean {
  if (e.reason === 'DISABLED' || e.reason === 'ERROR') return false;
  if (type === 'boolean') return e.value === true;
  return e.reason !== 'DEFAULT';
}

function runRule(r: CompiledConfigRule, item: CompiledItem, ctx: RuleContext): Evaluation | null {
  if (r.gate !== null && !r.gate(ctx)) return null;
  if (r.fixed !== null) return r.fixed;
  const key = (r.armKey as KeyGetter)(ctx);
  if (key === undefined) return r.keylessArm ?? item.keyMissing;
  const arm = (r.pickArm as (k: string) => number)(key);
  return arm < 0 ? item.fallback : (r.arms[arm] as Evaluation);
}

function evaluateRules(item: CompiledItem, ctx: RuleContext): Evaluation {
  for (const r of item.dedicated) {
    if ((r.matches as CompiledRule)(ctx)) {
      const e = runRule(r, item, ctx);
      if (e !== null) return e;
    }
  }
  if (item.generic.length > 0) {
    const raw = ctx.appVersion;
    const v = typeof raw === 'string' && raw !== '' ? parseVersion(raw) : null;
    if (v !== null) {
      for (const r of item.generic) {
        if (compareParsed(v, r.fromVersion as ParsedVersion) >= 0) {
          const e = runRule(r, item, ctx);
          if (e !== null) return e;
        }
      }
    }
  }
  return item.fallback;
}

/**
 * Validates and compiles config items into an evaluator. Invalid items do not throw: they
 * evaluate to `ERROR`/`GENERAL` with their default value (the server validates on write, so this
 * only guards old or hand-edited data). Items in a dependency cycle evaluate as DISABLED.
 *
 * Per item, in order: disabled → DISABLED (offValue); a dependency not satisfied → DISABLED;
 * the first dedicated rule (`when`) that matches, in order; else the generic rule
 * (`fromVersion`) with the highest version at or below the device's `appVersion`; else the
 * default value (DEFAULT, or STATIC when the item has no rules). A rule whose rollout gate
 * excludes the device does not match.
 *
 * @example
 * const set = compileConfigSet([{ key: 'color', type: 'string', kind: 'config', enabled: true,
 *   defaultValue: 'red', rules: [{ id: 'v8', fromVersion: '8.0', value: 'green' }] }]);
 * set.evaluate('color', { appVersion: '8.3' }); // { key: 'color', value: 'green', reason: 'TARGETING_MATCH', ruleId: 'v8' }
 */
export function compileConfigSet(items: readonly ConfigItem[], opts: CompileConfigOptions = {}): CompiledConfigSet {
  const transitive = opts.transitiveDependencies !== false;
  const index = new Map<string, number>();
  items.forEach((it, i) => {
    if (typeof it?.key === 'string' && !index.has(it.key)) index.set(it.key, i);
  });
  const cycleMembers = findDependencyCycleMembers(items);
  const compiled = items.map((it, i) => compileItem(it, index, cycleMembers.has(i)));

  // Evaluation order for evaluateAll: parents before children (cycle members are constants, so
  // their edges are ignored).
  const order: number[] = [];
  const state = new Uint8Array(compiled.length); // 0 new, 1 visiting, 2 done
  const visit = (i: number): void => {
    if (state[i] !== 0) return;
    state[i] = 1;
    const c = compiled[i] as CompiledItem;
    if (c.constant === null) for (const d of c.deps) if (d.parent >= 0) visit(d.parent);
    state[i] = 2;
    order.push(i);
  };
  for (let i = 0; i < compiled.length; i++) visit(i);

  const depsSatisfied = (c: CompiledItem, parentOf: (p: number) => Evaluation): boolean => {
    for (const d of c.deps) {
      if (d.parent < 0) return false; // unknown parent: never satisfied
      const p = compiled[d.parent] as CompiledItem;
      if (!transitive && p.hasDependencies) return false;
      const pe = parentOf(d.parent);
      const on = isEvaluationOn(pe, p.type);
      if (!d.wantOn) {
        if (on) return false;
        continue;
      }
      if (!on) return false;
      if (d.variants !== null && (pe.variant === undefined || !d.variants.has(pe.variant))) return false;
    }
    return true;
  };

  const evalIndex = (i: number, ctx: RuleContext, depth: number): Evaluation => {
    const c = compiled[i] as CompiledItem;
    if (c.constant !== null) return c.constant;
    if (c.deps.length > 0) {
      if (depth > items.length) return c.off; // unreachable: cycles are constants
      if (!depsSatisfied(c, (p) => evalIndex(p, ctx, depth + 1))) return c.off;
    }
    return evaluateRules(c, ctx);
  };

  const keys = items.map((it) => it.key);
  return {
    keys,
    has: (key) => index.has(key),
    evaluate(key, ctx, evalOpts) {
      const i = index.get(key);
      if (i === undefined) {
        return { key, value: undefined, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorDetails: `no item ${key}` };
      }
      const c = compiled[i] as CompiledItem;
      if (evalOpts?.type !== undefined && evalOpts.type !== c.type) {
        return {
          key,
          value: undefined,
          reason: 'ERROR',
          errorCode: 'TYPE_MISMATCH',
          errorDetails: `item ${key} is ${c.type}, not ${evalOpts.type}`,
        };
      }
      return evalIndex(i, ctx as RuleContext, 0);
    },
    evaluateAll(ctx) {
      const rc = ctx as RuleContext;
      const results = new Array<Evaluation>(compiled.length);
      for (const i of order) {
        const c = compiled[i] as CompiledItem;
        if (c.constant !== null) results[i] = c.constant;
        else if (c.deps.length > 0 && !depsSatisfied(c, (p) => results[p] as Evaluation)) results[i] = c.off;
        else results[i] = evaluateRules(c, rc);
      }
      return results;
    },
  };
}
