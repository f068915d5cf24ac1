/**
 * Growable byte output and bounds-checked byte input with LEB128 varints (unsigned, and signed
 * through zigzag), as used by every section of a delta patch. Integers are JS numbers up to
 * 2^53 - 1.
 */
import { corrupt } from './delta-error.js';

/** An append-only byte buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = Math.max(16, this.buf.length * 2);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Appends `src[from, to)`. */
  range(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    this.reserve(n);
    this.buf.set(src.subarray(from, to), this.length);
    this.length += n;
  }

  /** Unsigned LEB128. */
  uint(v: number): void {
    this.reserve(8);
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** Signed, zigzag-mapped (0, -1, 1, -2, … → 0, 1, 2, 3, …) then LEB128. */
  int(v: number): void {
    this.uint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** The bytes written so far (the buffer itself when full, else a trimmed copy). */
  finish(): Uint8Array {
    return this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/** The number of bytes `ByteWriter.uint(v)` writes. */
export function uintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Reads what {@link ByteWriter} wrote; any read past the end throws `HT_DELTA_CORRUPT`. */
export class ByteReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos >= this.end) throw corrupt('unexpected end of data');
    return this.buf[this.pos++]!;
  }

  /** `n` bytes as a view (no copy). */
  bytes(n: number): Uint8Array {
    if (n < 0 || n > this.end - this.pos) throw corrupt('unexpected end of data');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Unsigned LEB128, at most 2^53 - 1. */
  uint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) break;
        return v;
      }
      mul *= 0x80;
    }
    throw corrupt('integer out of range');
  }

  /** Zigzag-mapped signed LEB128. */
  int(): number {
    const u = this.uint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
}
