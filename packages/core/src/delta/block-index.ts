/**
 * The fast path for long identical runs (the idea of HDiffPatch's block pre-match): a hash table
 * of old positions sampled by content, probed with a rolling hash over each new file. A hit is
 * extended both ways into an exact match ("anchor").
 *
 * The rolling hash is a "gear" hash (as in FastCDC): `h = (h << 1) + GEAR[byte]` over 32-bit
 * integers, so it covers exactly the last 32 bytes and needs no multiplication. Positions are
 * sampled where the hash of the 32 bytes starting there has its top bits zero (on average one
 * in `1 << SAMPLE_BITS`), on both sides. Sampling by content rather
 * than by aligned offsets means every copy of some content in the old data is sampled at the
 * same place, so a new file can be anchored to the copy nearest its own old version (packages
 * often hold the same code several times: CommonJS, ESM and UMD builds, their source maps).
 * Most of a typical package diff is covered this way, so the suffix array only needs the old
 * bytes no anchor used.
 */
import { CoverList } from './cover-list.js';

/** An old data range `[start, end)`. */
export interface OldRange {
  readonly start: number;
  readonly end: number;
}

/** The block (hash window) size: the gear hash's 32 bits. */
export const BLOCK = 32;
/** One position in 2^SAMPLE_BITS is sampled (on average). */
const SAMPLE_BITS = 5;
const SAMPLE_SHIFT = 32 - SAMPLE_BITS;
const SLOT_MUL = 0x85ebca6b;

/** 256 fixed pseudo-random 32-bit values (splitmix32 from a constant seed). */
const GEAR = new Int32Array(256);
{
  let x = 0x6a09e667;
  for (let i = 0; i < 256; i++) {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    GEAR[i] = z ^ (z >>> 16);
  }
}
/** Candidates kept per hash slot (the first ones in old order). */
const WAYS = 4;

/** Gear hash of `data[pos, pos + BLOCK)`. */
function hashAt(data: Uint8Array, pos: number): number {
  let h = 0;
  for (let i = 0; i < BLOCK; i++) h = ((h << 1) + GEAR[data[pos + i]!]!) | 0;
  return h;
}

/** A hash table from sampled block hashes to the first few old positions with that hash. */
export class BlockIndex {
  readonly table: Int32Array;
  readonly shift: number;
  readonly block = BLOCK;
  /** Every sampled old position, ascending, and its block hash. */
  private samplePos: Int32Array;
  private sampleHash: Int32Array;
  private samples = 0;
  constructor(readonly old: Uint8Array) {
    const expected = Math.floor(old.length >>> SAMPLE_BITS) + 1;
    let bits = 8;
    while (bits < 28 && 2 << bits < expected) bits++;
    this.shift = 32 - bits;
    this.table = new Int32Array((1 << bits) * WAYS).fill(-1);
    const table = this.table;
    const shift = this.shift;
    const n = old.length;
    this.samplePos = new Int32Array(expected + (expected >> 2) + 16);
    this.sampleHash = new Int32Array(this.samplePos.length);
    const block = BLOCK;
    if (n < block) return;
    let h = hashAt(old, 0);
    for (let p = 0; ; p++) {
      if (h >>> SAMPLE_SHIFT === 0) {
        if (this.samples === this.samplePos.length) this.growSamples();
        this.samplePos[this.samples] = p;
        this.sampleHash[this.samples++] = h;
        const slot = (Math.imul(h, SLOT_MUL) >>> shift) * WAYS;
        for (let k = slot; k < slot + WAYS; k++) {
          const c = table[k]!;
          if (c < 0) {
            table[k] = p;
            break;
          }
          // A run of repeated content samples the same hash many times; keep the first.
          if (p - c < block) break;
        }
      }
      if (p + block >= n) break;
      h = ((h << 1) + GEAR[old[p + block]!]!) | 0;
    }
  }

  private growSamples(): void {
    const pos = new Int32Array(this.samplePos.length * 2);
    const hash = new Int32Array(pos.length);
    pos.set(this.samplePos);
    hash.set(this.sampleHash);
    this.samplePos = pos;
    this.sampleHash = hash;
  }

  /** A table like {@link table} (2 ways, first wins) of the samples inside `range` only. */
  private rangeTable(range: OldRange): { table: Int32Array; shift: number } {
    const pos = this.samplePos;
    let a = 0;
    let b = this.samples;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (pos[m]! < range.start) a = m + 1;
      else b = m;
    }
    let bits = 4;
    let count = 0;
    for (let i = a; i < this.samples && pos[i]! < range.end; i++) count++;
    while (bits < 28 && 1 << bits < count) bits++;
    const shift = 32 - bits;
    const table = new Int32Array(2 << bits).fill(-1);
    for (let i = a; i < a + count; i++) {
      const slot = (Math.imul(this.sampleHash[i]!, SLOT_MUL) >>> shift) * 2;
      if (table[slot]! < 0) table[slot] = pos[i]!;
      else if (table[slot + 1]! < 0) table[slot + 1] = pos[i]!;
    }
    return { table, shift };
  }

  /**
   * Exact matches ("anchors") of `data` in the old data, sorted and disjoint in `data`, each
   * extended as far as it goes both ways (backwards never into the previous anchor).
   *
   * `home` is the old range holding this file's previous version, if any. The scan tries the
   * current alignment first at every position, then the last alignment inside `home`, then a
   * table of `home` alone, then the whole old data (where the copy nearest the current
   * alignment wins).
   */
  anchors(data: Uint8Array, home: OldRange | undefined): CoverList {
    const out = new CoverList();
    const w = BLOCK;
    const old = this.old;
    const oldLen = old.length;
    const m = data.length;
    if (m < w || oldLen < w) return out;
    const table = this.table;
    const shift = this.shift;
    const homeStart = home ? home.start : -1;
    const homeEnd = home ? home.end : -1;
    const local = home ? this.rangeTable(home) : null;
    const localTable = local ? local.table : table;
    const localShift = local ? local.shift : shift;
    let hasDiag = home !== undefined;
    let diag = homeStart;
    let homeDiag = homeStart;
    let lastEnd = 0;
    let p = 0;
    let h = hashAt(data, 0);
    for (;;) {
      let op = -1;
      const first = data[p]!;
      if (hasDiag) {
        const q = p + diag;
        if (q >= 0 && q + w <= oldLen && old[q] === first) {
          let i = 1;
          while (i < w && data[p + i] === old[q + i]) i++;
          if (i === w) op = q;
        }
        if (op < 0 && diag !== homeDiag && home) {
          const r = p + homeDiag;
          if (r >= homeStart && r + w <= homeEnd && old[r] === first) {
            let i = 1;
            while (i < w && data[p + i] === old[r + i]) i++;
            if (i === w) op = r;
          }
        }
      }
      if (op < 0 && local !== null && h >>> SAMPLE_SHIFT === 0) {
        const slot = (Math.imul(h, SLOT_MUL) >>> localShift) * 2;
        for (let k = slot; k < slot + 2 && op < 0; k++) {
          const c = localTable[k]!;
          if (c < 0 || old[c] !== first) continue;
          let i = 1;
          while (i < w && data[p + i] === old[c + i]) i++;
          if (i === w) op = c;
        }
      }
      if (op < 0 && h >>> SAMPLE_SHIFT === 0) {
        // The verified candidate inside `home` or, failing that, nearest the current alignment.
        const slot = (Math.imul(h, SLOT_MUL) >>> shift) * WAYS;
        const want = p + diag;
        let bestScore = Infinity;
        for (let k = slot; k < slot + WAYS; k++) {
          const c = table[k]!;
          if (c < 0) break;
          if (old[c] !== first) continue;
          let i = 1;
          while (i < w && data[p + i] === old[c + i]) i++;
          if (i < w) continue;
          const inHome = c >= homeStart && c < homeEnd;
          const score = (inHome ? 0 : 0x80000000) + (hasDiag ? Math.abs(c - (inHome ? p + homeDiag : want)) : 0);
          if (score < bestScore) {
            bestScore = score;
            op = c;
          }
        }
      }
      if (op >= 0) {
        let b = 0;
        while (p - b > lastEnd && op - b > 0 && data[p - b - 1] === old[op - b - 1]) b++;
        let e = w;
        while (p + e < m && op + e < oldLen && data[p + e] === old[op + e]) e++;
        out.push(p - b, op - b, b + e);
        lastEnd = p + e;
        diag = op - p;
        hasDiag = true;
        if (op >= homeStart && op < homeEnd) homeDiag = diag;
        p += e;
        if (p + w > m) break;
        h = hashAt(data, p);
        continue;
      }
      if (p + w >= m) break;
      h = ((h << 1) + GEAR[data[p + w]!]!) | 0;
      p++;
    }
    return out;
  }
}
