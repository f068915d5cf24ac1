/**
 * Longest-match search in the old data through a suffix array (binary search with the usual
 * "skip the prefix both bounds share" acceleration and a 2-byte bucket table, as bsdiff and
 * HDiffPatch do).
 *
 * The suffix array may cover only part of the old data: the "residual" that the block pre-match
 * did not use, packed end to end. Positions found in the packed text are mapped back to the full
 * old data, and the match length is recomputed there, so a match never relies on bytes that
 * merely sit next to each other in the packed text.
 */
import { suffixArray } from './sais.js';

/** The longest prefix compared during the binary search; longer matches are extended after. */
const MAX_COMPARE = 4096;
/** Equally long candidates examined on each side of the one the search found. */
const NEAR_CANDIDATES = 16;
/** Only matches up to this long look for a nearer equal candidate. */
const NEAR_MAX_LEN = 256;

/** Old data ranges `[start, end)`, sorted and disjoint, that the suffix array leaves out. */
export interface OldRanges {
  readonly start: ArrayLike<number>;
  readonly end: ArrayLike<number>;
  readonly count: number;
}

/** The old bytes outside `skip`, packed, with the segment map back to old positions. */
export function packResidual(
  old: Uint8Array,
  skip: OldRanges,
  minSegment: number,
): { text: Uint8Array; segPacked: Int32Array; segFull: Int32Array } {
  const segFull: number[] = [];
  const segLen: number[] = [];
  let total = 0;
  let at = 0;
  const take = (from: number, to: number): void => {
    if (to - from >= minSegment) {
      segFull.push(from);
      segLen.push(to - from);
      total += to - from;
    }
  };
  for (let i = 0; i < skip.count; i++) {
    const s = skip.start[i]!;
    if (s > at) take(at, s);
    at = Math.max(at, skip.end[i]!);
  }
  take(at, old.length);
  const text = new Uint8Array(total);
  const packed = new Int32Array(segFull.length);
  let p = 0;
  for (let i = 0; i < segFull.length; i++) {
    packed[i] = p;
    text.set(old.subarray(segFull[i]!, segFull[i]! + segLen[i]!), p);
    p += segLen[i]!;
  }
  return { text, segPacked: packed, segFull: Int32Array.from(segFull) };
}

/** Longest matches of new data in the old data, via a suffix array of (part of) the old data. */
export class SuffixMatcher {
  private readonly sa: Int32Array;
  private readonly lo = new Int32Array(65536);
  private readonly hi = new Int32Array(65536);
  /** Old position of the last match {@link find} returned. */
  pos = 0;

  /**
   * @param old the full old data.
   * @param text the indexed bytes: `old` itself, or {@link packResidual}'s `text`.
   * @param segPacked start of each packed segment in `text` (ascending); `[0]` for `old` itself.
   * @param segFull old position of each segment; `[0]` for `old` itself.
   */
  constructor(
    private readonly old: Uint8Array,
    private readonly text: Uint8Array,
    private readonly segPacked: Int32Array,
    private readonly segFull: Int32Array,
  ) {
    this.sa = suffixArray(text);
    // Bucket of suffixes by their first two bytes. In suffix order the one-byte suffix (the
    // last position) sorts first among those starting with its byte, so it is skipped.
    const n = text.length;
    if (n < 2) return;
    const counts = new Int32Array(65536);
    let key = text[0]!;
    for (let i = 1; i < n; i++) {
      key = ((key << 8) | text[i]!) & 0xffff;
      counts[key]!++;
    }
    const single = text[n - 1]!;
    let run = 0;
    for (let c0 = 0; c0 < 256; c0++) {
      if (c0 === single) run++;
      for (let c1 = 0; c1 < 256; c1++) {
        const k = (c0 << 8) | c1;
        this.lo[k] = run;
        run += counts[k]!;
        this.hi[k] = run;
      }
    }
  }

  /** Bytes indexed by the suffix array. */
  get indexedSize(): number {
    return this.text.length;
  }

  /** The old position of packed text position `packed`. */
  private toFull(packed: number): number {
    const segPacked = this.segPacked;
    if (segPacked.length === 1) return this.segFull[0]! + packed;
    let a = 0;
    let b = segPacked.length - 1;
    while (a < b) {
      const m = (a + b + 1) >>> 1;
      if (segPacked[m]! <= packed) a = m;
      else b = m - 1;
    }
    return this.segFull[a]! + (packed - segPacked[a]!);
  }

  /**
   * The length of the longest match of `data[p, end)`'s prefix found in the old data (0 when
   * under 2 bytes); its old position goes to {@link pos}. For matches of at least `nearFrom`
   * bytes, among equally long candidates one near `want` (an old position, e.g. the current
   * diagonal's; -1 for none) is preferred.
   */
  find(data: Uint8Array, p: number, end: number, want = -1, nearFrom = 8): number {
    const avail = end - p;
    if (avail < 2) return 0;
    const lim = avail < MAX_COMPARE ? avail : MAX_COMPARE;
    const key = (data[p]! << 8) | data[p + 1]!;
    let l = this.lo[key]!;
    let r = this.hi[key]! - 1;
    if (l > r) return 0;
    const T = this.text;
    const n = T.length;
    const sa = this.sa;
    let s = sa[l]!;
    let i = 2;
    while (i < lim && s + i < n && data[p + i] === T[s + i]) i++;
    let llcp = i;
    let rlcp = 0;
    if (llcp < lim && r > l) {
      s = sa[r]!;
      i = 2;
      while (i < lim && s + i < n && data[p + i] === T[s + i]) i++;
      rlcp = i;
      while (r - l > 1 && llcp < lim && rlcp < lim) {
        const mid = (l + r) >>> 1;
        s = sa[mid]!;
        i = llcp < rlcp ? llcp : rlcp;
        while (i < lim && s + i < n && data[p + i] === T[s + i]) i++;
        if (i < lim && (s + i === n || T[s + i]! < data[p + i]!)) {
          l = mid;
          llcp = i;
        } else {
          r = mid;
          rlcp = i;
        }
      }
    }
    const bi = llcp >= rlcp ? l : r;
    const best = llcp >= rlcp ? llcp : rlcp;
    let q = this.toFull(sa[bi]!);
    if (want >= 0 && best >= nearFrom && best <= NEAR_MAX_LEN && q !== want) {
      // Suffixes sharing the best prefix are adjacent in the suffix array.
      let bestDist = Math.abs(q - want);
      for (let dir = -1; dir <= 1; dir += 2) {
        for (let k = 1, i = bi + dir; k <= NEAR_CANDIDATES && i >= 0 && i < n; k++, i += dir) {
          const c = sa[i]!;
          if (c + best > n) break;
          let j = 0;
          while (j < best && data[p + j] === T[c + j]) j++;
          if (j < best) break;
          const f = this.toFull(c);
          const dist = Math.abs(f - want);
          if (dist < bestDist) {
            bestDist = dist;
            q = f;
          }
        }
      }
    }
    const old = this.old;
    const max = Math.min(avail, old.length - q);
    let len = 0;
    while (len < max && data[p + len] === old[q + len]) len++;
    this.pos = q;
    return len;
  }
}
