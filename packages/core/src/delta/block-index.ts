/**
 * The fast path for long identical runs (the idea of HDiffPatch's block pre-match): a hash table
 * of the old data's aligned blocks, probed with a rolling hash at every position of a new file.
 * A hit is extended both ways into an exact match ("anchor"). Any exact match of at least
 * `2 * block - 1` bytes contains a whole aligned block and is found; most of a typical package
 * diff is covered this way, so the suffix array only needs the old bytes no anchor used.
 */
import { CoverList } from './cover-list.js';

const MUL = 0x01000193;
const GOLDEN = 0x9e3779b1;

/** Polynomial hash of `data[pos, pos + width)` modulo 2^32 (the rolling hash's start value). */
function hashAt(data: Uint8Array, pos: number, width: number): number {
  let h = 0;
  for (let i = 0; i < width; i++) h = (Math.imul(h, MUL) + data[pos + i]!) | 0;
  return h;
}

/** A hash table from block hash to the first old position whose aligned block has that hash. */
export class BlockIndex {
  readonly table: Int32Array;
  readonly shift: number;
  /** MUL^block, to drop the outgoing byte when rolling. */
  readonly outMul: number;

  constructor(
    readonly old: Uint8Array,
    readonly block: number,
  ) {
    const blocks = Math.floor(old.length / block);
    let bits = 10;
    while (bits < 30 && 1 << bits < blocks * 2) bits++;
    this.shift = 32 - bits;
    this.table = new Int32Array(1 << bits).fill(-1);
    let m = 1;
    for (let i = 0; i < block; i++) m = Math.imul(m, MUL);
    this.outMul = m;
    const table = this.table;
    const shift = this.shift;
    for (let p = 0; p + block <= old.length; p += block) {
      const slot = Math.imul(hashAt(old, p, block), GOLDEN) >>> shift;
      if (table[slot]! < 0) table[slot] = p;
    }
  }

  /**
   * Exact matches ("anchors") of `data` in the old data, sorted and disjoint in `data`, each
   * extended as far as it goes both ways (backwards never into the previous anchor).
   * `hintDiag` (old position minus new position), when given, is tried first at every
   * position: it keeps a file aligned with its own old version when the old package holds
   * several copies of the same content.
   */
  anchors(data: Uint8Array, hintDiag: number | undefined): CoverList {
    const out = new CoverList();
    const w = this.block;
    const old = this.old;
    const oldLen = old.length;
    const m = data.length;
    if (m < w || oldLen < w) return out;
    const table = this.table;
    const shift = this.shift;
    const outMul = this.outMul;
    let hasDiag = hintDiag !== undefined;
    let diag = hintDiag ?? 0;
    let lastEnd = 0;
    let p = 0;
    let h = hashAt(data, 0, w);
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
      }
      if (op < 0) {
        const c = table[Math.imul(h, GOLDEN) >>> shift]!;
        if (c >= 0 && old[c] === first) {
          let i = 1;
          while (i < w && data[p + i] === old[c + i]) i++;
          if (i === w) op = c;
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
        p += e;
        if (p + w > m) break;
        h = hashAt(data, p, w);
        continue;
      }
      if (p + w >= m) break;
      h = (Math.imul(h, MUL) - Math.imul(first, outMul) + data[p + w]!) | 0;
      p++;
    }
    return out;
  }
}
