import { createHash } from 'node:crypto';
import { zipSync, type Zippable } from 'fflate';
import type { BlobStore } from '../../platform/blob/blob-store.js';
import type { Clock } from '../../platform/clock.js';
import { readPackageFiles } from '../delta/package-files.js';
import type { Package } from '../packages/package-store.js';
import type { CodePushDiff, CodePushStore } from './codepush-store.js';

/** A diff package ready to be served. */
export interface ReadyDiff {
  readonly blobSha256: string;
  readonly size: number;
}

export interface CodePushDiffsDeps {
  readonly store: Pick<CodePushStore, 'insertDiff' | 'getDiff' | 'listDiffs' | 'claimDiff' | 'finishDiff'>;
  readonly blobs: BlobStore;
  readonly packages: { getPackage(id: string): Promise<Package> };
  readonly clock: Clock;
  /** How long a running job is held before another process may take it. */
  readonly leaseMs: number;
  /** Whether diffs are built at all (`delta.workers > 0`). */
  readonly enabled: boolean;
  readonly announce: (toPackageId: string, baseHash: string) => Promise<void>;
  readonly onError?: (err: unknown, context: string) => void;
}

const key = (to: string, base: string): string => `${to}<${base}`;

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  const b = Buffer.concat(chunks);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Builds a CodePush diff package (reference §b.7): every file of `next` that is new or changed
 * against `base`, plus `hotcodepush.json` = `{"deletedFiles": [...]}` listing the files of
 * `base` that `next` no longer has. The client copies its current folder, deletes those, overlays
 * the zip and then checks the folder against the full package hash.
 *
 * @example
 * const zip = buildCodePushDiff(baseFiles, nextFiles);
 */
export function buildCodePushDiff(
  base: readonly { path: string; data: Uint8Array }[],
  next: readonly { path: string; data: Uint8Array }[],
): Uint8Array {
  const old = new Map(base.map((f) => [f.path, sha256(f.data)]));
  const files: Zippable = {};
  const present = new Set<string>();
  for (const f of next) {
    present.add(f.path);
    if (old.get(f.path) === sha256(f.data)) continue;
    files[f.path] = [f.data, { level: 6 }];
  }
  const deletedFiles = base.map((f) => f.path).filter((p) => !present.has(p)).sort();
  files['hotcodepush.json'] = [new TextEncoder().encode(JSON.stringify({ deletedFiles })), { level: 6 }];
  return zipSync(files);
}

/**
 * Diff packages on demand, like the delta slice's patches: the first device on a base gets the
 * full package at once and queues the diff; later devices get the diff. The pair's row (primary
 * key) is the single-flight lock across processes, with a lease while running. Diffs are cheap
 * (hash and deflate the changed files), so they are built in-process, one at a time.
 */
export class CodePushDiffs {
  readonly #d: CodePushDiffsDeps;
  readonly #rows = new Map<string, CodePushDiff | 'requested'>();
  #queue: Promise<void> = Promise.resolve();
  readonly #requests = new Set<Promise<void>>();
  #closed = false;

  constructor(deps: CodePushDiffsDeps) {
    this.#d = deps;
  }

  async start(): Promise<void> {
    for (const row of await this.#d.store.listDiffs()) this.#rows.set(key(row.toPackageId, row.baseHash), row);
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#queue;
  }

  /** The ready diff, from memory. */
  lookup(toPackageId: string, baseHash: string): ReadyDiff | undefined {
    const row = this.#rows.get(key(toPackageId, baseHash));
    if (row === undefined || row === 'requested' || row.status !== 'ready' || row.blobSha256 === null) return undefined;
    return { blobSha256: row.blobSha256, size: row.size ?? 0 };
  }

  state(toPackageId: string, baseHash: string): CodePushDiff | 'requested' | undefined {
    return this.#rows.get(key(toPackageId, baseHash));
  }

  /** A device on `basePackageId` (hash `baseHash`) was offered `toPackageId` in full: queue the diff. */
  request(appId: string, toPackageId: string, baseHash: string, basePackageId: string): void {
    if (!this.#d.enabled || this.#closed) return;
    const k = key(toPackageId, baseHash);
    if (this.#rows.has(k)) return;
    this.#rows.set(k, 'requested');
    const now = this.#d.clock.now().toISOString();
    const requested = this.#d.store
      .insertDiff({
        toPackageId,
        baseHash,
        appId,
        status: 'pending',
        blobSha256: null,
        size: null,
        error: null,
        leaseUntil: null,
        createdAt: now,
        updatedAt: now,
      })
      .then(async (inserted) => {
        if (inserted) this.#enqueue(toPackageId, baseHash, basePackageId);
        else await this.refresh(toPackageId, baseHash);
      })
      .catch((err) => {
        this.#rows.delete(k);
        this.#d.onError?.(err, 'codepush diff request');
      });
    this.#requests.add(requested);
    void requested.finally(() => this.#requests.delete(requested));
  }

  async refresh(toPackageId: string, baseHash: string): Promise<void> {
    const row = await this.#d.store.getDiff(toPackageId, baseHash);
    const k = key(toPackageId, baseHash);
    if (row === null) this.#rows.delete(k);
    else this.#rows.set(k, row);
  }

  /** Waits for the requests and jobs in flight (tests). */
  async idle(): Promise<void> {
    while (this.#requests.size > 0) await Promise.allSettled([...this.#requests]);
    await this.#queue;
  }

  #enqueue(to: string, base: string, basePackageId: string): void {
    this.#queue = this.#queue
      .then(() => this.#job(to, base, basePackageId))
      .catch((err) => this.#d.onError?.(err, 'codepush diff job'));
  }

  async #job(to: string, base: string, basePackageId: string): Promise<void> {
    if (this.#closed) return;
    const { store, clock, leaseMs } = this.#d;
    const now = clock.now();
    const claimed = await store.claimDiff(to, base, {
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
      expiredBefore: now.toISOString(),
    });
    if (!claimed) {
      await this.refresh(to, base);
      return;
    }
    let outcome: { status: 'ready' | 'too_large' | 'failed'; blobSha256?: string; size?: number; error?: string };
    try {
      outcome = await this.#compute(to, basePackageId);
    } catch (err) {
      outcome = { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
    await store.finishDiff(to, base, outcome, clock.now().toISOString());
    await this.refresh(to, base);
    await this.#d.announce(to, base);
  }

  async #compute(to: string, basePackageId: string): Promise<{ status: 'ready' | 'too_large' | 'failed'; blobSha256?: string; size?: number; error?: string }> {
    const [next, base] = await Promise.all([this.#d.packages.getPackage(to), this.#d.packages.getPackage(basePackageId)]);
    if (next.format !== 'zip' || base.format !== 'zip' || next.blobSha256 === null || base.blobSha256 === null) {
      return { status: 'failed', error: 'diffs need two zip packages' };
    }
    const [nextBytes, baseBytes] = await Promise.all([
      this.#d.blobs.openRead(next.blobSha256).then(readAll),
      this.#d.blobs.openRead(base.blobSha256).then(readAll),
    ]);
    const zip = buildCodePushDiff(await readPackageFiles(baseBytes, 'zip'), await readPackageFiles(nextBytes, 'zip'));
    if (zip.byteLength >= next.size) return { status: 'too_large', size: zip.byteLength, error: 'the diff is not smaller than the package' };
    const staged = await this.#d.blobs.stage([zip], { maxBytes: zip.byteLength });
    await staged.commit();
    return { status: 'ready', blobSha256: staged.sha256, size: staged.size };
  }
}
