/** Where a patch between two packages stands. */
export type DeltaStatus = 'pending' | 'running' | 'ready' | 'too_large' | 'failed';

/** The patch from one package version to another (one row per ordered pair). */
export interface DeltaPatch {
  readonly fromPackageId: string;
  readonly toPackageId: string;
  readonly appId: string;
  readonly status: DeltaStatus;
  /** Content address of the stored patch (when ready). */
  readonly blobSha256: string | null;
  readonly size: number | null;
  readonly fullSize: number;
  readonly attempts: number;
  readonly error: string | null;
  readonly leaseUntil: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface DeltaStore {
  /**
   * Records a new pending job for the pair; returns false when the pair already has a row
   * (the database's primary key is the single-flight lock across processes).
   */
  insertPending(patch: DeltaPatch): Promise<boolean>;
  get(fromPackageId: string, toPackageId: string): Promise<DeltaPatch | null>;
  listAll(): Promise<DeltaPatch[]>;
  /**
   * Takes the job (pending, or running with a lease that ended before `expiredBefore`) for this
   * process until `leaseUntil`; false when someone else holds it or it is done.
   */
  claim(
    fromPackageId: string,
    toPackageId: string,
    times: { now: string; leaseUntil: string; expiredBefore: string },
  ): Promise<boolean>;
  finish(
    fromPackageId: string,
    toPackageId: string,
    outcome: { status: 'ready' | 'too_large' | 'failed'; blobSha256?: string | null; size?: number | null; error?: string | null },
    now: string,
  ): Promise<void>;
  /** Jobs that nobody is working on: pending, or running with a lease older than `now`. */
  listClaimable(now: string): Promise<DeltaPatch[]>;
  delete(fromPackageId: string, toPackageId: string): Promise<void>;
  /** Whether any other row still points at this patch blob. */
  isBlobReferenced(blobSha256: string): Promise<boolean>;
}
