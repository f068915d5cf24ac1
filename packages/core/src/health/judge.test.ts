import { describe, expect, it } from 'vitest';
import { evaluateBreakers, validateBreakerRules } from './breakers.js';
import { judgeStage } from './judge.js';
import { BUILTIN_TEMPLATES, resolveStage, STANDARD_TEMPLATE, validateTemplate } from './template.js';
import type { BreakerRule } from './types.js';

const onePct = resolveStage(STANDARD_TEMPLATE, 2);
const base = { sessions: 1_000_000, crashed: 2_000, anr: 1_000, devices: 400_000 };

describe('templates', () => {
  it('built-ins are valid', () => {
    for (const t of Object.values(BUILTIN_TEMPLATES)) expect(validateTemplate(t)).toEqual([]);
  });
  it('reports every problem with a JSON pointer', () => {
    expect(
      validateTemplate({
        name: '',
        stages: [
          { kind: 'percentage', percent: 120, minExposure: { sessions: -1, devices: 1, minutes: 1 } },
          { kind: 'whitelist', minExposure: { sessions: 1, devices: 1, minutes: 1 }, ceilings: { crashRate: 2, bogus: 1 } },
        ],
      }),
    ).toEqual([
      { path: '/name', message: 'must be a non-empty string' },
      { path: '/stages/0/percent', message: 'must be a number in (0, 100)' },
      { path: '/stages/0/minExposure/sessions', message: 'must be a non-negative integer' },
      { path: '/stages/1/kind', message: 'stages must go whitelist → internal → percentage → full' },
      { path: '/stages/1/ceilings/crashRate', message: 'must be a rate in (0, 1]' },
      { path: '/stages/1/ceilings/bogus', message: 'is not a known field' },
    ]);
  });
  it('resolves defaults: Play ceilings, comparison required on percentage stages only', () => {
    expect(onePct.ceilings.crashRate).toBe(0.0109);
    expect(onePct.ceilings.anrRate).toBe(0.0047);
    expect(onePct.comparison.required).toBe(true);
    expect(resolveStage(STANDARD_TEMPLATE, 1).comparison.required).toBe(false);
  });
});

describe('judgeStage', () => {
  it('advances a healthy stage with its exposure, and awaits confirmation where asked', () => {
    const v = judgeStage({
      stage: onePct,
      minutesInStage: 300,
      metricsAvailable: true,
      candidate: { sessions: 10_400, crashed: 21, anr: 10, devices: 3_900 },
      baseline: base,
    });
    expect(v.decision).toBe('advance');
    const internal = resolveStage(STANDARD_TEMPLATE, 1);
    const w = judgeStage({
      stage: internal,
      minutesInStage: 90,
      metricsAvailable: true,
      candidate: { sessions: 1_200, crashed: 1, anr: 0, devices: 80 },
    });
    expect(w.decision).toBe('await_confirmation');
  });
  it('small samples: 1 crash in 20 sessions holds, never halts', () => {
    const v = judgeStage({
      stage: onePct,
      minutesInStage: 5,
      metricsAvailable: true,
      candidate: { sessions: 20, crashed: 1, anr: 0, devices: 15 },
      baseline: base,
    });
    expect(v.decision).toBe('hold');
  });
  it('a ceiling halts when its Wilson lower bound is above it (3 of 50 at 1.09 %)', () => {
    const v = judgeStage({
      stage: resolveStage(STANDARD_TEMPLATE, 0),
      minutesInStage: 5,
      metricsAvailable: true,
      candidate: { sessions: 50, crashed: 3, anr: 0, devices: 10 },
    });
    expect(v.decision).toBe('halt');
    const g = v.gates.find((x) => x.gate === 'crash_ceiling');
    expect(g?.status).toBe('fail');
    expect(g?.numbers.lowerBound).toBeCloseTo(0.01214035616879798, 12);
  });
  it('a device model above 8 % with enough sessions halts; below the minimum it is not judged', () => {
    const candidate = { sessions: 5_000, crashed: 40, anr: 0, devices: 2_000, byDeviceModel: { 'SM-A105': { sessions: 300, crashed: 40 }, tiny: { sessions: 30, crashed: 30 } } };
    const v = judgeStage({ stage: onePct, minutesInStage: 60, metricsAvailable: true, candidate, baseline: base });
    expect(v.decision).toBe('halt');
    expect(v.gates.filter((g) => g.gate === 'device_model_crash_ceiling' && g.status === 'fail').map((g) => g.subject)).toEqual(['SM-A105']);
  });
  it('huge samples: a significant but tiny difference does not halt', () => {
    const v = judgeStage({
      stage: resolveStage(STANDARD_TEMPLATE, 5),
      minutesInStage: 900,
      metricsAvailable: true,
      candidate: { sessions: 10_000_000, crashed: 22_000, anr: 10_000, devices: 1_000_000 },
      baseline: { sessions: 10_000_000, crashed: 20_000, anr: 10_000, devices: 1_000_000 },
    });
    const g = v.gates.find((x) => x.gate === 'crash_vs_baseline');
    expect(g?.numbers.sequentialP).toBeLessThan(0.001);
    expect(g?.status).not.toBe('fail');
    expect(v.decision).not.toBe('halt');
  });
  it('no baseline: holds on a percentage stage', () => {
    const v = judgeStage({ stage: onePct, minutesInStage: 300, metricsAvailable: true, candidate: { sessions: 10_400, crashed: 21, anr: 10, devices: 3_900 } });
    expect(v.decision).toBe('hold');
    expect(v.gates.find((g) => g.gate === 'crash_vs_baseline')?.status).toBe('inconclusive');
  });
  it('invalid metrics hold', () => {
    const v = judgeStage({ stage: onePct, minutesInStage: 300, metricsAvailable: true, candidate: { sessions: 10, crashed: 11, anr: 0, devices: 3 }, baseline: base });
    expect(v.decision).toBe('hold');
  });
});

describe('circuit breakers', () => {
  const rules: BreakerRule[] = [
    { id: 'home', scope: 'module', target: 'home', metric: 'crash', threshold: 0.02, action: 'disable' },
    { id: 'pay', scope: 'package', target: 'pay', metric: 'anr', threshold: 0.01, action: 'halt_and_rollback' },
    { id: 'feed', scope: 'module', target: 'feed', metric: 'crash', threshold: 0.02, action: 'notify' },
  ];
  it('validates', () => {
    expect(validateBreakerRules(rules)).toEqual([]);
    expect(validateBreakerRules([{ ...rules[0], threshold: 0, action: 'explode' }, rules[0]])).toEqual([
      { path: '/0/threshold', message: 'must be a rate in (0, 1]' },
      { path: '/0/action', message: 'must be disable, halt_and_rollback or notify' },
      { path: '/1/id', message: 'duplicate rule id "home"' },
    ]);
  });
  it('fires only with enough sessions and a lower bound above the threshold; never without metrics', () => {
    const actions = evaluateBreakers(rules, {
      home: { sessions: 800, crashed: 60, anr: 0 },
      pay: { sessions: 20, crashed: 0, anr: 5 },
      feed: { sessions: 5_000, crashed: 500, anr: 0, available: false },
    });
    expect(actions.map((a) => [a.ruleId, a.action])).toEqual([['home', 'disable']]);
    expect(actions[0]?.numbers.lowerBound).toBeGreaterThan(0.02);
  });
});
