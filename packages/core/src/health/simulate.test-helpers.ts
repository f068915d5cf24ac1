/**
 * Test helpers: a seeded PRNG, a binomial sampler and a minute-by-minute release simulator that
 * drives {@link judgeStage} the way the server will (evaluate every minute, cumulative counts
 * since the stage began, the baseline over the same minutes).
 */
import { judgeStage } from './judge.js';
import { normalQuantile } from './stats.js';
import { resolveTemplate } from './template.js';
import type { ReleaseTemplate, ResolvedStage, VerdictDecision } from './types.js';

/** A seeded PRNG (xoshiro128** seeded through a splitmix-style hash), uniform in [0, 1). */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  const next32 = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = next32();
  let b = next32();
  let c = next32();
  let d = next32() | 1;
  return () => {
    // xoshiro128** step
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Binomial(n, p) by inversion for small means, a normal approximation for large ones. */
export function binomial(rng: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const mean = n * p;
  if (mean > 40) {
    const x = Math.round(mean + Math.sqrt(mean * (1 - p)) * normalQuantile(rng()));
    return Math.min(n, Math.max(0, x));
  }
  const u = rng();
  let k = 0;
  let pmf = (1 - p) ** n;
  let cdf = pmf;
  const ratio = p / (1 - p);
  while (u > cdf && k < n) {
    pmf *= ((n - k) / (k + 1)) * ratio;
    k += 1;
    cdf += pmf;
    if (pmf < 1e-300) break;
  }
  return k;
}

/** Traffic and true rates of one simulated release. */
export interface SimulationOptions {
  readonly template: ReleaseTemplate;
  /** Index of the stage to start at. */
  readonly startStage?: number;
  /** Index after which to stop (the run ends when that stage advances). */
  readonly lastStage?: number;
  /** Sessions per hour of the whole eligible fleet (percentage stages take their share). */
  readonly fleetSessionsPerHour: number;
  /** Sessions per hour of the whitelist and internal cohorts. */
  readonly smallCohortSessionsPerHour?: number;
  readonly baselineCrashRate: number;
  readonly candidateCrashRate: number;
  readonly baselineAnrRate: number;
  readonly candidateAnrRate: number;
  /** Stop after this many simulated minutes. */
  readonly maxMinutes: number;
  /** Distinct devices per session in a window (a device has 1/devicesPerSession sessions). */
  readonly devicesPerSession?: number;
  readonly rng: () => number;
}

/** What happened. */
export interface SimulationResult {
  readonly outcome: 'halted' | 'completed' | 'timeout';
  /** Index of the stage where the run ended. */
  readonly stageIndex: number;
  readonly stageName: string;
  readonly minutes: number;
  /** Candidate sessions over the whole run (all stages). */
  readonly sessionsExposed: number;
  /** Candidate sessions in the stage where it ended. */
  readonly sessionsInStage: number;
  readonly decisions: Readonly<Record<VerdictDecision, number>>;
  readonly haltedBy: readonly string[];
}

function sessionsPerMinute(stage: ResolvedStage, o: SimulationOptions): [number, number] {
  const fleet = o.fleetSessionsPerHour / 60;
  if (stage.kind === 'whitelist' || stage.kind === 'internal') {
    return [(o.smallCohortSessionsPerHour ?? 600) / 60, fleet];
  }
  const share = stage.kind === 'full' ? 1 : (stage.percent ?? 0) / 100;
  return [fleet * share, fleet * (1 - share)];
}

/**
 * Run one release through its template, one evaluation per simulated minute. Confirmations are
 * given at once (a human who always says yes); `advance` moves to the next stage and resets the
 * window.
 */
export function simulateRelease(o: SimulationOptions): SimulationResult {
  const stages = resolveTemplate(o.template);
  const last = o.lastStage ?? stages.length - 1;
  const perDevice = o.devicesPerSession ?? 0.5;
  const decisions: Record<VerdictDecision, number> = {
    advance: 0,
    await_confirmation: 0,
    hold: 0,
    halt: 0,
  };
  let index = o.startStage ?? 0;
  let minute = 0;
  let exposed = 0;
  let cs = 0;
  let cc = 0;
  let ca = 0;
  let bs = 0;
  let bc = 0;
  let ba = 0;
  let stageMinute = 0;
  let carryC = 0;
  let carryB = 0;
  for (;;) {
    const stage = stages[index] as ResolvedStage;
    if (minute >= o.maxMinutes) {
      return result('timeout', index, stage.name, cs, []);
    }
    const [perC, perB] = sessionsPerMinute(stage, o);
    carryC += perC;
    carryB += perB;
    const nC = Math.floor(carryC);
    const nB = Math.floor(carryB);
    carryC -= nC;
    carryB -= nB;
    cs += nC;
    exposed += nC;
    cc += binomial(o.rng, nC, o.candidateCrashRate);
    ca += binomial(o.rng, nC, o.candidateAnrRate);
    bs += nB;
    bc += binomial(o.rng, nB, o.baselineCrashRate);
    ba += binomial(o.rng, nB, o.baselineAnrRate);
    minute += 1;
    stageMinute += 1;
    const verdict = judgeStage({
      stage,
      minutesInStage: stageMinute,
      metricsAvailable: true,
      candidate: { sessions: cs, crashed: cc, anr: ca, devices: Math.floor(cs * perDevice) },
      ...(bs > 0
        ? { baseline: { sessions: bs, crashed: bc, anr: ba, devices: Math.floor(bs * perDevice) } }
        : {}),
    });
    decisions[verdict.decision] += 1;
    if (verdict.decision === 'halt') {
      const by = verdict.gates.filter((g) => g.status === 'fail').map((g) => g.gate);
      return result('halted', index, stage.name, cs, by);
    }
    if (verdict.decision === 'advance' || verdict.decision === 'await_confirmation') {
      if (index >= last) return result('completed', index, stage.name, cs, []);
      index += 1;
      stageMinute = 0;
      cs = cc = ca = bs = bc = ba = 0;
    }
  }

  function result(
    outcome: SimulationResult['outcome'],
    stageIndex: number,
    stageName: string,
    sessionsInStage: number,
    haltedBy: string[],
  ): SimulationResult {
    return {
      outcome,
      stageIndex,
      stageName,
      minutes: minute,
      sessionsExposed: exposed,
      sessionsInStage,
      decisions,
      haltedBy,
    };
  }
}

/** The median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
