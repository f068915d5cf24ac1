import {
  type BreakerMetrics,
  type BreakerRule,
  CAUTIOUS_TEMPLATE,
  type CohortMetrics,
  FAST_TEMPLATE,
  type ReleaseTemplate,
  STANDARD_TEMPLATE,
  compareVersions,
  evaluateBreakers,
  judgeStage,
  resolveStage,
  validateBreakerRules,
  validateTemplate,
  type Verdict,
} from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { newId } from '../../platform/ids.js';
import type { CohortHealth, HealthQuery } from '../events/index.js';
import type { Package } from '../packages/package-store.js';
import type { CreateReleaseInput } from '../releases/release-service.js';
import type { Release } from '../releases/release-store.js';
import {
  BreakerExists,
  BreakerInvalid,
  BreakerNotFound,
  HealthEvaluatorBusy,
  HealthNotAwaiting,
  HealthPolicyConflict,
  HealthPolicyNotFound,
  HealthTemplateInvalid,
  HealthTemplateUnknown,
} from './health-errors.js';
import { matchKeywords, nextState, releaseTargetFor, shouldRecord, toCohortMetrics } from './health-logic.js';
import type {
  BaselineRef,
  BreakerFire,
  DecisionKind,
  FeedbackWatch,
  HealthDecision,
  HealthPolicy,
  HealthState,
  HealthStore,
  OnFailure,
  StoredBreaker,
  StoredVerdict,
} from './health-store.js';
import type { WebhookDispatcher } from './health-webhooks.js';

/** The `health` member of a release's create body. */
export interface HealthPolicyInput {
  readonly template: string | Record<string, unknown>;
  readonly onFailure?: OnFailure | undefined;
}

/** What the health slice needs of the releases slice (ReleaseService). */
export interface ReleasePort {
  create(appId: string, input: CreateReleaseInput): Promise<Release>;
  get(id: string): Promise<Release>;
  list(appId: string, filter?: { module?: string }): Promise<Release[]>;
  moveTo(id: string, target: { stage: Release['stage']; percent: number }, by: string): Promise<Release>;
  halt(id: string): Promise<Release>;
  rollback(id: string): Promise<Release>;
}

export interface HealthServiceDeps {
  readonly store: HealthStore;
  readonly releases: ReleasePort;
  readonly packages: { getPackage(id: string): Promise<Package>; setDisabled(id: string, disabled: boolean): Promise<Package> };
  readonly apps: { getApp(id: string): Promise<unknown> };
  readonly events: { health(q: HealthQuery): Promise<CohortHealth> };
  readonly clock: Clock;
  readonly config: { readonly evaluateIntervalMs: number; readonly breakerWindowMinutes: number };
  readonly webhooks: WebhookDispatcher;
  /** This process's id (the evaluator lease holder). */
  readonly holder: string;
  readonly onError: (err: unknown, context: string) => void;
}

/** One entry of an evaluation pass's answer. */
export interface PassDecision {
  readonly releaseId: string;
  readonly decision: Verdict['decision'];
  readonly stage: string;
  readonly stageIndex: number;
  readonly state: HealthState;
  readonly reason: string;
  readonly gates: Verdict['gates'];
  readonly recorded: boolean;
}

export interface PassBreakerAction {
  readonly appId: string;
  readonly ruleId: string;
  readonly action: BreakerRule['action'];
  readonly target: string;
  readonly releaseId: string | null;
  readonly packageId: string | null;
  readonly message: string;
  readonly numbers: unknown;
}

export interface PassResult {
  readonly evaluated: number;
  readonly decisions: PassDecision[];
  readonly breakers: PassBreakerAction[];
}

export interface ReleaseHealthView {
  readonly releaseId: string;
  readonly policy: { readonly template: string; readonly onFailure: OnFailure } | null;
  readonly template: ReleaseTemplate | null;
  readonly stageIndex: number | null;
  readonly stage: ReturnType<typeof resolveStage> | null;
  readonly stageStartedAt: string | null;
  readonly state: HealthState | null;
  readonly lastVerdict: StoredVerdict | null;
  readonly lastEvaluatedAt: string | null;
  readonly decisions: HealthDecision[];
  readonly feedbackWatch: readonly string[];
  readonly feedbackAlerts: HealthDecision[];
}

export interface BreakerView {
  readonly id: string;
  readonly scope: BreakerRule['scope'];
  readonly target: string;
  readonly metric: BreakerRule['metric'];
  readonly threshold: number;
  readonly action: BreakerRule['action'];
  readonly minSessions?: number;
  readonly alpha?: number;
  readonly windowMinutes: number;
  readonly createdAt: string;
  readonly fired: readonly BreakerFire[];
}

/** A new feedback item and the releases the device was running (from the events slice). */
export interface FeedbackNotice {
  readonly appId: string;
  readonly eventId: string;
  readonly deviceId: string;
  readonly userId?: string | undefined;
  readonly text: string;
  readonly ts: number;
  readonly releaseIds: readonly string[];
}

const LEASE = 'health-evaluator';
const BUILTIN: Readonly<Record<string, ReleaseTemplate>> = {
  standard: STANDARD_TEMPLATE,
  cautious: CAUTIOUS_TEMPLATE,
  fast: FAST_TEMPLATE,
};
const DECISIONS_SHOWN = 50;
const MINUTE = 60_000;

/**
 * Health-gated releases: a release created with a health policy walks its template's stages by
 * itself. Each evaluation pass (the timer, or `POST /admin/v1/health/evaluate`) judges every
 * running release on its stage window against the concurrent baseline with core `judgeStage`,
 * and acts through ReleaseService (so revisions, history and cache invalidation work as for a
 * human); it also runs the circuit breakers. Only the holder of the evaluator lease evaluates.
 */
export class HealthService {
  readonly #d: HealthServiceDeps;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<unknown> = Promise.resolve();

  constructor(deps: HealthServiceDeps) {
    this.#d = deps;
  }

  now(): Date {
    return this.#d.clock.now();
  }

  // ---- policies ------------------------------------------------------------------------------

  /** Resolves a policy's template (a built-in name or an inline template) or throws a 400. */
  resolveTemplate(input: HealthPolicyInput): { name: string; template: ReleaseTemplate } {
    if (typeof input.template === 'string') {
      const t = BUILTIN[input.template];
      if (t === undefined) throw HealthTemplateUnknown({ name: input.template.slice(0, 64) });
      return { name: input.template, template: t };
    }
    const issues = validateTemplate(input.template);
    if (issues.length > 0) {
      throw HealthTemplateInvalid(
        { summary: issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ').slice(0, 500) },
        { fields: issues.map((i) => ({ pointer: `/body/health/template${i.path}`, message: i.message })) },
      );
    }
    const template = input.template as unknown as ReleaseTemplate;
    return { name: template.name, template };
  }

  /** Creates a release that starts at its template's first stage, with its health policy. */
  async createRelease(appId: string, input: CreateReleaseInput, health: HealthPolicyInput): Promise<Release> {
    if (input.percent !== undefined) throw HealthPolicyConflict({ field: 'percent' });
    const { name, template } = this.resolveTemplate(health);
    const first = template.stages[0];
    if (first === undefined) throw HealthTemplateInvalid({ summary: '/stages: must be a non-empty array' });
    const initialStage = releaseTargetFor(first, { rule: input.rule ?? null });
    const release = await this.#d.releases.create(appId, { ...input, initialStage });
    const now = this.#d.clock.now().toISOString();
    await this.#d.store.insertPolicy({
      releaseId: release.id,
      appId,
      templateName: name,
      template,
      onFailure: health.onFailure ?? 'rollback',
      stageIndex: 0,
      stageStartedAt: now,
      state: 'running',
      lastVerdict: null,
      lastEvaluatedAt: null,
      createdAt: now,
      updatedAt: now,
    });
    return release;
  }

  async view(releaseId: string): Promise<ReleaseHealthView> {
    await this.#d.releases.get(releaseId);
    const [p, decisions, alerts, watch] = await Promise.all([
      this.#d.store.getPolicy(releaseId),
      this.#d.store.listDecisions(releaseId, { excludeKinds: ['feedback_alert'], limit: DECISIONS_SHOWN }),
      this.#d.store.listDecisions(releaseId, { kinds: ['feedback_alert'], limit: DECISIONS_SHOWN }),
      this.#d.store.getWatch(releaseId),
    ]);
    return {
      releaseId,
      policy: p === null ? null : { template: p.templateName, onFailure: p.onFailure },
      template: p?.template ?? null,
      stageIndex: p?.stageIndex ?? null,
      stage: p === null ? null : resolveStage(p.template, p.stageIndex),
      stageStartedAt: p?.stageStartedAt ?? null,
      state: p?.state ?? null,
      lastVerdict: p?.lastVerdict ?? null,
      lastEvaluatedAt: p?.lastEvaluatedAt ?? null,
      decisions,
      feedbackWatch: watch?.keywords ?? [],
      feedbackAlerts: alerts,
    };
  }

  /** A human confirms a stage that waits for one: the release moves to the next stage (or completes). */
  async confirm(releaseId: string): Promise<ReleaseHealthView> {
    const release = await this.#d.releases.get(releaseId);
    const p = await this.#d.store.getPolicy(releaseId);
    if (p === null) throw HealthPolicyNotFound({ id: releaseId });
    if (p.state !== 'awaiting_confirmation') throw HealthNotAwaiting({ id: releaseId, state: p.state });
    const stage = resolveStage(p.template, p.stageIndex);
    await this.#record(p, 'confirmed', { stage: stage.name, reason: 'confirmed by an admin', gates: [] });
    await this.#enterNext(p, release, stage.name, []);
    return this.view(releaseId);
  }

  // ---- the evaluator -------------------------------------------------------------------------

  /** Starts the periodic evaluator (system clock only; a manual clock is driven by requests). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      void this.evaluate({ wait: false }).catch((err) => {
        if ((err as { code?: string }).code !== 'HT_HEALTH_EVALUATOR_BUSY') this.#d.onError(err, 'health evaluation');
      });
    }, this.#d.config.evaluateIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pass.catch(() => {});
    await this.#d.store.releaseLease(LEASE, this.#d.holder).catch(() => {});
  }

  /**
   * One evaluation pass now: every running release with a policy, then every breaker rule.
   * Passes in this process run one after the other; across processes the lease decides
   * (HT_HEALTH_EVALUATOR_BUSY when another process holds it).
   */
  evaluate(_opts: { wait?: boolean } = {}): Promise<PassResult> {
    const run = this.#pass.catch(() => {}).then(() => this.#runPass());
    this.#pass = run;
    return run;
  }

  async #runPass(): Promise<PassResult> {
    const now = this.#d.clock.now();
    const leaseMs = Math.max(2 * this.#d.config.evaluateIntervalMs, 60_000);
    const held = await this.#d.store.acquireLease(
      LEASE,
      this.#d.holder,
      now.toISOString(),
      new Date(now.getTime() + leaseMs).toISOString(),
    );
    if (!held) throw HealthEvaluatorBusy();
    const decisions: PassDecision[] = [];
    let evaluated = 0;
    for (const p of await this.#d.store.listHaltedPolicies()) {
      try {
        await this.#rearmIfResumed(p, now);
      } catch (err) {
        this.#d.onError(err, `health re-arm of ${p.releaseId}`);
      }
    }
    for (const p of await this.#d.store.listActivePolicies()) {
      try {
        const d = await this.#evaluateOne(p, now);
        if (d !== undefined) {
          evaluated++;
          decisions.push(d);
        }
      } catch (err) {
        this.#d.onError(err, `health evaluation of ${p.releaseId}`);
      }
    }
    let breakers: PassBreakerAction[] = [];
    try {
      breakers = await this.#evaluateBreakers(now);
    } catch (err) {
      this.#d.onError(err, 'breaker evaluation');
    }
    return { evaluated, decisions, breakers };
  }

  /** The baseline of a release: devices on the module's previous fully released version. */
  async baselineOf(release: Release): Promise<BaselineRef> {
    const others = await this.#d.releases.list(release.appId, { module: release.module });
    let best: Release | undefined;
    for (const r of others) {
      if (r.id === release.id || r.stage !== 'full' || r.status !== 'active') continue;
      if (r.platform !== null && release.platform !== null && r.platform !== release.platform) continue;
      try {
        if (compareVersions(r.version, release.version) >= 0) continue;
        if (best === undefined || compareVersions(r.version, best.version) > 0) best = r;
      } catch {
        // not comparable: not a baseline
      }
    }
    return best !== undefined
      ? { module: release.module, version: best.version }
      : { module: release.module, version: null, releaseId: '' };
  }

  async #evaluateOne(p: HealthPolicy, now: Date): Promise<PassDecision | undefined> {
    let release: Release;
    try {
      release = await this.#d.releases.get(p.releaseId);
    } catch {
      return undefined;
    }
    if (release.status === 'rolled_back') {
      await this.#setState(p, 'halted', now);
      await this.#record(p, 'stopped', { stage: resolveStage(p.template, p.stageIndex).name, reason: 'the release was rolled back', gates: [] });
      return undefined;
    }
    // A release a human halted is left alone until it is resumed.
    if (release.status !== 'active') return undefined;

    const stage = resolveStage(p.template, p.stageIndex);
    const from = new Date(p.stageStartedAt);
    const to = new Date(Math.max(now.getTime(), from.getTime() + 1));
    const minutesInStage = Math.max(0, Math.floor((now.getTime() - from.getTime()) / MINUTE));
    const baselineRef = await this.baselineOf(release).catch(() => null);
    let metricsAvailable = true;
    let candidate: CohortMetrics | undefined;
    let baseline: CohortMetrics | undefined;
    try {
      candidate = toCohortMetrics(await this.#d.events.health({ appId: p.appId, releaseId: p.releaseId, from, to }));
      if (baselineRef !== null) {
        baseline = toCohortMetrics(
          await this.#d.events.health({
            appId: p.appId,
            module: baselineRef.module,
            version: baselineRef.version ?? undefined,
            releaseId: baselineRef.releaseId,
            from,
            to,
          }),
        );
      }
    } catch (err) {
      metricsAvailable = false;
      this.#d.onError(err, `health metrics of ${p.releaseId}`);
    }
    const verdict = judgeStage({ stage, minutesInStage, metricsAvailable, candidate, baseline });
    const atLast = p.stageIndex >= p.template.stages.length - 1;
    const state = nextState(p.state, verdict.decision, atLast);
    const stored: StoredVerdict = {
      ...verdict,
      at: now.toISOString(),
      stageIndex: p.stageIndex,
      minutesInStage,
      metricsAvailable,
      baseline: baselineRef,
    };
    const record = shouldRecord(p.lastVerdict, { decision: verdict.decision, stageIndex: p.stageIndex }, state !== p.state || verdict.decision === 'advance');
    let recorded = false;
    if (record) {
      recorded = true;
      await this.#record(p, verdict.decision, {
        stage: verdict.stage,
        reason: verdict.reason,
        gates: verdict.gates,
        data: { minutesInStage, metricsAvailable, baseline: baselineRef, state },
      });
    }
    await this.#d.store.updatePolicy(p.releaseId, { lastVerdict: stored, lastEvaluatedAt: stored.at }, stored.at);

    let finalState = state;
    switch (verdict.decision) {
      case 'advance':
        finalState = await this.#enterNext(p, release, verdict.stage, verdict.gates);
        break;
      case 'await_confirmation':
        if (state !== p.state) await this.#setState(p, state, now);
        break;
      case 'halt':
        await this.#haltRelease(p, release, verdict, now);
        finalState = 'halted';
        break;
      case 'hold':
        break;
    }
    return {
      releaseId: p.releaseId,
      decision: verdict.decision,
      stage: verdict.stage,
      stageIndex: p.stageIndex,
      state: finalState,
      reason: verdict.reason,
      gates: verdict.gates,
      recorded,
    };
  }

  /** Moves the release into the next template stage (new window), or completes it at the last. */
  async #enterNext(p: HealthPolicy, release: Release, stageName: string, gates: Verdict['gates']): Promise<HealthState> {
    const now = this.#d.clock.now().toISOString();
    const next = p.stageIndex + 1;
    const def = p.template.stages[next];
    if (def === undefined) {
      await this.#d.store.updatePolicy(p.releaseId, { state: 'completed' }, now);
      await this.#record(p, 'completed', { stage: stageName, reason: 'the last stage passed; the release is complete', gates });
      return 'completed';
    }
    const target = releaseTargetFor(def, release);
    if (release.stage !== target.stage || release.percent !== target.percent) {
      await this.#d.releases.moveTo(release.id, target, 'health');
    }
    await this.#d.store.updatePolicy(p.releaseId, { stageIndex: next, stageStartedAt: now, state: 'running' }, now);
    return 'running';
  }

  async #haltRelease(p: HealthPolicy, release: Release, verdict: Verdict, now: Date): Promise<void> {
    await this.#setState(p, 'halted', now);
    if (release.status === 'active') await this.#d.releases.halt(release.id);
    if (p.onFailure === 'rollback') {
      await this.#d.releases.rollback(release.id);
      await this.#record(p, 'rollback', {
        stage: verdict.stage,
        reason: `rolled back after the halt: ${verdict.reason}`,
        gates: verdict.gates,
      });
    }
  }

  /**
   * A halted policy whose release a human resumed is judged again: back to `running` at the same
   * stage, from a fresh window (what happened before the halt does not count for or against it).
   */
  async #rearmIfResumed(p: HealthPolicy, now: Date): Promise<void> {
    let release: Release;
    try {
      release = await this.#d.releases.get(p.releaseId);
    } catch {
      return;
    }
    if (release.status !== 'active') return;
    const at = now.toISOString();
    await this.#d.store.updatePolicy(p.releaseId, { state: 'running', stageStartedAt: at }, at);
    await this.#record(p, 'resumed', {
      stage: resolveStage(p.template, p.stageIndex).name,
      reason: 'the release was resumed by hand; this stage is judged again from a fresh window',
      gates: [],
    });
  }

  async #setState(p: HealthPolicy, state: HealthState, now: Date): Promise<void> {
    if (p.state === state) return;
    await this.#d.store.updatePolicy(p.releaseId, { state }, now.toISOString());
  }

  async #record(
    p: { readonly appId: string; readonly releaseId: string | null; readonly stageIndex: number | null },
    kind: DecisionKind,
    what: { stage: string | null; reason: string; gates: readonly unknown[]; data?: Record<string, unknown>; subjectKey?: string },
  ): Promise<HealthDecision | null> {
    const d: HealthDecision = {
      id: newId('hdec'),
      appId: p.appId,
      releaseId: p.releaseId,
      kind,
      stageIndex: p.stageIndex,
      stage: what.stage,
      reason: what.reason,
      gates: what.gates,
      data: what.data ?? {},
      subjectKey: what.subjectKey ?? null,
      createdAt: this.#d.clock.now().toISOString(),
    };
    const inserted = await this.#d.store.insertDecision(d);
    if (!inserted) return null;
    this.#d.webhooks.send(d.id, `health.${kind}`, { type: `health.${kind}`, ...d });
    return d;
  }

  // ---- breakers ------------------------------------------------------------------------------

  async addBreaker(appId: string, body: Record<string, unknown>): Promise<BreakerView> {
    await this.#d.apps.getApp(appId);
    const { windowMinutes, ...rule } = body;
    const issues = validateBreakerRules([rule]);
    if (windowMinutes !== undefined && !(Number.isInteger(windowMinutes) && (windowMinutes as number) >= 1 && (windowMinutes as number) <= 10_080)) {
      issues.push({ path: '/0/windowMinutes', message: 'must be an integer from 1 to 10080' });
    }
    if (issues.length > 0) {
      throw BreakerInvalid(
        { summary: issues.map((i) => `${i.path.replace(/^\/0/, '') || '/'}: ${i.message}`).join('; ').slice(0, 500) },
        { fields: issues.map((i) => ({ pointer: `/body${i.path.replace(/^\/0/, '')}`, message: i.message })) },
      );
    }
    const stored: StoredBreaker = {
      appId,
      rule: rule as unknown as BreakerRule,
      windowMinutes: (windowMinutes as number | undefined) ?? this.#d.config.breakerWindowMinutes,
      createdAt: this.#d.clock.now().toISOString(),
    };
    if (!(await this.#d.store.insertBreaker(stored))) throw BreakerExists({ app: appId, id: stored.rule.id });
    return breakerView(stored, []);
  }

  async listBreakers(appId: string): Promise<BreakerView[]> {
    await this.#d.apps.getApp(appId);
    const [rules, fires] = await Promise.all([this.#d.store.listBreakers(appId), this.#d.store.listFires(appId)]);
    return rules.map((b) => breakerView(b, fires.filter((f) => f.ruleId === b.rule.id)));
  }

  async deleteBreaker(appId: string, id: string): Promise<void> {
    await this.#d.apps.getApp(appId);
    if (!(await this.#d.store.deleteBreaker(appId, id))) throw BreakerNotFound({ app: appId, id });
  }

  async #evaluateBreakers(now: Date): Promise<PassBreakerAction[]> {
    const out: PassBreakerAction[] = [];
    const rules = await this.#d.store.listBreakers();
    const releasesByApp = new Map<string, Release[]>();
    for (const b of rules) {
      try {
        let releases = releasesByApp.get(b.appId);
        if (releases === undefined) {
          releases = await this.#d.releases.list(b.appId);
          releasesByApp.set(b.appId, releases);
        }
        const subject = await this.#subjectOf(b, releases);
        if (subject === undefined) continue;
        const from = new Date(now.getTime() - b.windowMinutes * MINUTE);
        let metrics: BreakerMetrics;
        try {
          const h = await this.#d.events.health({ appId: b.appId, ...subject.query, from, to: now });
          metrics = { sessions: h.sessions, crashed: Math.min(h.sessionsCrashed, h.sessions), anr: Math.min(h.anrs, h.sessions) };
        } catch {
          metrics = { sessions: 0, crashed: 0, anr: 0, available: false };
        }
        const [action] = evaluateBreakers([b.rule], { [b.rule.target]: metrics });
        if (action === undefined) continue;
        const subjectKey = subject.release?.id ?? subject.packageId;
        if (!(await this.#d.store.recordFire(b.appId, b.rule.id, subjectKey, now.toISOString()))) continue;
        await this.#carryOut(subject, action.action);
        const fired: PassBreakerAction = {
          appId: b.appId,
          ruleId: b.rule.id,
          action: action.action,
          target: b.rule.target,
          releaseId: subject.release?.id ?? null,
          packageId: subject.packageId,
          message: action.message,
          numbers: action.numbers,
        };
        out.push(fired);
        const policy = subject.release !== undefined ? await this.#d.store.getPolicy(subject.release.id) : null;
        await this.#record(
          { appId: b.appId, releaseId: subject.release?.id ?? null, stageIndex: policy?.stageIndex ?? null },
          'breaker',
          {
            stage: policy === null ? null : resolveStage(policy.template, policy.stageIndex).name,
            reason: `breaker "${b.rule.id}" (${action.action}): ${action.message}`,
            gates: [],
            data: { rule: b.rule, windowMinutes: b.windowMinutes, action: action.action, packageId: subject.packageId, numbers: action.numbers, metrics },
          },
        );
      } catch (err) {
        this.#d.onError(err, `breaker ${b.rule.id} of ${b.appId}`);
      }
    }
    return out;
  }

  /**
   * What a rule watches and acts on. `package` rules name a package id: its module version,
   * whatever shipped it, and its release if it has one. `module` rules name a module: its newest
   * active release (the one being rolled out) and that release's package.
   */
  async #subjectOf(
    b: StoredBreaker,
    releases: readonly Release[],
  ): Promise<{ query: Omit<HealthQuery, 'appId' | 'from' | 'to'>; release: Release | undefined; packageId: string } | undefined> {
    if (b.rule.scope === 'package') {
      let pkg: Package;
      try {
        pkg = await this.#d.packages.getPackage(b.rule.target);
      } catch {
        return undefined;
      }
      if (pkg.appId !== b.appId) return undefined;
      const release = releases.find((r) => r.packageId === pkg.id);
      return { query: { module: pkg.module, version: pkg.version }, release, packageId: pkg.id };
    }
    let newest: Release | undefined;
    for (const r of releases) {
      if (r.module !== b.rule.target || r.status !== 'active') continue;
      try {
        if (newest === undefined || compareVersions(r.version, newest.version) > 0) newest = r;
      } catch {
        // not comparable
      }
    }
    if (newest === undefined) return undefined;
    return { query: { releaseId: newest.id }, release: newest, packageId: newest.packageId };
  }

  async #carryOut(
    subject: { release: Release | undefined; packageId: string },
    action: BreakerRule['action'],
  ): Promise<void> {
    if (action === 'disable') {
      await this.#d.packages.setDisabled(subject.packageId, true);
      return;
    }
    if (action === 'halt_and_rollback' && subject.release !== undefined) {
      const r = await this.#d.releases.get(subject.release.id);
      if (r.status === 'active') await this.#d.releases.halt(r.id);
      if (r.status !== 'rolled_back') await this.#d.releases.rollback(r.id);
      const p = await this.#d.store.getPolicy(r.id);
      if (p !== null && p.state !== 'halted' && p.state !== 'completed') {
        await this.#d.store.updatePolicy(r.id, { state: 'halted' }, this.#d.clock.now().toISOString());
      }
    }
  }

  // ---- feedback watch ------------------------------------------------------------------------

  async setFeedbackWatch(releaseId: string, keywords: readonly string[]): Promise<FeedbackWatch> {
    const release = await this.#d.releases.get(releaseId);
    const clean = [...new Set(keywords.map((k) => k.trim()).filter((k) => k !== ''))];
    const w: FeedbackWatch = { releaseId, appId: release.appId, keywords: clean, updatedAt: this.#d.clock.now().toISOString() };
    await this.#d.store.setWatch(w);
    return w;
  }

  /** New feedback items (after their batch committed): alerts for the watched keywords they match. */
  async onFeedback(items: readonly FeedbackNotice[]): Promise<number> {
    const ids = [...new Set(items.flatMap((i) => i.releaseIds))];
    if (ids.length === 0) return 0;
    const watches = new Map((await this.#d.store.watchesFor(ids)).map((w) => [w.releaseId, w]));
    if (watches.size === 0) return 0;
    let alerts = 0;
    for (const item of items) {
      for (const releaseId of new Set(item.releaseIds)) {
        const w = watches.get(releaseId);
        if (w === undefined || w.appId !== item.appId) continue;
        const matched = matchKeywords(item.text, w.keywords);
        if (matched.length === 0) continue;
        const p = await this.#d.store.getPolicy(releaseId);
        const d = await this.#record(
          { appId: item.appId, releaseId, stageIndex: p?.stageIndex ?? null },
          'feedback_alert',
          {
            stage: p === null ? null : resolveStage(p.template, p.stageIndex).name,
            reason: `feedback matches ${matched.map((m) => JSON.stringify(m)).join(', ')}`,
            gates: [],
            data: {
              eventId: item.eventId,
              keywords: matched,
              text: item.text.slice(0, 500),
              deviceId: item.deviceId,
              ...(item.userId !== undefined ? { userId: item.userId } : {}),
              at: new Date(item.ts).toISOString(),
            },
            subjectKey: item.eventId,
          },
        );
        if (d !== null) alerts++;
      }
    }
    return alerts;
  }
}

function breakerView(b: StoredBreaker, fired: readonly BreakerFire[]): BreakerView {
  return { ...b.rule, windowMinutes: b.windowMinutes, createdAt: b.createdAt, fired };
}
