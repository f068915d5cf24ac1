/**
 * Policy validation with ABTestingGateway's error semantics.
 *
 * Every issue carries a stable `reason`. The server maps reasons to the reference's admin error
 * codes (`lib/abtesting/error/errcode.lua`) with {@link abErrorCodeOf}:
 *
 * | reason                       | code  | reference message / note |
 * |------------------------------|-------|--------------------------|
 * | missing_divtype              | 50101 | `expected parameter for policy divtype or policy divdata` |
 * | missing_divdata              | 50101 | same (ADM-08) |
 * | unknown_divtype              | 50104 | `parameter type error for unsupported divtype` (issue #32) |
 * | divdata_not_array            | 50201 | reference: Lua error (40201); reported as invalid policy |
 * | divdata_not_object           | 50201 | Halftone divtypes whose divdata is an object |
 * | empty_divdata                | 50201 | range types: the reference rejects an empty list; hash types: a *warning* (ADM-16, the reference accepts) |
 * | entry_not_object             | 50201 | |
 * | upstream_invalid             | 50201 | `policies invalid for upstream invalid` (ADM-14) |
 * | range_invalid                | 50201 | missing `range` object |
 * | range_not_number             | 50201 | reference: Lua error 40201 or a late failure at set (ADM-21) |
 * | ip_out_of_range              | 50201 | stricter: IPv4 bounds must be integers in 0..2^32-1 |
 * | range_start_after_end        | 50201 | |
 * | ranges_overlap               | 50201 | `policies invalid for <divtype> overlapped` (ADM-10); touching ends overlap |
 * | suffix_invalid               | 50201 | `policies invalid for  need suffix and upstream` (ADM-18) |
 * | uidset_invalid               | 50201 | `policies invalid for  k_uidset or k_upstream error` (ADM-20) |
 * | uid_not_numeric              | 50201 | every uid must pass `tonumber` |
 * | uid_unsafe_number            | 50201 | stricter: the reference mangles uids given as JSON numbers > 14 digits (DIV-34) |
 * | city_invalid, url_invalid    | 50201 | `city`/`url` must be a string |
 * | key_invalid, salt_invalid, percent_invalid, splits_invalid, weight_invalid, condition_invalid, op_invalid, value_invalid, regex_invalid | 50201 | Halftone divtypes |
 * | group_not_object             | 50102 | `parameter error for policyGroup error` |
 * | group_key_not_integer        | 50102 | same (GRP-05) |
 * | group_empty                  | 50101 | `expected parameter for blank policy group` (GRP-07) |
 * | group_index_gap              | 50104 | `parameter type error for index of policy in policy_group should be one by one` (GRP-03); also duplicates (`"1"` and `"01"`) |
 * | group_entry_not_object       | 50102 | |
 * | group_too_deep               | —     | warning: the reference binds at most 9 levels (RT-11) |
 */
import { isValidPercent } from '../bucket.js';
import { AB_DIVTYPES, HALFTONE_DIVTYPES, type Divtype } from './types.js';
import { uidToNumber } from './features.js';

export type PolicyIssueReason =
  | 'missing_divtype'
  | 'missing_divdata'
  | 'unknown_divtype'
  | 'divdata_not_array'
  | 'divdata_not_object'
  | 'empty_divdata'
  | 'entry_not_object'
  | 'upstream_invalid'
  | 'range_invalid'
  | 'range_not_number'
  | 'ip_out_of_range'
  | 'range_start_after_end'
  | 'ranges_overlap'
  | 'suffix_invalid'
  | 'uidset_invalid'
  | 'uid_not_numeric'
  | 'uid_unsafe_number'
  | 'city_invalid'
  | 'url_invalid'
  | 'key_invalid'
  | 'salt_invalid'
  | 'percent_invalid'
  | 'splits_invalid'
  | 'weight_invalid'
  | 'condition_invalid'
  | 'op_invalid'
  | 'value_invalid'
  | 'regex_invalid'
  | 'group_not_object'
  | 'group_key_not_integer'
  | 'group_empty'
  | 'group_index_gap'
  | 'group_entry_not_object'
  | 'group_too_deep';

/** One validation finding. Only `severity: 'error'` makes a policy invalid. */
export interface PolicyIssue {
  readonly reason: PolicyIssueReason;
  readonly severity: 'error' | 'warning';
  /** Human-readable detail. */
  readonly message: string;
  /** Index into `divdata` when the issue is about one entry. */
  readonly entry?: number;
  /** 1-based level when the issue comes from a policy group. */
  readonly level?: number;
}

const CODES: Readonly<Record<PolicyIssueReason, number | undefined>> = {
  missing_divtype: 50101,
  missing_divdata: 50101,
  unknown_divtype: 50104,
  divdata_not_array: 50201,
  divdata_not_object: 50201,
  empty_divdata: 50201,
  entry_not_object: 50201,
  upstream_invalid: 50201,
  range_invalid: 50201,
  range_not_number: 50201,
  ip_out_of_range: 50201,
  range_start_after_end: 50201,
  ranges_overlap: 50201,
  suffix_invalid: 50201,
  uidset_invalid: 50201,
  uid_not_numeric: 50201,
  uid_unsafe_number: 50201,
  city_invalid: 50201,
  url_invalid: 50201,
  key_invalid: 50201,
  salt_invalid: 50201,
  percent_invalid: 50201,
  splits_invalid: 50201,
  weight_invalid: 50201,
  condition_invalid: 50201,
  op_invalid: 50201,
  value_invalid: 50201,
  regex_invalid: 50201,
  group_not_object: 50102,
  group_key_not_integer: 50102,
  group_empty: 50101,
  group_index_gap: 50104,
  group_entry_not_object: 50102,
  group_too_deep: undefined,
};

/**
 * The ABTestingGateway admin error code for an issue reason (`undefined` for warnings that have
 * no counterpart).
 *
 * @example
 * abErrorCodeOf('ranges_overlap'); // 50201
 */
export function abErrorCodeOf(reason: PolicyIssueReason): number | undefined {
  return CODES[reason];
}

/** Whether a list of issues contains an error. */
export function hasErrors(issues: readonly PolicyIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** The reference binds at most this many levels (`first`…`ninth`). */
export const AB_MAX_LEVELS = 9;

const ALL_DIVTYPES: ReadonlySet<string> = new Set<string>([...AB_DIVTYPES, ...HALFTONE_DIVTYPES]);

/** Whether `s` names a supported divtype. */
export function isDivtype(s: unknown): s is Divtype {
  return typeof s === 'string' && ALL_DIVTYPES.has(s);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUpstream(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

type Push = (reason: PolicyIssueReason, message: string, entry?: number, severity?: 'error' | 'warning') => void;

function checkRanges(divtype: 'iprange' | 'uidrange', data: readonly unknown[], push: Push): void {
  if (data.length === 0) {
    push('empty_divdata', `${divtype} needs at least one range`);
    return;
  }
  const ok: { start: number; end: number; entry: number }[] = [];
  data.forEach((e, i) => {
    if (!isObject(e)) return push('entry_not_object', 'entry must be an object', i);
    if (!isUpstream(e['upstream'])) push('upstream_invalid', 'upstream invalid', i);
    const r = e['range'];
    if (!isObject(r)) return push('range_invalid', 'range must be an object with start and end', i);
    const { start, end } = r;
    if (typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end)) {
      return push('range_not_number', 'range start and end must be numbers', i);
    }
    if (divtype === 'iprange') {
      const bad = (x: number) => !Number.isInteger(x) || x < 0 || x > 0xffffffff;
      if (bad(start) || bad(end)) return push('ip_out_of_range', 'IPv4 bounds must be integers in 0..4294967295', i);
    }
    if (start > end) return push('range_start_after_end', `range start ${start} is after end ${end}`, i);
    ok.push({ start, end, entry: i });
  });
  ok.sort((a, b) => a.start - b.start);
  for (let k = 1; k < ok.length; k++) {
    const prev = ok[k - 1] as (typeof ok)[number];
    const cur = ok[k] as (typeof ok)[number];
    if (cur.start <= prev.end) push('ranges_overlap', `${divtype} overlapped`, cur.entry);
  }
}

function checkHashEntries(
  divtype: string,
  data: readonly unknown[],
  push: Push,
  each: (e: Record<string, unknown>, i: number) => void,
): void {
  if (data.length === 0) push('empty_divdata', `${divtype} has no entries and never matches`, undefined, 'warning');
  data.forEach((e, i) => {
    if (!isObject(e)) push('entry_not_object', 'entry must be an object', i);
    else each(e, i);
  });
}

function checkUid(u: unknown, i: number, push: Push): void {
  if (typeof u === 'number') {
    if (!Number.isSafeInteger(u)) {
      push('uid_unsafe_number', `uid ${u} is not a safe integer; give large uids as strings`, i);
    }
  } else if (typeof u !== 'string' || uidToNumber(u) === undefined) {
    push('uid_not_numeric', `uid ${JSON.stringify(u)} is not a number`, i);
  }
}

/** Checks a feature key of a Halftone policy. */
function checkKey(k: unknown): boolean {
  if (!isObject(k)) return false;
  const from = k['from'];
  if (from === 'uid' || from === 'ip' || from === 'city' || from === 'path') return true;
  if (from === 'cookie' || from === 'header' || from === 'query') {
    return typeof k['name'] === 'string' && k['name'] !== '';
  }
  return false;
}

const STRING_OPS: ReadonlySet<string> = new Set(['eq', 'neq', 'prefix', 'suffix', 'contains']);
const LIST_OPS: ReadonlySet<string> = new Set(['in', 'nin']);
const NUMBER_OPS: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte']);
const PRESENCE_OPS: ReadonlySet<string> = new Set(['exists', 'absent']);

function checkCondition(c: unknown, i: number, push: Push): void {
  if (!isObject(c)) return push('condition_invalid', 'condition must be an object', i);
  if (!checkKey(c['feature'])) push('key_invalid', 'condition feature is not a valid feature key', i);
  const op = c['op'];
  const v = c['value'];
  if (typeof op !== 'string') return push('op_invalid', 'op must be a string', i);
  if (STRING_OPS.has(op)) {
    if (typeof v !== 'string') push('value_invalid', `${op} needs a string value`, i);
  } else if (LIST_OPS.has(op)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) push('value_invalid', `${op} needs a string list`, i);
  } else if (NUMBER_OPS.has(op)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) push('value_invalid', `${op} needs a finite number`, i);
  } else if (op === 'regex') {
    if (typeof v !== 'string') push('value_invalid', 'regex needs a pattern string', i);
    else {
      try {
        new RegExp(v);
      } catch {
        push('regex_invalid', `invalid regular expression ${JSON.stringify(v)}`, i);
      }
    }
  } else if (!PRESENCE_OPS.has(op)) {
    push('op_invalid', `unknown op ${JSON.stringify(op)}`, i);
  }
}

/**
 * Validates one policy's `divdata` for `divtype`, with ABTestingGateway's rules for its six
 * divtypes (see the reason table in this module's header for the error-code mapping).
 *
 * @returns all issues found (empty when the policy is valid); only errors make it invalid.
 * @example
 * validatePolicy('iprange', [
 *   { range: { start: 100, end: 200 }, upstream: 'beta1' },
 *   { range: { start: 150, end: 300 }, upstream: 'beta2' },
 * ]); // [{ reason: 'ranges_overlap', severity: 'error', … }]
 */
export function validatePolicy(divtype: unknown, divdata: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const push: Push = (reason, message, entry, severity = 'error') => {
    issues.push(entry === undefined ? { reason, severity, message } : { reason, severity, message, entry });
  };
  if (divtype === undefined || divtype === null) push('missing_divtype', 'policy divtype or policy divdata');
  if (divdata === undefined || divdata === null) push('missing_divdata', 'policy divtype or policy divdata');
  if (issues.length > 0) return issues;
  if (!isDivtype(divtype)) {
    push('unknown_divtype', `unsupported divtype ${JSON.stringify(divtype)}`);
    return issues;
  }
  if (divtype === 'percentage' || divtype === 'weighted') {
    if (!isObject(divdata)) {
      push('divdata_not_object', `${divtype} divdata must be an object`);
      return issues;
    }
    if (!checkKey(divdata['key'])) push('key_invalid', 'key must be {from: uid|ip|city|path} or {from: cookie|header|query, name}');
    if (typeof divdata['salt'] !== 'string' || divdata['salt'] === '') push('salt_invalid', 'salt must be a non-empty string');
    if (divtype === 'percentage') {
      if (!isValidPercent(divdata['percent'])) push('percent_invalid', 'percent must be 0..100 with at most 2 decimals');
      if (!isUpstream(divdata['upstream'])) push('upstream_invalid', 'upstream invalid');
    } else {
      const splits = divdata['splits'];
      if (!Array.isArray(splits) || splits.length === 0) {
        push('splits_invalid', 'splits must be a non-empty list');
        return issues;
      }
      let total = 0;
      splits.forEach((s: unknown, i) => {
        if (!isObject(s)) return push('entry_not_object', 'split must be an object', i);
        if (!isUpstream(s['upstream'])) push('upstream_invalid', 'upstream invalid', i);
        const w = s['weight'];
        if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) push('weight_invalid', 'weight must be a finite number ≥ 0', i);
        else total += w;
      });
      if (total <= 0) push('weight_invalid', 'the weights must not all be zero');
    }
    return issues;
  }
  if (!Array.isArray(divdata)) {
    push('divdata_not_array', `${divtype} divdata must be a list`);
    return issues;
  }
  const data: readonly unknown[] = divdata;
  switch (divtype) {
    case 'iprange':
    case 'uidrange':
      checkRanges(divtype, data, push);
      break;
    case 'uidsuffix':
      checkHashEntries(divtype, data, push, (e, i) => {
        const s = e['suffix'];
        const n = typeof s === 'number' ? s : typeof s === 'string' ? uidToNumber(s) : undefined;
        if (n === undefined || !(n >= 0 && n <= 9) || !isUpstream(e['upstream'])) {
          push('suffix_invalid', ' need suffix and upstream', i);
        }
      });
      break;
    case 'uidappoint':
      checkHashEntries(divtype, data, push, (e, i) => {
        const set = e['uidset'];
        if (!Array.isArray(set) || !isUpstream(e['upstream'])) return push('uidset_invalid', ' k_uidset or k_upstream error', i);
        for (const u of set as unknown[]) checkUid(u, i, push);
      });
      break;
    case 'arg_city':
      checkHashEntries(divtype, data, push, (e, i) => {
        if (typeof e['city'] !== 'string') push('city_invalid', 'city must be a string', i);
        if (!isUpstream(e['upstream'])) push('upstream_invalid', 'upstream invalid', i);
      });
      break;
    case 'url':
      checkHashEntries(divtype, data, push, (e, i) => {
        if (typeof e['url'] !== 'string') push('url_invalid', 'url must be a string', i);
        if (!isUpstream(e['upstream'])) push('upstream_invalid', 'upstream invalid', i);
      });
      break;
    case 'match':
      checkHashEntries(divtype, data, push, (e, i) => {
        if (!isUpstream(e['upstream'])) push('upstream_invalid', 'upstream invalid', i);
        const when = e['when'];
        if (!Array.isArray(when)) return push('condition_invalid', 'when must be a list of conditions', i);
        for (const c of when as unknown[]) checkCondition(c, i, push);
      });
      break;
  }
  return issues;
}

/**
 * Validates a policy group given in ABTestingGateway's wire shape `{"1": policy, "2": policy, …}`
 * (keys must be integers 1..n without gaps or duplicates) and each level's policy. Issues from a
 * level carry its 1-based `level`.
 *
 * @example
 * validatePolicyGroupObject({}); // [{ reason: 'group_empty', … }]
 */
export function validatePolicyGroupObject(group: unknown): PolicyIssue[] {
  if (!isObject(group)) {
    return [{ reason: 'group_not_object', severity: 'error', message: 'policyGroup error' }];
  }
  const keys = Object.keys(group);
  if (keys.length === 0) return [{ reason: 'group_empty', severity: 'error', message: 'blank policy group' }];
  const levels = new Map<number, unknown>();
  const issues: PolicyIssue[] = [];
  for (const k of keys) {
    const n = uidToNumber(k);
    if (n === undefined) return [{ reason: 'group_key_not_integer', severity: 'error', message: 'policyGroup error' }];
    if (!isObject(group[k])) {
      return [{ reason: 'group_entry_not_object', severity: 'error', message: 'policyGroup error', level: n }];
    }
    if (levels.has(n)) {
      return [{ reason: 'group_index_gap', severity: 'error', message: 'index of policy in policy_group should be one by one' }];
    }
    levels.set(n, group[k]);
  }
  for (let l = 1; l <= keys.length; l++) {
    if (!levels.has(l)) {
      return [{ reason: 'group_index_gap', severity: 'error', message: 'index of policy in policy_group should be one by one' }];
    }
  }
  for (let l = 1; l <= keys.length; l++) {
    const p = levels.get(l) as Record<string, unknown>;
    for (const issue of validatePolicy(p['divtype'], p['divdata'])) {
      issues.push({ ...issue, level: l, message: `policy NO.${l} ${issue.message}` });
    }
  }
  if (keys.length > AB_MAX_LEVELS) {
    issues.push({
      reason: 'group_too_deep',
      severity: 'warning',
      message: `${keys.length} levels; ABTestingGateway can bind at most ${AB_MAX_LEVELS}`,
    });
  }
  return issues;
}

/**
 * Validates an already ordered policy group (Halftone's {@link PolicyGroup} shape).
 */
export function validatePolicyGroup(group: readonly unknown[]): PolicyIssue[] {
  if (group.length === 0) return [{ reason: 'group_empty', severity: 'error', message: 'blank policy group' }];
  const issues: PolicyIssue[] = [];
  group.forEach((p, i) => {
    if (!isObject(p)) {
      issues.push({ reason: 'group_entry_not_object', severity: 'error', message: 'policyGroup error', level: i + 1 });
      return;
    }
    for (const issue of validatePolicy(p['divtype'], p['divdata'])) {
      issues.push({ ...issue, level: i + 1, message: `policy NO.${i + 1} ${issue.message}` });
    }
  });
  return issues;
}
