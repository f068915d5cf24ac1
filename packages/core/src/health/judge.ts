/**
 * Judging one stage of a running release: {@link judgeStage}.
 *
 * Gates, in the reference's order (§0.1, §1.5): metrics available → minimum exposure → absolute
 * ceilings (crash, ANR, per device model) → comparison with the concurrent baseline (crash, ANR).
 * Any `fail` halts; otherwise any `inconclusive` holds; otherwise the stage advances (or waits
 * for a human where it asks). No data, too little data or bad data always hold — they can
 * neither advance nor halt a release.
 *
 * **Small samples.** A ceiling halts only when the Wilson lower bound of the rate, at one-sided
 * α = 0.001 (z ≈ 3.09), is above it and the stage has ≥ 50 sessions: 1 crash in 20 sessions
 * (5 % observed) gives a lower bound of 0.44 % and does not halt; 3 in 50 (6 %) gives 1.21 % and
 * halts the crash ceiling. Between "observed above the ceiling" and "significantly above" the
 * gate is inconclusive (hold).
 *
 * **Repeated looks.** The engine is evaluated every minute, indefinitely; a fixed-sample test
 * repeated like that inflates its α towards 1. The baseline comparison therefore decides with an
 * always-valid sequential test (a Beta-mixture likelihood ratio on the conditional binomial of
 * the events, see {@link sequentialRateTest}): the probability that a candidate no worse than
 * its baseline is *ever* halted by the gate during a stage is ≤ α, however often it is
 * evaluated, and the test is exact with a handful of events, where a z-statistic is badly skewed.
 * This is the reference's "alpha-spending, mSPRT … or a much stricter α such as 0.001 for
 * early-stop failure" (§1.4), and what GrowthBook's sequential Safe Rollouts do (§1.2); the pooled
 * two-proportion z and its fixed-sample p-value are reported alongside for people. Advancing uses
 * a nominal one-sided 95 % non-inferiority bound (§1.5.2: "PASS only when … the upper CI bound of
 * (canary − baseline) is below the tolerance"): a false pass only lets a barely-worse release
 * reach the next stage, where it is judged again on more data.
 */
import { normalQuantile, sequentialRateTest, twoProportionZTest, wilsonInterval } from './stats.js';
import type {
  CeilingPolicy,
  CohortMetrics,
  ComparisonPolicy,
  GateName,
  GateResult,
  ResolvedStage,
  StageJudgementInput,
  Verdict,
  VerdictDecision,
} from './types.js';

/** Φ⁻¹(1 − α), memoised: the same few levels are used every minute. */
const zCache = new Map<number, number>();
function upperZ(alpha: number): number {
  let z = zCache.get(alpha);
  if (z === undefined) {
    z = normalQuantile(1 - alpha);
    if (zCache.size < 64) zCache.set(alpha, z);
  }
  return z;
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;

/**
 * Why a cohort's counts are unusable, or `undefined` when they are fine: every count must be a
 * non-negative integer and crashed sessions cannot exceed sessions.
 *
 * @example
 * cohortMetricsProblem({ sessions: 10, crashed: 11, anr: 0, devices: 3 }); // 'crashed (11) exceeds sessions (10)'
 */
export function cohortMetricsProblem(m: CohortMetrics): string | undefined {
  for (const key of ['sessions', 'crashed', 'anr', 'devices'] as const) {
    if (!isCount(m[key])) return `${key} is not a non-negative integer`;
  }
  if (m.crashed > m.sessions) return `crashed (${m.crashed}) exceeds sessions (${m.sessions})`;
  if (m.byDeviceModel !== undefined) {
    for (const [model, d] of Object.entries(m.byDeviceModel)) {
      if (!isCount(d.sessions) || !isCount(d.crashed) || (d.anr !== undefined && !isCount(d.anr))) {
        return `device model "${model}" has a count that is not a non-negative integer`;
      }
      if (d.crashed > d.sessions) return `device model "${model}" has more crashes than sessions`;
    }
  }
  return undefined;
}

const pctText = (r: number): string => `${(r * 100).toFixed(r !== 0 && r < 0.001 ? 3 : 2)}%`;
/** 12345 → '12,345' (hand-rolled: `toLocaleString` is slow, and this runs every minute). */
const intText = (n: number): string => {
  const s = String(Math.round(n));
  if (s.length <= 3) return s;
  let i = s.length % 3 || 3;
  let out = s.slice(0, i);
  for (; i < s.length; i += 3) out += `,${s.slice(i, i + 3)}`;
  return out;
};
const pText = (p: number): string => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));
const zText = (z: number): string => (Number.isFinite(z) ? z.toFixed(2) : String(z));

/** A gate result with its message. */
function gateResult(result: Omit<GateResult, 'message'>, message: () => string): GateResult {
  return { ...result, message: message() };
}

/**
 * One absolute ceiling: `fail` when the stage has ≥ `minSessions` sessions and the Wilson lower
 * bound at one-sided `haltAlpha` exceeds the ceiling; `pass` when the observed rate is at or
 * under it; `inconclusive` in between.
 */
function ceilingGate(
  gate: GateName,
  label: string,
  events: number,
  sessions: number,
  ceiling: number,
  minSessions: number,
  policy: CeilingPolicy,
  subject?: string,
): GateResult {
  const z = upperZ(policy.haltAlpha);
  const observed = sessions > 0 ? events / sessions : 0;
  const { lower } = wilsonInterval(events, sessions, z);
  const numbers = {
    observed,
    threshold: ceiling,
    lowerBound: lower,
    sessions,
    events,
    alpha: policy.haltAlpha,
    requiredSessions: minSessions,
  };
    const head = (): string => `${label}${subject === undefined ? '' : ` on ${subject}`} ${pctText(observed)} (${intText(events)} of ${intText(sessions)} sessions)`;
  const base = { gate, numbers, ...(subject === undefined ? {} : { subject }) };
  if (sessions >= minSessions && lower > ceiling) {
    return gateResult(
{
      ...base,
      status: 'fail',
    }, () => `${head()}: even its lower bound ${pctText(lower)} is above the ${pctText(ceiling)} ceiling`);
  }
  if (observed <= ceiling) {
    return gateResult({ ...base, status: 'pass' }, () => `${head()} is within the ${pctText(ceiling)} ceiling`);
  }
  const why =
    sessions < minSessions
      ? `too few sessions to judge (need ${intText(minSessions)})`
      : `not yet significant (lower bound ${pctText(lower)})`;
  return gateResult(
{
    ...base,
    status: 'inconclusive',
  }, () => `${head()} is above the ${pctText(ceiling)} ceiling but ${why}`);
}

function deviceModelGates(
  gate: 'device_model_crash_ceiling' | 'device_model_anr_ceiling',
  candidate: CohortMetrics,
  policy: CeilingPolicy,
): GateResult[] {
  const label = gate === 'device_model_crash_ceiling' ? 'crash rate' : 'ANR rate';
  const minSessions = Math.max(policy.deviceModelMinSessions, policy.minSessions);
  const out: GateResult[] = [];
  let judged = 0;
  for (const [model, m] of Object.entries(candidate.byDeviceModel ?? {})) {
    const events = gate === 'device_model_crash_ceiling' ? m.crashed : m.anr;
    if (events === undefined || m.sessions < minSessions) continue;
    judged += 1;
    const r = ceilingGate(gate, label, events, m.sessions, policy.deviceModelRate, minSessions, policy, model);
    if (r.status !== 'pass') out.push(r);
  }
  if (out.length > 0) return out;
  if (judged === 0) {
    return [
      gateResult(
{
        gate,
        status: 'skipped',
        numbers: { threshold: policy.deviceModelRate, requiredSessions: minSessions },
      }, () => `no device model has ${intText(minSessions)} sessions yet; per-model ${label} not judged`),
    ];
  }
  return [
    gateResult(
{
      gate,
      status: 'pass',
      numbers: { threshold: policy.deviceModelRate, requiredSessions: minSessions, devices: judged },
    }, () => `all ${judged} device models with ≥ ${intText(minSessions)} sessions are within the ${pctText(policy.deviceModelRate)} ${label} ceiling`),
  ];
}

/**
 * The comparison of one metric against the concurrent baseline.
 *
 * - `fail` when the always-valid sequential p-value is ≤ α (the candidate's rate differs) *and*
 *   the observed excess is above the minimum effect max(minRelativeIncrease × baseline rate,
 *   minAbsoluteIncrease) — so only a worse candidate halts, and tiny differences on huge samples
 *   never do (Kayenta's "CI bound and effect size" rule, §1.3).
 * - `pass` when the upper one-sided (1 − passAlpha) bound of the excess (Newcombe's hybrid score
 *   interval, which behaves at zero events) is at or under max(nonInferiorityMargin × baseline
 *   rate, minAbsoluteIncrease).
 * - `inconclusive` otherwise, or when the baseline is missing or too small (`skipped` instead
 *   when the stage does not require the comparison; a `fail` still halts).
 */
function comparisonGate(
  gate: 'crash_vs_baseline' | 'anr_vs_baseline',
  candidate: CohortMetrics,
  baseline: CohortMetrics | undefined,
  policy: ComparisonPolicy,
): GateResult {
  const label = gate === 'crash_vs_baseline' ? 'crash rate' : 'ANR rate';
  const pick = (m: CohortMetrics): number => (gate === 'crash_vs_baseline' ? m.crashed : m.anr);
  if (
    baseline === undefined ||
    cohortMetricsProblem(baseline) !== undefined ||
    baseline.sessions < policy.minBaselineSessions
  ) {
    const why =
      baseline === undefined
        ? 'no baseline metrics'
        : cohortMetricsProblem(baseline) ?? `baseline has ${intText(baseline.sessions)} sessions`;
    return {
      gate,
      status: policy.required ? 'inconclusive' : 'skipped',
      numbers: {
        baselineSessions: baseline?.sessions ?? 0,
        requiredSessions: policy.minBaselineSessions,
      },
      message: `${label} not compared: ${why} (need ${intText(policy.minBaselineSessions)} baseline sessions)${policy.required ? '' : '; not required at this stage'}`,
    };
  }
  const nc = candidate.sessions;
  const nb = baseline.sessions;
  const xc = Math.min(pick(candidate), nc);
  const xb = Math.min(pick(baseline), nb);
  const pb = xb / nb;
  const margin = Math.max(policy.minRelativeIncrease * pb, policy.minAbsoluteIncrease);
  const niMargin = Math.max(policy.nonInferiorityMargin * pb, policy.minAbsoluteIncrease);
  if (nc === 0) {
    return gateResult(
{
      gate,
      status: policy.required ? 'inconclusive' : 'skipped',
      numbers: { sessions: 0, baselineSessions: nb, baselineRate: pb },
    }, () => `${label} not compared: the candidate has no sessions yet`);
  }
  const t = twoProportionZTest(xc, nc, xb, nb);
  const seq = sequentialRateTest(xc, nc, xb, nb, { priorRatio: policy.priorRatio });
  const zPass = upperZ(policy.passAlpha);
  const wc = wilsonInterval(xc, nc, zPass);
  const wb = wilsonInterval(xb, nb, zPass);
  const pc = t.p1;
  const difference = pc - pb;
  const upper = difference + Math.sqrt((wc.upper - pc) ** 2 + (pb - wb.lower) ** 2);
  const lower = difference - Math.sqrt((pc - wc.lower) ** 2 + (wb.upper - pb) ** 2);
  const numbers = {
    observed: pc,
    baselineRate: pb,
    sessions: nc,
    events: xc,
    baselineSessions: nb,
    baselineEvents: xb,
    difference,
    ratio: pb > 0 ? pc / pb : pc > 0 ? Number.POSITIVE_INFINITY : 1,
    z: t.z,
    pValue: t.pGreater,
    sequentialP: seq.pAlwaysValid,
    alpha: policy.alpha,
    margin,
    nonInferiorityMargin: niMargin,
    lowerBound: lower,
    upperBound: upper,
    threshold: margin,
  };
  const head = (): string => `${label} ${pctText(pc)} (${intText(xc)}/${intText(nc)}) vs baseline ${pctText(pb)} (${intText(xb)}/${intText(nb)})`;
  const significant = seq.pAlwaysValid <= policy.alpha;
  if (significant && difference > margin) {
    return gateResult(
{
      gate,
      status: 'fail',
      numbers,
    }, () => `${head()}: significantly worse (sequential p ${pText(seq.pAlwaysValid)} ≤ α ${policy.alpha}; z ${zText(t.z)}) by more than the ${pctText(margin)} minimum effect`);
  }
  if (upper <= niMargin) {
    return gateResult(
{
      gate,
      status: 'pass',
      numbers,
    }, () => `${head()}: not worse by more than ${pctText(niMargin)} (upper bound of the excess ${pctText(Math.max(upper, 0))})`);
  }
  const why =
    significant
      ? `significant (sequential p ${pText(seq.pAlwaysValid)}) but the excess ${pctText(difference)} is under the ${pctText(margin)} minimum effect`
      : `not enough evidence yet (sequential p ${pText(seq.pAlwaysValid)} > α ${policy.alpha}, z ${zText(t.z)}; upper bound of the excess ${pctText(upper)} > ${pctText(niMargin)})`;
  return gateResult(
{
    gate,
    status: policy.required ? 'inconclusive' : 'skipped',
    numbers,
  }, () => `${head()}: ${why}${policy.required ? '' : '; advisory at this stage'}`);
}

function exposureGate(stage: ResolvedStage, c: CohortMetrics, minutes: number): GateResult {
  const need = stage.minExposure;
  const numbers = {
    sessions: c.sessions,
    devices: c.devices,
    minutes,
    requiredSessions: need.sessions,
    requiredDevices: need.devices,
    requiredMinutes: need.minutes,
  };
  const missing: string[] = [];
  if (c.sessions < need.sessions) missing.push(`${intText(c.sessions)} of ${intText(need.sessions)} sessions`);
  if (c.devices < need.devices) missing.push(`${intText(c.devices)} of ${intText(need.devices)} devices`);
  if (minutes < need.minutes) missing.push(`${intText(minutes)} of ${intText(need.minutes)} minutes`);
  if (missing.length === 0) {
    return gateResult(
{
      gate: 'exposure',
      status: 'pass',
      numbers,
    }, () => `minimum exposure reached: ${intText(c.sessions)} sessions, ${intText(c.devices)} devices, ${intText(minutes)} minutes`);
  }
  return gateResult(
{
    gate: 'exposure',
    status: 'inconclusive',
    numbers,
  }, () => `not enough exposure yet: ${missing.join(', ')}`);
}

function verdictOf(stage: ResolvedStage, gates: GateResult[]): Verdict {
  const failed = gates.filter((g) => g.status === 'fail');
  const pending = gates.filter((g) => g.status === 'inconclusive');
  const decision: VerdictDecision =
    failed.length > 0
      ? 'halt'
      : pending.length > 0
        ? 'hold'
        : stage.confirm
          ? 'await_confirmation'
          : 'advance';
  const reasonOf = (): string => {
    if (decision === 'halt') return `halt: ${failed.map((g) => g.message).join('; ')}`;
    if (decision === 'hold') return `hold: ${pending.map((g) => g.message).join('; ')}`;
    if (decision === 'await_confirmation') {
      return `every gate of stage ${stage.name} is green; waiting for a human to confirm`;
    }
    return stage.kind === 'full'
      ? `every gate of stage ${stage.name} is green; the release is complete`
      : `every gate of stage ${stage.name} is green; advance`;
  };
  return { decision, stage: stage.name, reason: reasonOf(), gates };
}

/**
 * Judge the current stage of a running release from the metrics of its window (since the stage
 * began) and the concurrent baseline over the same window. Pure and total: never throws on bad
 * metrics (they hold).
 *
 * @example
 * const v = judgeStage({
 *   stage: resolveStage(STANDARD_TEMPLATE, 2),              // the 1 % stage
 *   minutesInStage: 300,
 *   metricsAvailable: true,
 *   candidate: { sessions: 10_400, crashed: 21, anr: 10, devices: 3_900 },
 *   baseline: { sessions: 1_030_000, crashed: 2_080, anr: 1_010, devices: 380_000 },
 * });
 * v.decision; // 'advance'
 */
export function judgeStage(input: StageJudgementInput): Verdict {
  const { stage, candidate } = input;
  if (!input.metricsAvailable || candidate === undefined) {
    return verdictOf(stage, [
      gateResult(
{
        gate: 'metrics',
        status: 'inconclusive',
        numbers: {},
      }, () => 'metrics are unavailable; holding until they return'),
    ]);
  }
  const problem = cohortMetricsProblem(candidate);
  const minutes = input.minutesInStage;
  if (problem !== undefined || !(typeof minutes === 'number' && minutes >= 0)) {
    return verdictOf(stage, [
      gateResult(
{
        gate: 'metrics',
        status: 'inconclusive',
        numbers: {},
      }, () => `the candidate's metrics are invalid (${problem ?? 'minutesInStage is not a number ≥ 0'}); holding`),
    ]);
  }
  const c = stage.ceilings;
  const gates: GateResult[] = [
    gateResult(
{
      gate: 'metrics',
      status: 'pass',
      numbers: { sessions: candidate.sessions, baselineSessions: input.baseline?.sessions ?? 0 },
    }, () => 'metrics are available'),
    exposureGate(stage, candidate, minutes),
    ceilingGate('crash_ceiling', 'crash rate', candidate.crashed, candidate.sessions, c.crashRate, c.minSessions, c),
    ceilingGate('anr_ceiling', 'ANR rate', candidate.anr, candidate.sessions, c.anrRate, c.minSessions, c),
    ...deviceModelGates('device_model_crash_ceiling', candidate, c),
    ...deviceModelGates('device_model_anr_ceiling', candidate, c),
    comparisonGate('crash_vs_baseline', candidate, input.baseline, stage.comparison),
    comparisonGate('anr_vs_baseline', candidate, input.baseline, stage.comparison),
  ];
  return verdictOf(stage, gates);
}

/**
 * Orders decisions from worst to best for a release's progress: halt < hold < await_confirmation
 * < advance. Useful to compare verdicts (and used by the monotonicity tests).
 *
 * @example
 * decisionRank('halt') < decisionRank('hold'); // true
 */
export function decisionRank(d: VerdictDecision): number {
  return d === 'halt' ? 0 : d === 'hold' ? 1 : d === 'await_confirmation' ? 2 : 3;
}
