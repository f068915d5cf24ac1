import { describe, expect, it } from 'vitest';
import { compileConfigSet } from './compile.js';
import { findDependencyCycles } from './dependencies.js';
import type { ConfigItem, ConfigRule, EvalContext } from './types.js';
import { validateConfigItem, validateConfigSet } from './validate.js';

const item = (over: Partial<ConfigItem> & Pick<ConfigItem, 'key'>): ConfigItem => ({
  type: 'string',
  kind: 'config',
  enabled: true,
  defaultValue: 'default',
  rules: [],
  ...over,
});

const sw = (key: string, on: boolean, over: Partial<ConfigItem> = {}): ConfigItem => ({
  key,
  type: 'boolean',
  kind: 'switch',
  enabled: true,
  defaultValue: on,
  rules: [],
  ...over,
});

const huawei: ConfigRule = {
  id: 'huawei',
  when: { attribute: 'channel', operator: 'eq', value: 'huawei' },
  value: 'dedicated-huawei',
};

describe('dedicated vs generic (the Ctrip semantics)', () => {
  const set = compileConfigSet([
    item({
      key: 'home.banner',
      rules: [
        { id: 'g8', fromVersion: '8.0', value: 'generic-8.0' },
        huawei,
        { id: 'g83', fromVersion: '8.3', value: 'generic-8.3' },
        { id: 'g9', fromVersion: '9.0', value: 'generic-9.0' },
      ],
    }),
  ]);

  it('a client gets the dedicated config that matches it if there is one', () => {
    const e = set.evaluate('home.banner', { channel: 'huawei', appVersion: '7.0' });
    expect(e).toMatchObject({ value: 'dedicated-huawei', reason: 'TARGETING_MATCH', ruleId: 'huawei' });
  });

  it('otherwise the newest generic config whose version is at or below the client version', () => {
    expect(set.evaluate('home.banner', { channel: 'xiaomi', appVersion: '8.3.1' })).toMatchObject({
      value: 'generic-8.3',
      ruleId: 'g83',
    });
    expect(set.evaluate('home.banner', { appVersion: '8.3' }).value).toBe('generic-8.3'); // "at"
    expect(set.evaluate('home.banner', { appVersion: '8.2.9.9' }).value).toBe('generic-8.0');
    expect(set.evaluate('home.banner', { appVersion: '10.0' }).value).toBe('generic-9.0');
    expect(set.evaluate('home.banner', { appVersion: '8.3-beta' }).value).toBe('generic-8.0'); // pre-release < 8.3
  });

  it('when both match, only the dedicated one is delivered', () => {
    expect(set.evaluate('home.banner', { channel: 'huawei', appVersion: '9.5' })).toMatchObject({
      value: 'dedicated-huawei',
      ruleId: 'huawei',
    });
    const all = set.evaluateAll({ channel: 'huawei', appVersion: '9.5' });
    expect(all).toHaveLength(1);
    expect(all[0]?.value).toBe('dedicated-huawei');
  });

  it('no match → the default value (DEFAULT), no rules → STATIC', () => {
    expect(set.evaluate('home.banner', { appVersion: '7.9' })).toEqual({
      key: 'home.banner',
      value: 'default',
      reason: 'DEFAULT',
    });
    expect(set.evaluate('home.banner', {})).toMatchObject({ reason: 'DEFAULT' }); // no appVersion
    expect(set.evaluate('home.banner', { appVersion: 'garbage' })).toMatchObject({ reason: 'DEFAULT' });
    const plain = compileConfigSet([item({ key: 'k' })]);
    expect(plain.evaluate('k', {})).toEqual({ key: 'k', value: 'default', reason: 'STATIC' });
  });

  it('dedicated rules are tried in their order (first match wins)', () => {
    const s = compileConfigSet([
      item({
        key: 'k',
        rules: [
          { id: 'a', when: { attribute: 'platform', operator: 'eq', value: 'ios' }, value: 'A' },
          { id: 'b', when: { attribute: 'region', operator: 'eq', value: 'CN' }, value: 'B' },
        ],
      }),
    ]);
    expect(s.evaluate('k', { platform: 'ios', region: 'CN' }).ruleId).toBe('a');
    expect(s.evaluate('k', { platform: 'android', region: 'CN' }).ruleId).toBe('b');
  });

  it('equal fromVersion: the earlier rule wins', () => {
    const s = compileConfigSet([
      item({ key: 'k', rules: [{ id: 'x', fromVersion: '8.0', value: 'X' }, { id: 'y', fromVersion: '8.0.0', value: 'Y' }] }),
    ]);
    expect(s.evaluate('k', { appVersion: '8.1' }).ruleId).toBe('x');
  });
});

describe('switches, errors and reasons', () => {
  it('a switch that is off is DISABLED with false (or its offValue)', () => {
    const s = compileConfigSet([
      sw('kill', true, { enabled: false }),
      item({ key: 'cfg', enabled: false, offValue: 'off' }),
      item({ key: 'cfg2', enabled: false }),
    ]);
    expect(s.evaluate('kill', {})).toEqual({ key: 'kill', value: false, reason: 'DISABLED' });
    expect(s.evaluate('cfg', {})).toEqual({ key: 'cfg', value: 'off', reason: 'DISABLED' });
    expect(s.evaluate('cfg2', {}).value).toBe('default');
  });

  it('unknown key → FLAG_NOT_FOUND; expected type differs → TYPE_MISMATCH', () => {
    const s = compileConfigSet([sw('a', true)]);
    expect(s.evaluate('nope', {})).toMatchObject({ reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(s.evaluate('a', {}, { type: 'string' })).toMatchObject({ reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(s.evaluate('a', {}, { type: 'boolean' })).toMatchObject({ value: true, reason: 'STATIC' });
    expect(s.has('a')).toBe(true);
    expect(s.keys).toEqual(['a']);
  });

  it('an invalid item evaluates to ERROR/GENERAL with its default instead of throwing', () => {
    const bad = { ...sw('bad', true), rules: [{ id: 'r', fromVersion: 'x', value: true }] };
    const e = compileConfigSet([bad]).evaluate('bad', {});
    expect(e).toMatchObject({ reason: 'ERROR', errorCode: 'GENERAL', value: true });
    expect(e.errorDetails).toMatch(/fromVersion/);
  });

  it('a split without a stickiness key → TARGETING_KEY_MISSING unless only one arm can win', () => {
    const split = (weights: number[]): ConfigItem =>
      item({
        key: `s${weights.join('-')}`,
        rules: [
          {
            id: 'r',
            when: { all: [] },
            split: { variants: weights.map((w, i) => ({ name: `v${i}`, value: `V${i}`, weight: w })) },
          },
        ],
      });
    const s = compileConfigSet([split([1, 1]), split([0, 5])]);
    expect(s.evaluate('s1-1', {})).toMatchObject({ reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING', value: 'default' });
    expect(s.evaluate('s0-5', {})).toMatchObject({ reason: 'SPLIT', variant: 'v1', value: 'V1' });
    expect(s.evaluate('s1-1', { deviceId: 'd' })).toMatchObject({ reason: 'SPLIT' });
  });

  it('a fixed value may carry a variant name', () => {
    const s = compileConfigSet([item({ key: 'k', rules: [{ ...huawei, variant: 'dedicated:huawei' }] })]);
    expect(s.evaluate('k', { channel: 'huawei' }).variant).toBe('dedicated:huawei');
  });

  it('segments (crowds) are tested by membership', () => {
    const s = compileConfigSet([
      item({
        key: 'k',
        rules: [{ id: 'beta', when: { attribute: 'segments', operator: 'in', values: ['beta', 'staff'] }, value: 'B' }],
      }),
    ]);
    expect(s.evaluate('k', { segments: new Set(['staff']) }).value).toBe('B');
    expect(s.evaluate('k', { segments: new Set(['other']) }).value).toBe('default');
    expect(s.evaluate('k', {}).value).toBe('default');
  });

  it('rollout gates fall through to the next rule', () => {
    const s = compileConfigSet([
      item({
        key: 'k',
        rules: [
          { id: 'none', when: { all: [] }, rollout: { percent: 0 }, value: 'never' },
          { id: 'all', when: { all: [] }, rollout: { percent: 100 }, value: 'everyone' },
        ],
      }),
    ]);
    expect(s.evaluate('k', { deviceId: 'd1' }).ruleId).toBe('all');
    expect(s.evaluate('k', {}).ruleId).toBe('all'); // 100% admits keyless devices
  });
});

describe('dependencies', () => {
  const family = (on: boolean, enabled = true): ConfigItem => sw('pkg.family', on, { enabled });
  const child = (dep: ConfigItem['dependsOn']): ConfigItem => sw('pkg.login', true, { dependsOn: dep });

  it('a child is DISABLED when its parent is off, on when the parent is on', () => {
    expect(compileConfigSet([family(true), child([{ key: 'pkg.family' }])]).evaluate('pkg.login', {}).value).toBe(true);
    expect(compileConfigSet([family(false), child([{ key: 'pkg.family' }])]).evaluate('pkg.login', {})).toEqual({
      key: 'pkg.login',
      value: false,
      reason: 'DISABLED',
    });
    expect(compileConfigSet([family(true, false), child([{ key: 'pkg.family' }])]).evaluate('pkg.login', {}).reason).toBe(
      'DISABLED',
    );
  });

  it('enabled: false requires the parent off; an unknown parent is never satisfied', () => {
    expect(compileConfigSet([family(false), child([{ key: 'pkg.family', enabled: false }])]).evaluate('pkg.login', {}).value).toBe(true);
    expect(compileConfigSet([child([{ key: 'ghost' }])]).evaluate('pkg.login', {}).reason).toBe('DISABLED');
  });

  it('variants: the parent must have evaluated to one of them', () => {
    const parent = item({
      key: 'exp',
      rules: [{ id: 'r', when: { all: [] }, split: { variants: [{ name: 'A', value: 'a', weight: 1 }] } }],
    });
    const mk = (variants: string[]) => compileConfigSet([parent, child([{ key: 'exp', variants }])]);
    expect(mk(['A']).evaluate('pkg.login', { deviceId: 'd' }).value).toBe(true);
    expect(mk(['B']).evaluate('pkg.login', { deviceId: 'd' }).value).toBe(false);
    expect(mk([]).evaluate('pkg.login', { deviceId: 'd' }).value).toBe(true);
  });

  it('transitive chains are followed; evaluateAll agrees with evaluate', () => {
    const items = [sw('c', true, { dependsOn: [{ key: 'b' }] }), sw('b', true, { dependsOn: [{ key: 'a' }] }), sw('a', false)];
    const set = compileConfigSet(items);
    expect(set.evaluate('c', {}).reason).toBe('DISABLED');
    expect(set.evaluateAll({})).toEqual(['c', 'b', 'a'].map((k) => set.evaluate(k, {})));
    const on = compileConfigSet([items[0] as ConfigItem, items[1] as ConfigItem, sw('a', true)]);
    expect(on.evaluate('c', {}).value).toBe(true);
    expect(compileConfigSet(items.slice(0, 2).concat(sw('a', true)), { transitiveDependencies: false }).evaluate('c', {}).reason).toBe(
      'DISABLED',
    );
  });

  it('cycles are found, rejected by validation, and evaluate DISABLED', () => {
    const items = [
      sw('a', true, { dependsOn: [{ key: 'b' }] }),
      sw('b', true, { dependsOn: [{ key: 'c' }] }),
      sw('c', true, { dependsOn: [{ key: 'a' }] }),
      sw('d', true, { dependsOn: [{ key: 'a' }] }),
      sw('self', true, { dependsOn: [{ key: 'self' }] }),
    ];
    expect(findDependencyCycles(items)).toEqual([['a', 'b', 'c'], ['self']]);
    const issues = validateConfigSet(items);
    expect(issues.map((i) => i.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/dependency cycle: a → b → c → a/), expect.stringMatching(/itself/)]),
    );
    const set = compileConfigSet(items);
    for (const k of ['a', 'b', 'c', 'd', 'self']) expect(set.evaluate(k, {}).reason).toBe('DISABLED');
    expect(findDependencyCycles([sw('x', true), sw('y', true, { dependsOn: [{ key: 'x' }] })])).toEqual([]);
  });
});

describe('validation', () => {
  const ok = item({ key: 'k' });

  it('accepts a valid item', () => {
    expect(validateConfigItem(ok)).toEqual([]);
    expect(validateConfigItem(sw('s', false))).toEqual([]);
  });

  it('rejects values that do not match the declared type', () => {
    expect(validateConfigItem({ ...ok, type: 'integer', defaultValue: 1.5 })).toEqual([
      { path: '/defaultValue', message: 'expected an integer, got 1.5' },
    ]);
    expect(validateConfigItem({ ...ok, type: 'float', defaultValue: Number.NaN })[0]?.path).toBe('/defaultValue');
    expect(validateConfigItem({ ...ok, offValue: 3 })[0]?.path).toBe('/offValue');
    expect(validateConfigItem({ ...ok, rules: [{ id: 'r', fromVersion: '1.0', value: true }] })[0]?.path).toBe('/rules/0/value');
    expect(
      validateConfigItem({
        ...ok,
        rules: [{ id: 'r', when: { all: [] }, split: { variants: [{ name: 'a', value: 1, weight: 1 }] } }],
      })[0]?.path,
    ).toBe('/rules/0/split/variants/0/value');
    expect(validateConfigItem({ ...ok, type: 'json', defaultValue: { a: [1, { b: null }] } })).toEqual([]);
    expect(validateConfigItem({ ...ok, type: 'json', defaultValue: { d: new Date() } })[0]?.path).toBe('/defaultValue');
    expect(validateConfigItem({ ...ok, kind: 'switch' })[0]).toEqual({ path: '/kind', message: 'a switch is a boolean item, this one is string' });
  });

  it('rejects unknown operators, unknown segments, bad regex and CIDR with pointers', () => {
    const when = (w: unknown) => validateConfigItem({ ...ok, rules: [{ id: 'r', when: w, value: 'x' }] }, { segments: new Set(['beta']) });
    expect(when({ attribute: 'channel', operator: 'like', value: 'x' })[0]?.path).toBe('/rules/0/when/operator');
    expect(when({ attribute: 'segments', operator: 'in', values: ['beta', 'gamma'] })).toEqual([
      { path: '/rules/0/when/values/1', message: 'unknown segment "gamma"' },
    ]);
    expect(when({ attribute: 'userId', operator: 're2', value: '(?=a)' })[0]?.message).toMatch(/invalid RE2 pattern/);
    expect(when({ attribute: 'remoteAddress', operator: 'in_cidr', values: ['10.0.0.0/33'] })[0]?.path).toBe(
      '/rules/0/when/values/0',
    );
    expect(when({ attribute: 'currentTime', operator: 'date_after', value: '2026-01-01' })[0]?.message).toMatch(/RFC 3339/);
    expect(when({ attribute: 'attributes.v', operator: 'semver_gt', value: 'v1.0.0' })[0]?.message).toMatch(/SemVer/);
  });

  it('rejects malformed rules, weights and dependencies', () => {
    const rules = (r: unknown[]) => validateConfigItem({ ...ok, rules: r }).map((i) => i.path);
    expect(rules([{ id: 'r', value: 'x' }])).toEqual(['/rules/0']);
    expect(rules([{ id: 'r', when: { all: [] }, fromVersion: '1', value: 'x' }])).toEqual(['/rules/0']);
    expect(rules([{ id: 'r', fromVersion: '1' }])).toEqual(['/rules/0']);
    expect(rules([{ id: 'r', fromVersion: '1', value: 'x' }, { id: 'r', fromVersion: '2', value: 'y' }])).toEqual(['/rules/1/id']);
    const split = (variants: unknown[], extra = {}) => rules([{ id: 'r', fromVersion: '1', split: { variants, ...extra } }]);
    expect(split([{ name: 'a', value: 'x', weight: -1 }])).toEqual(['/rules/0/split/variants/0/weight', '/rules/0/split/variants']);
    expect(split([{ name: 'a', value: 'x', weight: 0 }])).toEqual(['/rules/0/split/variants']);
    expect(split([{ name: 'a', value: 'x', weight: 1.5 }], { unleashCompatible: true })).toEqual(['/rules/0/split/variants/0/weight', '/rules/0/split/variants']);
    expect(split([{ name: 'a', value: 'x', weight: 1 }, { name: 'a', value: 'y', weight: 1 }])).toEqual(['/rules/0/split/variants/1/name']);
    expect(split([{ name: 'a', value: 'x', weight: 1 }], { stickiness: 'segments' })).toEqual(['/rules/0/split/stickiness']);
    expect(rules([{ id: 'r', fromVersion: '1', value: 'x', rollout: { percent: 12.345 } }])).toEqual(['/rules/0/rollout/percent']);
    expect(validateConfigItem({ ...ok, dependsOn: [{ key: 'other' }] }, { keys: new Set(['k']) })[0]?.message).toBe('unknown item "other"');
    expect(validateConfigItem({ ...ok, extra: 1 })[0]?.path).toBe('/extra');
    expect(validateConfigItem(null)[0]?.path).toBe('');
    expect(validateConfigSet([ok, ok]).map((i) => i.message)).toEqual(['duplicate key "k"']);
  });
});

describe('evaluateAll', () => {
  it('returns one evaluation per item in input order, equal to evaluate', () => {
    const items = [
      item({ key: 'a', rules: [huawei] }),
      sw('b', true),
      item({ key: 'c', type: 'integer', defaultValue: 1, rules: [{ id: 'g', fromVersion: '2', value: 2 }] }),
    ];
    const set = compileConfigSet(items);
    const ctx: EvalContext = { channel: 'huawei', appVersion: '2.1', deviceId: 'x' };
    expect(set.evaluateAll(ctx)).toEqual(items.map((i) => set.evaluate(i.key, ctx)));
  });
});
