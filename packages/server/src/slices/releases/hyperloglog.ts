import { murmurHash3String } from '@halftone/core';

const P = 12;
const M = 1 << P;
const ALPHA = 0.7213 / (1 + 1.079 / M);
// A second hash seed so the estimate is independent of the rollout buckets (seed 0).
const SEED = 0x9747b28c;

/**
 * Distinct-device counter for rollout statistics: a HyperLogLog with 4096 one-byte registers
 * (≈1.6% standard error, exact-ish below a few thousand through linear counting). Fixed memory
 * per release and stage, so counting every check costs one hash and one compare, and two
 * counters merge by taking register maxima (several server processes can share one).
 */
export class HyperLogLog {
  readonly registers: Uint8Array;

  constructor(registers?: Uint8Array) {
    this.registers = registers ?? new Uint8Array(M);
  }

  /** Adds a key; returns true when the sketch changed (so callers know it needs saving). */
  add(key: string): boolean {
    return this.addHash(HyperLogLog.hash(key));
  }

  /** The 32-bit hash `add` uses: compute it once when one key goes into several sketches. */
  static hash(key: string): number {
    return murmurHash3String(key, SEED);
  }

  /** Adds a key by its `HyperLogLog.hash`. */
  addHash(h: number): boolean {
    const index = h >>> (32 - P);
    const rest = (h << P) | (1 << (P - 1));
    const rank = Math.clz32(rest) + 1;
    if (rank > (this.registers[index] ?? 0)) {
      this.registers[index] = rank;
      return true;
    }
    return false;
  }

  count(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      const r = this.registers[i] ?? 0;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const estimate = (ALPHA * M * M) / sum;
    if (estimate <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
    return Math.round(estimate);
  }

  merge(other: HyperLogLog): void {
    for (let i = 0; i < M; i++) {
      const r = other.registers[i] ?? 0;
      if (r > (this.registers[i] ?? 0)) this.registers[i] = r;
    }
  }

  toBase64(): string {
    return Buffer.from(this.registers).toString('base64');
  }

  static fromBase64(s: string): HyperLogLog {
    const bytes = Buffer.from(s, 'base64');
    if (bytes.length !== M) return new HyperLogLog();
    return new HyperLogLog(new Uint8Array(bytes));
  }
}
