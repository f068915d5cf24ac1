import { describe, expect, it } from 'vitest';
import {
  murmurHash3Continue,
  murmurHash3Prefix,
  murmurHash3String,
  murmurHash3_x86_32,
} from './murmur3.js';
import { encodeUtf8, encodeUtf8Into } from './utf8.js';

/**
 * A deliberately plain transcription of the reference MurmurHash3_x86_32 (byte array in,
 * BigInt-free 32-bit arithmetic spelled out with >>> 0), used as an oracle.
 */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const mul32 = (a: number, b: number) => {
    // (a * b) mod 2^32 without Math.imul: split b into 16-bit halves.
    const lo = (a * (b & 0xffff)) >>> 0;
    const hi = ((a * (b >>> 16)) % 0x10000) * 0x10000;
    return (lo + hi) >>> 0;
  };
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h = seed >>> 0;
  const nblocks = Math.floor(bytes.length / 4);
  for (let b = 0; b < nblocks; b++) {
    const o = b * 4;
    let k =
      ((bytes[o] ?? 0) +
        (bytes[o + 1] ?? 0) * 0x100 +
        (bytes[o + 2] ?? 0) * 0x10000 +
        (bytes[o + 3] ?? 0) * 0x1000000) >>>
      0;
    k = mul32(k, 0xcc9e2d51);
    k = rotl(k, 15);
    k = mul32(k, 0x1b873593);
    h = (h ^ k) >>> 0;
    h = rotl(h, 13);
    h = (mul32(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = nblocks * 4;
  let k1 = 0;
  const rest = bytes.length % 4;
  if (rest >= 3) k1 = (k1 ^ ((bytes[tail + 2] ?? 0) << 16)) >>> 0;
  if (rest >= 2) k1 = (k1 ^ ((bytes[tail + 1] ?? 0) << 8)) >>> 0;
  if (rest >= 1) {
    k1 = (k1 ^ (bytes[tail] ?? 0)) >>> 0;
    k1 = mul32(k1, 0xcc9e2d51);
    k1 = rotl(k1, 15);
    k1 = mul32(k1, 0x1b873593);
    h = (h ^ k1) >>> 0;
  }
  h = (h ^ bytes.length) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = mul32(h, 0x85ebca6b);
  h = (h ^ (h >>> 13)) >>> 0;
  h = mul32(h, 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h;
}

const te = new TextEncoder();

describe('murmurHash3_x86_32', () => {
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['hello', 0, 0x248bfa47],
    ['Hello, world!', 0, 0xc0363e43],
    ['Hello, world!', 1234, 0xfaf6cdb3],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ] as const)('published vector %j seed %d', (s, seed, want) => {
    expect(referenceMurmur3(te.encode(s), seed)).toBe(want);
    expect(murmurHash3_x86_32(te.encode(s), seed)).toBe(want);
    expect(murmurHash3String(s, seed)).toBe(want);
  });

  it('equals the reference for every tail length and random bytes and seeds', () => {
    let x = 12345;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    for (let len = 0; len < 64; len++) {
      for (let rep = 0; rep < 8; rep++) {
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i++) bytes[i] = next() & 0xff;
        const seed = rep === 0 ? 0 : next();
        expect(murmurHash3_x86_32(bytes, seed)).toBe(referenceMurmur3(bytes, seed));
      }
    }
  });

  it('always returns an unsigned 32-bit integer', () => {
    for (let i = 0; i < 200; i++) {
      const h = murmurHash3String(`id-${i}`, i);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
    }
  });
});

describe('murmurHash3String', () => {
  it.each([
    '用户-42',
    'émoji 🚀',
    'Ünïcödé ñ',
    '𝄞𝄞𝄞',
    'ß',
    '\u0000\u007f\u0080\u07ff\u0800\uffff',
    'lone high \ud800 x',
    'lone low \udc00',
    'trailing high \ud83d',
    '\udc00\ud800',
    'mixed 发布:用户-1 🚀🚀 end',
  ])('hashes the TextEncoder UTF-8 bytes of %j', (s) => {
    const bytes = te.encode(s);
    expect(encodeUtf8(s)).toEqual(bytes);
    expect(murmurHash3String(s)).toBe(referenceMurmur3(bytes, 0));
    expect(murmurHash3String(s, 42)).toBe(referenceMurmur3(bytes, 42));
  });

  it('handles strings that outgrow the scratch buffer, and huge ones', () => {
    for (const n of [100, 1000, 30000, 70000]) {
      const s = 'é🚀a'.repeat(n);
      expect(murmurHash3String(s)).toBe(referenceMurmur3(te.encode(s), 0));
    }
    // Short strings still hash correctly after the scratch buffer grew.
    expect(murmurHash3String('hello')).toBe(0x248bfa47);
  });

  it('encodeUtf8Into writes into a caller buffer and returns the byte count', () => {
    const out = new Uint8Array(3 * 'héllo'.length);
    expect(encodeUtf8Into('héllo', out)).toBe(6);
    expect([...out.subarray(0, 6)]).toEqual([0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f]);
  });
});

describe('murmurHash3Prefix / murmurHash3Continue', () => {
  it('equals hashing the whole input, for every split point and seed', () => {
    const inputs = ['', 'a', 'ab', 'abc', 'abcd', 'rel_01kc3:device-42', '发布-灰度:用户-1', 'émoji 🚀 ok', 'x'.repeat(37)];
    for (const text of inputs) {
      const bytes = encodeUtf8(text);
      for (const seed of [0, 1, 0x9747b28c]) {
        const whole = murmurHash3_x86_32(bytes, seed);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const prefix = murmurHash3Prefix(bytes.subarray(0, cut), cut, seed);
          expect(murmurHash3Continue(prefix, bytes.subarray(cut), bytes.length - cut)).toBe(whole);
        }
      }
    }
  });
});
