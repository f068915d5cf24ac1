/**
 * The proof of issue 5's health gates: the fleet simulator (tools/simulate) drives the real
 * server — child process, manual clock, HTTP only — with thousands of simulated devices.
 *
 * Sizing (≤ 90 s on a loaded 2-core machine): 2,000 devices, 12 sessions per device per module per
 * simulated hour, the `sim-small` template (1 % → 5 % → full, default gates; see SIM_TEMPLATE),
 * devices check every 2 h and flush every 2 h, an evaluation pass every 30 simulated minutes.
 * The candidate cohort sends every session; 2.5 % of the baseline (device, module) pairs send
 * theirs, enough for the ≥ 1,000 baseline sessions the comparison needs within the stage.
 *
 * (b) runs 50 healthy releases at once: 50 modules of one app, each an independent trial — its
 * own cohort (its own grayId, so an independent hash of the device ids), its own sessions (a
 * batch's header names only the module its sessions ran in, so a session counts for one release
 * and one baseline), its own crash draws; they only share the server, the clock and the fleet.
 * That is what a shared server must get right (50 concurrent policies, windows and baselines
 * kept apart), at the cost of one run. Each release is simulated for 2 h at 1 %: no gate may fire,
 * and for most of them the comparison runs (their baseline sample passes 1,000 sessions). Longer healthy runs are figures in
 * tools/simulate/README.md, not in `npm test`.
 */
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimulationOptions } from '../tools/simulate/src/simulate.js';

const FLEET = {
  devices: 2000,
  baselineCrashRate: 0.002,
  sessionsPerHour: 12,
  checkIntervalMinutes: 120,
  flushIntervalMinutes: 120,
  tickMinutes: 10,
  evaluateEveryMinutes: 30,
  baselineSample: 0.025,
  whitelist: 0,
  template: 'sim',
} satisfies Partial<SimulationOptions>;

describe('fleet simulator against the real server (health-gated releases)', () => {
  it('halts a bad release (0.6 % vs 0.2 %) at its first percentage stage and rolls it back for the devices that took it', async () => {
    const r = await runSimulation({ ...FLEET, releaseCrashRate: 0.006, seed: 11, maxMinutes: 48 * 60 });
    console.log(
      `[simulate] bad release: halted at ${r.haltedAtStage} after ${r.timeToHalt?.minutes} simulated minutes, ` +
        `${r.timeToHalt?.sessions} candidate sessions on ${r.devicesExposed} devices; ` +
        `rollback ${r.rollback?.toldToRollBack}/${r.rollback?.installers}; ${r.totals.wallSeconds} s`,
    );
    expect(r.halted).toBe(true);
    expect(r.haltedAtStage).toBe('1%');
    expect(r.maxPercentReached).toBeLessThanOrEqual(1);
    expect(r.decisions.some((d) => d.decision === 'advance')).toBe(false);
    const halt = r.decisions.find((d) => d.decision === 'halt');
    expect(halt?.reason).toMatch(/crash rate/);
    // Rollback: every device that installed it is told to go back to 1.0.0; nobody new gets it.
    expect(r.rollback).not.toBeNull();
    expect(r.rollback?.installers).toBeGreaterThan(0);
    expect(r.rollback?.toldToRollBack).toBe(r.rollback?.installers);
    expect(r.rollback?.othersOffered).toBe(0);
  });

  it('never halts any of 50 healthy releases (same crash rate as the baseline)', async () => {
    const r = await runSimulation({ ...FLEET, releaseCrashRate: 0.002, seed: 12, releases: 50, maxMinutes: 120 });
    const cand = r.releases.map((o) => o.sessionsExposed).sort((a, b) => a - b);
    const base = r.releases.map((o) => o.baselineSessions).sort((a, b) => a - b);
    const compared = r.releases.filter((o) => o.lastVerdict !== null && !/not compared/.test(o.lastVerdict.reason)).length;
    console.log(
      `[simulate] 50 healthy releases: ${r.halts} halts; candidate sessions median ${cand[25]} (min ${cand[0]}), ` +
        `baseline median ${base[25]}; crash comparison running for ${compared}/50 at the end; ${r.totals.wallSeconds} s`,
    );
    expect(r.releases).toHaveLength(50);
    expect(r.halts).toBe(0);
    expect(r.decisions.filter((d) => d.decision === 'halt')).toEqual([]);
    // Not vacuous: every release was exposed, and most were really compared with their baseline
    // at the end (the others' baseline sample was still under the 1,000 sessions the comparison
    // needs; seed 12 gives 33 of 50, deterministic — the run replays exactly).
    expect(cand[0]).toBeGreaterThan(0);
    expect(compared).toBeGreaterThanOrEqual(30);
  });

  it('holds a release with too little traffic instead of advancing it', async () => {
    const r = await runSimulation({ ...FLEET, devices: 500, sessionsPerHour: 2, releaseCrashRate: 0.002, seed: 13, maxMinutes: 8 * 60 });
    expect(r.halted).toBe(false);
    expect(r.maxPercentReached).toBe(1);
    const [only] = r.releases;
    expect(only?.lastVerdict?.decision).toBe('hold');
    expect(only?.lastVerdict?.reason).toMatch(/not enough exposure/);
    expect(r.decisions.every((d) => d.decision === 'hold')).toBe(true);
  });
});
