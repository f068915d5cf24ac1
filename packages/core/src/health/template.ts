/**
 * Release templates: defaults, validation (every problem, with JSON-pointer paths, in the manner
 * of `validateRule`), resolution of a stage's effective policy, and the built-in templates.
 *
 * Every default is sourced in `README.md` (this folder), from
 * `shared/reference/release-health-and-sync.md` §1.
 */
import type {
  CeilingPolicy,
  ComparisonPolicy,
  HealthIssue,
  ReleaseTemplate,
  ResolvedStage,
  StageDefinition,
  StageKind,
} from './types.js';
import { STAGE_KINDS } from './types.js';

/**
 * The built-in absolute guardrails: Play's bad-behaviour thresholds (1.09 % crash, 0.47 % ANR,
 * 8 % per phone model), judged only from 50 sessions (Sentry's `MIN_SESSIONS_TO_FIRE`), a model
 * only from 250 of its own sessions (Crashlytics' former velocity rule, Sentry's first minimum),
 * halting only when the Wilson lower bound at one-sided α = 0.001 is above the ceiling (the
 * reference's "much stricter α such as 0.001 for early-stop failure").
 *
 * @example
 * DEFAULT_CEILINGS.crashRate; // 0.0109
 */
export const DEFAULT_CEILINGS: CeilingPolicy = Object.freeze({
  crashRate: 0.0109,
  anrRate: 0.0047,
  deviceModelRate: 0.08,
  deviceModelMinSessions: 250,
  minSessions: 50,
  haltAlpha: 0.001,
});

/**
 * The built-in baseline comparison: always-valid sequential test with a false-halt budget of
 * α = 0.001 per metric per stage (the reference's early-stop α, §1.4), minimum effect 25 % relative (Kayenta's tolerance 0.25) or
 * 0.02 percentage points, non-inferiority margin 50 % at one-sided 95 % for advancing, and a
 * baseline of at least 1,000 sessions.
 *
 * @example
 * DEFAULT_COMPARISON.alpha; // 0.001
 */
export const DEFAULT_COMPARISON: ComparisonPolicy = Object.freeze({
  required: true,
  alpha: 0.001,
  priorRatio: 2,
  minRelativeIncrease: 0.25,
  minAbsoluteIncrease: 0.0002,
  nonInferiorityMargin: 0.5,
  passAlpha: 0.05,
  minBaselineSessions: 1000,
});

const KIND_RANK: Readonly<Record<StageKind, number>> = {
  whitelist: 0,
  internal: 1,
  percentage: 2,
  full: 3,
};

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** RFC 6901 escaping of one reference token. */
const token = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

type Check = (v: unknown) => string | undefined;
const rate: Check = (v) => (isNum(v) && v > 0 && v <= 1 ? undefined : 'must be a rate in (0, 1]');
const count: Check = (v) => (isCount(v) ? undefined : 'must be a non-negative integer');
const level: Check = (v) =>
  isNum(v) && v > 0 && v < 0.5 ? undefined : 'must be a significance level in (0, 0.5)';
const nonNegative: Check = (v) => (isNum(v) && v >= 0 ? undefined : 'must be a number ≥ 0');
const fraction: Check = (v) =>
  isNum(v) && v >= 0 && v < 1 ? undefined : 'must be a rate in [0, 1)';
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be a boolean');

const CEILING_CHECKS: Readonly<Record<keyof CeilingPolicy, Check>> = {
  crashRate: rate,
  anrRate: rate,
  deviceModelRate: rate,
  deviceModelMinSessions: count,
  minSessions: count,
  haltAlpha: level,
};
const COMPARISON_CHECKS: Readonly<Record<keyof ComparisonPolicy, Check>> = {
  required: bool,
  alpha: level,
  priorRatio: (v) => (isNum(v) && v > 1 ? undefined : 'must be a number > 1'),
  minRelativeIncrease: nonNegative,
  minAbsoluteIncrease: fraction,
  nonInferiorityMargin: nonNegative,
  passAlpha: level,
  minBaselineSessions: count,
};

function checkFields(
  value: unknown,
  path: string,
  checks: Readonly<Record<string, Check>>,
  issues: HealthIssue[],
): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    issues.push({ path, message: 'must be an object' });
    return;
  }
  for (const key of Object.keys(value)) {
    const check = hasOwn(checks, key) ? checks[key] : undefined;
    if (check === undefined) {
      issues.push({ path: `${path}/${token(key)}`, message: 'is not a known field' });
      continue;
    }
    const problem = check(value[key]);
    if (problem !== undefined) issues.push({ path: `${path}/${token(key)}`, message: problem });
  }
}

function checkPolicyOverrides(value: unknown, path: string, issues: HealthIssue[]): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    issues.push({ path, message: 'must be an object' });
    return;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'ceilings' && key !== 'comparison') {
      issues.push({ path: `${path}/${token(key)}`, message: 'is not a known field' });
    }
  }
  checkFields(value.ceilings, `${path}/ceilings`, CEILING_CHECKS, issues);
  checkFields(value.comparison, `${path}/comparison`, COMPARISON_CHECKS, issues);
}

const STAGE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'kind',
  'percent',
  'minExposure',
  'confirm',
  'ceilings',
  'comparison',
]);
const KIND_SET: ReadonlySet<string> = new Set(STAGE_KINDS);

/**
 * Every problem with a release template, each with a JSON pointer; `[]` means valid.
 *
 * Rules: a non-empty `name`; at least one stage; stage kinds in the order whitelist → internal →
 * percentage → full (`full` at most once, and last); `percent` on percentage stages only, in
 * (0, 100) and strictly increasing; `minExposure` with non-negative integer `sessions`,
 * `devices` and `minutes`; policy overrides with known fields and values in range; stage names
 * unique.
 *
 * @example
 * validateTemplate(STANDARD_TEMPLATE); // []
 * validateTemplate({ name: 'x', stages: [{ kind: 'percentage', percent: 120,
 *   minExposure: { sessions: 1, devices: 1, minutes: 1 } }] });
 * // [{ path: '/stages/0/percent', message: 'must be a number in (0, 100)' }]
 */
export function validateTemplate(template: unknown): HealthIssue[] {
  const issues: HealthIssue[] = [];
  if (!isRecord(template)) return [{ path: '', message: 'must be an object' }];
  for (const key of Object.keys(template)) {
    if (!['name', 'description', 'defaults', 'stages'].includes(key)) {
      issues.push({ path: `/${token(key)}`, message: 'is not a known field' });
    }
  }
  if (typeof template.name !== 'string' || template.name.trim() === '') {
    issues.push({ path: '/name', message: 'must be a non-empty string' });
  }
  if (template.description !== undefined && typeof template.description !== 'string') {
    issues.push({ path: '/description', message: 'must be a string' });
  }
  checkPolicyOverrides(template.defaults, '/defaults', issues);
  const stages = template.stages;
  if (!Array.isArray(stages) || stages.length === 0) {
    issues.push({ path: '/stages', message: 'must be a non-empty array' });
    return issues;
  }
  let lastRank = -1;
  let lastPercent = 0;
  const names = new Set<string>();
  stages.forEach((stage: unknown, i) => {
    const at = `/stages/${i}`;
    if (!isRecord(stage)) {
      issues.push({ path: at, message: 'must be an object' });
      return;
    }
    for (const key of Object.keys(stage)) {
      if (!STAGE_KEYS.has(key)) issues.push({ path: `${at}/${token(key)}`, message: 'is not a known field' });
    }
    const kind = stage.kind;
    if (typeof kind !== 'string' || !KIND_SET.has(kind)) {
      issues.push({ path: `${at}/kind`, message: `must be one of ${STAGE_KINDS.join(', ')}` });
    } else {
      const rank = KIND_RANK[kind as StageKind];
      if (rank < lastRank) {
        issues.push({
          path: `${at}/kind`,
          message: 'stages must go whitelist → internal → percentage → full',
        });
      }
      if (kind === 'full' && i !== stages.length - 1) {
        issues.push({ path: `${at}/kind`, message: 'the full stage must be the last stage' });
      }
      lastRank = Math.max(lastRank, rank);
      if (kind === 'percentage') {
        const p = stage.percent;
        if (!isNum(p) || p <= 0 || p >= 100) {
          issues.push({ path: `${at}/percent`, message: 'must be a number in (0, 100)' });
        } else {
          if (p <= lastPercent) {
            issues.push({
              path: `${at}/percent`,
              message: `must be greater than the previous percentage (${lastPercent})`,
            });
          }
          lastPercent = p;
        }
      } else if (stage.percent !== undefined) {
        issues.push({ path: `${at}/percent`, message: 'is only allowed on percentage stages' });
      }
    }
    if (stage.name !== undefined) {
      if (typeof stage.name !== 'string' || stage.name.trim() === '') {
        issues.push({ path: `${at}/name`, message: 'must be a non-empty string' });
      }
    }
    const name = stageName(stage as unknown as StageDefinition);
    if (names.has(name)) issues.push({ path: `${at}/name`, message: `duplicate stage name "${name}"` });
    names.add(name);
    const ex = stage.minExposure;
    if (!isRecord(ex)) {
      issues.push({ path: `${at}/minExposure`, message: 'must be an object' });
    } else {
      for (const key of Object.keys(ex)) {
        if (!['sessions', 'devices', 'minutes'].includes(key)) {
          issues.push({ path: `${at}/minExposure/${token(key)}`, message: 'is not a known field' });
        }
      }
      for (const key of ['sessions', 'devices', 'minutes'] as const) {
        if (!isCount(ex[key])) {
          issues.push({
            path: `${at}/minExposure/${key}`,
            message: 'must be a non-negative integer',
          });
        }
      }
    }
    if (stage.confirm !== undefined && typeof stage.confirm !== 'boolean') {
      issues.push({ path: `${at}/confirm`, message: 'must be a boolean' });
    }
    checkFields(stage.ceilings, `${at}/ceilings`, CEILING_CHECKS, issues);
    checkFields(stage.comparison, `${at}/comparison`, COMPARISON_CHECKS, issues);
  });
  return issues;
}

/**
 * Thrown by {@link resolveStage} and {@link assertValidTemplate} for an invalid template.
 *
 * @example
 * try { assertValidTemplate({}); } catch (e) { if (e instanceof InvalidTemplateError) e.issues; }
 */
export class InvalidTemplateError extends TypeError {
  readonly issues: readonly HealthIssue[];

  constructor(issues: readonly HealthIssue[]) {
    const first = issues[0];
    const summary = first === undefined ? '' : `: ${first.path || '/'} ${first.message}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`invalid release template${summary}${more}`);
    this.name = 'InvalidTemplateError';
    this.issues = issues;
  }
}

/**
 * Narrow `template` to a {@link ReleaseTemplate} or throw {@link InvalidTemplateError}.
 *
 * @example
 * const t: ReleaseTemplate = assertValidTemplate(JSON.parse(body));
 */
export function assertValidTemplate(template: unknown): ReleaseTemplate {
  const issues = validateTemplate(template);
  if (issues.length > 0) throw new InvalidTemplateError(issues);
  return template as ReleaseTemplate;
}

/**
 * A stage's display name: its `name`, else `"<percent>%"` for percentage stages, else its kind.
 *
 * @example
 * stageName({ kind: 'percentage', percent: 5, minExposure: { sessions: 0, devices: 0, minutes: 0 } }); // '5%'
 */
export function stageName(stage: StageDefinition): string {
  if (typeof stage.name === 'string' && stage.name.trim() !== '') return stage.name;
  if (stage.kind === 'percentage') return `${stage.percent}%`;
  return String(stage.kind);
}

function defined<T extends object>(o: Partial<T> | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (o === undefined) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The stage at `index` with every policy filled in: built-in defaults, then the template's
 * `defaults`, then the stage's own overrides. The comparison is `required` by default on
 * percentage stages only (whitelist and internal cohorts are too small to compare, and at full
 * the baseline is only the devices that have not updated yet); an explicit `required` wins.
 * Throws {@link InvalidTemplateError} for an invalid template and `RangeError` for a bad index.
 *
 * @example
 * resolveStage(STANDARD_TEMPLATE, 2).ceilings.crashRate; // 0.0109
 */
export function resolveStage(template: ReleaseTemplate, index: number): ResolvedStage {
  assertValidTemplate(template);
  const stage = template.stages[index];
  if (stage === undefined) {
    throw new RangeError(`stage index ${index} is out of range (0..${template.stages.length - 1})`);
  }
  const tplCmp = defined<ComparisonPolicy>(template.defaults?.comparison);
  const stCmp = defined<ComparisonPolicy>(stage.comparison);
  const required = stCmp.required ?? tplCmp.required ?? stage.kind === 'percentage';
  const resolved: ResolvedStage = {
    name: stageName(stage),
    kind: stage.kind,
    minExposure: { ...stage.minExposure },
    confirm: stage.confirm === true,
    ceilings: {
      ...DEFAULT_CEILINGS,
      ...defined<CeilingPolicy>(template.defaults?.ceilings),
      ...defined<CeilingPolicy>(stage.ceilings),
    },
    comparison: { ...DEFAULT_COMPARISON, ...tplCmp, ...stCmp, required },
  };
  return stage.percent === undefined ? resolved : { ...resolved, percent: stage.percent };
}

/**
 * Every stage of a template, resolved (see {@link resolveStage}).
 *
 * @example
 * resolveTemplate(FAST_TEMPLATE).map((s) => s.name); // ['internal', '10%', '50%', 'full']
 */
export function resolveTemplate(template: ReleaseTemplate): ResolvedStage[] {
  assertValidTemplate(template);
  return template.stages.map((_, i) => resolveStage(template, i));
}

const pct = (
  percent: number,
  sessions: number,
  devices: number,
  minutes: number,
  nonInferiorityMargin: number,
  confirm = false,
): StageDefinition => ({
  kind: 'percentage',
  percent,
  minExposure: { sessions, devices, minutes },
  comparison: { nonInferiorityMargin },
  ...(confirm ? { confirm: true } : {}),
});

/**
 * `standard`: whitelist → internal → 1 % → 5 % → 20 % → 50 % → full.
 *
 * - whitelist: 300 sessions (0 crashes in 300 ⇒ crash rate < 1 % at 95 %, rule of three),
 *   5 devices, 30 min, human confirmation;
 * - internal: 1,000 sessions (< 0.3 %), 50 devices, 60 min, human confirmation before the
 *   public sees it;
 * - 1 %: 10,000 sessions (≈ the 9,243 per cohort that detect 0.2 % → 0.4 % one-sided, §1.4),
 *   2,000 devices, 2 h; advances when not worse than 2× baseline (margin 100 %);
 * - 5 %: 30,000 sessions (≈ the 30,832 that detect 0.2 % → 0.3 %), 10,000 devices, 4 h, margin 50 %;
 * - 20 %: 60,000 sessions, 20,000 devices, 6 h, margin 25 %;
 * - 50 %: 100,000 sessions, 30,000 devices, 12 h, margin 25 %;
 * - full: watched 24 h ("24 h since the last increase", Tramline) on ceilings, then complete.
 *
 * @example
 * validateTemplate(STANDARD_TEMPLATE); // []
 */
export const STANDARD_TEMPLATE: ReleaseTemplate = {
  name: 'standard',
  description: 'whitelist → internal → 1% → 5% → 20% → 50% → full, confirmations before 1%',
  stages: [
    { kind: 'whitelist', minExposure: { sessions: 300, devices: 5, minutes: 30 }, confirm: true },
    { kind: 'internal', minExposure: { sessions: 1000, devices: 50, minutes: 60 }, confirm: true },
    pct(1, 10_000, 2_000, 120, 1),
    pct(5, 30_000, 10_000, 240, 0.5),
    pct(20, 60_000, 20_000, 360, 0.25),
    pct(50, 100_000, 30_000, 720, 0.25),
    { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 1440 } },
  ],
};

/**
 * `cautious`: more steps, twice the exposure, a stricter minimum effect (10 %) and a human
 * confirmation at every step. For packages whose failure is expensive (payments, login).
 *
 * @example
 * resolveTemplate(CAUTIOUS_TEMPLATE).every((s) => s.kind === 'full' || s.confirm); // true
 */
export const CAUTIOUS_TEMPLATE: ReleaseTemplate = {
  name: 'cautious',
  description: 'whitelist → internal → 1% → 2% → 5% → 10% → 25% → 50% → full, confirm each step',
  defaults: { comparison: { minRelativeIncrease: 0.1 } },
  stages: [
    { kind: 'whitelist', minExposure: { sessions: 1000, devices: 10, minutes: 60 }, confirm: true },
    { kind: 'internal', minExposure: { sessions: 3000, devices: 100, minutes: 240 }, confirm: true },
    pct(1, 20_000, 4_000, 240, 1, true),
    pct(2, 30_000, 8_000, 240, 0.75, true),
    pct(5, 60_000, 15_000, 480, 0.5, true),
    pct(10, 80_000, 20_000, 480, 0.25, true),
    pct(25, 120_000, 40_000, 720, 0.25, true),
    pct(50, 200_000, 60_000, 1440, 0.25, true),
    { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 2880 } },
  ],
};

/**
 * `fast`: internal → 10 % → 50 % → full, no confirmations. For low-risk changes (copy, styles)
 * on apps with traffic: each step still needs the exposure to judge a doubling of the crash rate.
 *
 * @example
 * FAST_TEMPLATE.stages.length; // 4
 */
export const FAST_TEMPLATE: ReleaseTemplate = {
  name: 'fast',
  description: 'internal → 10% → 50% → full, no confirmations',
  stages: [
    { kind: 'internal', minExposure: { sessions: 300, devices: 20, minutes: 15 } },
    pct(10, 10_000, 2_000, 60, 1),
    pct(50, 30_000, 10_000, 120, 0.5),
    { kind: 'full', minExposure: { sessions: 0, devices: 0, minutes: 360 } },
  ],
};

/**
 * The built-in templates by name.
 *
 * @example
 * BUILTIN_TEMPLATES.standard === STANDARD_TEMPLATE; // true
 */
export const BUILTIN_TEMPLATES: Readonly<Record<'standard' | 'cautious' | 'fast', ReleaseTemplate>> =
  Object.freeze({
    standard: STANDARD_TEMPLATE,
    cautious: CAUTIOUS_TEMPLATE,
    fast: FAST_TEMPLATE,
  });
