import { describe, expect, it } from 'vitest';
import { int, randomBytes, rng } from './delta.test-helpers.js';
import { suffixArray } from './sais.js';
import { packResidual, SuffixMatcher } from './suffix-matcher.js';

/** The suffix array by sorting suffixes directly (a prefix sorts before its extensions). */
function naiveSuffixArray(t: Uint8Array): number[] {
  const idx = Array.from({ length: t.length }, (_, i) => i);
  idx.sort((a, b) => {
    while (a < t.length && b < t.length) {
      if (t[a] !== t[b]) return t[a]! - t[b]!;
      a++;
      b++;
    }
    return a === t.length ? -1 : 1;
  });
  return idx;
}

/** Checks permutation and order of adjacent suffixes (for inputs too big to sort naively). */
function expectSorted(t: Uint8Array, sa: Int32Array): void {
  const seen = new Uint8Array(t.length);
  let duplicates = 0;
  for (const p of sa) duplicates += seen[p]!++;
  let disorders = 0;
  for (let i = 1; i < sa.length; i++) {
    let a = sa[i - 1]!;
    let b = sa[i]!;
    while (b < t.length && a < t.length && t[a] === t[b]) {
      a++;
      b++;
    }
    // suffix a < suffix b: a ran out first, or differs with a smaller byte.
    if (!(a === t.length || (b < t.length && t[a]! < t[b]!))) disorders++;
  }
  expect({ length: sa.length, duplicates, disorders }).toEqual({ length: t.length, duplicates: 0, disorders: 0 });
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('suffixArray (SA-IS)', () => {
  it('matches a naive suffix sort on random inputs over small and full alphabets', () => {
    const r = rng(1);
    for (let it = 0; it < 1500; it++) {
      const alphabet = [1, 2, 3, 4, 16, 256][it % 6]!;
      const t = randomBytes(r, int(r, 0, 80), alphabet);
      expect(Array.from(suffixArray(t))).toEqual(naiveSuffixArray(t));
    }
  });

  it('handles the classic examples and degenerate inputs', () => {
    expect(Array.from(suffixArray(ascii('banana')))).toEqual([5, 3, 1, 0, 4, 2]);
    expect(Array.from(suffixArray(ascii('mississippi')))).toEqual([10, 7, 4, 1, 0, 9, 8, 6, 3, 5, 2]);
    expect(suffixArray(new Uint8Array(0)).length).toBe(0);
    expect(Array.from(suffixArray(Uint8Array.of(7)))).toEqual([0]);
    for (const n of [2, 3, 17, 1000]) {
      // All-equal bytes: shorter suffixes first.
      expect(Array.from(suffixArray(new Uint8Array(n).fill(0xff)))).toEqual(
        Array.from({ length: n }, (_, i) => n - 1 - i),
      );
    }
    const increasing = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(Array.from(suffixArray(increasing))).toEqual(Array.from(increasing));
    const decreasing = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    expect(Array.from(suffixArray(decreasing))).toEqual(Array.from({ length: 256 }, (_, i) => 255 - i));
  });

  it('sorts periodic and Fibonacci strings (deep recursion) correctly', () => {
    let a = 'a';
    let b = 'ab';
    while (b.length < 5000) [a, b] = [b, b + a];
    for (const s of ['ab'.repeat(700), 'aab'.repeat(500) + 'a', b, 'abcabcabd'.repeat(300)]) {
      const t = ascii(s);
      const sa = suffixArray(t);
      if (t.length <= 1500) expect(Array.from(sa)).toEqual(naiveSuffixArray(t));
      else expectSorted(t, sa);
    }
  });

  it('sorts larger random and low-entropy inputs', () => {
    const r = rng(2);
    for (const alphabet of [2, 4, 256]) {
      const t = randomBytes(r, 50_000, alphabet);
      expectSorted(t, suffixArray(t));
    }
  });
});

describe('SuffixMatcher', () => {
  /** The longest prefix of data[p..end) occurring in old, by brute force. */
  function bruteLongest(old: Uint8Array, data: Uint8Array, p: number, end: number): number {
    let best = 0;
    for (let q = 0; q < old.length; q++) {
      let l = 0;
      while (p + l < end && q + l < old.length && old[q + l] === data[p + l]) l++;
      best = Math.max(best, l);
    }
    return best;
  }

  it('finds a longest match when the whole old data is indexed', () => {
    const r = rng(3);
    for (let it = 0; it < 60; it++) {
      const alphabet = [2, 3, 4, 256][it % 4]!;
      const old = randomBytes(r, int(r, 2, 300), alphabet);
      const m = new SuffixMatcher(old, old, Int32Array.of(0), Int32Array.of(0));
      const data = randomBytes(r, 40, alphabet);
      for (let p = 0; p < data.length; p++) {
        const len = m.find(data, p, data.length, int(r, -1, old.length));
        const want = bruteLongest(old, data, p, data.length);
        if (want >= 2) {
          expect(len).toBe(want);
          expect(Array.from(old.subarray(m.pos, m.pos + len))).toEqual(Array.from(data.subarray(p, p + len)));
        }
      }
    }
  });

  it('reports only true matches in the full old data when indexing a packed residual', () => {
    const r = rng(4);
    for (let it = 0; it < 40; it++) {
      const old = randomBytes(r, 2000, 4);
      const skip = { start: [100, 700, 1500], end: [400, 900, 1600], count: 3 };
      const { text, segPacked, segFull } = packResidual(old, skip, 16);
      expect(text.length).toBe(2000 - 300 - 200 - 100);
      const m = new SuffixMatcher(old, text, segPacked, segFull);
      const data = randomBytes(r, 64, 4);
      let wrong = 0;
      for (let p = 0; p < data.length; p++) {
        const len = m.find(data, p, data.length);
        for (let k = 0; k < len; k++) if (old[m.pos + k] !== data[p + k]) wrong++;
      }
      expect(wrong).toBe(0);
    }
  });
});
