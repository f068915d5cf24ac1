/**
 * Policy types of Halftone's gray gateway: the six divtypes of Sina's ABTestingGateway with their
 * exact `divdata` shapes, plus Halftone's own `percentage`, `weighted` and `match`.
 */

/** An inclusive integer range `[start, end]` (IPv4 addresses as unsigned 32-bit integers, or uids). */
export interface AbRange {
  readonly start: number;
  readonly end: number;
}

/** `iprange` / `uidrange` entry: `{"range":{"start":…,"end":…},"upstream":"…"}`. */
export interface RangeRule {
  readonly range: AbRange;
  readonly upstream: string;
}

/** `uidsuffix` entry; the suffix may be given as a string `"0"`…`"9"` or a number 0…9. */
export interface SuffixRule {
  readonly suffix: string | number;
  readonly upstream: string;
}

/** `uidappoint` entry: a whitelist of uids (decimal strings, or JSON numbers that are safe integers). */
export interface AppointRule {
  readonly uidset: readonly (string | number)[];
  readonly upstream: string;
}

/** `arg_city` entry: exact, case-sensitive match on the raw `city` query argument. */
export interface CityRule {
  readonly city: string;
  readonly upstream: string;
}

/** `url` entry: exact match on the request path (query ignored). */
export interface UrlRule {
  readonly url: string;
  readonly upstream: string;
}

/** Where a Halftone policy reads its key or feature from. */
export type FeatureKey =
  | { readonly from: 'uid' }
  | { readonly from: 'ip' }
  | { readonly from: 'city' }
  | { readonly from: 'path' }
  | { readonly from: 'cookie'; readonly name: string }
  | { readonly from: 'header'; readonly name: string }
  | { readonly from: 'query'; readonly name: string };

/**
 * Sticky percentage: a request whose key is in bucket `< percent * 100` of
 * `bucketOf(salt, key)` goes to `upstream`; others fall through to the next level.
 */
export interface PercentageData {
  readonly key: FeatureKey;
  readonly salt: string;
  /** 0..100 with at most two decimals (0.01 % = one bucket). */
  readonly percent: number;
  readonly upstream: string;
}

/** One branch of a weighted split. */
export interface WeightedSplit {
  readonly upstream: string;
  /** A non-negative finite number; shares are `weight / sum(weights)`, in 0.01 % buckets. */
  readonly weight: number;
}

/** Sticky N-way split of every request that has the key (it never falls through). */
export interface WeightedData {
  readonly key: FeatureKey;
  readonly salt: string;
  readonly splits: readonly WeightedSplit[];
}

/** Operators of a `match` condition. */
export type MatchOp =
  | 'eq'
  | 'neq'
  | 'in'
  | 'nin'
  | 'prefix'
  | 'suffix'
  | 'contains'
  | 'regex'
  | 'exists'
  | 'absent'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte';

/**
 * One condition. `value` is a string for the string operators, a regular-expression source for
 * `regex`, a finite number for `gt`/`gte`/`lt`/`lte`, a string list for `in`/`nin`, and unused
 * for `exists`/`absent`. Every operator but `absent` (and `neq`/`nin`) is false when the
 * feature is absent; `neq`/`nin` are false too when it is absent (absence is never "not equal").
 */
export interface MatchCondition {
  readonly feature: FeatureKey;
  readonly op: MatchOp;
  readonly value?: string | number | readonly string[];
}

/** A `match` entry: all conditions must hold (AND); the first entry that holds wins. */
export interface MatchRule {
  readonly when: readonly MatchCondition[];
  readonly upstream: string;
}

/** The divtypes of ABTestingGateway. */
export const AB_DIVTYPES = ['iprange', 'uidrange', 'uidsuffix', 'uidappoint', 'arg_city', 'url'] as const;
/** Halftone's own divtypes. */
export const HALFTONE_DIVTYPES = ['percentage', 'weighted', 'match'] as const;

export type AbDivtype = (typeof AB_DIVTYPES)[number];
export type HalftoneDivtype = (typeof HALFTONE_DIVTYPES)[number];
export type Divtype = AbDivtype | HalftoneDivtype;

/** A diversion policy, tagged by `divtype` exactly like ABTestingGateway's policy JSON. */
export type Policy =
  | { readonly divtype: 'iprange'; readonly divdata: readonly RangeRule[] }
  | { readonly divtype: 'uidrange'; readonly divdata: readonly RangeRule[] }
  | { readonly divtype: 'uidsuffix'; readonly divdata: readonly SuffixRule[] }
  | { readonly divtype: 'uidappoint'; readonly divdata: readonly AppointRule[] }
  | { readonly divtype: 'arg_city'; readonly divdata: readonly CityRule[] }
  | { readonly divtype: 'url'; readonly divdata: readonly UrlRule[] }
  | { readonly divtype: 'percentage'; readonly divdata: PercentageData }
  | { readonly divtype: 'weighted'; readonly divdata: WeightedData }
  | { readonly divtype: 'match'; readonly divdata: readonly MatchRule[] };

/**
 * An ordered list of policies (ABTestingGateway's levels `first`…`ninth`): the first level that
 * maps the request to an upstream wins; a level whose feature is absent is skipped; no match
 * means the caller's default upstream.
 */
export type PolicyGroup = readonly Policy[];

/**
 * What the engine needs from one request. Extraction (headers, socket, trusted proxies) is the
 * server's job; see {@link resolveClientIp} and {@link rawQueryArg}.
 */
export interface GatewayRequestFeatures {
  /** The uid (ABTestingGateway: the single `X-Uid` header; absent when missing, empty or repeated). */
  readonly uid?: string | undefined;
  /** The already resolved client IP. */
  readonly ip?: string | undefined;
  /** The raw `city` query argument (first occurrence, not percent-decoded). */
  readonly city?: string | undefined;
  /** Path plus query, e.g. `/2/statuses?x=1`. The path should already be normalised. */
  readonly url: string;
  readonly headers: (name: string) => string | undefined;
  readonly cookie: (name: string) => string | undefined;
  readonly query: (name: string) => string | undefined;
}

/** The decision of a compiled group: the upstream and the 0-based level that chose it. */
export interface GatewayDecision {
  readonly upstream: string;
  readonly policyIndex: number;
}

/** A compiled policy group. */
export type GatewayMatcher = (req: GatewayRequestFeatures) => GatewayDecision | null;
