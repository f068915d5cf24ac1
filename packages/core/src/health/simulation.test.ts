/**
 * Invariants of the health engine under simulation: minute-by-minute evaluation, seeded, with
 * the standard template and realistic traffic (a fleet of 200,000 sessions/hour, so 2,000/hour
 * at the 1 % stage). Numbers observed with these seeds are in the test names and README.
 */
import { describe, expect, it } from 'vitest';
import { decisionRank, judgeStage } from './judge.js';
import { createRng, median, simulateRelease } from './simulate.test-helpers.js';
import { resolveStage, STANDARD_TEMPLATE } from './template.js';
import type { CohortMetrics } from './types.js';

const FLEET = 200_000;
const HEALTHY = {
  baselineCrashRate: 0.002,
  candidateCrashRate: 0.002,
  baselineAnrRate: 0.001,
  candidateAnrRate: 0.001,
};

describe('health simulation (standard template, minute-by-minute)', () => {
  it('(a) healthy releases (0.2 % crash, same as baseline): at most the planned 0.4 % halts in 500 releases through 1 % → 5 % (observed 1, an ANR comparison at 5 %), 0 in 100 through 1 % → 50 %', { timeout: 30_000 }, () => {
    // Planned false-halt rate: ≤ α = 0.001 per metric per stage (always-valid test), i.e. ≤ 0.4 %
    // of releases over 1 % → 5 % (2 stages × 2 metrics) and ≤ 0.8 % over four stages; the
    // ceilings (Wilson bound at α = 0.001, far above 0.2 %) add almost nothing.
    const rng = createRng(20_240_501);
    const short = [];
    for (let i = 0; i < 500; i++) {
      short.push(
        simulateRelease({ template: STANDARD_TEMPLATE, startStage: 2, lastStage: 3, fleetSessionsPerHour: FLEET, maxMinutes: 5 * 1440, rng, ...HEALTHY }),
      );
    }
    const halted = short.filter((r) => r.outcome === 'halted');
    expect(halted.length).toBeLessThanOrEqual(0.004 * 500);
    expect(halted.length).toBe(1); // seed 20240501: one ANR-comparison halt at 5 % (0.2 %)
    expect(short.every((r) => r.outcome !== 'timeout')).toBe(true);
    const long = [];
    for (let i = 0; i < 100; i++) {
      long.push(
        simulateRelease({ template: STANDARD_TEMPLATE, startStage: 2, lastStage: 5, fleetSessionsPerHour: FLEET, maxMinutes: 7 * 1440, rng, ...HEALTHY }),
      );
    }
    expect(long.filter((r) => r.outcome === 'halted').length).toBeLessThanOrEqual(0.008 * 100);
    expect(long.every((r) => r.outcome !== 'timeout')).toBe(true);
    // Observed with this seed: a median of about 27 simulated hours from 1 % to the end of 50 %.
    expect(median(long.map((r) => r.minutes))).toBeGreaterThan(20 * 60);
  });

  it('(b) a bad release (0.6 % vs 0.2 %) is halted in its first percentage stage (1 %) in ≥ 99 % of 500 runs; median ≈ 3,000 sessions (≈ 90 min) exposed before halt', { timeout: 30_000 }, () => {
    const rng = createRng(7);
    const runs = [];
    for (let i = 0; i < 500; i++) {
      runs.push(
        simulateRelease({
          template: STANDARD_TEMPLATE,
          startStage: 2,
          lastStage: 3,
          fleetSessionsPerHour: FLEET,
          maxMinutes: 2 * 1440,
          rng,
          ...HEALTHY,
          candidateCrashRate: 0.006,
        }),
      );
    }
    const inFirst = runs.filter((r) => r.outcome === 'halted' && r.stageIndex === 2);
    expect(inFirst.length / runs.length).toBeGreaterThanOrEqual(0.99);
    expect(runs.some((r) => r.stageIndex > 2)).toBe(false); // never advanced past 1 %
    const sessions = median(inFirst.map((r) => r.sessionsInStage));
    // Seed 7: median 3,000 sessions (90 simulated minutes); the 1 % stage needs 10,000 to advance.
    expect(sessions).toBeGreaterThan(1_000);
    expect(sessions).toBeLessThan(5_000);
  });

  it('(c) too little traffic (30 sessions/hour at 1 %, three days): every verdict is hold — never advance, never halt', { timeout: 30_000 }, () => {
    const rng = createRng(99);
    for (let i = 0; i < 10; i++) {
      const r = simulateRelease({
        template: STANDARD_TEMPLATE,
        startStage: 2,
        lastStage: 2,
        fleetSessionsPerHour: 3_000,
        maxMinutes: 3 * 1440,
        rng,
        ...HEALTHY,
      });
      expect(r.outcome).toBe('timeout');
      expect(r.decisions.halt + r.decisions.advance + r.decisions.await_confirmation).toBe(0);
    }
  });

  it('(d) metrics unavailable: hold, whatever numbers come with it', () => {
    const stage = resolveStage(STANDARD_TEMPLATE, 2);
    const awful: CohortMetrics = { sessions: 50_000, crashed: 5_000, anr: 5_000, devices: 20_000 };
    const base: CohortMetrics = { sessions: 500_000, crashed: 1_000, anr: 500, devices: 100_000 };
    for (const candidate of [awful, undefined]) {
      const v = judgeStage({
        stage,
        minutesInStage: 600,
        metricsAvailable: false,
        ...(candidate === undefined ? {} : { candidate }),
        baseline: base,
      });
      expect(v.decision).toBe('hold');
    }
    expect(judgeStage({ stage, minutesInStage: 600, metricsAvailable: true, baseline: base }).decision).toBe('hold');
  });

  it('(e) monotonic: a worse candidate never gets a better verdict than a better one with the same exposure (3,000 random pairs)', () => {
    const rng = createRng(5);
    const int = (n: number): number => Math.floor(rng() * n);
    const stages = STANDARD_TEMPLATE.stages.map((_, i) => resolveStage(STANDARD_TEMPLATE, i));
    for (let i = 0; i < 3_000; i++) {
      const stage = stages[int(stages.length)]!;
      const sessions = int(10) < 3 ? int(200) : int(150_000);
      const crashed = int(Math.max(1, Math.floor(sessions * 0.02)));
      const anr = int(Math.max(1, Math.floor(sessions * 0.01)));
      const better: CohortMetrics = {
        sessions,
        crashed: Math.min(crashed, sessions),
        anr,
        devices: Math.floor(sessions / 2),
        byDeviceModel: { pixel: { sessions: Math.floor(sessions / 3), crashed: Math.min(Math.floor(crashed / 3), Math.floor(sessions / 3)) } },
      };
      const extraC = int(40);
      const extraA = int(20);
      const worse: CohortMetrics = {
        ...better,
        crashed: Math.min(sessions, better.crashed + extraC),
        anr: better.anr + extraA,
        byDeviceModel: { pixel: { sessions: Math.floor(sessions / 3), crashed: Math.min(Math.floor(sessions / 3), Math.floor(crashed / 3) + extraC) } },
      };
      const nb = int(10) < 2 ? int(2_000) : int(2_000_000);
      const baseline: CohortMetrics = { sessions: nb, crashed: int(Math.max(1, Math.floor(nb * 0.004))), anr: int(Math.max(1, Math.floor(nb * 0.002))), devices: Math.floor(nb / 2) };
      const common = { stage, minutesInStage: int(3_000), metricsAvailable: true, baseline };
      const vb = judgeStage({ ...common, candidate: better });
      const vw = judgeStage({ ...common, candidate: worse });
      expect(decisionRank(vw.decision), JSON.stringify({ stage: stage.name, better, worse, baseline })).toBeLessThanOrEqual(decisionRank(vb.decision));
    }
  });
});
