/**
 * The diff stream: how the covers of the diffed new files are written as four byte streams, and
 * the state machine that replays them into output buffers one file at a time (see FORMAT.md,
 * "Diff streams").
 *
 * - ctrl: per cover, `uint extraBefore, uint length, int oldPos - previousOldEnd`;
 * - gaps and lens: per run of non-zero differences, `uint gapSincePreviousRunEnd` in one stream
 *   and `uint length - 1` in the other, in positions of the "covered stream" (all covers' bytes
 *   end to end);
 * - diff: the difference bytes of every run (new - old, mod 256);
 * - extra: every new byte outside the covers, in order.
 */
import { ByteReader, ByteWriter } from './byte-io.js';
import type { CoverList } from './cover-list.js';
import { corrupt } from './delta-error.js';

/** The four streams of a diff, uncompressed. */
export interface DiffStreams {
  readonly ctrl: Uint8Array;
  readonly gaps: Uint8Array;
  readonly lens: Uint8Array;
  readonly diff: Uint8Array;
  readonly extra: Uint8Array;
}

/** Where old bytes come from when replaying: the old reference, possibly split over files. */
export interface OldSource {
  readonly size: number;
  /** Copies old `[oldPos, oldPos + len)` into `dst` at `dstPos`; the range is in bounds. */
  copy(dst: Uint8Array, dstPos: number, oldPos: number, len: number): void;
}

/**
 * Two difference runs closer than this are written as one (the zero bytes between them cost
 * less than a run header).
 */
const RUN_JOIN_GAP = 2;

/**
 * Writes the streams for `files` (in stream order), each with its covers against `old`.
 * `exact` lists ranges (sorted by new position) known to match exactly along their diagonal,
 * which the search for difference bytes can skip.
 */
export function encodeDiff(
  old: Uint8Array,
  files: readonly { data: Uint8Array; covers: CoverList; exact?: CoverList | undefined }[],
): DiffStreams {
  // The literal bytes are exactly what the covers leave out: allocate them once.
  let extraSize = 0;
  for (const f of files) {
    extraSize += f.data.length;
    for (let i = 0; i < f.covers.count; i++) extraSize -= f.covers.len[i]!;
  }
  const ctrl = new ByteWriter(1024);
  const gaps = new ByteWriter(1024);
  const lens = new ByteWriter(1024);
  const diff = new ByteWriter(1024);
  const extra = new ByteWriter(extraSize);
  let pendingExtra = 0;
  let lastOldEnd = 0;
  let coveredPos = 0;
  let lastRunEnd = 0;
  for (const { data, covers, exact } of files) {
    let pos = 0;
    let ep = 0;
    for (let i = 0; i < covers.count; i++) {
      const n = covers.newPos[i]!;
      const o = covers.oldPos[i]!;
      const len = covers.len[i]!;
      if (n > pos) {
        extra.range(data, pos, n);
        pendingExtra += n - pos;
      }
      ctrl.uint(pendingExtra);
      ctrl.uint(len);
      ctrl.int(o - lastOldEnd);
      pendingExtra = 0;
      let j = 0;
      while (j < len) {
        let limit = len;
        if (exact) {
          while (ep < exact.count && exact.newPos[ep]! + exact.len[ep]! <= n + j) ep++;
          if (ep < exact.count && exact.oldPos[ep]! - exact.newPos[ep]! === o - n) {
            const ps = exact.newPos[ep]! - n;
            if (ps <= j) {
              j = Math.min(len, ps + exact.len[ep]!);
              continue;
            }
            limit = Math.min(len, ps);
          }
        }
        while (j < limit && data[n + j] === old[o + j]) j++;
        if (j === limit) continue;
        // A run of differences, absorbing short equal stretches.
        const start = j;
        let end = j + 1;
        for (let k = end; k < len; k++) {
          if (data[n + k] !== old[o + k]) end = k + 1;
          else if (k - end >= RUN_JOIN_GAP) break;
        }
        gaps.uint(coveredPos + start - lastRunEnd);
        lens.uint(end - start - 1);
        for (let k = start; k < end; k++) diff.byte((data[n + k]! - old[o + k]!) & 0xff);
        lastRunEnd = coveredPos + end;
        j = end;
      }
      coveredPos += len;
      lastOldEnd = o + len;
      pos = n + len;
    }
    if (pos < data.length) {
      extra.range(data, pos, data.length);
      pendingExtra += data.length - pos;
    }
  }
  return { ctrl: ctrl.finish(), gaps: gaps.finish(), lens: lens.finish(), diff: diff.finish(), extra: extra.finish() };
}

/**
 * Replays diff streams into consecutive output buffers. Every read is bounds-checked; anything
 * inconsistent throws `HT_DELTA_CORRUPT`. Call {@link finish} after the last buffer.
 */
export class DiffDecoder {
  private readonly ctrl: ByteReader;
  private readonly gaps: ByteReader;
  private readonly lens: ByteReader;
  private readonly diff: Uint8Array;
  private readonly extra: Uint8Array;
  private diffPos = 0;
  private extraPos = 0;
  private extraLeft = 0;
  private coverLeft = 0;
  private oldPos = 0;
  private lastOldEnd = 0;
  private coveredPos = 0;
  private runStart = 0;
  private runLeft = 0;

  constructor(
    streams: DiffStreams,
    private readonly old: OldSource,
  ) {
    this.ctrl = new ByteReader(streams.ctrl);
    this.gaps = new ByteReader(streams.gaps);
    this.lens = new ByteReader(streams.lens);
    this.diff = streams.diff;
    this.extra = streams.extra;
    this.nextRun();
  }

  private nextRun(): void {
    if (this.gaps.remaining === 0) {
      this.runStart = Number.MAX_SAFE_INTEGER;
      this.runLeft = 0;
      return;
    }
    const start = this.runStart + this.runLeft + this.gaps.uint();
    const len = this.lens.uint() + 1;
    if (len > this.diff.length - this.diffPos) throw corrupt('difference run out of range');
    this.runStart = start;
    this.runLeft = len;
  }

  /**
   * Walks the control and run streams once, before anything is produced, and checks that they
   * describe exactly `total` bytes within the old data and the other streams.
   */
  check(total: number): void {
    const ctrl = new ByteReader(this.ctrl.buf);
    let lastOldEnd = 0;
    let extra = 0;
    let covered = 0;
    while (ctrl.remaining > 0) {
      extra += ctrl.uint();
      const len = ctrl.uint();
      const oldPos = lastOldEnd + ctrl.int();
      if (len === 0) throw corrupt('empty cover');
      if (oldPos < 0 || len > this.old.size - oldPos) throw corrupt('cover outside the old data');
      covered += len;
      lastOldEnd = oldPos + len;
    }
    if (extra > this.extra.length || covered + this.extra.length !== total) {
      throw corrupt('diff streams do not add up to the files');
    }
    const gaps = new ByteReader(this.gaps.buf);
    const lens = new ByteReader(this.lens.buf);
    let end = 0;
    let diffBytes = 0;
    while (gaps.remaining > 0) {
      const start = end + gaps.uint();
      const len = lens.uint() + 1;
      end = start + len;
      if (end > covered) throw corrupt('difference run out of range');
      diffBytes += len;
    }
    if (lens.remaining > 0 || diffBytes !== this.diff.length) throw corrupt('difference bytes do not add up');
  }

  /** Fills all of `out` with the next `out.length` bytes of the diffed stream. */
  fill(out: Uint8Array): void {
    const end = out.length;
    let pos = 0;
    while (pos < end) {
      if (this.extraLeft > 0) {
        const k = Math.min(this.extraLeft, end - pos);
        out.set(this.extra.subarray(this.extraPos, this.extraPos + k), pos);
        this.extraPos += k;
        this.extraLeft -= k;
        pos += k;
      } else if (this.coverLeft > 0) {
        const k = Math.min(this.coverLeft, end - pos);
        this.old.copy(out, pos, this.oldPos, k);
        const from = this.coveredPos;
        const to = from + k;
        while (this.runStart < to) {
          // Apply the part of the current run that falls in [from, to).
          const a = this.runStart > from ? this.runStart : from;
          const runEnd = this.runStart + this.runLeft;
          const b = runEnd < to ? runEnd : to;
          const diff = this.diff;
          let dp = this.diffPos;
          for (let c = a, o = pos + (a - from); c < b; c++, o++) out[o] = (out[o]! + diff[dp++]!) & 0xff;
          this.diffPos = dp;
          this.runLeft -= b - a;
          this.runStart = b;
          if (this.runLeft > 0) break;
          this.nextRun();
        }
        this.oldPos += k;
        this.coveredPos = to;
        this.coverLeft -= k;
        pos += k;
      } else if (this.ctrl.remaining > 0) {
        const extra = this.ctrl.uint();
        const len = this.ctrl.uint();
        const oldPos = this.lastOldEnd + this.ctrl.int();
        if (oldPos < 0 || len > this.old.size - oldPos) throw corrupt('cover outside the old data');
        if (extra > this.extra.length - this.extraPos - this.extraLeft) throw corrupt('extra data too short');
        this.extraLeft = extra;
        this.coverLeft = len;
        this.oldPos = oldPos;
        this.lastOldEnd = oldPos + len;
      } else {
        // After the last cover, everything left is extra.
        const left = this.extra.length - this.extraPos;
        if (left <= 0) throw corrupt('diff streams end before the files do');
        this.extraLeft = left;
      }
    }
  }

  /** Checks that every stream was used up exactly. */
  finish(): void {
    if (
      this.extraLeft > 0 ||
      this.coverLeft > 0 ||
      this.ctrl.remaining > 0 ||
      this.extraPos !== this.extra.length ||
      this.runLeft > 0 ||
      this.gaps.remaining > 0 ||
      this.lens.remaining > 0 ||
      this.diffPos !== this.diff.length
    ) {
      throw corrupt('diff streams longer than the files they describe');
    }
  }
}
