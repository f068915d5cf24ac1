import { describe, expect, it } from 'vitest';
import type { DeviceContext } from './context.js';
import type { Condition, Rule } from './rule-types.js';
import {
  attributeValue,
  compileRule,
  evaluateRule,
  InvalidRuleError,
  isRuleAttribute,
  MAX_RULE_CONDITIONS,
  MAX_RULE_DEPTH,
  unsafeRegexReason,
  validateRule,
} from './rules.js';
import { compareVersions, isValidVersion } from './version.js';

const device: DeviceContext = {
  deviceId: 'dev-1',
  userId: 'user-7',
  platform: 'android',
  appVersion: '8.3.1',
  osVersion: '14',
  channel: 'huawei',
  deviceModel: 'Mate 60 Pro',
  cpu: 'arm64-v8a',
  region: 'CN',
  attributes: { vip: true, level: 12, cohort: 'beta', score: '7.5', blank: '', build: 42 },
};
const bare: DeviceContext = { deviceId: 'dev-2', platform: 'ios', appVersion: '' };

const cond = (
  attribute: string,
  operator: Condition['operator'],
  operand: Pick<Condition, 'value' | 'values'>,
): Condition => ({ attribute, operator, ...operand });

/** [condition, on `device`, on `bare` (attribute missing)] */
const operatorCases: [string, Condition, boolean, boolean][] = [
  ['in hit', cond('channel', 'in', { values: ['xiaomi', 'huawei'] }), true, false],
  ['in miss', cond('channel', 'in', { values: ['xiaomi'] }), false, false],
  ['in number as string', cond('attributes.level', 'in', { values: ['12'] }), true, false],
  ['in string as number', cond('osVersion', 'in', { values: [14, 15] }), true, false],
  ['in boolean', cond('attributes.vip', 'in', { values: [true] }), true, false],
  ['not_in hit', cond('channel', 'not_in', { values: ['xiaomi'] }), true, true],
  ['not_in miss', cond('channel', 'not_in', { values: ['huawei'] }), false, true],
  ['eq hit', cond('platform', 'eq', { value: 'android' }), true, false],
  ['eq miss', cond('region', 'eq', { value: 'cn' }), false, false],
  ['eq number', cond('attributes.level', 'eq', { value: 12 }), true, false],
  ['eq boolean', cond('attributes.vip', 'eq', { value: 'true' }), true, false],
  ['neq hit', cond('region', 'neq', { value: 'SG' }), true, true],
  ['neq miss', cond('region', 'neq', { value: 'CN' }), false, true],
  ['version_eq hit', cond('appVersion', 'version_eq', { value: '8.3.1.0' }), true, false],
  ['version_eq miss', cond('appVersion', 'version_eq', { value: '8.3' }), false, false],
  ['version_lt hit', cond('appVersion', 'version_lt', { value: '8.10' }), true, false],
  ['version_lt miss', cond('appVersion', 'version_lt', { value: '8.3.1' }), false, false],
  ['version_lte hit', cond('appVersion', 'version_lte', { value: '8.3.1' }), true, false],
  ['version_lte miss', cond('appVersion', 'version_lte', { value: '8.3.1-rc.1' }), false, false],
  ['version_gt hit', cond('appVersion', 'version_gt', { value: '8.3.1-rc.1' }), true, false],
  ['version_gt miss', cond('appVersion', 'version_gt', { value: '8.3.1' }), false, false],
  ['version_gte hit', cond('appVersion', 'version_gte', { value: '8.3.1' }), true, false],
  ['version_gte miss', cond('appVersion', 'version_gte', { value: '9' }), false, false],
  ['version on number attr', cond('attributes.build', 'version_gt', { value: '41' }), true, false],
  ['version_range hit', cond('appVersion', 'version_range', { values: ['8.0', '8.4'] }), true, false],
  ['version_range at max', cond('appVersion', 'version_range', { values: ['8', '8.3.1'] }), true, false],
  ['version_range miss', cond('appVersion', 'version_range', { values: ['8.4', ''] }), false, false],
  ['version_range open min', cond('appVersion', 'version_range', { values: ['', '9'] }), true, false],
  ['version_range all open', cond('appVersion', 'version_range', { values: ['', ''] }), true, false],
  ['num_eq hit', cond('osVersion', 'num_eq', { value: 14 }), true, false],
  ['num_eq miss', cond('attributes.level', 'num_eq', { value: 13 }), false, false],
  ['num_lt hit', cond('attributes.score', 'num_lt', { value: 8 }), true, false],
  ['num_lt miss', cond('attributes.score', 'num_lt', { value: 7.5 }), false, false],
  ['num_lte hit', cond('attributes.score', 'num_lte', { value: 7.5 }), true, false],
  ['num_lte miss', cond('attributes.level', 'num_lte', { value: 11 }), false, false],
  ['num_gt hit', cond('attributes.level', 'num_gt', { value: 11.5 }), true, false],
  ['num_gt miss', cond('osVersion', 'num_gt', { value: 14 }), false, false],
  ['num_gte hit', cond('osVersion', 'num_gte', { value: 14 }), true, false],
  ['num_gte miss', cond('osVersion', 'num_gte', { value: 15 }), false, false],
  ['num on non-numeric', cond('channel', 'num_gte', { value: 0 }), false, false],
  ['num on boolean', cond('attributes.vip', 'num_eq', { value: 1 }), false, false],
  ['starts_with hit', cond('deviceModel', 'starts_with', { value: 'Mate' }), true, false],
  ['starts_with miss', cond('deviceModel', 'starts_with', { value: 'mate' }), false, false],
  ['ends_with hit', cond('cpu', 'ends_with', { value: 'v8a' }), true, false],
  ['ends_with miss', cond('cpu', 'ends_with', { value: 'x86' }), false, false],
  ['contains hit', cond('deviceModel', 'contains', { value: '60' }), true, false],
  ['contains miss', cond('deviceModel', 'contains', { value: '70' }), false, false],
  ['contains on number', cond('attributes.level', 'contains', { value: '2' }), true, false],
  ['regex hit', cond('deviceModel', 'regex', { value: '^Mate [0-9]+' }), true, false],
  ['regex miss', cond('deviceModel', 'regex', { value: '^P[0-9]+$' }), false, false],
  ['regex unicode', cond('region', 'regex', { value: '^\\p{Lu}{2}$' }), true, false],
  ['custom blank is missing', cond('attributes.blank', 'eq', { value: '' }), false, false],
  ['custom blank not_in', cond('attributes.blank', 'not_in', { values: [''] }), true, true],
  ['absent custom attr', cond('attributes.nope', 'neq', { value: 'x' }), true, true],
];

describe('operators', () => {
  it.each(operatorCases)('%s', (_name, c, onDevice, onMissing) => {
    expect(validateRule(c)).toEqual([]);
    const f = compileRule(c);
    expect(f(device)).toBe(onDevice);
    expect(f(bare)).toBe(onMissing);
    expect(evaluateRule(c, device)).toBe(onDevice);
  });

  it('version operators are false when the device version is invalid', () => {
    const ctx = { ...device, appVersion: 'v8.3.1' };
    for (const op of ['version_eq', 'version_lt', 'version_lte', 'version_gt', 'version_gte'] as const) {
      expect(evaluateRule(cond('appVersion', op, { value: '8.3.1' }), ctx)).toBe(false);
    }
    expect(evaluateRule(cond('appVersion', 'version_range', { values: ['', ''] }), ctx)).toBe(false);
  });

  it('numeric operators are false for blank and non-numeric strings', () => {
    const ctx = { ...device, osVersion: '   ' };
    expect(evaluateRule(cond('osVersion', 'num_eq', { value: 0 }), ctx)).toBe(false);
    expect(evaluateRule(cond('osVersion', 'num_lte', { value: 0 }), { ...device, osVersion: '1a' })).toBe(false);
    expect(evaluateRule(cond('osVersion', 'num_eq', { value: 16 }), { ...device, osVersion: '0x10' })).toBe(true);
  });

  it('regex only looks at the first 1024 characters', () => {
    const c = cond('attributes.blob', 'regex', { value: 'END$' });
    const at = (n: number) => ({ ...device, attributes: { blob: `${'a'.repeat(n)}END` } });
    expect(evaluateRule(c, at(1021))).toBe(true);
    expect(evaluateRule(c, at(1022))).toBe(false);
  });

  it('regex keeps no state between devices', () => {
    const f = compileRule(cond('platform', 'regex', { value: 'and' }));
    expect([f(device), f(device), f(device)]).toEqual([true, true, true]);
  });

  it('treats null and object attribute values as missing', () => {
    const weird = {
      ...device,
      region: null,
      attributes: { obj: {}, nil: null },
    } as unknown as DeviceContext;
    expect(evaluateRule(cond('region', 'eq', { value: 'null' }), weird)).toBe(false);
    expect(evaluateRule(cond('region', 'neq', { value: 'CN' }), weird)).toBe(true);
    expect(evaluateRule(cond('attributes.obj', 'contains', { value: 'object' }), weird)).toBe(false);
    expect(evaluateRule(cond('attributes.nil', 'not_in', { values: ['null'] }), weird)).toBe(true);
  });
});

describe('groups', () => {
  const yes = cond('platform', 'eq', { value: 'android' });
  const no = cond('platform', 'eq', { value: 'ios' });

  it('all is AND, any is OR, and the empty forms are true and false', () => {
    expect(evaluateRule({ all: [yes, yes] }, device)).toBe(true);
    expect(evaluateRule({ all: [yes, no] }, device)).toBe(false);
    expect(evaluateRule({ any: [no, yes] }, device)).toBe(true);
    expect(evaluateRule({ any: [no, no] }, device)).toBe(false);
    expect(evaluateRule({ all: [] }, device)).toBe(true);
    expect(evaluateRule({ any: [] }, device)).toBe(false);
    expect(evaluateRule({ all: [no] }, device)).toBe(false);
    expect(evaluateRule({ any: [yes] }, device)).toBe(true);
  });

  it('nests', () => {
    const rule: Rule = {
      all: [
        { any: [no, cond('region', 'in', { values: ['CN', 'SG'] })] },
        { any: [{ all: [yes, cond('appVersion', 'version_gte', { value: '8' })] }, no] },
        { all: [] },
      ],
    };
    expect(evaluateRule(rule, device)).toBe(true);
    expect(evaluateRule(rule, { ...device, region: 'US' })).toBe(false);
  });

  it('accepts exactly MAX_RULE_DEPTH nested groups', () => {
    let rule: Rule = yes;
    for (let i = 0; i < MAX_RULE_DEPTH; i++) rule = i % 2 ? { any: [rule] } : { all: [rule] };
    expect(validateRule(rule)).toEqual([]);
    expect(evaluateRule(rule, device)).toBe(true);
  });
});

describe('validateRule', () => {
  it.each([
    ['not an object', 42, [['', /must be an object/]]],
    ['null', null, [['', /must be an object/]]],
    ['an array', [], [['', /must be an object/]]],
    [
      'unknown attribute',
      { attribute: 'planet', operator: 'eq', value: 'mars' },
      [['/attribute', /unknown attribute "planet"/]],
    ],
    [
      'bad custom attribute name',
      { attribute: 'attributes.a b', operator: 'eq', value: 'x' },
      [['/attribute', /unknown attribute/]],
    ],
    [
      'custom attribute name too long',
      { attribute: `attributes.${'a'.repeat(65)}`, operator: 'eq', value: 'x' },
      [['/attribute', /unknown attribute/]],
    ],
    ['missing attribute', { operator: 'eq', value: 'x' }, [['/attribute', /requires "attribute"/]]],
    [
      'unknown operator',
      { attribute: 'region', operator: 'like', value: 'x' },
      [['/operator', /unknown operator "like"/]],
    ],
    ['missing operator', { attribute: 'region', value: 'x' }, [['/operator', /requires "operator"/]]],
    [
      'bad version (named in the message)',
      { all: [{ attribute: 'appVersion', operator: 'version_gte', value: 'v8' }] },
      [['/all/0/value', /"v8" is not a valid version/]],
    ],
    [
      'version given as a number',
      { attribute: 'appVersion', operator: 'version_lt', value: 8 },
      [['/value', /8 is not a valid version/]],
    ],
    [
      'bad version in a range',
      { attribute: 'appVersion', operator: 'version_range', values: ['1.0', '2.x'] },
      [['/values/1', /"2.x" is not a valid version/]],
    ],
    [
      'range not a pair',
      { attribute: 'appVersion', operator: 'version_range', values: ['1.0'] },
      [['/values', /\[min, max\]/]],
    ],
    [
      'empty range',
      { attribute: 'appVersion', operator: 'version_range', values: ['2.0', '1.0'] },
      [['/values', /empty range/]],
    ],
    [
      'unsafe regex',
      { any: [{ attribute: 'deviceModel', operator: 'regex', value: '(a+)+$' }] },
      [['/any/0/value', /unsafe regex/]],
    ],
    [
      'invalid regex',
      { attribute: 'deviceModel', operator: 'regex', value: '([a-z]' },
      [['/value', /invalid regex/]],
    ],
    [
      'regex invalid only in unicode mode',
      { attribute: 'deviceModel', operator: 'regex', value: '\\-' },
      [['/value', /invalid regex/]],
    ],
    [
      'regex not a string',
      { attribute: 'deviceModel', operator: 'regex', value: 1 },
      [['/value', /requires a string/]],
    ],
    [
      'num value as string',
      { attribute: 'osVersion', operator: 'num_gt', value: '14' },
      [['/value', /requires a finite number, got "14"/]],
    ],
    [
      'num value NaN',
      { attribute: 'osVersion', operator: 'num_gt', value: Number.NaN },
      [['/value', /finite number/]],
    ],
    [
      'string op with a number',
      { attribute: 'region', operator: 'starts_with', value: 1 },
      [['/value', /requires a string/]],
    ],
    [
      'eq with an object',
      { attribute: 'region', operator: 'eq', value: { a: 1 } },
      [['/value', /string, finite number or boolean/]],
    ],
    [
      'in with value instead of values',
      { attribute: 'region', operator: 'in', value: 'CN' },
      [
        ['/value', /takes "values", not "value"/],
        ['/values', /requires "values"/],
      ],
    ],
    [
      'eq with values instead of value',
      { attribute: 'region', operator: 'eq', values: ['CN'] },
      [
        ['/values', /takes "value", not "values"/],
        ['/value', /requires "value"/],
      ],
    ],
    [
      'in with an empty list',
      { attribute: 'region', operator: 'in', values: [] },
      [['/values', /non-empty array/]],
    ],
    [
      'in with a bad entry',
      { attribute: 'region', operator: 'not_in', values: ['CN', null, { x: 1 }] },
      [
        ['/values/1', /null is not a string/],
        ['/values/2', /is not a string/],
      ],
    ],
    [
      'in with too many values',
      { attribute: 'userId', operator: 'in', values: Array.from({ length: 10001 }, (_, i) => i) },
      [['/values', /at most 10000/]],
    ],
    [
      'extra key on a condition',
      { attribute: 'region', operator: 'eq', value: 'CN', note: 'x', 'a/b~': 1 },
      [
        ['/note', /unknown key "note"/],
        ['/a~1b~0', /unknown key/],
      ],
    ],
    [
      'extra key on a group',
      { all: [], name: 'x' },
      [['/name', /unknown key "name" in an "all" group/]],
    ],
    ['all and any together', { all: [], any: [] }, [['/any', /either "all" or "any"/]]],
    ['group not an array', { any: {} }, [['/any', /must be an array/]]],
    ['bad child', { all: ['x'] }, [['/all/0', /must be an object/]]],
  ] as [string, unknown, [string, RegExp][]][])('%s', (_name, rule, want) => {
    const issues = validateRule(rule);
    expect(issues.map((i) => i.path)).toEqual(want.map(([p]) => p));
    issues.forEach((issue, i) => {
      expect(issue.message).toMatch((want[i] as [string, RegExp])[1]);
    });
  });

  it('rejects groups nested deeper than MAX_RULE_DEPTH', () => {
    let rule: unknown = { attribute: 'region', operator: 'eq', value: 'CN' };
    for (let i = 0; i < MAX_RULE_DEPTH + 1; i++) rule = { all: [rule] };
    const issues = validateRule(rule);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe(`${'/all/0'.repeat(MAX_RULE_DEPTH)}/all`);
    expect(issues[0]?.message).toMatch(/deeper than 8/);
  });

  it('rejects more than MAX_RULE_CONDITIONS conditions', () => {
    const c = { attribute: 'region', operator: 'eq', value: 'CN' };
    const ok = { any: [{ all: Array(128).fill(c) }, { all: Array(128).fill(c) }] };
    expect(validateRule(ok)).toEqual([]);
    const tooMany = { any: [{ all: Array(128).fill(c) }, { all: Array(129).fill(c) }] };
    expect(validateRule(tooMany)).toEqual([
      { path: '', message: `a rule may hold at most ${MAX_RULE_CONDITIONS} conditions, this one has 257` },
    ]);
  });

  it('reports every issue, not only the first', () => {
    const issues = validateRule({
      all: [
        { attribute: 'planet', operator: 'eq', value: 'x' },
        { attribute: 'region', operator: 'nope' },
        { attribute: 'appVersion', operator: 'version_eq', value: '1..0' },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual(['/all/0/attribute', '/all/1/operator', '/all/2/value']);
  });

  it('accepts value: undefined as absent', () => {
    expect(validateRule({ attribute: 'region', operator: 'in', values: ['CN'], value: undefined })).toEqual([]);
  });
});

describe('unsafeRegexReason', () => {
  it.each([
    '^8\\.[0-9]+$',
    '^(?:Mate|P)[0-9]+',
    '^(Mate|P)[0-9]+$',
    '(?<model>Mate) [0-9]+',
    '[(a+)+]*',
    '^\\(a+\\)+',
    '(ab)+',
    '(abc)?',
    '^(a+)?b',
    '^a+b{0,3}c{2,3}',
    '^\\p{Lu}+$',
    '^[A-Z]+-\\d+$',
    'Mate.*Pro',
    'a.*?b',
    '^[a-z]{1,32}\\.[a-z]{1,32}\\.[a-z]{1,32}$',
    '^SM-[A-Z]\\d{3,4}[A-Z]?$',
    '\\d{4}',
    'x{2,}',
    '',
  ])('accepts %j', (p) => {
    expect(unsafeRegexReason(p)).toBeUndefined();
    expect(() => new RegExp(p, 'u')).not.toThrow();
  });

  it.each([
    ['(a+)+', /repeated group/],
    ['(a*)*', /repeated group/],
    ['(a|a)*', /repeated group/],
    ['(a|b)+', /repeated group/],
    ['((ab)*c)+', /repeated group/],
    ['((a|b)c){2,}', /repeated group/],
    ['(?:a+)+', /repeated group/],
    ['(?<x>a?)*', /repeated group/],
    ['((a+)?)+', /repeated group/],
    ['([a-z]+\\.)*', /repeated group/],
    ['(a)\\1', /backreference/],
    ['(?<x>a)\\k<x>', /named backreference/],
    ['a(?=b)', /lookahead/],
    ['a(?!b)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['a'.repeat(257), /longer than 256/],
    ['.*a.*b', /backtracking/],
    ['\\d*\\d*\\d*x', /backtracking/],
    ['^\\d*\\d*\\d*x', /backtracking/],
    ['^[a-z]+\\.[a-z]+\\.[a-z]+$', /backtracking/],
    ['^a|b+c+', /backtracking/],
    ['a+?b+', /backtracking/],
    ['x{2,}y{2,}', /backtracking/],
    [`^${'a?'.repeat(21)}`, /backtracking/],
    ['^a{0,2000}b{0,2000}c?', /backtracking/],
  ])('refuses %j', (p, why) => {
    expect(unsafeRegexReason(p)).toMatch(why);
  });

  it('keeps accepted patterns fast on adversarial 1024-character inputs', () => {
    const inputs = ['a', '1', 'A-', 'a.', 'Mate', 'x'].map((s) => s.repeat(1024).slice(0, 1024));
    for (const p of ['^[A-Z]+-\\d+$', 'Mate.*Pro', 'a.*b', '^\\d*\\d*x', '\\d+\\.', '^(?:a|b)?a*c']) {
      expect(unsafeRegexReason(p)).toBeUndefined();
      const re = new RegExp(p, 'u');
      const t0 = performance.now();
      for (const s of inputs) re.test(s);
      expect(performance.now() - t0).toBeLessThan(100);
    }
  });

  it('tolerates unbalanced parentheses (the compile step reports them)', () => {
    expect(unsafeRegexReason('a)b')).toBeUndefined();
    expect(unsafeRegexReason('(?<a')).toBeUndefined();
  });
});

describe('attributeValue and isRuleAttribute', () => {
  it('reads built-ins and own custom attributes, normalizing missing to undefined', () => {
    expect(attributeValue(device, 'platform')).toBe('android');
    expect(attributeValue(device, 'attributes.level')).toBe(12);
    expect(attributeValue(device, 'attributes.vip')).toBe(true);
    expect(attributeValue(device, 'attributes.blank')).toBeUndefined();
    expect(attributeValue(bare, 'appVersion')).toBeUndefined();
    expect(attributeValue(bare, 'attributes.vip')).toBeUndefined();
    expect(attributeValue(device, 'attributes.constructor')).toBeUndefined();
    expect(attributeValue(device, 'attributes.__proto__')).toBeUndefined();
    expect(attributeValue(device, 'toString')).toBeUndefined();
  });

  it('isRuleAttribute knows the grammar', () => {
    expect(isRuleAttribute('appVersion')).toBe(true);
    expect(isRuleAttribute('attributes.a-b_c.d')).toBe(true);
    expect(isRuleAttribute('attributes.')).toBe(false);
    expect(isRuleAttribute('Attributes.x')).toBe(false);
    expect(isRuleAttribute(1)).toBe(false);
  });
});

describe('compileRule', () => {
  it('throws InvalidRuleError carrying the issues', () => {
    const bad = { all: [{ attribute: 'planet', operator: 'eq', value: 'x' }, { any: 1 }] } as unknown as Rule;
    let caught: unknown;
    try {
      compileRule(bad);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidRuleError);
    expect(caught).toBeInstanceOf(TypeError);
    const err = caught as InvalidRuleError;
    expect(err.issues.map((i) => i.path)).toEqual(['/all/0/attribute', '/all/1/any']);
    expect(err.message).toMatch(/^invalid targeting rule: \/all\/0\/attribute unknown attribute .* \(and 1 more\)$/);
    expect(() => evaluateRule(bad, device)).toThrow(InvalidRuleError);
    expect(new InvalidRuleError([]).message).toBe('invalid targeting rule');
    expect(new InvalidRuleError([{ path: '', message: 'x' }]).message).toBe('invalid targeting rule: / x');
  });
});

// ---------------------------------------------------------------------------------------------
// Property-style check: the compiled rule agrees with a naive, obviously-correct interpreter.

function naiveValue(ctx: DeviceContext, attribute: string): string | number | boolean | undefined {
  const raw = attribute.startsWith('attributes.')
    ? Object.entries(ctx.attributes ?? {}).find(([k]) => k === attribute.slice(11))?.[1]
    : (ctx as unknown as Record<string, unknown>)[attribute];
  if (raw === '' || raw === undefined || raw === null || typeof raw === 'object') return undefined;
  return raw as string | number | boolean;
}

function naive(rule: Rule, ctx: DeviceContext): boolean {
  if ('all' in rule) return rule.all.every((r) => naive(r, ctx));
  if ('any' in rule) return rule.any.some((r) => naive(r, ctx));
  const v = naiveValue(ctx, rule.attribute);
  const { operator: op } = rule;
  if (v === undefined) return op === 'not_in' || op === 'neq';
  const s = String(v);
  const values = (rule.values ?? []).map(String);
  const num = typeof v === 'number' ? v : typeof v === 'string' && s.trim() !== '' ? Number(s) : Number.NaN;
  const target = rule.value as number;
  const cmp = () => (isValidVersion(s) ? compareVersions(s, String(rule.value)) : null);
  switch (op) {
    case 'in':
      return values.includes(s);
    case 'not_in':
      return !values.includes(s);
    case 'eq':
      return s === String(rule.value);
    case 'neq':
      return s !== String(rule.value);
    case 'version_eq':
      return cmp() === 0;
    case 'version_lt':
      return (cmp() ?? 9) < 0;
    case 'version_lte':
      return (cmp() ?? 9) <= 0;
    case 'version_gt':
      return (cmp() ?? -9) > 0;
    case 'version_gte':
      return (cmp() ?? -9) >= 0;
    case 'version_range': {
      if (!isValidVersion(s)) return false;
      const [min, max] = values as [string, string];
      return (min === '' || compareVersions(s, min) >= 0) && (max === '' || compareVersions(s, max) <= 0);
    }
    case 'num_eq':
      return num === target;
    case 'num_lt':
      return num < target;
    case 'num_lte':
      return num <= target;
    case 'num_gt':
      return num > target;
    case 'num_gte':
      return num >= target;
    case 'starts_with':
      return s.startsWith(String(rule.value));
    case 'ends_with':
      return s.endsWith(String(rule.value));
    case 'contains':
      return s.includes(String(rule.value));
    case 'regex':
      return new RegExp(String(rule.value), 'u').test(s.slice(0, 1024));
    default:
      // The config-era operators (re2, date_*, semver_*, in_cidr) have their own tests below.
      throw new Error(`the naive oracle does not cover ${op}`);
  }
}

describe('compileRule agrees with a naive interpreter', () => {
  let x = 99;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;

  const versions = ['1', '1.0', '1.0.1', '1.2-beta', '1.2', '2.0.0.1', '10', '1.2-beta.2', 'v1', 'x', ''];
  const strs = ['a', 'ab', 'abc', 'b', 'huawei', '用户', '', '12', '12.5', ' 7 ', 'true'];
  const nums = [0, 1, 7, 12, 12.5, -3];
  const attrs = ['appVersion', 'osVersion', 'channel', 'region', 'userId', 'attributes.n', 'attributes.s', 'attributes.b'];
  const scalar = () => pick<string | number | boolean>([...strs.filter(Boolean), ...nums, true, false]);

  function randomCondition(): Condition {
    const attribute = pick(attrs);
    switch (rnd(8)) {
      case 0:
        return { attribute, operator: pick(['in', 'not_in'] as const), values: [scalar(), scalar(), scalar()] };
      case 1:
        return { attribute, operator: pick(['eq', 'neq'] as const), value: scalar() };
      case 2:
        return {
          attribute,
          operator: pick(['version_eq', 'version_lt', 'version_lte', 'version_gt', 'version_gte'] as const),
          value: pick(versions.slice(0, 8)),
        };
      case 3: {
        const [a, b] = [pick(['', ...versions.slice(0, 8)]), pick(['', ...versions.slice(0, 8)])];
        const ordered = a !== '' && b !== '' && compareVersions(a, b) > 0 ? [b, a] : [a, b];
        return { attribute, operator: 'version_range', values: ordered };
      }
      case 4:
        return {
          attribute,
          operator: pick(['num_eq', 'num_lt', 'num_lte', 'num_gt', 'num_gte'] as const),
          value: pick(nums),
        };
      case 5:
        return {
          attribute,
          operator: pick(['starts_with', 'ends_with', 'contains'] as const),
          value: pick(strs),
        };
      default:
        return { attribute, operator: 'regex', value: pick(['^a', 'b$', '^[0-9.]+$', '用', '^1\\.']) };
    }
  }

  function randomRule(depth: number): Rule {
    if (depth >= 4 || rnd(3) === 0) return randomCondition();
    const children = Array.from({ length: rnd(4) }, () => randomRule(depth + 1));
    return rnd(2) ? { all: children } : { any: children };
  }

  function randomContext(): DeviceContext {
    const maybe = <T>(v: T) => (rnd(4) === 0 ? undefined : v);
    return {
      deviceId: `d${rnd(1000)}`,
      platform: pick(['ios', 'android']),
      appVersion: pick(versions),
      osVersion: maybe(pick([...versions, ...strs])),
      channel: maybe(pick(strs)),
      region: maybe(pick(strs)),
      userId: maybe(pick(strs)),
      attributes: maybe({ n: pick(nums), s: pick(strs), b: pick([true, false]) }),
    };
  }

  it('on 600 random rules × 40 random devices', () => {
    const contexts = Array.from({ length: 40 }, randomContext);
    let trues = 0;
    let total = 0;
    for (let r = 0; r < 600; r++) {
      const rule = randomRule(0);
      expect(validateRule(rule)).toEqual([]);
      const f = compileRule(rule);
      for (const ctx of contexts) {
        const want = naive(rule, ctx);
        if (f(ctx) !== want) {
          throw new Error(`mismatch: ${JSON.stringify(rule)} on ${JSON.stringify(ctx)}: want ${want}`);
        }
        if (want) trues++;
        total++;
      }
    }
    // Both outcomes are well represented, so the comparison means something.
    expect(trues / total).toBeGreaterThan(0.2);
    expect(trues / total).toBeLessThan(0.8);
  });
});

describe('config-era operators and flags', () => {
  const ctx = (over: Record<string, unknown>) => over as never;
  const ev = (rule: Rule, c: Record<string, unknown>) => evaluateRule(rule, ctx(c));

  it('re2: RE2 syntax, search semantics, case-insensitive flag, linear-time patterns accepted', () => {
    const r: Rule = { attribute: 'userId', operator: 're2', value: '^[[:alpha:]]+$' };
    expect(ev(r, { userId: 'AlphaBeta' })).toBe(true);
    expect(ev(r, { userId: 'Alpha1' })).toBe(false);
    expect(ev({ attribute: 'userId', operator: 're2', value: '\\bcat\\b' }, { userId: 'a cat b' })).toBe(true);
    expect(ev({ attribute: 'userId', operator: 're2', value: '^abc$', caseInsensitive: true }, { userId: 'AbC' })).toBe(true);
    expect(validateRule({ attribute: 'userId', operator: 're2', value: '.*a.*b' })).toEqual([]); // no backtracking
    expect(validateRule({ attribute: 'userId', operator: 're2', value: '^(a)\\1$' })[0]?.path).toBe('/value');
    expect(ev(r, {})).toBe(false);
  });

  it('string operators take several values and a case-insensitive flag', () => {
    const r: Rule = { attribute: 'attributes.email', operator: 'ends_with', values: ['@a.com', '@b.com'], caseInsensitive: true };
    expect(validateRule(r)).toEqual([]);
    expect(ev(r, { attributes: { email: 'x@B.COM' } })).toBe(true);
    expect(ev(r, { attributes: { email: 'x@c.com' } })).toBe(false);
    expect(validateRule({ attribute: 'region', operator: 'eq', value: 'x', caseInsensitive: true })[0]?.path).toBe('/caseInsensitive');
    expect(validateRule({ attribute: 'region', operator: 'contains', values: [1] })[0]?.path).toBe('/values/0');
  });

  it('inverted negates after the operator (missing attribute → true)', () => {
    const r: Rule = { attribute: 'region', operator: 'in', values: ['CN'], inverted: true };
    expect(ev(r, { region: 'CN' })).toBe(false);
    expect(ev(r, { region: 'SG' })).toBe(true);
    expect(ev(r, {})).toBe(true);
    expect(validateRule({ ...r, inverted: 'yes' } as unknown as Rule)[0]?.path).toBe('/inverted');
  });

  it('date_after / date_before are strict, time-zone aware, read currentTime from now', () => {
    const after: Rule = { attribute: 'currentTime', operator: 'date_after', value: '2022-01-29T13:00:00.000Z' };
    expect(ev(after, { now: new Date('2022-01-30T13:00:00Z') })).toBe(true);
    expect(ev(after, { now: new Date('2022-01-29T13:00:00Z') })).toBe(false);
    const before: Rule = { attribute: 'currentTime', operator: 'date_before', value: '2022-01-22T14:00:00.000+02:00' };
    expect(ev(before, { now: new Date('2022-01-22T11:30:00Z') })).toBe(true);
    expect(ev({ attribute: 'attributes.at', operator: 'date_before', value: '2030-01-01T00:00:00Z' }, { attributes: { at: '2029-12-31T23:00:00Z' } })).toBe(true);
    expect(validateRule({ ...after, value: 'tomorrow' })[0]?.path).toBe('/value');
  });

  it('semver_* use strict SemVer 2.0.0 ordering', () => {
    const gt: Rule = { attribute: 'attributes.v', operator: 'semver_gt', value: '2.0.0-alpha.1' };
    expect(ev(gt, { attributes: { v: '2.0.0-beta.1' } })).toBe(true);
    expect(ev(gt, { attributes: { v: '2.0.0' } })).toBe(true);
    expect(ev(gt, { attributes: { v: '1.9.9' } })).toBe(false);
    expect(ev(gt, { attributes: { v: 'v2.1.0' } })).toBe(false); // not SemVer
    expect(ev({ attribute: 'attributes.v', operator: 'semver_lte', value: '1.2.2' }, { attributes: { v: '1.2.2+build' } })).toBe(true);
    expect(ev({ attribute: 'attributes.v', operator: 'semver_lt', value: '2.0.0-alpha.10' }, { attributes: { v: '2.0.0-alpha.9' } })).toBe(true);
  });

  it('in_cidr matches IPv4, IPv6 and IPv4-mapped addresses', () => {
    const r: Rule = { attribute: 'remoteAddress', operator: 'in_cidr', values: ['160.33.0.0/16', '2001:db8::/32', '10.0.0.1'] };
    expect(validateRule(r)).toEqual([]);
    expect(ev(r, { remoteAddress: '160.33.0.33' })).toBe(true);
    expect(ev(r, { remoteAddress: '160.34.0.1' })).toBe(false);
    expect(ev(r, { remoteAddress: '2001:db8:0:1::42' })).toBe(true);
    expect(ev(r, { remoteAddress: '2001:db9::1' })).toBe(false);
    expect(ev(r, { remoteAddress: '::ffff:160.33.1.1' })).toBe(true);
    expect(ev(r, { remoteAddress: '10.0.0.1' })).toBe(true);
    expect(ev(r, { remoteAddress: 'nonsense' })).toBe(false);
    expect(ev(r, {})).toBe(false);
    expect(validateRule({ ...r, values: ['127.invalid'] })[0]?.path).toBe('/values/0');
    expect(validateRule({ ...r, values: ['::/129'] })[0]?.path).toBe('/values/0');
  });

  it('segments: in / not_in test crowd membership; other operators are refused', () => {
    const r: Rule = { attribute: 'segments', operator: 'in', values: ['beta'] };
    expect(ev(r, { segments: new Set(['beta', 'x']) })).toBe(true);
    expect(ev(r, { segments: new Set(['x']) })).toBe(false);
    expect(ev({ ...r, operator: 'not_in' }, {})).toBe(true);
    expect(validateRule({ attribute: 'segments', operator: 'eq', value: 'beta' })[0]?.path).toBe('/operator');
  });

  it('existing rule JSON keeps its meaning (regex stays JS RegExp with the safety budget)', () => {
    expect(validateRule({ attribute: 'userId', operator: 'regex', value: '.*a.*b' })[0]?.path).toBe('/value');
    expect(ev({ attribute: 'userId', operator: 'regex', value: '^u\\d+$' }, { userId: 'u12' })).toBe(true);
  });
});
