/** How a deployment buckets devices into a rollout. */
export type CodePushBucketing = 'halftone' | 'codepush';

/** A CodePush deployment: its key names (app, platform, Halftone module). */
export interface CodePushDeployment {
  readonly id: string;
  readonly appId: string;
  readonly name: string;
  readonly platform: string;
  /** The Halftone module its labels are published in (`codepush-<name>`). */
  readonly module: string;
  /** Semi-secret: the acquisition credential. Never logged. */
  readonly key: string;
  readonly bucketing: CodePushBucketing;
  readonly createdAt: string;
}

/** Label `v<seq>` of a deployment; audience, mandatory and description live on the Halftone release. */
export interface CodePushRelease {
  readonly deploymentId: string;
  readonly seq: number;
  readonly releaseId: string;
  readonly packageId: string;
  readonly range: string;
  readonly disabled: boolean;
  readonly releasedFrom: string | null;
  readonly createdAt: string;
}

export const METRIC_NAMES = ['active', 'downloaded', 'installed', 'failed', 'rolledBack', 'ignored'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type LabelMetrics = Record<MetricName, number>;

export type CodePushDiffStatus = 'pending' | 'running' | 'ready' | 'too_large' | 'failed';

/** A diff package from the package with hash `baseHash` to package `toPackageId`. */
export interface CodePushDiff {
  readonly toPackageId: string;
  readonly baseHash: string;
  readonly appId: string;
  readonly status: CodePushDiffStatus;
  readonly blobSha256: string | null;
  readonly size: number | null;
  readonly error: string | null;
  readonly leaseUntil: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CodePushStore {
  /** HT_CODEPUSH_DEPLOYMENT_EXISTS when the name (in the app) or the key is taken. */
  insertDeployment(d: CodePushDeployment): Promise<void>;
  listDeployments(appId?: string): Promise<CodePushDeployment[]>;
  getDeployment(appId: string, name: string): Promise<CodePushDeployment | null>;
  /** Oldest first. */
  listReleases(deploymentId: string): Promise<CodePushRelease[]>;
  /** Every label of the app's deployments, oldest first per deployment. */
  listReleasesOfApp(appId: string): Promise<CodePushRelease[]>;
  /** Returns false when the label is taken (a concurrent publish): take the next one. */
  insertRelease(r: CodePushRelease): Promise<boolean>;
  updateRelease(deploymentId: string, seq: number, change: { disabled?: boolean; range?: string }): Promise<void>;
  /** Adds (possibly negative) amounts to a label's counters. */
  addMetrics(deploymentId: string, label: string, delta: Partial<LabelMetrics>): Promise<void>;
  metrics(deploymentId: string): Promise<Map<string, LabelMetrics>>;
  /** false when the pair has a row already (the primary key is the single-flight lock). */
  insertDiff(d: CodePushDiff): Promise<boolean>;
  getDiff(toPackageId: string, baseHash: string): Promise<CodePushDiff | null>;
  listDiffs(): Promise<CodePushDiff[]>;
  /** Takes a pending job, or a running one whose lease ended before `expiredBefore`. */
  claimDiff(toPackageId: string, baseHash: string, t: { now: string; leaseUntil: string; expiredBefore: string }): Promise<boolean>;
  finishDiff(
    toPackageId: string,
    baseHash: string,
    outcome: { status: 'ready' | 'too_large' | 'failed'; blobSha256?: string | null; size?: number | null; error?: string | null },
    now: string,
  ): Promise<void>;
}
