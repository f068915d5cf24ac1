/**
 * Targeting rules: validate at write time, compile once, evaluate per device with no parsing.
 *
 * A rule is `{ all: [...] }` (AND), `{ any: [...] }` (OR) or a bare {@link Condition}; groups
 * nest up to {@link MAX_RULE_DEPTH} levels and a rule holds at most {@link MAX_RULE_CONDITIONS}
 * conditions. `{ all: [] }` is true and `{ any: [] }` is false (the identities of AND and OR).
 *
 * **Missing attributes.** An attribute that is absent, `undefined`, `null` or the empty string is
 * *missing*. Every operator is false on a missing attribute except `not_in` and `neq`, which are
 * true: "channel is not huawei" holds for a device that reports no channel. To require presence,
 * combine with a positive test, e.g. `{ all: [{ attribute: 'channel', operator: 'not_in', … },
 * { attribute: 'channel', operator: 'regex', value: '.' }] }`.
 *
 * **Comparisons.** `in`/`not_in`/`eq`/`neq` compare `String(deviceValue)` with `String(value)`
 * (so `1` and `'1'` match, but `1` and `'1.0'` do not). Version operators parse the device value
 * as a mobile version (see `version.ts`); an invalid device version makes them false. Numeric
 * operators parse the device value with `Number()`; a blank string, a boolean or a non-numeric
 * value makes them false. `regex` tests at most the first {@link REGEX_INPUT_LIMIT} characters.
 */
import { BUILTIN_ATTRIBUTES } from './context.js';
import {
  type Condition,
  RULE_OPERATORS,
  type Rule,
  type RuleIssue,
  type RuleOperator,
} from './rule-types.js';
import {
  cidrContains,
  type CidrBlock,
  compareSemVer,
  compileRe2,
  parseCidr,
  parseDateTime,
  parseIp,
  parseSemVer,
  re2SyntaxError,
  type SemVer,
} from './rule-operators.js';
import { compareParsed, type ParsedVersion, parseVersion } from './version.js';

/**
 * How many `all`/`any` groups may nest inside one another (a bare condition is depth 0).
 *
 * @example
 * validateRule({ all: [{ all: [] }] }); // [] (depth 2 ≤ MAX_RULE_DEPTH)
 */
export const MAX_RULE_DEPTH = 8;
/**
 * How many conditions one rule may hold in total, across all groups.
 *
 * @example
 * const c = { attribute: 'region', operator: 'eq', value: 'CN' };
 * validateRule({ any: Array(MAX_RULE_CONDITIONS + 1).fill(c) }); // one issue at path ''
 */
export const MAX_RULE_CONDITIONS = 256;
/**
 * How many entries an `in`/`not_in` list may hold.
 *
 * @example
 * const ids = Array.from({ length: MAX_RULE_LIST_VALUES }, (_, i) => `user-${i}`);
 * validateRule({ attribute: 'userId', operator: 'in', values: ids }); // []
 */
export const MAX_RULE_LIST_VALUES = 10000;
/**
 * The longest `regex` pattern accepted.
 *
 * @example
 * unsafeRegexReason('a'.repeat(MAX_REGEX_LENGTH + 1)); // 'the pattern is longer than 256 characters'
 */
export const MAX_REGEX_LENGTH = 256;
/**
 * `regex` only looks at this many leading characters of the device value; it also sizes the
 * backtracking budget of {@link unsafeRegexReason}.
 *
 * @example
 * const rule = { attribute: 'attributes.ua', operator: 'regex', value: 'X$' } as const;
 * evaluateRule(rule, { deviceId: 'd', platform: 'ios', appVersion: '1',
 *   attributes: { ua: `${'a'.repeat(REGEX_INPUT_LIMIT)}X` } }); // false: the X is past the limit
 */
export const REGEX_INPUT_LIMIT = 1024;

/**
 * What a rule reads: a `DeviceContext` (releases, gateway) or a config evaluation
 * context, which adds `remoteAddress`, crowd `segments` and a clock (`now`) and makes every
 * field optional. Every `DeviceContext` is a `RuleContext`.
 *
 * @example
 * const ctx: RuleContext = { deviceId: 'd1', remoteAddress: '10.0.0.7', segments: new Set(['beta']) };
 */
export interface RuleContext {
  readonly deviceId?: string | undefined;
  readonly userId?: string | undefined;
  readonly platform?: string | undefined;
  readonly appVersion?: string | undefined;
  readonly osVersion?: string | undefined;
  readonly channel?: string | undefined;
  readonly deviceModel?: string | undefined;
  readonly cpu?: string | undefined;
  readonly region?: string | undefined;
  readonly remoteAddress?: string | undefined;
  readonly segments?: ReadonlySet<string> | undefined;
  readonly now?: Date | undefined;
  readonly attributes?: Readonly<Record<string, string | number | boolean>> | undefined;
}

/**
 * Attributes a rule may name besides {@link BUILTIN_ATTRIBUTES} and `attributes.NAME`:
 * `remoteAddress` (for `in_cidr`), `currentTime` (the context's `now`, or the wall clock, for
 * `date_after`/`date_before`) and `segments` (the device's crowds; only `in`/`not_in`, true
 * when any / none of the listed crowds is one of the device's).
 *
 * @example
 * isRuleAttribute('remoteAddress'); // true
 */
export const EXTRA_RULE_ATTRIBUTES = ['remoteAddress', 'currentTime', 'segments'] as const;

/**
 * A rule compiled by {@link compileRule}: evaluates one device with no parsing.
 *
 * @example
 * const isAndroid: CompiledRule = compileRule({ attribute: 'platform', operator: 'eq', value: 'android' });
 */
export type CompiledRule = (ctx: RuleContext) => boolean;

/**
 * A value a device attribute may hold.
 *
 * @example
 * const v: AttributeValue | undefined = attributeValue(ctx, 'attributes.vip'); // e.g. true
 */
export type AttributeValue = string | number | boolean;

/**
 * Thrown by {@link compileRule} (and {@link evaluateRule}) for a rule that does not validate.
 * `issues` is what {@link validateRule} returned.
 *
 * @example
 * try {
 *   compileRule({ attribute: 'planet', operator: 'eq', value: 'mars' } as Condition);
 * } catch (e) {
 *   if (e instanceof InvalidRuleError) console.log(e.issues[0]?.path); // '/attribute'
 * }
 */
export class InvalidRuleError extends TypeError {
  readonly issues: readonly RuleIssue[];

  constructor(issues: readonly RuleIssue[]) {
    const first = issues[0];
    const summary = first === undefined ? '' : `: ${first.path || '/'} ${first.message}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`invalid targeting rule${summary}${more}`);
    this.name = 'InvalidRuleError';
    this.issues = issues;
  }
}

const CUSTOM_PREFIX = 'attributes.';
const CUSTOM_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const BUILTIN_SET: ReadonlySet<string> = new Set<string>([
  ...BUILTIN_ATTRIBUTES,
  ...EXTRA_RULE_ATTRIBUTES,
]);
const OPERATOR_SET: ReadonlySet<string> = new Set(RULE_OPERATORS);
const CONDITION_KEYS: ReadonlySet<string> = new Set([
  'attribute',
  'operator',
  'value',
  'values',
  'caseInsensitive',
  'inverted',
]);
const CASE_INSENSITIVE_OPERATORS: ReadonlySet<string> = new Set(['starts_with', 'ends_with', 'contains', 're2']);
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Whether `attribute` is a name a rule may use: a built-in attribute or `attributes.NAME`
 * with NAME matching `/^[A-Za-z0-9_.-]{1,64}$/`.
 *
 * @example
 * isRuleAttribute('appVersion');        // true
 * isRuleAttribute('attributes.vip');    // true
 * isRuleAttribute('attributes.a b');    // false
 */
export function isRuleAttribute(attribute: unknown): boolean {
  if (typeof attribute !== 'string') return false;
  if (BUILTIN_SET.has(attribute)) return true;
  return (
    attribute.startsWith(CUSTOM_PREFIX) &&
    CUSTOM_NAME_RE.test(attribute.slice(CUSTOM_PREFIX.length))
  );
}

function normalize(v: unknown): AttributeValue | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return undefined;
}

/**
 * The value of `attribute` on a device, or `undefined` when it is missing (absent, empty string,
 * or not a string/number/boolean). Custom attributes are read as own properties of
 * `ctx.attributes` only, so `attributes.constructor` is missing rather than a function.
 *
 * @example
 * const ctx = { deviceId: 'd1', platform: 'ios', appVersion: '8.3', attributes: { vip: true } };
 * attributeValue(ctx, 'platform');       // 'ios'
 * attributeValue(ctx, 'attributes.vip'); // true
 * attributeValue(ctx, 'region');         // undefined
 */
export function attributeValue(ctx: RuleContext, attribute: string): AttributeValue | undefined {
  if (attribute.startsWith(CUSTOM_PREFIX)) {
    const attrs = ctx.attributes;
    const name = attribute.slice(CUSTOM_PREFIX.length);
    if (attrs === undefined || attrs === null || !hasOwn(attrs, name)) return undefined;
    return normalize(attrs[name]);
  }
  if (!BUILTIN_SET.has(attribute)) return undefined;
  if (attribute === 'currentTime') return ctx.now === undefined ? Date.now() : ctx.now.getTime();
  if (attribute === 'segments') return undefined;
  return normalize(ctx[attribute as ScalarAttribute]);
}

// Worst-case backtracking budget for a regex, in "steps" (see unsafeRegexReason): about 1 ms of
// work on a 1024-character input (measured on V8: `\d+x` on 1024 digits takes ~1 ms).
const REGEX_COST_BUDGET = REGEX_INPUT_LIMIT * REGEX_INPUT_LIMIT;
const BRACE_QUANTIFIER_RE = /^\{(\d+)(?:(,)(\d*))?\}/;

/**
 * Why a `regex` pattern is unsafe to run on device input, or `undefined` when it is accepted.
 * The check is deliberately conservative (it refuses some harmless patterns) because patterns
 * run on a backtracking engine against untrusted input. Refused:
 * - patterns longer than {@link MAX_REGEX_LENGTH} characters;
 * - backreferences (`\1`…`\9`, `\k<name>`) and lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`);
 * - a group repeated by `*`, `+` or `{…}` that contains a quantifier or an alternation
 *   anywhere inside it: `(a+)+`, `(a*)*`, `(a|a)*`, `((ab)*c)+` (rewrite `(a|b)*` as `[ab]*`);
 * - polynomial backtracking: each `*`, `+` or `{n,}` counts as {@link REGEX_INPUT_LIMIT} choices,
 *   `{n,m}` as `m - n + 1`, `?` as 2, and an unanchored pattern (not starting with `^`, or with
 *   a top-level `|`) as another {@link REGEX_INPUT_LIMIT} start positions; the product must not
 *   exceed `REGEX_INPUT_LIMIT²`. So `^[A-Z]+-\d+$` and `Mate.*Pro` pass, while `.*a.*b` (≈0.5 s
 *   per device on V8) and `\d*\d*\d*x` (minutes) are refused; anchor with `^`, drop a leading
 *   `.*`, or bound repeats (`{1,32}`).
 *
 * Syntax is not checked here; {@link validateRule} also compiles the pattern with the `u` flag.
 *
 * @example
 * unsafeRegexReason('^8\\.[0-9]+$'); // undefined
 * unsafeRegexReason('(a+)+$');       // 'a repeated group contains a quantifier or alternation …'
 * unsafeRegexReason('.*a.*b');       // 'its worst-case backtracking … is too high: …'
 */
export function unsafeRegexReason(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) {
    return `the pattern is longer than ${MAX_REGEX_LENGTH} characters`;
  }
  // One frame per open group: whether a quantifier or `|` occurs anywhere inside it.
  const stack: { risky: boolean }[] = [{ risky: false }];
  const len = pattern.length;
  let cost = 1;
  let topLevelAlternation = false;
  for (let i = 0; i < len; i++) {
    const ch = pattern[i];
    const top = stack[stack.length - 1] as { risky: boolean };
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (next >= '1' && next <= '9') return 'backreferences are not allowed';
      if (next === 'k') return 'named backreferences are not allowed';
      i++;
    } else if (ch === '[') {
      // Skip the character class; quantifier characters inside it are literals.
      i++;
      while (i < len && pattern[i] !== ']') {
        if (pattern[i] === '\\') i++;
        i++;
      }
    } else if (ch === '(') {
      if (pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i)) {
        return 'lookahead is not allowed';
      }
      if (pattern.startsWith('(?<=', i) || pattern.startsWith('(?<!', i)) {
        return 'lookbehind is not allowed';
      }
      // Skip a group prefix (`(?:`, `(?<name>`) so its `?` is not taken for a quantifier.
      if (pattern[i + 1] === '?') {
        if (pattern[i + 2] === '<') {
          const close = pattern.indexOf('>', i + 3);
          i = close === -1 ? len : close;
        } else {
          i += 2;
        }
      }
      stack.push({ risky: false });
    } else if (ch === ')') {
      if (stack.length === 1) continue; // unbalanced; the RegExp compile reports it
      const closed = stack.pop() as { risky: boolean };
      const q = pattern[i + 1];
      if (closed.risky && (q === '*' || q === '+' || q === '{')) {
        return 'a repeated group contains a quantifier or alternation (nested quantifiers can backtrack exponentially)';
      }
      if (closed.risky) (stack[stack.length - 1] as { risky: boolean }).risky = true;
    } else if (ch === '|') {
      top.risky = true;
      if (stack.length === 1) topLevelAlternation = true;
    } else if (ch === '*' || ch === '+' || ch === '?' || ch === '{') {
      let choices = ch === '?' ? 2 : REGEX_INPUT_LIMIT;
      if (ch === '{') {
        const m = BRACE_QUANTIFIER_RE.exec(pattern.slice(i));
        if (m === null) continue; // not a quantifier; invalid with the `u` flag anyway
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
        choices = Math.max(1, Math.min(hi - lo + 1, REGEX_INPUT_LIMIT));
        i += m[0].length - 1;
      }
      top.risky = true;
      cost *= choices;
      if (pattern[i + 1] === '?') i++; // lazy modifier, not another quantifier
    }
  }
  const anchored = pattern.startsWith('^') && !topLevelAlternation;
  if (cost * (anchored ? 1 : REGEX_INPUT_LIMIT) > REGEX_COST_BUDGET) {
    return `its worst-case backtracking on a ${REGEX_INPUT_LIMIT}-character input is too high: anchor it with ^, drop a leading .*, or bound the repeats (e.g. {1,32} instead of +)`;
  }
  return undefined;
}

type OperandKind =
  | 'list'
  | 'range'
  | 'scalar'
  | 'version'
  | 'number'
  | 'string'
  | 'regex'
  | 're2'
  | 'date'
  | 'semver'
  | 'cidr';

function operandKind(op: RuleOperator): OperandKind {
  switch (op) {
    case 'in':
    case 'not_in':
      return 'list';
    case 'version_range':
      return 'range';
    case 'eq':
    case 'neq':
      return 'scalar';
    case 'version_eq':
    case 'version_lt':
    case 'version_lte':
    case 'version_gt':
    case 'version_gte':
      return 'version';
    case 'num_eq':
    case 'num_lt':
    case 'num_lte':
    case 'num_gt':
    case 'num_gte':
      return 'number';
    case 'starts_with':
    case 'ends_with':
    case 'contains':
      return 'string';
    case 'regex':
      return 'regex';
    case 're2':
      return 're2';
    case 'date_after':
    case 'date_before':
      return 'date';
    case 'semver_eq':
    case 'semver_lt':
    case 'semver_lte':
    case 'semver_gt':
    case 'semver_gte':
      return 'semver';
    case 'in_cidr':
      return 'cidr';
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isScalar(v: unknown): v is AttributeValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

interface ValidationState {
  readonly issues: RuleIssue[];
  conditions: number;
}

function validateOperand(
  node: Record<string, unknown>,
  op: RuleOperator,
  path: string,
  issues: RuleIssue[],
): void {
  let kind = operandKind(op);
  const hasValue = hasOwn(node, 'value') && node.value !== undefined;
  const hasValues = hasOwn(node, 'values') && node.values !== undefined;
  // String operators take `value` or `values` (any of them); a list of strings is checked here.
  if (kind === 'string' && hasValues && !hasValue) {
    const values = node.values;
    const at = `${path}/values`;
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_RULE_LIST_VALUES) {
      issues.push({
        path: at,
        message: `operator ${op} requires a string "value" or 1 to ${MAX_RULE_LIST_VALUES} strings in "values"`,
      });
      return;
    }
    values.forEach((v: unknown, i) => {
      if (typeof v !== 'string') {
        issues.push({ path: `${at}/${i}`, message: `operator ${op} requires strings, got ${show(v)}` });
      }
    });
    return;
  }
  if (kind === 'cidr') kind = 'list';
  const takesList = kind === 'list' || kind === 'range';
  if (takesList && hasValue) {
    issues.push({ path: `${path}/value`, message: `operator ${op} takes "values", not "value"` });
  }
  if (!takesList && hasValues) {
    issues.push({ path: `${path}/values`, message: `operator ${op} takes "value", not "values"` });
  }
  if (takesList && !hasValues) {
    issues.push({ path: `${path}/values`, message: `operator ${op} requires "values"` });
    return;
  }
  if (!takesList && !hasValue) {
    issues.push({ path: `${path}/value`, message: `operator ${op} requires "value"` });
    return;
  }

  if (kind === 'list') {
    const values = node.values;
    const at = `${path}/values`;
    if (!Array.isArray(values) || values.length === 0) {
      issues.push({ path: at, message: `operator ${op} requires a non-empty array of values` });
      return;
    }
    if (values.length > MAX_RULE_LIST_VALUES) {
      issues.push({
        path: at,
        message: `operator ${op} accepts at most ${MAX_RULE_LIST_VALUES} values, got ${values.length}`,
      });
      return;
    }
    const cidr = operandKind(op) === 'cidr';
    values.forEach((v: unknown, i) => {
      if (cidr) {
        if (typeof v !== 'string' || parseCidr(v) === null) {
          issues.push({
            path: `${at}/${i}`,
            message: `${show(v)} is not an IPv4/IPv6 address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)`,
          });
        }
      } else if (!isScalar(v)) {
        issues.push({
          path: `${at}/${i}`,
          message: `${show(v)} is not a string, finite number or boolean`,
        });
      }
    });
    return;
  }

  if (kind === 'range') {
    const values = node.values;
    const at = `${path}/values`;
    if (!Array.isArray(values) || values.length !== 2) {
      issues.push({ path: at, message: 'version_range requires values [min, max]' });
      return;
    }
    let ok = true;
    values.forEach((v: unknown, i) => {
      if (typeof v !== 'string' || (v !== '' && parseVersion(v) === null)) {
        ok = false;
        issues.push({
          path: `${at}/${i}`,
          message: `${show(v)} is not a valid version (or '' for an open end)`,
        });
      }
    });
    const [min, max] = values as [string, string];
    if (ok && min !== '' && max !== '') {
      if (compareParsed(parseVersion(min) as ParsedVersion, parseVersion(max) as ParsedVersion) > 0) {
        issues.push({ path: at, message: `empty range: min ${show(min)} is above max ${show(max)}` });
      }
    }
    return;
  }

  const value = node.value;
  const at = `${path}/value`;
  switch (kind) {
    case 'scalar':
      if (!isScalar(value)) {
        issues.push({
          path: at,
          message: `operator ${op} requires a string, finite number or boolean, got ${show(value)}`,
        });
      }
      return;
    case 'version':
      if (typeof value !== 'string' || parseVersion(value) === null) {
        issues.push({ path: at, message: `${show(value)} is not a valid version` });
      }
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        issues.push({
          path: at,
          message: `operator ${op} requires a finite number, got ${show(value)}`,
        });
      }
      return;
    case 'string':
      if (typeof value !== 'string') {
        issues.push({ path: at, message: `operator ${op} requires a string, got ${show(value)}` });
      }
      return;
    case 'regex': {
      if (typeof value !== 'string') {
        issues.push({ path: at, message: `operator regex requires a string, got ${show(value)}` });
        return;
      }
      const unsafe = unsafeRegexReason(value);
      if (unsafe !== undefined) {
        issues.push({ path: at, message: `unsafe regex ${show(value)}: ${unsafe}` });
        return;
      }
      try {
        new RegExp(value, 'u');
      } catch (e) {
        issues.push({
          path: at,
          message: `invalid regex ${show(value)}: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
      return;
    }
    case 're2': {
      if (typeof value !== 'string') {
        issues.push({ path: at, message: `operator re2 requires a string, got ${show(value)}` });
        return;
      }
      if (value.length > MAX_REGEX_LENGTH) {
        issues.push({ path: at, message: `the pattern is longer than ${MAX_REGEX_LENGTH} characters` });
        return;
      }
      const error = re2SyntaxError(value);
      if (error !== undefined) issues.push({ path: at, message: `invalid RE2 pattern ${show(value)}: ${error}` });
      return;
    }
    case 'date':
      if (typeof value !== 'string' || Number.isNaN(parseDateTime(value))) {
        issues.push({
          path: at,
          message: `${show(value)} is not an RFC 3339 date-time with a time zone (e.g. 2026-01-29T13:00:00Z)`,
        });
      }
      return;
    case 'semver':
      if (typeof value !== 'string' || parseSemVer(value) === null) {
        issues.push({ path: at, message: `${show(value)} is not a SemVer 2.0.0 version (e.g. 1.2.3, 2.0.0-rc.1)` });
      }
      return;
  }
}

function validateCondition(node: Record<string, unknown>, path: string, st: ValidationState): void {
  st.conditions++;
  const { issues } = st;
  for (const key of Object.keys(node)) {
    if (!CONDITION_KEYS.has(key)) {
      issues.push({ path: `${path}/${escapePointer(key)}`, message: `unknown key ${show(key)}` });
    }
  }
  const attribute = node.attribute;
  if (attribute === undefined) {
    issues.push({ path: `${path}/attribute`, message: 'a condition requires "attribute"' });
  } else if (!isRuleAttribute(attribute)) {
    issues.push({
      path: `${path}/attribute`,
      message: `unknown attribute ${show(attribute)}: use one of ${[...BUILTIN_ATTRIBUTES, ...EXTRA_RULE_ATTRIBUTES].join(', ')} or attributes.NAME (NAME: 1-64 of A-Z a-z 0-9 _ . -)`,
    });
  }
  const operator = node.operator;
  if (operator === undefined) {
    issues.push({ path: `${path}/operator`, message: 'a condition requires "operator"' });
    return;
  }
  if (typeof operator !== 'string' || !OPERATOR_SET.has(operator)) {
    issues.push({
      path: `${path}/operator`,
      message: `unknown operator ${show(operator)}: use one of ${RULE_OPERATORS.join(', ')}`,
    });
    return;
  }
  for (const flag of ['caseInsensitive', 'inverted'] as const) {
    if (node[flag] !== undefined && typeof node[flag] !== 'boolean') {
      issues.push({ path: `${path}/${flag}`, message: `${flag} must be a boolean, got ${show(node[flag])}` });
    }
  }
  if (node.caseInsensitive === true && !CASE_INSENSITIVE_OPERATORS.has(operator)) {
    issues.push({
      path: `${path}/caseInsensitive`,
      message: `caseInsensitive applies to starts_with, ends_with, contains and re2, not ${operator}`,
    });
  }
  if (attribute === 'segments' && operator !== 'in' && operator !== 'not_in') {
    issues.push({
      path: `${path}/operator`,
      message: `the segments attribute only takes the operators in and not_in, got ${show(operator)}`,
    });
    return;
  }
  validateOperand(node, operator as RuleOperator, path, issues);
}

function validateNode(node: unknown, path: string, depth: number, st: ValidationState): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    st.issues.push({
      path,
      message: `a rule must be an object ({ all }, { any } or a condition), got ${show(node)}`,
    });
    return;
  }
  const obj = node as Record<string, unknown>;
  const groupKey = hasOwn(obj, 'all') ? 'all' : hasOwn(obj, 'any') ? 'any' : undefined;
  if (groupKey === undefined) {
    validateCondition(obj, path, st);
    return;
  }
  for (const key of Object.keys(obj)) {
    if (key === groupKey) continue;
    st.issues.push({
      path: `${path}/${escapePointer(key)}`,
      message:
        key === 'all' || key === 'any'
          ? 'a group has either "all" or "any", not both'
          : `unknown key ${show(key)} in an "${groupKey}" group`,
    });
  }
  const children = obj[groupKey];
  const at = `${path}/${groupKey}`;
  if (!Array.isArray(children)) {
    st.issues.push({ path: at, message: `"${groupKey}" must be an array of rules` });
    return;
  }
  if (depth + 1 > MAX_RULE_DEPTH) {
    st.issues.push({ path: at, message: `groups nest deeper than ${MAX_RULE_DEPTH} levels` });
    return;
  }
  children.forEach((child: unknown, i) => {
    validateNode(child, `${at}/${i}`, depth + 1, st);
  });
}

/**
 * Checks a rule received from the outside (admin API, CLI, console) and returns every problem
 * found; an empty array means the rule is valid and {@link compileRule} will accept it. Each
 * issue carries a JSON pointer (RFC 6901) into the rule, `''` being the rule itself.
 *
 * @example
 * validateRule({ all: [
 *   { attribute: 'platform', operator: 'eq', value: 'android' },
 *   { attribute: 'appVersion', operator: 'version_gte', value: 'v8' },
 * ] });
 * // [{ path: '/all/1/value', message: '"v8" is not a valid version' }]
 */
export function validateRule(rule: unknown): RuleIssue[] {
  const st: ValidationState = { issues: [], conditions: 0 };
  validateNode(rule, '', 0, st);
  if (st.conditions > MAX_RULE_CONDITIONS) {
    st.issues.push({
      path: '',
      message: `a rule may hold at most ${MAX_RULE_CONDITIONS} conditions, this one has ${st.conditions}`,
    });
  }
  return st.issues;
}

type Getter = (ctx: RuleContext) => AttributeValue | undefined;
type ScalarAttribute = Exclude<keyof RuleContext, 'segments' | 'now' | 'attributes'>;

function getterOf(attribute: string): Getter {
  if (attribute.startsWith(CUSTOM_PREFIX)) {
    const name = attribute.slice(CUSTOM_PREFIX.length);
    return (ctx) => {
      const attrs = ctx.attributes;
      if (attrs === undefined || attrs === null || !hasOwn(attrs, name)) return undefined;
      return normalize(attrs[name]);
    };
  }
  if (attribute === 'currentTime') {
    return (ctx) => (ctx.now === undefined ? Date.now() : ctx.now.getTime());
  }
  const key = attribute as ScalarAttribute;
  return (ctx) => normalize(ctx[key]);
}

function deviceVersion(v: AttributeValue | undefined): ParsedVersion | null {
  return v === undefined ? null : parseVersion(typeof v === 'string' ? v : String(v));
}

function deviceNumber(v: AttributeValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return Number.NaN;
  return Number(v);
}

function compileCondition(c: Condition): CompiledRule {
  const test = c.attribute === 'segments' ? compileSegments(c) : compileOperator(c);
  if (c.inverted !== true) return test;
  return (ctx) => !test(ctx);
}

function compileOperator(c: Condition): CompiledRule {
  const get = getterOf(c.attribute);
  const op = c.operator;
  switch (op) {
    case 'in':
    case 'not_in': {
      const set = new Set((c.values ?? []).map(String));
      return op === 'in'
        ? (ctx) => {
            const v = get(ctx);
            return v !== undefined && set.has(String(v));
          }
        : (ctx) => {
            const v = get(ctx);
            return v === undefined || !set.has(String(v));
          };
    }
    case 'eq':
    case 'neq': {
      const want = String(c.value);
      return op === 'eq'
        ? (ctx) => {
            const v = get(ctx);
            return v !== undefined && String(v) === want;
          }
        : (ctx) => {
            const v = get(ctx);
            return v === undefined || String(v) !== want;
          };
    }
    case 'version_eq':
    case 'version_lt':
    case 'version_lte':
    case 'version_gt':
    case 'version_gte': {
      const target = parseVersion(String(c.value)) as ParsedVersion;
      const accept = comparisonPredicate(op);
      return (ctx) => {
        const v = deviceVersion(get(ctx));
        return v !== null && accept(compareParsed(v, target));
      };
    }
    case 'version_range': {
      const [min = '', max = ''] = (c.values ?? []).map(String);
      const lo = min === '' ? null : (parseVersion(min) as ParsedVersion);
      const hi = max === '' ? null : (parseVersion(max) as ParsedVersion);
      return (ctx) => {
        const v = deviceVersion(get(ctx));
        return (
          v !== null &&
          (lo === null || compareParsed(v, lo) >= 0) &&
          (hi === null || compareParsed(v, hi) <= 0)
        );
      };
    }
    case 'num_eq':
    case 'num_lt':
    case 'num_lte':
    case 'num_gt':
    case 'num_gte': {
      const target = c.value as number;
      switch (op) {
        case 'num_eq':
          return (ctx) => deviceNumber(get(ctx)) === target;
        case 'num_lt':
          return (ctx) => deviceNumber(get(ctx)) < target;
        case 'num_lte':
          return (ctx) => deviceNumber(get(ctx)) <= target;
        case 'num_gt':
          return (ctx) => deviceNumber(get(ctx)) > target;
        case 'num_gte':
          return (ctx) => deviceNumber(get(ctx)) >= target;
      }
      break;
    }
    case 'starts_with':
    case 'ends_with':
    case 'contains': {
      const fold = c.caseInsensitive === true;
      const raw = c.values !== undefined && c.value === undefined ? c.values.map(String) : [c.value as string];
      const needles = fold ? raw.map((n) => n.toLowerCase()) : raw;
      const one = (s: string, needle: string): boolean =>
        op === 'starts_with' ? s.startsWith(needle) : op === 'ends_with' ? s.endsWith(needle) : s.includes(needle);
      const first = needles[0] as string;
      const test =
        needles.length === 1
          ? (s: string) => one(s, first)
          : (s: string) => {
              for (const n of needles) if (one(s, n)) return true;
              return false;
            };
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined) return false;
        const s = String(v);
        return test(fold ? s.toLowerCase() : s);
      };
    }
    case 'regex': {
      // No `g`/`y` flag, so `test` keeps no lastIndex state between devices.
      const re = new RegExp(c.value as string, 'u');
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined) return false;
        const s = String(v);
        return re.test(s.length > REGEX_INPUT_LIMIT ? s.slice(0, REGEX_INPUT_LIMIT) : s);
      };
    }
    case 're2': {
      const re = compileRe2(c.value as string, { caseInsensitive: c.caseInsensitive === true });
      return (ctx) => {
        const v = get(ctx);
        if (v === undefined) return false;
        const s = String(v);
        return re.test(s.length > REGEX_INPUT_LIMIT ? s.slice(0, REGEX_INPUT_LIMIT) : s);
      };
    }
    case 'date_after':
    case 'date_before': {
      const target = parseDateTime(c.value as string);
      const after = op === 'date_after';
      return (ctx) => {
        const t = deviceTime(get(ctx));
        return after ? t > target : t < target; // both strict; NaN compares false
      };
    }
    case 'semver_eq':
    case 'semver_lt':
    case 'semver_lte':
    case 'semver_gt':
    case 'semver_gte': {
      const target = parseSemVer(c.value as string) as SemVer;
      const accept = comparisonPredicate(`version_${op.slice('semver_'.length)}` as 'version_eq');
      return (ctx) => {
        const v = get(ctx);
        const parsed = typeof v === 'string' ? parseSemVer(v) : null;
        return parsed !== null && accept(compareSemVer(parsed, target));
      };
    }
    case 'in_cidr': {
      const blocks = (c.values ?? []).map((v) => parseCidr(String(v)) as CidrBlock);
      return (ctx) => {
        const v = get(ctx);
        if (typeof v !== 'string') return false;
        const ip = parseIp(v);
        if (ip === null) return false;
        for (const b of blocks) if (cidrContains(b, ip)) return true;
        return false;
      };
    }
  }
  /* c8 ignore next */
  throw new TypeError(`unknown operator ${String(op)}`);
}

// `segments` is set-valued: `in` holds when the device is in any listed crowd, `not_in` when in
// none of them (so a device that reports no crowds is `not_in` every list).
// `currentTime` is epoch milliseconds; other attributes may carry an RFC 3339 string.
function deviceTime(v: AttributeValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseDateTime(v);
  return Number.NaN;
}

function compileSegments(c: Condition): CompiledRule {
  const wanted = (c.values ?? []).map(String);
  const any: CompiledRule = (ctx) => {
    const mine = ctx.segments;
    if (mine === undefined || mine === null || mine.size === 0) return false;
    for (const w of wanted) if (mine.has(w)) return true;
    return false;
  };
  return c.operator === 'not_in' ? (ctx) => !any(ctx) : any;
}

function comparisonPredicate(
  op: 'version_eq' | 'version_lt' | 'version_lte' | 'version_gt' | 'version_gte',
): (c: -1 | 0 | 1) => boolean {
  switch (op) {
    case 'version_eq':
      return (c) => c === 0;
    case 'version_lt':
      return (c) => c < 0;
    case 'version_lte':
      return (c) => c <= 0;
    case 'version_gt':
      return (c) => c > 0;
    case 'version_gte':
      return (c) => c >= 0;
  }
}

const ALWAYS: CompiledRule = () => true;
const NEVER: CompiledRule = () => false;

function compileNode(rule: Rule): CompiledRule {
  if ('all' in rule) {
    const parts = rule.all.map(compileNode);
    if (parts.length === 0) return ALWAYS;
    if (parts.length === 1) return parts[0] as CompiledRule;
    return (ctx) => {
      for (const p of parts) if (!p(ctx)) return false;
      return true;
    };
  }
  if ('any' in rule) {
    const parts = rule.any.map(compileNode);
    if (parts.length === 0) return NEVER;
    if (parts.length === 1) return parts[0] as CompiledRule;
    return (ctx) => {
      for (const p of parts) if (p(ctx)) return true;
      return false;
    };
  }
  return compileCondition(rule);
}

/**
 * Validates `rule` and compiles it into a function of the device. Versions, `in` sets and
 * regular expressions are prepared once here, so the returned function does no rule parsing
 * (device versions go through {@link parseVersion}'s cache). Compile once per rule revision and
 * reuse the function for every device.
 *
 * @throws {InvalidRuleError} when {@link validateRule} reports any issue.
 * @example
 * const matches = compileRule({ all: [
 *   { attribute: 'platform', operator: 'eq', value: 'android' },
 *   { attribute: 'appVersion', operator: 'version_range', values: ['8.0', '8.4'] },
 * ] });
 * matches({ deviceId: 'd1', platform: 'android', appVersion: '8.3.1' }); // true
 */
export function compileRule(rule: Rule): CompiledRule {
  const issues = validateRule(rule);
  if (issues.length > 0) throw new InvalidRuleError(issues);
  return compileNode(rule);
}

const compiledCache = new WeakMap<object, CompiledRule>();

/**
 * Evaluates `rule` for one device. Compiled rules are memoized per rule object (weakly), so
 * calling this repeatedly with the same rule object costs one compile; treat that object as
 * immutable afterwards.
 *
 * @throws {InvalidRuleError} when the rule does not validate.
 * @example
 * evaluateRule({ attribute: 'region', operator: 'in', values: ['CN', 'SG'] },
 *   { deviceId: 'd1', platform: 'ios', appVersion: '1.0', region: 'SG' }); // true
 */
export function evaluateRule(rule: Rule, ctx: RuleContext): boolean {
  let compiled = compiledCache.get(rule);
  if (compiled === undefined) {
    compiled = compileRule(rule);
    compiledCache.set(rule, compiled);
  }
  return compiled(ctx);
}
