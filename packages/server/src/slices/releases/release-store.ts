import type { ReleaseStage, ReleaseStatus, Rule, Stickiness } from '@halftone/core';

/** A gray release of one package: who gets it, at which stage, in which state. */
export interface Release {
  readonly id: string;
  readonly appId: string;
  readonly module: string;
  readonly version: string;
  readonly packageId: string;
  readonly platform: string | null;
  readonly stage: ReleaseStage;
  readonly status: ReleaseStatus;
  readonly percent: number;
  readonly whitelist: readonly string[];
  readonly crowds: readonly string[];
  readonly rule: Rule | null;
  readonly mandatory: boolean;
  readonly grayId: string;
  readonly stickiness: Stickiness;
  readonly description: string | null;
  /** Grows by one with every change; a write names the revision it read (optimistic locking). */
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** One entry of a release's history (the audit trail): `release.created`, `release.halted`, … */
export interface ReleaseEvent {
  readonly id: string;
  readonly releaseId: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export type DeviceReportType = 'download' | 'install';

export interface DeviceReport {
  readonly releaseId: string;
  readonly deviceId: string;
  readonly userId: string | null;
  readonly stage: ReleaseStage;
  readonly type: DeviceReportType;
  readonly ok: boolean;
  readonly reason: string | null;
  readonly fromVersion: string | null;
  readonly at: string;
}

export interface DeviceCounts {
  readonly downloaded: number;
  readonly installed: number;
  readonly failed: number;
}

export interface ReleaseFilter {
  readonly module?: string | undefined;
  readonly status?: ReleaseStatus | undefined;
}

export interface StoredCounter {
  readonly releaseId: string;
  readonly stage: ReleaseStage;
  readonly checked: string;
  readonly offered: string;
}

export interface ReleaseStore {
  /** Inserts the release and its `release.created` event; ReleaseExists if the package has one. */
  insertRelease(release: Release, event: ReleaseEvent): Promise<void>;
  getRelease(id: string): Promise<Release | null>;
  listReleases(appId: string, filter?: ReleaseFilter): Promise<Release[]>;
  /**
   * Writes `next` (whose revision is `expectedRevision + 1`) and its event atomically, only if
   * the stored revision is still `expectedRevision`; returns false when someone got there first.
   */
  updateRelease(next: Release, expectedRevision: number, event: ReleaseEvent): Promise<boolean>;
  listEvents(releaseId: string): Promise<ReleaseEvent[]>;
  recordDeviceReport(report: DeviceReport): Promise<void>;
  deviceCountsByStage(releaseId: string): Promise<Map<ReleaseStage, DeviceCounts>>;
  /** Devices that reported installing the release, with the version they had before. */
  installersOf(releaseId: string): Promise<{ deviceId: string; fromVersion: string | null }[]>;
  /** The version of the module this device last reported installing, other than `releaseId`. */
  lastInstalledVersion(appId: string, module: string, deviceId: string, exceptReleaseId: string): Promise<string | null>;
  /** Ids of the packages that have a release not rolled back (what patches may stay for). */
  livePackageIds(): Promise<Set<string>>;
  saveCounters(counters: readonly StoredCounter[], at: string): Promise<void>;
  loadCounters(releaseId: string): Promise<StoredCounter[]>;
  /** The stored counters of several releases at once. */
  loadCountersOf(releaseIds: readonly string[]): Promise<StoredCounter[]>;
}
