/**
 * Types of the health-judgement engine: release templates (ordered stages with gates), the
 * metrics a stage is judged on, verdicts with their gate results, and circuit-breaker rules.
 * See `README.md` in this folder for the model and the source of every default.
 */

/**
 * The kinds of stage a release goes through, in the order of the mission's gray release.
 *
 * @example
 * const k: StageKind = 'percentage';
 */
export type StageKind = 'whitelist' | 'internal' | 'percentage' | 'full';

/**
 * @example
 * STAGE_KINDS.includes('full'); // true
 */
export const STAGE_KINDS: readonly StageKind[] = ['whitelist', 'internal', 'percentage', 'full'];

/**
 * How much a stage must have seen before it may advance. All three must hold.
 *
 * @example
 * const e: MinExposure = { sessions: 10_000, devices: 2_000, minutes: 120 };
 */
export interface MinExposure {
  /** Sessions started by the candidate cohort during the stage. */
  readonly sessions: number;
  /** Distinct devices of the candidate cohort during the stage. */
  readonly devices: number;
  /** Minutes since the stage began. */
  readonly minutes: number;
}

/**
 * The absolute guardrails. Rates are fractions (0.0109 = 1.09 % of sessions).
 *
 * @example
 * const c: CeilingPolicy = { ...DEFAULT_CEILINGS, crashRate: 0.005 };
 */
export interface CeilingPolicy {
  /** Crashed sessions / sessions. Default 1.09 % (Play's bad-behaviour threshold). */
  readonly crashRate: number;
  /** ANR sessions / sessions. Default 0.47 % (Play's bad-behaviour threshold). */
  readonly anrRate: number;
  /** Crash (and ANR) rate of any single device model. Default 8 % (Play's per-model threshold). */
  readonly deviceModelRate: number;
  /** A device model is judged only from this many sessions ("enough sessions"). */
  readonly deviceModelMinSessions: number;
  /** No ceiling halts below this many sessions in the stage (Sentry's MIN_SESSIONS_TO_FIRE). */
  readonly minSessions: number;
  /**
   * One-sided level of the halt test: a ceiling halts only when the Wilson lower bound at
   * z = Φ⁻¹(1 − haltAlpha) is above it. Default 0.001.
   */
  readonly haltAlpha: number;
}

/**
 * The comparison of the candidate against the concurrent baseline (devices still on the previous
 * version, same window), run for crash and ANR rates separately.
 *
 * @example
 * const c: ComparisonPolicy = { ...DEFAULT_COMPARISON, nonInferiorityMargin: 0.5 };
 */
export interface ComparisonPolicy {
  /** Whether a missing or too small baseline holds the stage (true) or skips the comparison. */
  readonly required: boolean;
  /**
   * The false-halt budget of the always-valid sequential test, per metric per stage: the
   * probability that a candidate no worse than baseline is ever halted by this gate, however
   * often it is evaluated. Default 0.001.
   */
  readonly alpha: number;
  /**
   * The rate ratio (candidate / baseline) the sequential test's mixture is centred on, i.e. the
   * regression it is most sensitive to. Default 2 (a doubling, the reference's 0.2 % → 0.4 %).
   */
  readonly priorRatio: number;
  /**
   * Minimum effect: halting also needs the observed excess (candidate − baseline) above
   * max(minRelativeIncrease × baseline rate, minAbsoluteIncrease). Default 0.25 (Kayenta's
   * tolerance), so tiny differences on huge samples never halt.
   */
  readonly minRelativeIncrease: number;
  /** Floor of the minimum effect, as a rate. Default 0.0002 (0.02 percentage points). */
  readonly minAbsoluteIncrease: number;
  /**
   * Non-inferiority margin for advancing: the upper confidence bound of (candidate − baseline)
   * must be ≤ max(nonInferiorityMargin × baseline rate, minAbsoluteIncrease). Default 0.5.
   */
  readonly nonInferiorityMargin: number;
  /** One-sided level of that upper bound. Default 0.05 (the nominal α of the reference's §1.4). */
  readonly passAlpha: number;
  /** Baseline sessions below which the baseline counts as unavailable. Default 1,000. */
  readonly minBaselineSessions: number;
}

/**
 * Partial overrides of the gate policies, at template or stage level.
 *
 * @example
 * const p: HealthPolicyOverrides = { ceilings: { crashRate: 0.005 }, comparison: { alpha: 0.001 } };
 */
export interface HealthPolicyOverrides {
  readonly ceilings?: Partial<CeilingPolicy>;
  readonly comparison?: Partial<ComparisonPolicy>;
}

/**
 * One stage of a release template.
 *
 * @example
 * const s: StageDefinition = {
 *   kind: 'percentage', percent: 1,
 *   minExposure: { sessions: 10_000, devices: 2_000, minutes: 120 },
 * };
 */
export interface StageDefinition {
  /** Display name; defaults to the kind (or `"<percent>%"`). */
  readonly name?: string;
  readonly kind: StageKind;
  /** Share of eligible devices, for `percentage` stages only: 0 < percent < 100. */
  readonly percent?: number;
  readonly minExposure: MinExposure;
  /** Wait for a human before advancing past this stage. */
  readonly confirm?: boolean;
  readonly ceilings?: Partial<CeilingPolicy>;
  readonly comparison?: Partial<ComparisonPolicy>;
}

/**
 * A release template ("smart release"): an ordered list of stages that runs by itself.
 *
 * @example
 * const t: ReleaseTemplate = { name: 'tiny', stages: [
 *   { kind: 'percentage', percent: 10, minExposure: { sessions: 1000, devices: 100, minutes: 60 } },
 *   { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 0 } },
 * ] };
 */
export interface ReleaseTemplate {
  readonly name: string;
  readonly description?: string;
  /** Defaults for every stage; a stage's own `ceilings`/`comparison` win. */
  readonly defaults?: HealthPolicyOverrides;
  readonly stages: readonly StageDefinition[];
}

/**
 * A stage with every policy filled in (built-in defaults ⊕ template defaults ⊕ stage).
 *
 * @example
 * const s: ResolvedStage = resolveStage(STANDARD_TEMPLATE, 2);
 */
export interface ResolvedStage {
  readonly name: string;
  readonly kind: StageKind;
  readonly percent?: number;
  readonly minExposure: MinExposure;
  readonly confirm: boolean;
  readonly ceilings: CeilingPolicy;
  readonly comparison: ComparisonPolicy;
}

/**
 * A problem found by template or breaker validation.
 *
 * @example
 * const i: HealthIssue = { path: '/stages/2/percent', message: 'must be a number in (0, 100)' };
 */
export interface HealthIssue {
  /** JSON pointer (RFC 6901) to the offending value; '' is the whole document. */
  readonly path: string;
  readonly message: string;
}

/**
 * Counts for one device model.
 *
 * @example
 * const m: DeviceModelMetrics = { sessions: 400, crashed: 3, anr: 1 };
 */
export interface DeviceModelMetrics {
  readonly sessions: number;
  readonly crashed: number;
  readonly anr?: number;
}

/**
 * Counts of one cohort over the judgement window (since the stage began).
 *
 * @example
 * const m: CohortMetrics = { sessions: 12_000, crashed: 25, anr: 9, devices: 4_100 };
 */
export interface CohortMetrics {
  /** Sessions started in the window. */
  readonly sessions: number;
  /** Sessions that ended `crashed`. */
  readonly crashed: number;
  /**
   * Sessions with at least one ANR (Sentry `abnormal` with an ANR mechanism). If only ANR events
   * are counted, pass them here: the rate is then an upper bound and the gates err towards hold
   * and halt, never towards advance.
   */
  readonly anr: number;
  /** Distinct devices in the window. */
  readonly devices: number;
  /** Per device model (key: the model name). Optional. */
  readonly byDeviceModel?: Readonly<Record<string, DeviceModelMetrics>>;
}

/**
 * Everything {@link judgeStage} needs. The server gathers it from its per-minute rollups.
 *
 * @example
 * const input: StageJudgementInput = {
 *   stage: resolveStage(STANDARD_TEMPLATE, 2),
 *   minutesInStage: 180,
 *   metricsAvailable: true,
 *   candidate: { sessions: 12_000, crashed: 25, anr: 9, devices: 4_100 },
 *   baseline: { sessions: 1_180_000, crashed: 2_400, anr: 1_150, devices: 350_000 },
 * };
 */
export interface StageJudgementInput {
  readonly stage: ResolvedStage;
  /** Whole minutes since the stage began. */
  readonly minutesInStage: number;
  /** False when the metric store could not answer: the verdict is then `hold`. */
  readonly metricsAvailable: boolean;
  readonly candidate?: CohortMetrics;
  /** Devices on the previous version, same window. Missing means unavailable. */
  readonly baseline?: CohortMetrics;
}

/**
 * What the server should do with the release.
 *
 * - `advance`: every gate is green; move to the next stage (at the last stage: complete).
 * - `await_confirmation`: every gate is green but the stage asks for a human.
 * - `hold`: not enough data, or no data; stay, change nothing, look again next minute.
 * - `halt`: a ceiling is broken or the candidate is significantly worse than the baseline.
 *
 * @example
 * const d: VerdictDecision = 'hold';
 */
export type VerdictDecision = 'advance' | 'await_confirmation' | 'hold' | 'halt';

/**
 * @example
 * const g: GateName = 'crash_vs_baseline';
 */
export type GateName =
  | 'metrics'
  | 'exposure'
  | 'crash_ceiling'
  | 'anr_ceiling'
  | 'device_model_crash_ceiling'
  | 'device_model_anr_ceiling'
  | 'crash_vs_baseline'
  | 'anr_vs_baseline';

/**
 * `pass`: green. `fail`: halt. `inconclusive`: hold. `skipped`: not applicable, counts as green.
 *
 * @example
 * const s: GateStatus = 'inconclusive';
 */
export type GateStatus = 'pass' | 'fail' | 'inconclusive' | 'skipped';

/**
 * The numbers that drove a gate (only the relevant ones are set). Rates are fractions.
 *
 * @example
 * const n: GateNumbers = { observed: 0.0062, threshold: 0.0109, lowerBound: 0.0031, sessions: 2000, events: 12 };
 */
export interface GateNumbers {
  /** The candidate's observed rate. */
  readonly observed?: number;
  /** The ceiling, or the margin the excess is compared with. */
  readonly threshold?: number;
  /** Lower confidence bound (Wilson for ceilings; of the excess for comparisons). */
  readonly lowerBound?: number;
  /** Upper confidence bound (of the excess, for the non-inferiority check). */
  readonly upperBound?: number;
  readonly sessions?: number;
  readonly events?: number;
  readonly devices?: number;
  readonly minutes?: number;
  readonly requiredSessions?: number;
  readonly requiredDevices?: number;
  readonly requiredMinutes?: number;
  readonly baselineRate?: number;
  readonly baselineSessions?: number;
  readonly baselineEvents?: number;
  /** candidate rate − baseline rate. */
  readonly difference?: number;
  /** candidate rate / baseline rate (Infinity when the baseline has no events). */
  readonly ratio?: number;
  /** Pooled two-proportion z. */
  readonly z?: number;
  /** One-sided fixed-sample p-value of z (for display; the decision uses `boundary`). */
  readonly pValue?: number;
  /** Always-valid p-value of the sequential test at this look (halt when ≤ `alpha`). */
  readonly sequentialP?: number;
  /** Significance level used. */
  readonly alpha?: number;
  /** Minimum excess for a halt. */
  readonly margin?: number;
  /** Non-inferiority margin for a pass. */
  readonly nonInferiorityMargin?: number;
}

/**
 * The result of one gate.
 *
 * @example
 * const r: GateResult = { gate: 'exposure', status: 'inconclusive', numbers: { sessions: 10 },
 *   message: 'exposure 10 of 10,000 sessions' };
 */
export interface GateResult {
  readonly gate: GateName;
  readonly status: GateStatus;
  /** The device model, for per-model gates. */
  readonly subject?: string;
  readonly numbers: GateNumbers;
  /** One human sentence. */
  readonly message: string;
}

/**
 * The verdict of one evaluation, to be recorded with its gates.
 *
 * @example
 * const v: Verdict = judgeStage(input);
 * if (v.decision === 'halt') console.log(v.reason);
 */
export interface Verdict {
  readonly decision: VerdictDecision;
  readonly stage: string;
  /** One sentence summarising why. */
  readonly reason: string;
  readonly gates: readonly GateResult[];
}

/**
 * What a circuit breaker does when it fires. The server executes it.
 *
 * - `disable`: disable the package; devices get `disable` + the fallback URL from `/client/v1/check`.
 * - `halt_and_rollback`: halt its release and roll back the devices that installed it.
 * - `notify`: only tell people.
 *
 * @example
 * const a: BreakerActionKind = 'disable';
 */
export type BreakerActionKind = 'disable' | 'halt_and_rollback' | 'notify';

/**
 * A circuit-breaker rule for one package or module.
 *
 * @example
 * const r: BreakerRule = { id: 'home-crash', scope: 'module', target: 'home', metric: 'crash',
 *   threshold: 0.02, action: 'disable' };
 */
export interface BreakerRule {
  /** Stable id, unique among the rules evaluated together. */
  readonly id: string;
  readonly scope: 'package' | 'module';
  /** Key into the metrics map (the server chooses the key, e.g. the package or module name). */
  readonly target: string;
  readonly metric: 'crash' | 'anr';
  /** Rate (fraction of sessions) above which the breaker fires. */
  readonly threshold: number;
  readonly action: BreakerActionKind;
  /** Sessions needed before the rule can fire. Default 50. */
  readonly minSessions?: number;
  /** One-sided level of the Wilson lower bound that must exceed `threshold`. Default 0.001. */
  readonly alpha?: number;
}

/**
 * Counts for one breaker target over the server's window (e.g. the last 30 minutes).
 *
 * @example
 * const m: BreakerMetrics = { sessions: 800, crashed: 40, anr: 2 };
 */
export interface BreakerMetrics {
  readonly sessions: number;
  readonly crashed: number;
  readonly anr: number;
  /** False when the store could not answer; the rule then never fires. Default true. */
  readonly available?: boolean;
}

/**
 * The evaluation of one breaker rule.
 *
 * @example
 * const e: BreakerEvaluation = evaluateBreaker(rule, { sessions: 800, crashed: 40, anr: 2 });
 */
export interface BreakerEvaluation {
  readonly ruleId: string;
  readonly scope: 'package' | 'module';
  readonly target: string;
  readonly metric: 'crash' | 'anr';
  readonly action: BreakerActionKind;
  readonly fired: boolean;
  /** Why it fired or not: `fired`, `no_metrics`, `too_few_sessions`, `below_threshold`. */
  readonly reason: 'fired' | 'no_metrics' | 'too_few_sessions' | 'below_threshold';
  readonly numbers: GateNumbers;
  readonly message: string;
}

/**
 * A breaker that fired: what the server must execute, with the numbers to record.
 *
 * @example
 * for (const a of evaluateBreakers(rules, metrics)) console.log(a.action, a.target);
 */
export type BreakerAction = BreakerEvaluation & { readonly fired: true };
