/** Every operator a targeting condition may use. Unknown operators are rejected at write time. */
export const RULE_OPERATORS = [
  'in',
  'not_in',
  'eq',
  'neq',
  'version_eq',
  'version_lt',
  'version_lte',
  'version_gt',
  'version_gte',
  'version_range',
  'num_eq',
  'num_lt',
  'num_lte',
  'num_gt',
  'num_gte',
  'starts_with',
  'ends_with',
  'contains',
  'regex',
  're2',
  'date_after',
  'date_before',
  'semver_eq',
  'semver_lt',
  'semver_lte',
  'semver_gt',
  'semver_gte',
  'in_cidr',
] as const;

export type RuleOperator = (typeof RULE_OPERATORS)[number];

/**
 * One test on one attribute. `in`/`not_in`/`in_cidr` take `values`; `version_range` takes
 * `values: [min, max]` (inclusive; either may be '' for open); `starts_with`/`ends_with`/
 * `contains` take `value` or `values` (any of them); every other operator takes `value`.
 *
 * `caseInsensitive` (string operators and `re2`) compares ignoring case; `inverted` negates the
 * outcome after the operator ran (so an inverted test on a missing attribute is true).
 *
 * @example
 * const c: Condition = { attribute: 'channel', operator: 'in', values: ['huawei', 'xiaomi'] };
 */
export interface Condition {
  readonly attribute: string;
  readonly operator: RuleOperator;
  readonly value?: string | number | boolean | undefined;
  readonly values?: readonly (string | number | boolean)[] | undefined;
  readonly caseInsensitive?: boolean | undefined;
  readonly inverted?: boolean | undefined;
}

/** `all` is AND, `any` is OR; they nest. A bare condition is a rule too. */
export type Rule =
  | { readonly all: readonly Rule[] }
  | { readonly any: readonly Rule[] }
  | Condition;

/** A problem found in a rule at write time; `path` is a JSON pointer into the rule. */
export interface RuleIssue {
  readonly path: string;
  readonly message: string;
}
