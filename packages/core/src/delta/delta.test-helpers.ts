/**
 * Deterministic generators and checks shared by the delta tests (Node APIs allowed here).
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { PackageFile } from './package-model.js';

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randomBytes(r: () => number, n: number, alphabet = 256): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * alphabet);
  return out;
}

const WORDS = [
  'function', 'return', 'const', 'let', 'if', 'else', 'for', 'while', 'this', 'new', 'null',
  'value', 'index', 'length', 'push', 'map', 'filter', 'props', 'state', 'render', 'node',
  '(', ')', '{', '}', '[', ']', ';', '=', '===', '+', '.', ',', '\n', '  ', 'a', 'b', 'e', 't',
];

/** Text that looks like source code (repetitive, compressible). */
export function textLike(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const w = WORDS[Math.floor(r() * WORDS.length)]!;
    for (let k = 0; k < w.length && i < n; k++) out[i++] = w.charCodeAt(k);
    if (i < n && r() < 0.5) out[i++] = 32;
  }
  return out;
}

/** A few random edits: substitutions, insertions, deletions and a moved block. */
export function mutate(r: () => number, data: Uint8Array, edits = 5): Uint8Array {
  let d = Array.from(data);
  for (let e = 0; e < edits; e++) {
    const kind = int(r, 0, 3);
    const at = int(r, 0, d.length);
    if (kind === 0 && d.length > 0) {
      for (let k = 0; k < int(r, 1, 8) && at + k < d.length; k++) d[at + k] = int(r, 0, 255);
    } else if (kind === 1) {
      d.splice(at, 0, ...Array.from(textLike(r, int(r, 1, 64))));
    } else if (kind === 2) {
      d.splice(at, int(r, 1, 64));
    } else if (d.length > 2) {
      const len = int(r, 1, Math.min(256, d.length - 1));
      const from = int(r, 0, d.length - len);
      const block = d.splice(from, len);
      d.splice(int(r, 0, d.length), 0, ...block);
    }
  }
  return Uint8Array.from(d);
}

export function nodeSha256(d: Uint8Array): string {
  return createHash('sha256').update(d).digest('hex');
}

/** Expects two packages to hold the same paths with the same bytes (order-insensitive). */
export function expectSamePackage(actual: readonly PackageFile[], expected: readonly PackageFile[]): void {
  const norm = (fs: readonly PackageFile[]) =>
    fs
      .map((f) => ({ path: f.path.replace(/\\/g, '/'), sha: nodeSha256(f.data), size: f.data.length }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  expect(norm(actual)).toEqual(norm(expected));
}

/** Recomputes a patch's trailing checksum after the body was edited (format: 8 bytes of SHA-256). */
export function reseal(patch: Uint8Array): Uint8Array {
  const out = patch.slice();
  const body = out.subarray(0, out.length - 8);
  out.set(createHash('sha256').update(body).digest().subarray(0, 8), out.length - 8);
  return out;
}
