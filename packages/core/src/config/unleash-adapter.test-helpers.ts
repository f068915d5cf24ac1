/**
 * Test-side adapter from Unleash client-specification files (`@unleash/client-specification`)
 * to Halftone config items, so the spec's cases run through `compileConfigSet` unchanged.
 *
 * Mapping (each line is a Halftone concept standing in for an Unleash one):
 * - feature → a `json` item; its values are Unleash variant results
 *   (`{ name, payload?, enabled, feature_enabled }`), so `isEnabled` is `value.feature_enabled`
 *   and `getVariant` is `value`. Default and off value: the `disabled` variant with
 *   `feature_enabled: false`.
 * - strategy → a dedicated rule (`when`), in order; no strategies → one rule `{ all: [] }`.
 *   `flexibleRollout`/`gradualRollout*` → the rule's Unleash-compatible `rollout` gate;
 *   `userWithId` → `userId in […]`; `remoteAddress` → `remoteAddress in_cidr […]`; `default` → no
 *   extra condition; an unknown strategy → never matches (as in Unleash).
 * - strategy variants (else feature variants) → an Unleash-compatible `split`; variant overrides
 *   → extra rules in front of the strategy's rule; no variants → a fixed value named `disabled`
 *   with `feature_enabled: true`.
 * - constraints → core conditions; global segments → their constraints inlined (a missing
 *   segment → never matches).
 * - context: `userId` → `userId`, `sessionId` → `deviceId`, `remoteAddress` → `remoteAddress`,
 *   `currentTime` → `now`, `environment`/`appName`/`properties.*` → `attributes.*`.
 * - stickiness `default` → `['userId', 'deviceId']` (+ `remoteAddress` for variants), `userId`
 *   → `userId`, `sessionId` → `deviceId`, anything else → `attributes.<name>`.
 * - dependencies → `dependsOn`; compiled with `transitiveDependencies: false` (Unleash's rule).
 *
 * Inputs Halftone rejects at write time (unknown operator, invalid regex/semver/date, invalid
 * CIDR entries) are turned into the outcome an Unleash client computes for them, because the
 * spec tests the client; Halftone's own validation tests cover the rejection.
 */
import { validateRule } from '../rules.js';
import type { Condition, Rule } from '../rule-types.js';
import { parseCidr, parseDateTime, parseSemVer, re2SyntaxError } from '../rule-operators.js';
import type { ConfigItem, ConfigRule, ConfigStickiness, EvalContext, Evaluation } from './types.js';

export interface UnleashConstraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}
export interface UnleashVariant {
  name: string;
  weight: number;
  stickiness?: string;
  payload?: { type: string; value: string };
  overrides?: { contextName: string; values: string[] }[];
}
export interface UnleashStrategy {
  name: string;
  parameters?: Record<string, string>;
  constraints?: UnleashConstraint[];
  segments?: number[];
  variants?: UnleashVariant[];
}
export interface UnleashFeature {
  name: string;
  enabled: boolean;
  strategies?: UnleashStrategy[];
  variants?: UnleashVariant[];
  dependencies?: { feature: string; enabled?: boolean; variants?: string[] }[];
}
export interface UnleashState {
  features?: UnleashFeature[];
  segments?: { id: number; constraints: UnleashConstraint[] }[];
}
export interface UnleashContext {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  currentTime?: string;
  environment?: string;
  appName?: string;
  properties?: Record<string, string | null>;
}
export interface UnleashVariantResult {
  name: string;
  payload?: { type: string; value: string };
  enabled: boolean;
  feature_enabled?: boolean;
}

const NEVER: Rule = { any: [] };
const ALWAYS: Rule = { all: [] };
const OFF: UnleashVariantResult = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: false });
const ON_NO_VARIANT: UnleashVariantResult = Object.freeze({ name: 'disabled', enabled: false, feature_enabled: true });

function attributeOf(contextName: string): string {
  switch (contextName) {
    case 'userId':
    case 'remoteAddress':
    case 'currentTime':
      return contextName;
    case 'sessionId':
      return 'deviceId';
    default:
      return `attributes.${contextName}`;
  }
}

function stickinessOf(name: string | undefined, forVariants: boolean): ConfigStickiness {
  switch (name) {
    case undefined:
    case 'default':
    case 'random': // Unleash falls back to a random number; Halftone has no random key (see README)
      return forVariants ? ['userId', 'deviceId', 'remoteAddress'] : ['userId', 'deviceId'];
    case 'userId':
      return 'userId';
    case 'sessionId':
      return 'deviceId';
    default:
      return `attributes.${name}`;
  }
}

const SIMPLE: Record<string, Condition['operator']> = {
  IN: 'in',
  NOT_IN: 'not_in',
  STR_STARTS_WITH: 'starts_with',
  STR_ENDS_WITH: 'ends_with',
  STR_CONTAINS: 'contains',
  NUM_EQ: 'num_eq',
  NUM_GT: 'num_gt',
  NUM_GTE: 'num_gte',
  NUM_LT: 'num_lt',
  NUM_LTE: 'num_lte',
  DATE_AFTER: 'date_after',
  DATE_BEFORE: 'date_before',
  SEMVER_EQ: 'semver_eq',
  SEMVER_GT: 'semver_gt',
  SEMVER_GTE: 'semver_gte',
  SEMVER_LT: 'semver_lt',
  SEMVER_LTE: 'semver_lte',
  REGEX: 're2',
  IN_CIDR: 'in_cidr',
};

/** One Unleash constraint as a core rule. */
export function constraintToRule(c: UnleashConstraint): Rule {
  const operator = SIMPLE[c.operator];
  if (operator === undefined) return NEVER; // unknown operator: false, even when inverted
  const inverted = c.inverted === true;
  const constant = (matched: boolean): Rule => ((matched !== inverted) ? ALWAYS : NEVER);
  const attribute = attributeOf(c.contextName);
  const base = { attribute, operator, ...(inverted ? { inverted: true } : {}) };
  let cond: Condition;
  switch (operator) {
    case 'in':
    case 'not_in': {
      const values = c.values ?? [];
      if (values.length === 0) return constant(operator === 'not_in');
      cond = { ...base, values };
      break;
    }
    case 'in_cidr': {
      const values = (c.values ?? []).filter((v) => parseCidr(v.trim()) !== null).map((v) => v.trim());
      if (values.length === 0) return constant(false);
      cond = { ...base, values };
      break;
    }
    case 'starts_with':
    case 'ends_with':
    case 'contains': {
      const values = c.values ?? [];
      if (values.length === 0) return constant(false);
      cond = { ...base, values, ...(c.caseInsensitive === true ? { caseInsensitive: true } : {}) };
      break;
    }
    case 'num_eq':
    case 'num_gt':
    case 'num_gte':
    case 'num_lt':
    case 'num_lte': {
      const n = Number(c.value);
      if (c.value === undefined || c.value.trim() === '' || !Number.isFinite(n)) return constant(false);
      cond = { ...base, value: n };
      break;
    }
    case 'date_after':
    case 'date_before':
      if (c.value === undefined || Number.isNaN(parseDateTime(c.value))) return constant(false);
      cond = { ...base, value: c.value };
      break;
    case 're2':
      if (c.value === undefined || re2SyntaxError(c.value) !== undefined) return constant(false);
      cond = { ...base, value: c.value, ...(c.caseInsensitive === true ? { caseInsensitive: true } : {}) };
      break;
    default:
      if (c.value === undefined || parseSemVer(c.value) === null) return constant(false);
      cond = { ...base, value: c.value };
  }
  // A context field our attribute grammar cannot name can never be present.
  if (validateRule(cond).length > 0) return constant(false);
  return cond;
}

function variantResult(v: UnleashVariant): UnleashVariantResult {
  return v.payload === undefined
    ? { name: v.name, enabled: true, feature_enabled: true }
    : { name: v.name, payload: v.payload, enabled: true, feature_enabled: true };
}

/** Turns a spec file's state into Halftone config items. */
export function unleashStateToItems(state: UnleashState): ConfigItem[] {
  const segments = new Map((state.segments ?? []).map((s) => [s.id, s.constraints]));
  return (state.features ?? []).map((f): ConfigItem => {
    const strategies = f.strategies ?? [];
    const rules: ConfigRule[] = [];
    const list = strategies.length === 0 ? [{ name: 'default' } as UnleashStrategy] : strategies;
    list.forEach((s, i) => {
      const params = s.parameters ?? {};
      const conds: Rule[] = (s.constraints ?? []).map(constraintToRule);
      for (const id of s.segments ?? []) {
        const seg = segments.get(id);
        conds.push(seg === undefined ? NEVER : { all: seg.map(constraintToRule) });
      }
      let rollout: ConfigRule['rollout'];
      const groupId = params.groupId !== undefined && params.groupId !== '' ? params.groupId : f.name;
      switch (s.name) {
        case 'default':
          break;
        case 'userWithId': {
          const ids = (params.userIds ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
          conds.push(ids.length === 0 ? NEVER : { attribute: 'userId', operator: 'in', values: ids });
          break;
        }
        case 'remoteAddress': {
          const ips = (params.IPs ?? '').split(',').map((x) => x.trim()).filter((x) => parseCidr(x) !== null);
          conds.push(ips.length === 0 ? NEVER : { attribute: 'remoteAddress', operator: 'in_cidr', values: ips });
          break;
        }
        case 'flexibleRollout':
        case 'gradualRolloutUserId':
        case 'gradualRolloutSessionId':
        case 'gradualRolloutRandom': {
          const raw = s.name === 'flexibleRollout' ? params.rollout : params.percentage;
          const percent = Math.max(0, Math.min(100, Math.trunc(Number(raw ?? '0')) || 0));
          const stickiness =
            s.name === 'gradualRolloutUserId'
              ? 'userId'
              : s.name === 'gradualRolloutSessionId'
                ? 'deviceId'
                : stickinessOf(params.stickiness, false);
          rollout = { percent, stickiness, unleashCompatible: true, groupId };
          // The legacy strategies require their id even at 100% (flexibleRollout does not).
          if (s.name === 'gradualRolloutUserId' || s.name === 'gradualRolloutSessionId') {
            conds.push({ attribute: stickiness as string, operator: 'regex', value: '.' });
          }
          break;
        }
        default:
          conds.push(NEVER); // unknown strategy: false
      }
      const when: Rule = conds.length === 1 ? (conds[0] as Rule) : { all: conds };
      const strategyVariants = (s.variants ?? []).filter((v) => v.weight >= 0);
      const useStrategy = strategyVariants.length > 0;
      const variants = useStrategy ? strategyVariants : (f.variants ?? []);
      const base = { ...(rollout !== undefined ? { rollout } : {}) };
      if (variants.length === 0 || variants.every((v) => v.weight <= 0)) {
        rules.push({ id: `s${i}`, when, ...base, value: ON_NO_VARIANT, variant: 'disabled' });
        return;
      }
      variants.forEach((v, j) => {
        for (const [k, o] of (v.overrides ?? []).entries()) {
          rules.push({
            id: `s${i}-v${j}-o${k}`,
            when: { all: [when, constraintToRule({ contextName: o.contextName, operator: 'IN', values: o.values })] },
            ...base,
            value: variantResult(v),
            variant: v.name,
          });
        }
      });
      rules.push({
        id: `s${i}`,
        when,
        ...base,
        split: {
          variants: variants.map((v) => ({ name: v.name, value: variantResult(v), weight: v.weight })),
          stickiness: stickinessOf(useStrategy ? params.stickiness : variants[0]?.stickiness, true),
          unleashCompatible: true,
          groupId: useStrategy ? groupId : f.name,
        },
      });
    });
    return {
      key: f.name,
      type: 'json',
      kind: 'config',
      enabled: f.enabled,
      defaultValue: OFF,
      offValue: OFF,
      rules,
      ...(f.dependencies !== undefined && f.dependencies.length > 0
        ? {
            dependsOn: f.dependencies.map((d) => ({
              key: d.feature,
              ...(d.enabled !== undefined ? { enabled: d.enabled } : {}),
              ...(d.variants !== undefined ? { variants: d.variants } : {}),
            })),
          }
        : {}),
    };
  });
}

/** Turns an Unleash context into a Halftone evaluation context. */
export function unleashContext(ctx: UnleashContext): EvalContext {
  const attributes: Record<string, string> = {};
  if (typeof ctx.environment === 'string') attributes.environment = ctx.environment;
  if (typeof ctx.appName === 'string') attributes.appName = ctx.appName;
  for (const [k, v] of Object.entries(ctx.properties ?? {})) if (typeof v === 'string') attributes[k] = v;
  return {
    ...(ctx.userId !== undefined ? { userId: ctx.userId } : {}),
    ...(ctx.sessionId !== undefined ? { deviceId: ctx.sessionId } : {}),
    ...(ctx.remoteAddress !== undefined ? { remoteAddress: ctx.remoteAddress } : {}),
    ...(ctx.currentTime !== undefined ? { now: new Date(ctx.currentTime) } : {}),
    attributes,
  };
}

/**
 * Unleash's `isEnabled` from a Halftone evaluation of an adapted item. A split whose stickiness
 * field is missing is `ERROR`/`TARGETING_KEY_MISSING` in Halftone (OFREP's code) while Unleash
 * picks a random variant; both mean a rule matched, so the feature is enabled.
 */
export function isEnabledOf(e: Evaluation): boolean {
  if (e.reason === 'ERROR' && e.errorCode === 'TARGETING_KEY_MISSING') return true;
  return (e.value as UnleashVariantResult | undefined)?.feature_enabled === true;
}

/** Unleash's `getVariant` from a Halftone evaluation of an adapted item. */
export function variantOf(e: Evaluation): UnleashVariantResult {
  return e.reason === 'ERROR' && e.errorCode === 'FLAG_NOT_FOUND' ? OFF : (e.value as UnleashVariantResult);
}
