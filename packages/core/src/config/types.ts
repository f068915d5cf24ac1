/**
 * The data model of dynamic config items and switches. See `README.md` in this folder for the
 * semantics (dedicated vs generic rules, splits, dependencies, reasons).
 */
import type { Rule, RuleIssue } from '../rule-types.js';

/**
 * The declared type of a config item's values. `integer` accepts safe integers only; `float`
 * any finite number; `json` any JSON value (object, array, string, finite number, boolean, null).
 *
 * @example
 * const t: ConfigType = 'boolean';
 */
export type ConfigType = 'boolean' | 'string' | 'integer' | 'float' | 'json';

/** Every {@link ConfigType}, for validation and CLIs. */
export const CONFIG_TYPES: readonly ConfigType[] = ['boolean', 'string', 'integer', 'float', 'json'];

/**
 * Which context field keeps a device in its bucket: a rule attribute name (`deviceId`,
 * `userId`, `region`, `attributes.tenant`, …; a bare name that is not built in, such as
 * `tenant`, means `attributes.tenant`), or an ordered list of them where the first field the
 * device reports wins. A single name is strict: a device without that field has no key.
 *
 * Note: the release engine's `Stickiness` `'userId'` falls back to the device id; the config
 * equivalent is `['userId', 'deviceId']`.
 *
 * @example
 * const s: ConfigStickiness = ['userId', 'deviceId'];
 */
export type ConfigStickiness = string | readonly string[];

/**
 * One arm of a weighted split. Weights are relative (they need not sum to 100); a weight of 0
 * keeps the arm defined but never chosen.
 *
 * @example
 * const v: ConfigVariant = { name: 'blue', value: '#00f', weight: 50 };
 */
export interface ConfigVariant {
  readonly name: string;
  readonly value: unknown;
  readonly weight: number;
}

/**
 * A weighted split of values with sticky bucketing.
 *
 * - Native (default): `bucketOf(salt, key)` from `bucket.ts` (MurmurHash3 x86-32 of the UTF-8
 *   bytes of `salt + ":" + key`, seed 0, `% 10000`), the same function as release rollouts. The
 *   salt defaults to `config:<itemKey>:<ruleId>`. Arms take consecutive bucket ranges in order.
 * - `unleashCompatible`: Unleash's variant normalisation, `murmur3(groupId + ":" + key, seed
 *   86028157) % totalWeight + 1`, the first arm (weight 0 skipped) whose running total reaches
 *   it; `groupId` defaults to the item key. Weights must be integers.
 *
 * @example
 * const s: ConfigSplit = { variants: [{ name: 'a', value: 1, weight: 50 }, { name: 'b', value: 2, weight: 50 }] };
 */
export interface ConfigSplit {
  readonly variants: readonly ConfigVariant[];
  /** Default `'deviceId'`. */
  readonly stickiness?: ConfigStickiness | undefined;
  /** Native mode only: overrides the default salt `config:<itemKey>:<ruleId>`. */
  readonly salt?: string | undefined;
  readonly unleashCompatible?: boolean | undefined;
  /** Unleash mode only: defaults to the item key. */
  readonly groupId?: string | undefined;
}

/**
 * A percentage gate on a rule (an extension of the contract): a device outside the percentage
 * does not match the rule, so evaluation falls through to the next rule (Unleash's
 * `flexibleRollout`). 100% admits devices without a stickiness key too; below 100% they are out.
 *
 * - Native: `bucketOf(salt, key) < percent * 100` (two decimals), salt default
 *   `config:<itemKey>:<ruleId>:rollout` (distinct from the split's salt, so a 50% gate and a
 *   50/50 split are independent).
 * - `unleashCompatible`: `percent > 0 && murmur3(groupId + ":" + key, seed 0) % 100 + 1 <=
 *   percent`, integer percent, `groupId` default the item key.
 *
 * @example
 * const r: ConfigRollout = { percent: 10, stickiness: ['userId', 'deviceId'] };
 */
export interface ConfigRollout {
  readonly percent: number;
  /** Default `'deviceId'`. */
  readonly stickiness?: ConfigStickiness | undefined;
  readonly salt?: string | undefined;
  readonly unleashCompatible?: boolean | undefined;
  readonly groupId?: string | undefined;
}

/**
 * One rule of an item. A **dedicated** rule has `when` (a core targeting {@link Rule}); a
 * **generic** rule has `fromVersion` (it applies to app versions at or above it). Exactly one of
 * the two. Exactly one of `value` and `split` gives what the rule delivers.
 *
 * @example
 * const dedicated: ConfigRule = { id: 'huawei', when: { attribute: 'channel', operator: 'eq', value: 'huawei' }, value: 'blue' };
 * const generic: ConfigRule = { id: 'v8', fromVersion: '8.0', value: 'green' };
 */
export interface ConfigRule {
  readonly id: string;
  readonly when?: Rule | undefined;
  readonly fromVersion?: string | undefined;
  readonly rollout?: ConfigRollout | undefined;
  readonly value?: unknown;
  /** A name for a fixed `value`, reported as {@link Evaluation.variant} (e.g. for OFREP). */
  readonly variant?: string | undefined;
  readonly split?: ConfigSplit | undefined;
}

/**
 * A dependency on another item (Unleash dependent features). With `enabled` true (the
 * default) the parent must be *on* for this device and, when `variants` is non-empty, have
 * evaluated to one of those variants; with `enabled` false the parent must be *off*.
 *
 * @example
 * const d: ConfigDependency = { key: 'pkg-family.login', enabled: true };
 */
export interface ConfigDependency {
  readonly key: string;
  readonly enabled?: boolean | undefined;
  readonly variants?: readonly string[] | undefined;
}

/**
 * A config item or a switch (a boolean item with kill-switch semantics).
 *
 * @example
 * const item: ConfigItem = { key: 'checkout.newFlow', type: 'boolean', kind: 'switch', enabled: true,
 *   defaultValue: false, rules: [{ id: 'beta', when: { attribute: 'channel', operator: 'eq', value: 'beta' }, value: true }] };
 */
export interface ConfigItem {
  readonly key: string;
  readonly type: ConfigType;
  readonly kind: 'config' | 'switch';
  readonly enabled: boolean;
  readonly defaultValue: unknown;
  /** Delivered when the item is disabled; default `false` for booleans, else `defaultValue`. */
  readonly offValue?: unknown;
  readonly rules: readonly ConfigRule[];
  readonly dependsOn?: readonly ConfigDependency[] | undefined;
}

/**
 * What a device reports when it asks for its config. `segments` are the crowds the device (or
 * its user) belongs to, resolved by the caller; rules test them with the `segments` attribute.
 * `now` feeds `currentTime` (default: the wall clock).
 *
 * @example
 * const ctx: EvalContext = { deviceId: 'd-1', appVersion: '8.3.1', platform: 'android', channel: 'huawei' };
 */
export interface EvalContext {
  readonly deviceId?: string | undefined;
  readonly userId?: string | undefined;
  readonly appVersion?: string | undefined;
  readonly platform?: string | undefined;
  readonly osVersion?: string | undefined;
  readonly channel?: string | undefined;
  readonly region?: string | undefined;
  readonly deviceModel?: string | undefined;
  readonly cpu?: string | undefined;
  readonly remoteAddress?: string | undefined;
  readonly segments?: ReadonlySet<string> | undefined;
  readonly attributes?: Readonly<Record<string, string | number | boolean>> | undefined;
  readonly now?: Date | undefined;
}

/**
 * Why an item has its value (OFREP's reasons).
 *
 * @example
 * const r: EvaluationReason = 'TARGETING_MATCH';
 */
export type EvaluationReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

/**
 * OFREP error codes an evaluation can carry.
 *
 * @example
 * const c: EvaluationErrorCode = 'FLAG_NOT_FOUND';
 */
export type EvaluationErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'PARSE_ERROR'
  | 'TARGETING_KEY_MISSING'
  | 'GENERAL';

/**
 * The result of evaluating one item for one device. Evaluations of fixed values are shared,
 * frozen objects: never mutate them.
 *
 * @example
 * const e: Evaluation = { key: 'k', value: true, reason: 'TARGETING_MATCH', ruleId: 'beta' };
 */
export interface Evaluation {
  readonly key: string;
  readonly value: unknown;
  readonly variant?: string | undefined;
  readonly reason: EvaluationReason;
  readonly ruleId?: string | undefined;
  readonly errorCode?: EvaluationErrorCode | undefined;
  readonly errorDetails?: string | undefined;
}

/**
 * A problem found in a config item; `path` is a JSON pointer into the item.
 *
 * @example
 * const i: ConfigIssue = { path: '/defaultValue', message: 'expected a boolean, got "yes"' };
 */
export type ConfigIssue = RuleIssue;
