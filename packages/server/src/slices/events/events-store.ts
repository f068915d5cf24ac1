/** The additive counters of one rollup row (per minute and cohort). */
export interface RollupCounters {
  sessionsStarted: number;
  sessionsExited: number;
  sessionsCrashed: number;
  sessionsAbnormal: number;
  crashes: number;
  anrs: number;
  installsOk: number;
  installsFailed: number;
  downloadsOk: number;
  downloadsFailed: number;
  pageViews: number;
  customEvents: number;
  feedbacks: number;
  dropped: number;
}

export const COUNTER_NAMES: readonly (keyof RollupCounters)[] = [
  'sessionsStarted',
  'sessionsExited',
  'sessionsCrashed',
  'sessionsAbnormal',
  'crashes',
  'anrs',
  'installsOk',
  'installsFailed',
  'downloadsOk',
  'downloadsFailed',
  'pageViews',
  'customEvents',
  'feedbacks',
  'dropped',
];

export function zeroCounters(): RollupCounters {
  return {
    sessionsStarted: 0,
    sessionsExited: 0,
    sessionsCrashed: 0,
    sessionsAbnormal: 0,
    crashes: 0,
    anrs: 0,
    installsOk: 0,
    installsFailed: 0,
    downloadsOk: 0,
    downloadsFailed: 0,
    pageViews: 0,
    customEvents: 0,
    feedbacks: 0,
    dropped: 0,
  };
}

/**
 * A cohort: which module version the device ran, the release that shipped it ('' when no
 * release did — the baseline) and that release's stage when the event arrived ('' likewise).
 */
export interface Cohort {
  readonly module: string;
  readonly moduleVersion: string;
  readonly releaseId: string;
  readonly stage: string;
}

/** One event to store, with what it adds to the rollups if it is new (not a resend). */
export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  /** Corrected event time, epoch ms. */
  readonly ts: number;
  /** The release the event is stored under ('' for none); the first cohort's. */
  readonly releaseId: string;
  readonly data: string;
  /** Cohorts it counts towards, and for each the counters it adds (in the event's minute). */
  readonly cohorts: readonly Cohort[];
  readonly counters: Partial<RollupCounters>;
  /** For crashes: the group it belongs to. */
  readonly crash?: {
    readonly fingerprint: string;
    readonly exceptionType: string;
    readonly title: string;
    readonly frames: readonly string[];
  };
}

/** One batch: one device, its events, in one transaction. */
export interface IngestBatch {
  readonly appId: string;
  readonly deviceId: string;
  readonly deviceModel: string;
  readonly receivedAt: number;
  readonly events: readonly PreparedEvent[];
}

export interface IngestOutcome {
  /** Events stored now. */
  readonly inserted: number;
  /** Events whose id was already stored (resent), skipped with their rollup contributions. */
  readonly duplicates: number;
}

/** What the health queries select. `releaseId` null = any release; '' = no release (baseline). */
export interface CohortQuery {
  readonly appId: string;
  readonly module: string;
  /** A version, or undefined for every version of the module. */
  readonly moduleVersion?: string | undefined;
  readonly releaseId?: string | null | undefined;
  /** Inclusive start and exclusive end, epoch ms (rollups go by minute, sketches by hour). */
  readonly from: number;
  readonly to: number;
}

export interface RollupGroup extends RollupCounters {
  readonly stage: string;
  readonly deviceModel: string;
}

export interface CrashGroupStat {
  readonly fingerprint: string;
  readonly exceptionType: string;
  readonly title: string;
  /** Crashes of the group in the query's cohort and window (hour granularity). */
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/** Storage of client events, rollups, distinct-device sketches and crash groups. */
export interface EventsStore {
  /**
   * Stores a batch in one transaction: the raw events (a resent id is skipped), and for the new
   * ones only, the per-minute rollups, the hourly distinct-device sketches and crash groups.
   * Resolves after the commit.
   */
  ingest(batch: IngestBatch): Promise<IngestOutcome>;
  /** Deletes raw events received before `before` (epoch ms); returns how many. */
  purgeRaw(before: number): Promise<number>;
  /** Rollup sums over the window, grouped by stage cohort and device model. */
  rollups(query: CohortQuery): Promise<RollupGroup[]>;
  /** Distinct devices seen in the window (hours overlapping it), estimated by HyperLogLog. */
  distinctDevices(query: CohortQuery): Promise<number>;
  /** The most frequent crash groups in the window (hours overlapping it). */
  topCrashGroups(query: CohortQuery, limit: number): Promise<CrashGroupStat[]>;
  /** Raw events stored for an app (tests and tools). */
  countRaw(appId: string): Promise<number>;
}
