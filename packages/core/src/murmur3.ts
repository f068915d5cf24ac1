/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain reference `MurmurHash3_x86_32`),
 * written for 32-bit JS integer arithmetic with `Math.imul`. Deterministic on every platform;
 * this is the hash behind sticky bucketing, so its output is part of the device contract.
 */
import { encodeUtf8Into } from './utf8.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function hashBytes(data: Uint8Array, length: number, seed: number): number {
  let h = seed | 0;
  const blockEnd = length & ~3;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest !== 0) {
    let k = 0;
    if (rest === 3) k ^= (data[i + 2] as number) << 16;
    if (rest >= 2) k ^= (data[i + 1] as number) << 8;
    k ^= data[i] as number;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3 x86_32 of `data` with `seed`, as an unsigned 32-bit integer. Bit-for-bit the
 * reference algorithm (4-byte little-endian blocks, tail, length, `fmix32`).
 *
 * @example
 * murmurHash3_x86_32(new Uint8Array(0), 1); // 0x514e28b7
 * murmurHash3_x86_32(new Uint8Array([0x68, 0x65, 0x6c, 0x6c, 0x6f])); // 0x248bfa47 ("hello")
 */
export function murmurHash3_x86_32(data: Uint8Array, seed = 0): number {
  return hashBytes(data, data.length, seed);
}

// A reusable scratch buffer for the UTF-8 bytes of hashed strings: the hot path (one hash per
// device per release) then allocates nothing. JS is single-threaded and hashBytes never
// re-enters, so sharing it is safe. Very long strings get a throwaway buffer instead, so one
// odd input cannot pin a large buffer for the life of the process.
const SCRATCH_LIMIT = 1 << 16;
let scratch = new Uint8Array(256);

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `s` (surrogate pairs as 4-byte sequences, lone
 * surrogates as U+FFFD, exactly like `TextEncoder`), as an unsigned 32-bit integer.
 *
 * @example
 * murmurHash3String('hello');           // 613153351 (0x248bfa47)
 * murmurHash3String('Hello, world!');   // 0xc0363e43
 * murmurHash3String('用户-42') === murmurHash3_x86_32(new TextEncoder().encode('用户-42')); // true
 */
export function murmurHash3String(s: string, seed = 0): number {
  const need = s.length * 3;
  let buf = scratch;
  if (need > buf.length) {
    if (need <= SCRATCH_LIMIT) {
      buf = new Uint8Array(Math.min(SCRATCH_LIMIT, Math.max(need, buf.length * 2)));
      scratch = buf;
    } else {
      buf = new Uint8Array(need);
    }
  }
  return hashBytes(buf, encodeUtf8Into(s, buf), seed);
}

/**
 * The state of a MurmurHash3 (x86, 32-bit) after some leading bytes: hash a common prefix once,
 * then finish it with many different suffixes ({@link murmurHash3Continue}).
 */
export interface Murmur3Prefix {
  readonly h: number;
  /** The 0–3 bytes after the last whole block, little-endian. */
  readonly tail: number;
  readonly tailLength: number;
  readonly length: number;
}

function readBlock(data: Uint8Array, i: number): number {
  return (
    (data[i] as number) |
    ((data[i + 1] as number) << 8) |
    ((data[i + 2] as number) << 16) |
    ((data[i + 3] as number) << 24)
  );
}

function mixK(k: number): number {
  let m = Math.imul(k, C1);
  m = (m << 15) | (m >>> 17);
  return Math.imul(m, C2);
}

function mixH(h: number, k: number): number {
  let x = h ^ mixK(k);
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) | 0;
}

/**
 * Hashes the first `length` bytes of `data` and keeps the state open for more.
 *
 * @example
 * const p = murmurHash3Prefix(encodeUtf8('rel_1:'), 6);
 * murmurHash3Continue(p, encodeUtf8('device-42'), 9) === murmurHash3String('rel_1:device-42');
 */
export function murmurHash3Prefix(data: Uint8Array, length = data.length, seed = 0): Murmur3Prefix {
  let h = seed | 0;
  const blockEnd = length & ~3;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    h = mixH(h, readBlock(data, i));
  }
  let tail = 0;
  for (let j = 0; i + j < length; j++) tail |= (data[i + j] as number) << (8 * j);
  return { h, tail, tailLength: length & 3, length };
}

/** Finishes a prefix state with `length` more bytes of `data`; equals hashing both at once. */
export function murmurHash3Continue(prefix: Murmur3Prefix, data: Uint8Array, length = data.length): number {
  let h = prefix.h;
  let k = prefix.tail;
  let n = prefix.tailLength;
  let i = 0;
  // Fill the pending block byte by byte, then take whole blocks.
  while (n !== 0 && n < 4 && i < length) {
    k |= (data[i++] as number) << (8 * n++);
  }
  if (n === 4) {
    h = mixH(h, k);
    k = 0;
    n = 0;
  }
  if (n === 0) {
    const blockEnd = i + ((length - i) & ~3);
    for (; i < blockEnd; i += 4) {
      h = mixH(h, readBlock(data, i));
    }
    for (; i < length; i++) k |= (data[i] as number) << (8 * n++);
  }
  if (n !== 0) h ^= mixK(k);
  h ^= prefix.length + length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
