/**
 * Circuit breakers: per package or module, "when its crash (or ANR) rate crosses a threshold, do
 * X" — disable the package, halt and roll back its release, or notify. Types, validation and
 * evaluation only; the server executes the actions and remembers which already fired (Crashlytics
 * velocity alerts fire once per issue and version, §1.1 of the reference).
 *
 * The small-sample protection is the ceilings' one: a rule fires only from `minSessions`
 * sessions (default 50, Sentry's `MIN_SESSIONS_TO_FIRE`) and only when the Wilson lower bound of
 * the rate at one-sided α (default 0.001, z ≈ 3.09) is above the threshold.
 */
import { normalQuantile, wilsonInterval } from './stats.js';
import type {
  BreakerAction,
  BreakerEvaluation,
  BreakerMetrics,
  BreakerRule,
  HealthIssue,
} from './types.js';

/**
 * Sessions a breaker needs before it can fire, unless the rule says otherwise.
 *
 * @example
 * DEFAULT_BREAKER_MIN_SESSIONS; // 50
 */
export const DEFAULT_BREAKER_MIN_SESSIONS = 50;
/**
 * One-sided level of a breaker's Wilson lower bound, unless the rule says otherwise.
 *
 * @example
 * DEFAULT_BREAKER_ALPHA; // 0.001
 */
export const DEFAULT_BREAKER_ALPHA = 0.001;

const RULE_KEYS: ReadonlySet<string> = new Set([
  'id',
  'scope',
  'target',
  'metric',
  'threshold',
  'action',
  'minSessions',
  'alpha',
]);
const ACTIONS: ReadonlySet<string> = new Set(['disable', 'halt_and_rollback', 'notify']);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const token = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every problem with a list of breaker rules, each with a JSON pointer; `[]` means valid.
 * Ids must be unique non-empty strings; `threshold` a rate in (0, 1]; `minSessions` a
 * non-negative integer; `alpha` in (0, 0.5).
 *
 * @example
 * validateBreakerRules([{ id: 'a', scope: 'module', target: 'home', metric: 'crash',
 *   threshold: 0.02, action: 'disable' }]); // []
 */
export function validateBreakerRules(rules: unknown): HealthIssue[] {
  if (!Array.isArray(rules)) return [{ path: '', message: 'must be an array' }];
  const issues: HealthIssue[] = [];
  const ids = new Set<string>();
  rules.forEach((rule: unknown, i) => {
    const at = `/${i}`;
    if (!isRecord(rule)) {
      issues.push({ path: at, message: 'must be an object' });
      return;
    }
    for (const key of Object.keys(rule)) {
      if (!RULE_KEYS.has(key)) issues.push({ path: `${at}/${token(key)}`, message: 'is not a known field' });
    }
    if (typeof rule.id !== 'string' || rule.id === '') {
      issues.push({ path: `${at}/id`, message: 'must be a non-empty string' });
    } else if (ids.has(rule.id)) {
      issues.push({ path: `${at}/id`, message: `duplicate rule id "${rule.id}"` });
    } else {
      ids.add(rule.id);
    }
    if (rule.scope !== 'package' && rule.scope !== 'module') {
      issues.push({ path: `${at}/scope`, message: 'must be package or module' });
    }
    if (typeof rule.target !== 'string' || rule.target === '') {
      issues.push({ path: `${at}/target`, message: 'must be a non-empty string' });
    }
    if (rule.metric !== 'crash' && rule.metric !== 'anr') {
      issues.push({ path: `${at}/metric`, message: 'must be crash or anr' });
    }
    const th = rule.threshold;
    if (typeof th !== 'number' || !Number.isFinite(th) || th <= 0 || th > 1) {
      issues.push({ path: `${at}/threshold`, message: 'must be a rate in (0, 1]' });
    }
    if (typeof rule.action !== 'string' || !ACTIONS.has(rule.action)) {
      issues.push({ path: `${at}/action`, message: 'must be disable, halt_and_rollback or notify' });
    }
    const ms = rule.minSessions;
    if (ms !== undefined && !(typeof ms === 'number' && Number.isInteger(ms) && ms >= 0)) {
      issues.push({ path: `${at}/minSessions`, message: 'must be a non-negative integer' });
    }
    const a = rule.alpha;
    if (a !== undefined && !(typeof a === 'number' && a > 0 && a < 0.5)) {
      issues.push({ path: `${at}/alpha`, message: 'must be a significance level in (0, 0.5)' });
    }
  });
  return issues;
}

const validCounts = (m: BreakerMetrics): boolean =>
  [m.sessions, m.crashed, m.anr].every((v) => Number.isInteger(v) && v >= 0);

/**
 * Evaluate one rule against its target's metrics (`undefined` = no metrics). Never fires on
 * missing, unavailable or invalid metrics.
 *
 * @example
 * const rule = { id: 'r', scope: 'module', target: 'home', metric: 'crash', threshold: 0.02,
 *   action: 'disable' } as const;
 * evaluateBreaker(rule, { sessions: 800, crashed: 60, anr: 0 }).fired; // true (7.5 %, bound 5.1 %)
 * evaluateBreaker(rule, { sessions: 20, crashed: 1, anr: 0 }).fired;   // false (too few sessions)
 */
export function evaluateBreaker(
  rule: BreakerRule,
  metrics: BreakerMetrics | undefined,
): BreakerEvaluation {
  const base = {
    ruleId: rule.id,
    scope: rule.scope,
    target: rule.target,
    metric: rule.metric,
    action: rule.action,
  };
  const label = rule.metric === 'crash' ? 'crash rate' : 'ANR rate';
  if (metrics === undefined || metrics.available === false || !validCounts(metrics)) {
    return {
      ...base,
      fired: false,
      reason: 'no_metrics',
      numbers: { threshold: rule.threshold },
      message: `${rule.scope} ${rule.target}: no usable metrics; the breaker cannot fire`,
    };
  }
  const minSessions = rule.minSessions ?? DEFAULT_BREAKER_MIN_SESSIONS;
  const alpha = rule.alpha ?? DEFAULT_BREAKER_ALPHA;
  const events = Math.min(rule.metric === 'crash' ? metrics.crashed : metrics.anr, metrics.sessions);
  const sessions = metrics.sessions;
  const observed = sessions > 0 ? events / sessions : 0;
  const { lower } = wilsonInterval(events, sessions, normalQuantile(1 - alpha));
  const numbers = {
    observed,
    threshold: rule.threshold,
    lowerBound: lower,
    sessions,
    events,
    alpha,
    requiredSessions: minSessions,
  };
  const head = `${rule.scope} ${rule.target}: ${label} ${(observed * 100).toFixed(2)}% (${events}/${sessions})`;
  if (sessions < minSessions) {
    return {
      ...base,
      fired: false,
      reason: 'too_few_sessions',
      numbers,
      message: `${head}; fewer than ${minSessions} sessions, not judged`,
    };
  }
  if (lower > rule.threshold) {
    return {
      ...base,
      fired: true,
      reason: 'fired',
      numbers,
      message: `${head}: lower bound ${(lower * 100).toFixed(2)}% is above the ${(rule.threshold * 100).toFixed(2)}% threshold → ${rule.action}`,
    };
  }
  return {
    ...base,
    fired: false,
    reason: 'below_threshold',
    numbers,
    message: `${head}: lower bound ${(lower * 100).toFixed(2)}% is not above the ${(rule.threshold * 100).toFixed(2)}% threshold`,
  };
}

/**
 * Evaluate every rule against the metrics of its target (keyed by `rule.target`) and return the
 * actions to execute, in rule order. The server records each action with its numbers.
 *
 * @example
 * const actions = evaluateBreakers(
 *   [{ id: 'home', scope: 'module', target: 'home', metric: 'crash', threshold: 0.02, action: 'disable' }],
 *   { home: { sessions: 800, crashed: 60, anr: 0 } },
 * );
 * actions[0]?.action; // 'disable'
 */
export function evaluateBreakers(
  rules: readonly BreakerRule[],
  metricsByTarget: Readonly<Record<string, BreakerMetrics | undefined>>,
): BreakerAction[] {
  const actions: BreakerAction[] = [];
  for (const rule of rules) {
    const m = Object.prototype.hasOwnProperty.call(metricsByTarget, rule.target)
      ? metricsByTarget[rule.target]
      : undefined;
    const e = evaluateBreaker(rule, m);
    if (e.fired) actions.push(e as BreakerAction);
  }
  return actions;
}
