import type { ReleaseStage } from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { HyperLogLog } from './hyperloglog.js';
import type { ReleaseStore, StoredCounter } from './release-store.js';

/** What a releaser watches per stage: distinct devices at each step of the funnel. */
export interface StageCounters {
  /** Devices that checked while this was the module's current release (≈1.6%, HyperLogLog). */
  checked: number;
  /** Devices that were offered the release (≈1.6%, HyperLogLog). */
  offered: number;
  /** Devices that reported a successful download (exact). */
  downloaded: number;
  /** Devices that reported a successful install (exact). */
  installed: number;
  /** Devices that reported a failed download or install (exact). */
  failed: number;
}

/** The in-memory counters of one release at one stage; hold on to it to count cheaply. */
export interface StageSketch {
  readonly releaseId: string;
  readonly stage: ReleaseStage;
  readonly checked: HyperLogLog;
  readonly offered: HyperLogLog;
  dirty: boolean;
}

const FLUSH_CHUNK = 20;

export interface ReleaseStatsDeps {
  readonly store: Pick<ReleaseStore, 'saveCounters' | 'loadCounters' | 'loadCountersOf' | 'deviceCountsByStage'>;
  readonly clock: Clock;
  readonly flushIntervalMs?: number;
}

/**
 * Counts the rollout funnel without touching the database on the check path: checks and offers
 * go into in-memory sketches that are merged into the stored ones every few seconds and at
 * shutdown; downloads, installs and failures come from device reports (already stored).
 */
export class ReleaseStats {
  readonly #deps: ReleaseStatsDeps;
  readonly #sketches = new Map<string, StageSketch>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(deps: ReleaseStatsDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush().catch(() => {}), this.#deps.flushIntervalMs ?? 15_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** The counters of a release at a stage (the same object until the process ends). */
  sketch(releaseId: string, stage: ReleaseStage): StageSketch {
    const key = `${releaseId}\u0000${stage}`;
    let s = this.#sketches.get(key);
    if (s === undefined) {
      s = { releaseId, stage, checked: new HyperLogLog(), offered: new HyperLogLog(), dirty: false };
      this.#sketches.set(key, s);
    }
    return s;
  }

  /** Counts a device (by `deviceHash`) that checked while this release was current. */
  static noteChecked(sketch: StageSketch, deviceHash: number): void {
    if (sketch.checked.addHash(deviceHash)) sketch.dirty = true;
  }

  /** Counts a device (by `deviceHash`) that was offered the release. */
  static noteOffered(sketch: StageSketch, deviceHash: number): void {
    if (sketch.offered.addHash(deviceHash)) sketch.dirty = true;
  }

  /** The device key's hash, computed once per check and passed to `noteChecked`/`noteOffered`. */
  deviceHash(deviceId: string): number {
    return HyperLogLog.hash(deviceId);
  }


  /** Merges the changed sketches into the stored ones. Calls never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    const dirty = [...this.#sketches.values()].filter((s) => s.dirty);
    if (dirty.length === 0) return;
    for (const s of dirty) s.dirty = false;
    try {
      // Merge with what is stored (another process, or this one before a restart, may have
      // counted too) and write back, in small transactions with a turn of the event loop
      // between them: on SQLite every query blocks the process, and checks must not wait
      // behind one big flush.
      const at = this.#deps.clock.now().toISOString();
      for (let i = 0; i < dirty.length; i += FLUSH_CHUNK) {
        const chunk = dirty.slice(i, i + FLUSH_CHUNK);
        const stored = await this.#deps.store.loadCountersOf([...new Set(chunk.map((s) => s.releaseId))]);
        const byKey = new Map(stored.map((c) => [`${c.releaseId}\u0000${c.stage}`, c]));
        const out: StoredCounter[] = chunk.map((s) => {
          const prev = byKey.get(`${s.releaseId}\u0000${s.stage}`);
          if (prev) {
            s.checked.merge(HyperLogLog.fromBase64(prev.checked));
            s.offered.merge(HyperLogLog.fromBase64(prev.offered));
          }
          return { releaseId: s.releaseId, stage: s.stage, checked: s.checked.toBase64(), offered: s.offered.toBase64() };
        });
        await this.#deps.store.saveCounters(out, at);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      for (const s of dirty) s.dirty = true;
      throw err;
    }
  }

  /**
   * The funnel of one release per stage, and in total (distinct devices over all stages, so a
   * device counted in two stages counts once), including what is not flushed yet.
   */
  async countersFor(releaseId: string): Promise<{
    total: StageCounters;
    stages: Partial<Record<ReleaseStage, StageCounters>>;
  }> {
    await this.flush();
    const [stored, devices] = await Promise.all([
      this.#deps.store.loadCounters(releaseId),
      this.#deps.store.deviceCountsByStage(releaseId),
    ]);
    const stages: Partial<Record<ReleaseStage, StageCounters>> = {};
    const entry = (stage: ReleaseStage): StageCounters => {
      stages[stage] ??= { checked: 0, offered: 0, downloaded: 0, installed: 0, failed: 0 };
      return stages[stage];
    };
    const checked = new HyperLogLog();
    const offered = new HyperLogLog();
    for (const c of stored) {
      const e = entry(c.stage);
      const stageChecked = HyperLogLog.fromBase64(c.checked);
      const stageOffered = HyperLogLog.fromBase64(c.offered);
      e.checked = stageChecked.count();
      e.offered = stageOffered.count();
      checked.merge(stageChecked);
      offered.merge(stageOffered);
    }
    const total: StageCounters = {
      checked: checked.count(),
      offered: offered.count(),
      downloaded: 0,
      installed: 0,
      failed: 0,
    };
    for (const [stage, d] of devices) {
      Object.assign(entry(stage), d);
      total.downloaded += d.downloaded;
      total.installed += d.installed;
      total.failed += d.failed;
    }
    return { total, stages };
  }
}
