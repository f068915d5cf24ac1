import type { BlobStore } from '../../platform/blob/blob-store.js';
import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config/config-schema.js';
import type { Package, PackageStore } from '../packages/package-store.js';
import { DeltaJobTimeout, type DeltaRunner } from './delta-runner.js';
import type { DeltaPatch, DeltaStore } from './delta-store.js';

/** A patch a device can download instead of the full package. */
export interface ReadyPatch {
  readonly blobSha256: string;
  readonly size: number;
}

export interface DeltaServiceDeps {
  readonly store: DeltaStore;
  readonly blobs: BlobStore;
  readonly packages: Pick<PackageStore, 'getPackage'>;
  readonly runner: DeltaRunner;
  readonly clock: Clock;
  readonly config: Pick<Config, 'delta' | 'dbUrl'>;
  /** Tells the other processes that a pair's row changed (the event bus). */
  readonly announce: (fromPackageId: string, toPackageId: string) => Promise<void>;
  readonly onError?: (err: unknown, context: string) => void;
}

const key = (from: string, to: string): string => `${from}>${to}`;

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  const b = Buffer.concat(chunks);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Patches on demand, the seeds' design: the first device that needs N→M gets the full package
 * at once and queues the patch; later devices get the patch. The pair's database row is the
 * single-flight lock (also across processes), and a job's lease marks it in progress; a lease
 * that expires (a crash, a restart) lets the job be taken again.
 *
 * What the check path reads is kept in memory (`lookup` never touches the database).
 */
export class DeltaService {
  readonly #d: DeltaServiceDeps;
  readonly #rows = new Map<string, DeltaPatch | 'requested'>();
  readonly #running = new Map<string, Promise<void>>();
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: DeltaServiceDeps) {
    this.#d = deps;
  }

  get enabled(): boolean {
    return this.#d.config.delta.workers > 0;
  }

  /** Loads every pair's state and resumes the jobs nobody is working on (after a restart). */
  async start(): Promise<void> {
    for (const row of await this.#d.store.listAll()) this.#rows.set(key(row.fromPackageId, row.toPackageId), row);
    if (!this.enabled) return;
    // One process on SQLite: whatever was running died with the previous process.
    const embedded = this.#d.config.dbUrl.startsWith('sqlite:');
    await this.#resume(embedded);
    this.#sweeper = setInterval(() => void this.#resume(false).catch((e) => this.#d.onError?.(e, 'delta sweep')), 60_000);
    this.#sweeper.unref();
  }

  async #resume(takeRunning: boolean): Promise<void> {
    const now = this.#d.clock.now();
    const horizon = takeRunning ? new Date(now.getTime() + this.#d.config.delta.leaseMs + 1).toISOString() : now.toISOString();
    for (const row of await this.#d.store.listClaimable(horizon)) this.#spawn(row.fromPackageId, row.toPackageId, takeRunning);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#running.values()]);
  }

  /** The ready patch for a pair, from memory; `undefined` when there is none (yet). */
  lookup(fromPackageId: string, toPackageId: string): ReadyPatch | undefined {
    const row = this.#rows.get(key(fromPackageId, toPackageId));
    if (row === undefined || row === 'requested' || row.status !== 'ready' || row.blobSha256 === null) return undefined;
    return { blobSha256: row.blobSha256, size: row.size ?? 0 };
  }

  /** The state of a pair (for the admin API and tests), read from memory. */
  state(fromPackageId: string, toPackageId: string): DeltaPatch | 'requested' | undefined {
    return this.#rows.get(key(fromPackageId, toPackageId));
  }

  /**
   * A device on `from` was just offered `to` in full: make sure a patch gets computed. Returns
   * at once (the check never waits); concurrent calls for one pair start one job.
   */
  request(appId: string, from: { id: string }, to: { id: string; size: number }): void {
    if (!this.enabled || this.#closed) return;
    const k = key(from.id, to.id);
    if (this.#rows.has(k)) return;
    this.#rows.set(k, 'requested');
    const now = this.#d.clock.now().toISOString();
    void this.#d.store
      .insertPending({
        fromPackageId: from.id,
        toPackageId: to.id,
        appId,
        status: 'pending',
        blobSha256: null,
        size: null,
        fullSize: to.size,
        attempts: 0,
        error: null,
        leaseUntil: null,
        createdAt: now,
        updatedAt: now,
      })
      .then(async (inserted) => {
        if (inserted) this.#spawn(from.id, to.id, false);
        else await this.refresh(from.id, to.id); // someone else has it
      })
      .catch((err) => {
        this.#rows.delete(k);
        this.#d.onError?.(err, 'delta request');
      });
  }

  /** Re-reads a pair's row (another process changed it). */
  async refresh(fromPackageId: string, toPackageId: string): Promise<void> {
    const row = await this.#d.store.get(fromPackageId, toPackageId);
    const k = key(fromPackageId, toPackageId);
    if (row === null) this.#rows.delete(k);
    else this.#rows.set(k, row);
  }

  /** Waits for the jobs in flight (tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  #spawn(from: string, to: string, takeRunning: boolean): void {
    const k = key(from, to);
    if (this.#running.has(k) || this.#closed) return;
    const job = this.#job(from, to, takeRunning)
      .catch((err) => this.#d.onError?.(err, `delta job ${k}`))
      .finally(() => this.#running.delete(k));
    this.#running.set(k, job);
  }

  async #job(from: string, to: string, takeRunning: boolean): Promise<void> {
    const { store, clock, config } = this.#d;
    const now = clock.now();
    // After a restart on SQLite nothing else can be running the job: take it whatever its lease.
    const expiredBefore = takeRunning ? new Date(now.getTime() + config.delta.leaseMs + 1) : now;
    const claimed = await store.claim(from, to, {
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + config.delta.leaseMs).toISOString(),
      expiredBefore: expiredBefore.toISOString(),
    });
    if (!claimed) {
      await this.refresh(from, to);
      return;
    }
    await this.refresh(from, to);
    const outcome = await this.#compute(from, to);
    await store.finish(from, to, outcome, clock.now().toISOString());
    await this.refresh(from, to);
    await this.#d.announce(from, to);
  }

  async #compute(
    from: string,
    to: string,
  ): Promise<{ status: 'ready' | 'too_large' | 'failed'; blobSha256?: string; size?: number; error?: string }> {
    const [oldPkg, newPkg] = await Promise.all([this.#d.packages.getPackage(from), this.#d.packages.getPackage(to)]);
    const usable = (p: Package | null): p is Package & { blobSha256: string; format: 'zip' | 'raw' } =>
      p !== null && p.blobSha256 !== null && (p.format === 'zip' || p.format === 'raw');
    if (!usable(oldPkg) || !usable(newPkg)) return { status: 'failed', error: 'a package is missing or is a link' };
    const { delta } = this.#d.config;
    const [oldStat, newStat] = await Promise.all([this.#d.blobs.stat(oldPkg.blobSha256), this.#d.blobs.stat(newPkg.blobSha256)]);
    if (oldStat === null || newStat === null) return { status: 'failed', error: 'a package blob is missing' };
    if (oldStat.size + newStat.size > delta.maxInputBytes) {
      return { status: 'too_large', error: `packages exceed the ${delta.maxInputBytes}-byte budget` };
    }
    let patch: Uint8Array;
    try {
      const [oldBytes, newBytes] = await Promise.all([
        this.#d.blobs.openRead(oldPkg.blobSha256).then(readAll),
        this.#d.blobs.openRead(newPkg.blobSha256).then(readAll),
      ]);
      patch = await this.#d.runner.run(
        { oldBytes, oldFormat: oldPkg.format, newBytes, newFormat: newPkg.format },
        delta.jobTimeoutMs,
      );
    } catch (err) {
      if (err instanceof DeltaJobTimeout) return { status: 'failed', error: err.message };
      return { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
    // The seeds' give-up rule: a patch half as big as the package saves too little.
    if (patch.byteLength >= newPkg.size * 0.5) {
      return { status: 'too_large', size: patch.byteLength, error: `patch is ${patch.byteLength} of ${newPkg.size} bytes` };
    }
    const staged = await this.#d.blobs.stage([patch], { maxBytes: patch.byteLength });
    await staged.commit();
    return { status: 'ready', blobSha256: staged.sha256, size: staged.size };
  }

  /**
   * Drops the patches whose either end is no longer released (and their blobs when nothing
   * else points at them). `released` holds the ids of packages with a live release.
   */
  async collectGarbage(released: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for (const row of await this.#d.store.listAll()) {
      if (released.has(row.fromPackageId) && released.has(row.toPackageId)) continue;
      if (row.status === 'running' || row.status === 'pending') continue;
      await this.#d.store.delete(row.fromPackageId, row.toPackageId);
      this.#rows.delete(key(row.fromPackageId, row.toPackageId));
      if (row.blobSha256 !== null && !(await this.#d.store.isBlobReferenced(row.blobSha256))) {
        await this.#d.blobs.delete(row.blobSha256);
      }
      removed++;
    }
    return removed;
  }
}
