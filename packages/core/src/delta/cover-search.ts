/**
 * Chooses the covers of one new file: the anchors from the block pre-match, exact matches found
 * through the suffix array in the gaps between them, then bsdiff/HDiffPatch-style refinement
 * that allows mismatches inside a cover ("covers plus byte differences"):
 *
 * 1. link: two covers on the same diagonal (same old - new offset) become one when encoding the
 *    differing bytes between them is cheaper than a new cover plus the bytes as literals;
 * 2. extend: a cover grows forwards and backwards into literal bytes while the bytes that match
 *    pay for the ones that do not (split optimally where two extensions compete);
 * 3. select: covers that cost more than they save are dropped, then linking runs again.
 *
 * All decisions use one rough cost model, in bytes of compressed patch.
 */
import { uintSize } from './byte-io.js';
import { CoverList } from './cover-list.js';
import type { OldRange } from './block-index.js';
import type { SuffixMatcher } from './suffix-matcher.js';

/** Estimated compressed cost of each kind of patch content, in bytes. */
export interface CostModel {
  /** One new byte shipped as a literal ("extra"). */
  readonly literal: number;
  /** One non-zero difference byte inside a cover. */
  readonly diff: number;
  /** One run of non-zero difference bytes (its position and length). */
  readonly run: number;
  /** Scale applied to a cover's control varints. */
  readonly ctrl: number;
}

export const DEFAULT_COSTS: CostModel = { literal: 0.5, diff: 1.2, run: 1.0, ctrl: 1.0 };

export interface SearchOptions {
  /** Shortest exact match that may start a cover on a new diagonal. */
  readonly minMatch: number;
  /** Shortest exact match that may start a cover on the current diagonal. */
  readonly minDiagMatch: number;
  /** Least estimated saving (bytes) for a cover to be worth its control entry. */
  readonly minGain: number;
  /** The suffix array is searched at every this many positions of unmatched new data. */
  readonly searchStride: number;
  /** Longest gap two covers on one diagonal may be linked across. */
  readonly maxLink: number;
  /** How far a cover may be extended into literal bytes, each way. */
  readonly maxExtend: number;
  readonly costs: CostModel;
}

/** The control cost of a cover `len` long, after `extra` literals, `delta` from the last old end. */
function ctrlCost(costs: CostModel, extra: number, len: number, delta: number): number {
  const zz = delta >= 0 ? delta * 2 : -delta * 2 - 1;
  return costs.ctrl * (uintSize(extra) + uintSize(len) + uintSize(zz));
}

/**
 * Exact matches of `data` in `old` for the gaps between `anchors` (which are included), sorted
 * and disjoint in `data`.
 */
function exactCovers(
  old: Uint8Array,
  data: Uint8Array,
  anchors: CoverList,
  matcher: SuffixMatcher | null,
  home: OldRange | undefined,
  opts: SearchOptions,
): CoverList {
  const out = new CoverList(anchors.count * 2 + 16);
  const oldLen = old.length;
  const m = data.length;
  const homeStart = home ? home.start : -1;
  const homeEnd = home ? home.end : -1;
  let hasDiag = home !== undefined;
  let diag = homeStart;
  let homeDiag = homeStart;
  let prevEnd = 0;
  let lastOldEnd = 0;
  let misses = 0;
  const stride = opts.searchStride;
  const costs = opts.costs;
  const minGain = opts.minGain;
  const minMatch = opts.minMatch;
  const minDiag = opts.minDiagMatch;
  for (let k = 0; k <= anchors.count; k++) {
    const gapEnd = k < anchors.count ? anchors.newPos[k]! : m;
    let p = prevEnd;
    let nextSearch = p;
    while (p + 2 <= gapEnd) {
      let bestLen = 0;
      let bestPos = 0;
      let onDiag = false;
      if (hasDiag) {
        const q = p + diag;
        if (q >= 0 && q < oldLen && data[p] === old[q]) {
          const max = Math.min(gapEnd - p, oldLen - q);
          let len = 1;
          while (len < max && data[p + len] === old[q + len]) len++;
          if (len >= minDiag) {
            bestLen = len;
            bestPos = q;
            onDiag = true;
          }
        }
      }
      if (home && bestLen === 0 && diag !== homeDiag) {
        const q = p + homeDiag;
        if (q >= homeStart && q < homeEnd && data[p] === old[q]) {
          const max = Math.min(gapEnd - p, homeEnd - q);
          let len = 1;
          while (len < max && data[p + len] === old[q + len]) len++;
          if (len >= minDiag) {
            bestLen = len;
            bestPos = q;
            onDiag = true;
          }
        }
      }
      if (matcher !== null && bestLen < 32 && p >= nextSearch) {
        const want = home ? p + homeDiag : hasDiag ? p + diag : -1;
        const len = matcher.find(data, p, gapEnd, want, minMatch);
        // A new diagonal must pay for its control entry, and beat the current diagonal by
        // about that price.
        if (
          len >= minMatch &&
          len > bestLen + (onDiag ? 8 : 0) &&
          len * costs.literal - ctrlCost(costs, 0, len, matcher.pos - lastOldEnd) >= minGain
        ) {
          bestLen = len;
          bestPos = matcher.pos;
          onDiag = false;
        } else {
          // The suffix array is searched every `searchStride` positions, and ever more
          // sparsely through long stretches without a match (unrelated data); a match found
          // after a skip is extended backwards.
          misses++;
          nextSearch = p + stride + (misses >> 6 < 64 ? misses >> 6 : 64);
        }
      }
      if (bestLen > 0) {
        // Exact backward extension (matters after skipped positions).
        let b = 0;
        while (p - b > prevEnd && bestPos - b > 0 && data[p - b - 1] === old[bestPos - b - 1]) b++;
        if (b > 0 && out.count > 0) {
          // Never overlap the previous cover.
          const last = out.count - 1;
          const lastEnd = out.newPos[last]! + out.len[last]!;
          if (p - b < lastEnd) b = p - lastEnd;
        }
        out.push(p - b, bestPos - b, bestLen + b);
        lastOldEnd = bestPos + bestLen;
        diag = bestPos - p;
        if (bestPos >= homeStart && bestPos < homeEnd) homeDiag = diag;
        hasDiag = true;
        p += bestLen;
        prevEnd = p;
        nextSearch = p;
        misses >>= 1;
      } else {
        p++;
      }
    }
    if (k < anchors.count) {
      const n = anchors.newPos[k]!;
      const o = anchors.oldPos[k]!;
      const len = anchors.len[k]!;
      out.push(n, o, len);
      prevEnd = n + len;
      lastOldEnd = o + len;
      diag = o - n;
      hasDiag = true;
      if (o >= homeStart && o < homeEnd) homeDiag = diag;
    }
  }
  return out;
}

/** Difference runs and bytes in `data[n, n+len)` against `old[o, o+len)`. */
function mismatchCost(old: Uint8Array, data: Uint8Array, n: number, o: number, len: number, costs: CostModel): number {
  let cost = 0;
  let inRun = false;
  for (let i = 0; i < len; i++) {
    if (data[n + i] !== old[o + i]) {
      cost += inRun ? costs.diff : costs.diff + costs.run;
      inRun = true;
    } else {
      inRun = false;
    }
  }
  return cost;
}

/** Merges neighbours on one diagonal when the bytes between them are cheap as differences. */
function link(old: Uint8Array, data: Uint8Array, covers: CoverList, opts: SearchOptions): CoverList {
  const out = new CoverList(covers.count + 1);
  const costs = opts.costs;
  for (let i = 0; i < covers.count; i++) {
    const n = covers.newPos[i]!;
    const o = covers.oldPos[i]!;
    const len = covers.len[i]!;
    if (out.count > 0) {
      const j = out.count - 1;
      const pn = out.newPos[j]!;
      const po = out.oldPos[j]!;
      const pEnd = pn + out.len[j]!;
      const gap = n - pEnd;
      if (o - n === po - pn && gap <= opts.maxLink) {
        const joined = mismatchCost(old, data, pEnd, po + (pEnd - pn), gap, costs);
        const apart = ctrlCost(costs, gap, len, 0) + costs.literal * gap;
        if (joined <= apart) {
          out.len[j] = n + len - pn;
          continue;
        }
      }
    }
    out.push(n, o, len);
  }
  return out;
}

/**
 * Gains of extending a cover one byte at a time from `start` in `step` direction (+1/-1) along
 * `diag`, for up to `max` bytes; `gains[x]` = the best gain for extending at most x bytes and
 * `reach[x]` the length that achieves it.
 */
function extensionGains(
  old: Uint8Array,
  data: Uint8Array,
  start: number,
  step: number,
  diag: number,
  max: number,
  costs: CostModel,
  gains: Float64Array,
  reach: Int32Array,
): number {
  const oldLen = old.length;
  let score = 0;
  let best = 0;
  let bestX = 0;
  let inRun = false;
  gains[0] = 0;
  reach[0] = 0;
  let x = 0;
  while (x < max) {
    const i = start + x * step;
    const q = i + diag;
    if (q < 0 || q >= oldLen) break;
    if (data[i] === old[q]) {
      score += costs.literal;
      inRun = false;
    } else {
      score += costs.literal - costs.diff - (inRun ? 0 : costs.run);
      inRun = true;
    }
    x++;
    if (score > best) {
      best = score;
      bestX = x;
    }
    gains[x] = best;
    reach[x] = bestX;
    // Far below the best with no way back soon: stop.
    if (score < best - 32) break;
  }
  for (let y = x + 1; y <= max; y++) {
    gains[y] = best;
    reach[y] = bestX;
  }
  return x;
}

/** Grows covers into the literal bytes around them (bsdiff's approximate extension). */
function extend(old: Uint8Array, data: Uint8Array, covers: CoverList, opts: SearchOptions): void {
  const count = covers.count;
  if (count === 0) return;
  const cap = opts.maxExtend + 1;
  const fGain = new Float64Array(cap);
  const fReach = new Int32Array(cap);
  const bGain = new Float64Array(cap);
  const bReach = new Int32Array(cap);
  const costs = opts.costs;
  for (let i = 0; i <= count; i++) {
    const gapStart = i > 0 ? covers.newPos[i - 1]! + covers.len[i - 1]! : 0;
    const gapEnd = i < count ? covers.newPos[i]! : data.length;
    const gap = gapEnd - gapStart;
    if (gap <= 0) continue;
    const max = Math.min(gap, opts.maxExtend);
    let fwd = 0;
    let bwd = 0;
    if (i > 0) {
      const diag = covers.oldPos[i - 1]! - covers.newPos[i - 1]!;
      extensionGains(old, data, gapStart, 1, diag, max, costs, fGain, fReach);
    } else {
      fGain.fill(0, 0, max + 1);
      fReach.fill(0, 0, max + 1);
    }
    if (i < count) {
      const diag = covers.oldPos[i]! - covers.newPos[i]!;
      extensionGains(old, data, gapEnd - 1, -1, diag, max, costs, bGain, bReach);
    } else {
      bGain.fill(0, 0, max + 1);
      bReach.fill(0, 0, max + 1);
    }
    if (fReach[max]! + bReach[max]! <= gap) {
      fwd = fReach[max]!;
      bwd = bReach[max]!;
    } else {
      // Both want the same bytes: split where the sum of gains is best.
      let best = -1;
      for (let x = Math.max(0, gap - max); x <= max; x++) {
        const g = fGain[x]! + bGain[gap - x]!;
        if (g > best) {
          best = g;
          fwd = fReach[x]!;
          bwd = bReach[gap - x]!;
        }
      }
    }
    if (fwd > 0) covers.len[i - 1] = covers.len[i - 1]! + fwd;
    if (bwd > 0) {
      covers.newPos[i] = covers.newPos[i]! - bwd;
      covers.oldPos[i] = covers.oldPos[i]! - bwd;
      covers.len[i] = covers.len[i]! + bwd;
    }
  }
}

/** Drops covers that cost more than the literals they replace. */
function select(old: Uint8Array, data: Uint8Array, covers: CoverList, opts: SearchOptions): CoverList {
  const out = new CoverList(covers.count + 1);
  const costs = opts.costs;
  let lastOldEnd = 0;
  let lastNewEnd = 0;
  for (let i = 0; i < covers.count; i++) {
    const n = covers.newPos[i]!;
    const o = covers.oldPos[i]!;
    const len = covers.len[i]!;
    if (len < 256) {
      const saved = costs.literal * len - mismatchCost(old, data, n, o, len, costs);
      if (saved - ctrlCost(costs, n - lastNewEnd, len, o - lastOldEnd) < opts.minGain) continue;
    }
    out.push(n, o, len);
    lastOldEnd = o + len;
    lastNewEnd = n + len;
  }
  return out;
}

/** The covers for one new file, and the exact matches they were built from. */
export function searchCovers(
  old: Uint8Array,
  data: Uint8Array,
  anchors: CoverList,
  matcher: SuffixMatcher | null,
  home: OldRange | undefined,
  opts: SearchOptions,
): { covers: CoverList; exact: CoverList } {
  const exact = exactCovers(old, data, anchors, matcher, home, opts);
  let covers = link(old, data, exact, opts);
  extend(old, data, covers, opts);
  covers = select(old, data, covers, opts);
  covers = link(old, data, covers, opts);
  return { covers, exact };
}
