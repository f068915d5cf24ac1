/**
 * Suffix array construction by induced sorting (SA-IS: Nong, Zhang & Chan, "Two Efficient
 * Algorithms for Linear Time Suffix Array Construction", IEEE Trans. Computers 60(10), 2011).
 *
 * Linear time, typed arrays only. Memory: the output `Int32Array` (4 bytes per input byte), one
 * type bit per input byte, and for the recursive step (at most half the input) one type bit and
 * one 4-byte bucket entry per name. The reduced string and its suffix array live inside the
 * output array, as in the paper.
 *
 * The text is treated as if it ended with a unique sentinel smaller than every symbol; the
 * sentinel itself is not part of the result.
 */

type Text = Uint8Array | Int32Array;

/**
 * The suffix array of `text`: the start positions of all its suffixes in lexicographic order
 * (a suffix that is a prefix of another sorts first).
 *
 * @example
 * suffixArray(new TextEncoder().encode('banana')); // Int32Array [5, 3, 1, 0, 4, 2]
 */
export function suffixArray(text: Uint8Array): Int32Array {
  const n = text.length;
  const sa = new Int32Array(n);
  if (n === 1) sa[0] = 0;
  if (n > 1) sais(text, sa, n, 256);
  return sa;
}

/** Symbol counts: kept for small alphabets, recounted into the bucket array for large ones. */
interface Counts {
  readonly T: Text;
  readonly n: number;
  readonly k: number;
  readonly kept: Int32Array | null;
}

/** Sets `bkt[c]` to the first slot of bucket `c` (`ends = false`) or one past its last. */
function bucketBounds(counts: Counts, bkt: Int32Array, ends: boolean): void {
  const k = counts.k;
  let src = counts.kept;
  if (src === null) {
    const T = counts.T;
    bkt.fill(0, 0, k);
    for (let i = 0; i < counts.n; i++) bkt[T[i]!]!++;
    src = bkt;
  }
  let sum = 0;
  if (ends) {
    for (let c = 0; c < k; c++) {
      sum += src[c]!;
      bkt[c] = sum;
    }
  } else {
    for (let c = 0; c < k; c++) {
      const v = src[c]!;
      bkt[c] = sum;
      sum += v;
    }
  }
}

/** Whether position i is S-type, in a bit-packed type array. */
function isS(t: Uint8Array, i: number): boolean {
  return ((t[i >> 3]! >> (i & 7)) & 1) === 1;
}

/** Whether position i is a leftmost S-type (LMS) position. */
function isLMS(t: Uint8Array, i: number): boolean {
  return i > 0 && isS(t, i) && !isS(t, i - 1);
}

/*
 * The induce passes keep no type array in their hot loop: each entry carries in its sign whether
 * the suffix before it is S-type (negative, `~p`) or L-type (non-negative). Both are decided
 * from two adjacent symbols when the entry is written: before an L-type suffix p, p-1 is S-type
 * iff T[p-1] < T[p]; before an S-type suffix, iff T[p-1] <= T[p]. Empty slots hold -1, which
 * never collides with `~p` because an entry is only marked when p >= 1.
 */

/** Left-to-right pass: places every L-type suffix after the suffix that follows it. */
function induceL(T: Text, SA: Int32Array, counts: Counts, bkt: Int32Array, n: number): void {
  bucketBounds(counts, bkt, false);
  // The suffix n-1 is L-type and follows the (virtual) sentinel, the smallest suffix.
  const last = n - 1;
  SA[bkt[T[last]!]!++] = T[last - 1]! < T[last]! ? ~last : last;
  for (let i = 0; i < n; i++) {
    const p = SA[i]!;
    if (p > 0) {
      // p-1 is L-type: place it, marking whether its own predecessor is S-type.
      const j = p - 1;
      const c = T[j]!;
      SA[bkt[c]!++] = j > 0 && T[j - 1]! < c ? ~j : j;
    }
  }
}

/** Right-to-left pass: places every S-type suffix before the suffix that follows it. */
function induceS(T: Text, SA: Int32Array, counts: Counts, bkt: Int32Array, n: number): void {
  bucketBounds(counts, bkt, true);
  for (let i = n - 1; i >= 0; i--) {
    const v = SA[i]!;
    if (v < -1) {
      // ~p: p-1 is S-type. Unmark p and place p-1, marked if its predecessor is S-type too.
      const j = ~v - 1;
      SA[i] = ~v;
      const c = T[j]!;
      SA[--bkt[c]!] = j > 0 && T[j - 1]! <= c ? ~j : j;
    }
  }
}

/**
 * Fills `SA[0..n)` with the suffix array of `T[0..n)` over the alphabet `[0, k)`. `n >= 2`.
 * `T` may be a view into the tail of `SA` itself (the recursive step), never overlapping
 * `SA[0..n)`.
 */
function sais(T: Text, SA: Int32Array, n: number, k: number): void {
  // Types, one bit each: 1 = S (suffix smaller than the next one), 0 = L. The last suffix is
  // L-type (the sentinel follows it).
  const t = new Uint8Array((n >> 3) + 1);
  let nextS = false;
  for (let i = n - 2; i >= 0; i--) {
    const a = T[i]!;
    const b = T[i + 1]!;
    nextS = a < b || (a === b && nextS);
    if (nextS) t[i >> 3] = t[i >> 3]! | (1 << (i & 7));
  }
  // Large alphabets (the recursion) recount symbols when needed instead of keeping counts.
  let kept: Int32Array | null = null;
  if (k <= 65536 || k <= n >> 4) {
    kept = new Int32Array(k);
    for (let i = 0; i < n; i++) kept[T[i]!]!++;
  }
  const counts: Counts = { T, n, k, kept };
  const bkt = new Int32Array(k);

  // Stage 1: sort the LMS substrings by inducing from their unsorted positions.
  SA.fill(-1, 0, n);
  bucketBounds(counts, bkt, true);
  for (let i = 1; i < n; i++) {
    if (isLMS(t, i)) SA[--bkt[T[i]!]!] = i;
  }
  induceL(T, SA, counts, bkt, n);
  induceS(T, SA, counts, bkt, n);

  // Gather the sorted LMS positions at the front.
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const p = SA[i]!;
    if (isLMS(t, p)) SA[n1++] = p;
  }

  // Name the LMS substrings: equal substrings get equal names, in sorted order. LMS positions
  // are at least two apart, so SA[n1 + (p >> 1)] is a free, unique slot for each; it first holds
  // the substring's length (a sequential pass), so that most comparisons stop at the lengths.
  // Equal symbols over equal lengths imply equal types, both ending in an S-type LMS position.
  // The last LMS substring runs into the sentinel and equals no other.
  SA.fill(-1, n1, n);
  let next = n;
  for (let i = n - 1; i >= 1; i--) {
    if (isLMS(t, i)) {
      SA[n1 + (i >> 1)] = next === n ? n + 1 : next - i + 1;
      next = i;
    }
  }
  let names = 0;
  let prev = -1;
  let prevLen = 0;
  for (let i = 0; i < n1; i++) {
    const p = SA[i]!;
    const len = SA[n1 + (p >> 1)]!;
    let differs = len !== prevLen || len > n;
    if (!differs) {
      for (let d = 0; d < len; d++) {
        if (T[p + d] !== T[prev + d]) {
          differs = true;
          break;
        }
      }
    }
    if (differs) {
      names++;
      prev = p;
      prevLen = len;
    }
    SA[n1 + (p >> 1)] = names - 1;
  }
  // Pack the names (the reduced string, in text order) into the tail of SA.
  for (let i = n - 1, j = n - 1; i >= n1; i--) {
    const v = SA[i]!;
    if (v >= 0) SA[j--] = v;
  }

  // Stage 2: the suffix array of the reduced string, recursively if names repeat.
  const s1 = SA.subarray(n - n1, n);
  if (names < n1) {
    sais(s1, SA, n1, names);
  } else {
    for (let i = 0; i < n1; i++) SA[s1[i]!] = i;
  }

  // Stage 3: the LMS suffixes in sorted order, then induce every other suffix from them.
  for (let i = 1, j = 0; i < n; i++) {
    if (isLMS(t, i)) s1[j++] = i;
  }
  for (let i = 0; i < n1; i++) SA[i] = s1[SA[i]!]!;
  SA.fill(-1, n1, n);
  bucketBounds(counts, bkt, true);
  for (let i = n1 - 1; i >= 0; i--) {
    const p = SA[i]!;
    SA[i] = -1;
    SA[--bkt[T[p]!]!] = p;
  }
  induceL(T, SA, counts, bkt, n);
  induceS(T, SA, counts, bkt, n);
}
