/**
 * Compiles a policy group into a fast, allocation-light matcher. Everything that does not depend
 * on the request is precomputed: ranges sorted for binary search, suffix and uid maps, the
 * bucket prefixes of sticky splits, compiled regular expressions.
 */
import { BUCKET_COUNT, bucketOfPrepared, percentToBuckets, prepareGrayId } from '../bucket.js';
import { encodeUtf8 } from '../utf8.js';
import { parseIpv4, pathOf, uidSuffixKey, uidToNumber } from './features.js';
import type {
  FeatureKey,
  GatewayDecision,
  GatewayMatcher,
  GatewayRequestFeatures,
  MatchCondition,
  Policy,
  PolicyGroup,
  RangeRule,
} from './types.js';
import { hasErrors, type PolicyIssue, validatePolicyGroup } from './validate.js';

/** Thrown by {@link compilePolicyGroup} when the group does not validate. */
export class PolicyValidationError extends Error {
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[]) {
    super(`invalid policy group: ${issues.filter((i) => i.severity === 'error').map((i) => i.message).join('; ')}`);
    this.name = 'PolicyValidationError';
    this.issues = issues;
  }
}

/** A level's lookup: an upstream, or `undefined` when the level does not decide. */
type Level = (req: GatewayRequestFeatures) => string | undefined;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function featureReader(key: FeatureKey): (req: GatewayRequestFeatures) => string | undefined {
  switch (key.from) {
    case 'uid':
      return (r) => nonEmpty(r.uid);
    case 'ip':
      return (r) => nonEmpty(r.ip);
    case 'city':
      return (r) => nonEmpty(r.city);
    case 'path':
      return (r) => pathOf(r.url);
    case 'cookie': {
      const name = key.name;
      return (r) => nonEmpty(r.cookie(name));
    }
    case 'header': {
      const name = key.name;
      return (r) => nonEmpty(r.headers(name));
    }
    case 'query': {
      const name = key.name;
      return (r) => nonEmpty(r.query(name));
    }
  }
}

function compileRanges(rules: readonly RangeRule[], toNumber: (req: GatewayRequestFeatures) => number | undefined): Level {
  const sorted = [...rules].sort((a, b) => a.range.start - b.range.start);
  const starts = Float64Array.from(sorted, (r) => r.range.start);
  const ends = Float64Array.from(sorted, (r) => r.range.end);
  const ups = sorted.map((r) => r.upstream);
  return (req) => {
    const x = toNumber(req);
    if (x === undefined) return undefined;
    // Last range whose start <= x.
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= x) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 && x <= (ends[found] as number) ? ups[found] : undefined;
  };
}

function uidNumber(req: GatewayRequestFeatures): number | undefined {
  const uid = nonEmpty(req.uid);
  return uid === undefined ? undefined : uidToNumber(uid);
}

function ipNumber(req: GatewayRequestFeatures): number | undefined {
  const ip = nonEmpty(req.ip);
  return ip === undefined ? undefined : parseIpv4(ip);
}

function stickyBucket(salt: string, key: FeatureKey): (req: GatewayRequestFeatures) => number | undefined {
  const prefix = prepareGrayId(salt);
  const read = featureReader(key);
  return (req) => {
    const v = read(req);
    return v === undefined ? undefined : bucketOfPrepared(prefix, encodeUtf8(v));
  };
}

function compileCondition(c: MatchCondition): (req: GatewayRequestFeatures) => boolean {
  const read = featureReader(c.feature);
  const v = c.value;
  switch (c.op) {
    case 'exists':
      return (r) => read(r) !== undefined;
    case 'absent':
      return (r) => read(r) === undefined;
    case 'eq':
      return (r) => read(r) === v;
    case 'neq':
      return (r) => {
        const x = read(r);
        return x !== undefined && x !== v;
      };
    case 'in':
    case 'nin': {
      const set = new Set(v as readonly string[]);
      const want = c.op === 'in';
      return (r) => {
        const x = read(r);
        return x !== undefined && set.has(x) === want;
      };
    }
    case 'prefix':
      return (r) => read(r)?.startsWith(v as string) === true;
    case 'suffix':
      return (r) => read(r)?.endsWith(v as string) === true;
    case 'contains':
      return (r) => read(r)?.includes(v as string) === true;
    case 'regex': {
      const re = new RegExp(v as string);
      return (r) => {
        const x = read(r);
        return x !== undefined && re.test(x);
      };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = v as number;
      const op = c.op;
      return (r) => {
        const s = read(r);
        const x = s === undefined ? undefined : uidToNumber(s);
        if (x === undefined) return false;
        return op === 'gt' ? x > bound : op === 'gte' ? x >= bound : op === 'lt' ? x < bound : x <= bound;
      };
    }
  }
}

function compilePolicy(p: Policy): Level {
  switch (p.divtype) {
    case 'iprange':
      return compileRanges(p.divdata, ipNumber);
    case 'uidrange':
      return compileRanges(p.divdata, uidNumber);
    case 'uidsuffix': {
      const map = new Map<string, string>();
      // Stored fields are the literal given (a string "01" never matches); numbers as Lua prints them.
      for (const e of p.divdata) map.set(String(e.suffix), e.upstream);
      return (req) => {
        const uid = nonEmpty(req.uid);
        if (uid === undefined) return undefined;
        const k = uidSuffixKey(uid);
        return k === undefined ? undefined : map.get(k);
      };
    }
    case 'uidappoint': {
      const map = new Map<string, string>();
      for (const e of p.divdata) for (const u of e.uidset) map.set(String(u), e.upstream);
      return (req) => {
        const uid = nonEmpty(req.uid);
        if (uid === undefined) return undefined;
        const up = map.get(uid);
        // The reference only looks up uids that pass tonumber; stored uids all do.
        return up !== undefined && uidToNumber(uid) !== undefined ? up : undefined;
      };
    }
    case 'arg_city': {
      const map = new Map<string, string>();
      for (const e of p.divdata) map.set(e.city, e.upstream);
      return (req) => {
        const city = nonEmpty(req.city);
        return city === undefined ? undefined : map.get(city);
      };
    }
    case 'url': {
      const map = new Map<string, string>();
      for (const e of p.divdata) map.set(e.url, e.upstream);
      return (req) => map.get(pathOf(req.url));
    }
    case 'percentage': {
      const bucket = stickyBucket(p.divdata.salt, p.divdata.key);
      const limit = percentToBuckets(p.divdata.percent);
      const up = p.divdata.upstream;
      return (req) => {
        const b = bucket(req);
        return b !== undefined && b < limit ? up : undefined;
      };
    }
    case 'weighted': {
      const bucket = stickyBucket(p.divdata.salt, p.divdata.key);
      const { bounds, ups } = weightedBounds(p.divdata.splits);
      return (req) => {
        const b = bucket(req);
        if (b === undefined) return undefined;
        for (let i = 0; i < bounds.length; i++) if (b < (bounds[i] as number)) return ups[i];
        return undefined;
      };
    }
    case 'match': {
      const rules = p.divdata.map((r) => ({ conds: r.when.map(compileCondition), upstream: r.upstream }));
      return (req) => {
        outer: for (const r of rules) {
          for (const c of r.conds) if (!c(req)) continue outer;
          return r.upstream;
        }
        return undefined;
      };
    }
  }
}

/**
 * The exclusive upper bucket bound of each split of a weighted policy: split `i` owns the
 * buckets `[bounds[i-1], bounds[i])`, with shares rounded to whole buckets (0.01 %) and the last
 * bound exactly {@link BUCKET_COUNT}. Zero-weight splits own no bucket.
 *
 * @example
 * weightedBounds([{ upstream: 'a', weight: 1 }, { upstream: 'b', weight: 3 }]).bounds; // [2500, 10000]
 */
export function weightedBounds(splits: readonly { upstream: string; weight: number }[]): {
  bounds: number[];
  ups: string[];
} {
  const total = splits.reduce((s, x) => s + x.weight, 0);
  let cum = 0;
  const bounds: number[] = [];
  const ups: string[] = [];
  for (const s of splits) {
    cum += s.weight;
    bounds.push(Math.round((cum / total) * BUCKET_COUNT));
    ups.push(s.upstream);
  }
  if (bounds.length > 0) bounds[bounds.length - 1] = BUCKET_COUNT;
  return { bounds, ups };
}

/**
 * Compiles a policy group into a matcher: levels are tried in order, a level whose feature is
 * absent (or unparsable) is skipped, and the first level that maps the request to an upstream
 * wins. `null` means "use the default upstream".
 *
 * @throws {PolicyValidationError} when the group or a policy is invalid ({@link validatePolicyGroup}).
 * @example
 * const match = compilePolicyGroup([{ divtype: 'uidsuffix', divdata: [{ suffix: '1', upstream: 'beta1' }] }]);
 * match({ uid: '31', url: '/', headers: () => undefined, cookie: () => undefined, query: () => undefined });
 * // { upstream: 'beta1', policyIndex: 0 }
 */
export function compilePolicyGroup(group: PolicyGroup): GatewayMatcher {
  // An empty group is a bound-but-off runtime (the reference's `divsteps = 0`).
  if (group.length === 0) return () => null;
  const issues = validatePolicyGroup(group);
  if (hasErrors(issues)) throw new PolicyValidationError(issues);
  const levels = group.map(compilePolicy);
  const n = levels.length;
  return (req): GatewayDecision | null => {
    for (let i = 0; i < n; i++) {
      const up = (levels[i] as Level)(req);
      if (up !== undefined) return { upstream: up, policyIndex: i };
    }
    return null;
  };
}
