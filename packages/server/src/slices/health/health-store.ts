import type { BreakerRule, ReleaseTemplate, Verdict } from '@halftone/core';

/** Where a health-gated release stands. */
export type HealthState = 'running' | 'awaiting_confirmation' | 'halted' | 'completed';

export const HEALTH_STATES: readonly HealthState[] = ['running', 'awaiting_confirmation', 'halted', 'completed'];

/** What a failed stage does to the release: halt it, or halt and roll back its installers. */
export type OnFailure = 'halt' | 'rollback';

/** Which devices a stage was compared with. */
export interface BaselineRef {
  readonly module: string;
  /** The previously fully released version; null = every version no release shipped. */
  readonly version: string | null;
  /** `''` when the baseline is the devices on versions no release shipped. */
  readonly releaseId?: '' | undefined;
}

/** The latest verdict of a release, kept on its policy row (one write per look, no new row). */
export interface StoredVerdict extends Verdict {
  readonly at: string;
  readonly stageIndex: number;
  readonly minutesInStage: number;
  readonly metricsAvailable: boolean;
  readonly baseline: BaselineRef | null;
}

/** The health policy of one release. */
export interface HealthPolicy {
  readonly releaseId: string;
  readonly appId: string;
  readonly templateName: string;
  readonly template: ReleaseTemplate;
  readonly onFailure: OnFailure;
  readonly stageIndex: number;
  readonly stageStartedAt: string;
  readonly state: HealthState;
  readonly lastVerdict: StoredVerdict | null;
  readonly lastEvaluatedAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type PolicyChange = Partial<
  Pick<HealthPolicy, 'stageIndex' | 'stageStartedAt' | 'state' | 'lastVerdict' | 'lastEvaluatedAt'>
>;

/**
 * Kinds of recorded decision: the verdicts (`advance`, `await_confirmation`, `halt`, `hold`), what
 * followed from them (`rollback`, `completed`), a human's `confirmed`, `stopped` (the release was
 * rolled back or removed from under the policy), `resumed` (a human resumed a halted release, the
 * policy judges it again from a fresh window), a `breaker` action and a `feedback_alert`.
 */
export type DecisionKind =
  | 'advance'
  | 'await_confirmation'
  | 'halt'
  | 'hold'
  | 'rollback'
  | 'completed'
  | 'confirmed'
  | 'stopped'
  | 'resumed'
  | 'breaker'
  | 'feedback_alert';

export interface HealthDecision {
  readonly id: string;
  readonly appId: string;
  readonly releaseId: string | null;
  readonly kind: DecisionKind;
  readonly stageIndex: number | null;
  readonly stage: string | null;
  readonly reason: string;
  readonly gates: readonly unknown[];
  readonly data: Readonly<Record<string, unknown>>;
  /** Unique per (release, kind) when set: the feedback item id of an alert. */
  readonly subjectKey: string | null;
  readonly createdAt: string;
}

/** A circuit-breaker rule of an app with the window its metrics are read over. */
export interface StoredBreaker {
  readonly appId: string;
  readonly rule: BreakerRule;
  readonly windowMinutes: number;
  readonly createdAt: string;
}

export interface BreakerFire {
  readonly ruleId: string;
  /** The release the action was carried out on, else the package id. */
  readonly subject: string;
  readonly firedAt: string;
}

export interface FeedbackWatch {
  readonly releaseId: string;
  readonly appId: string;
  readonly keywords: readonly string[];
  readonly updatedAt: string;
}

export interface DecisionFilter {
  /** Only these kinds. */
  readonly kinds?: readonly DecisionKind[];
  /** Every kind but these. */
  readonly excludeKinds?: readonly DecisionKind[];
  /** Newest first, at most this many. */
  readonly limit: number;
}

/** Persistence of the health slice (SQL adapter: health-store.sql.ts). */
export interface HealthStore {
  insertPolicy(p: HealthPolicy): Promise<void>;
  getPolicy(releaseId: string): Promise<HealthPolicy | null>;
  /** Policies whose state is `running` or `awaiting_confirmation`, oldest first. */
  listActivePolicies(): Promise<HealthPolicy[]>;
  /** Policies in state `halted` (re-armed when a human resumes their release). */
  listHaltedPolicies(): Promise<HealthPolicy[]>;
  /** Applies the change; false when the release has no policy. */
  updatePolicy(releaseId: string, change: PolicyChange, updatedAt: string): Promise<boolean>;
  /** Inserts a decision; false when one with the same (release, kind, subjectKey) exists. */
  insertDecision(d: HealthDecision): Promise<boolean>;
  /** A release's decisions, newest first. */
  listDecisions(releaseId: string, filter: DecisionFilter): Promise<HealthDecision[]>;
  /** False when the app already has a rule with this id. */
  insertBreaker(b: StoredBreaker): Promise<boolean>;
  /** Rules of one app, or of every app; by app then id. */
  listBreakers(appId?: string): Promise<StoredBreaker[]>;
  /** Deletes the rule and what it fired; false when there was none. */
  deleteBreaker(appId: string, id: string): Promise<boolean>;
  /** Records that a rule acted on a subject; false when it already had. */
  recordFire(appId: string, ruleId: string, subject: string, at: string): Promise<boolean>;
  listFires(appId: string): Promise<BreakerFire[]>;
  setWatch(w: FeedbackWatch): Promise<void>;
  getWatch(releaseId: string): Promise<FeedbackWatch | null>;
  watchesFor(releaseIds: readonly string[]): Promise<FeedbackWatch[]>;
  /**
   * Takes or renews the named lease for `holder` until `until` if it is free, expired (its end
   * before `now`) or already held by `holder`; true when `holder` holds it now.
   */
  acquireLease(name: string, holder: string, now: string, until: string): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  releaseLease(name: string, holder: string): Promise<void>;
}
