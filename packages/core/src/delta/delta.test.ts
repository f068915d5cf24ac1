import { describe, expect, it } from 'vitest';
import { packageContentHash, sha256Hex } from '../content-hash.js';
import {
  applyBufferDelta,
  applyDelta,
  applyDeltaFiles,
  createBufferDelta,
  createDelta,
  DeltaError,
  readDeltaInfo,
  type PackageFile,
} from './index.js';
import { expectSamePackage, int, mutate, nodeSha256, randomBytes, rng, textLike } from './delta.test-helpers.js';

const hashOf = (files: readonly PackageFile[]) =>
  packageContentHash(files.map((f) => ({ path: f.path, sha256: sha256Hex(f.data) })));

/** Round-trips and checks every invariant the patch promises; returns the patch. */
function roundTrip(oldFiles: PackageFile[], newFiles: PackageFile[]): Uint8Array {
  const patch = createDelta(oldFiles, newFiles, { sha256: nodeSha256 });
  const info = readDeltaInfo(patch);
  expect(info).toEqual({
    formatVersion: 1,
    kind: 'package',
    baseContentHash: hashOf(oldFiles),
    targetContentHash: hashOf(newFiles),
    fileCount: newFiles.length,
    targetSize: newFiles.reduce((s, f) => s + f.data.length, 0),
  });
  // Old files in any order; the result comes in path order.
  const shuffled = [...oldFiles].reverse();
  const out = applyDelta(shuffled, patch);
  expectSamePackage(out, newFiles);
  const paths = out.map((f) => f.path);
  expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  // The pure-JS hash and an injected one agree, and so do the streaming and bulk forms.
  expectSamePackage([...applyDeltaFiles(oldFiles, patch, { sha256: nodeSha256 })], newFiles);
  return patch;
}

function file(path: string, data: Uint8Array | string): PackageFile {
  return { path, data: typeof data === 'string' ? new TextEncoder().encode(data) : data };
}

/** A random package: nested paths, text-like and binary files, some empty. */
function randomPackage(r: () => number, count: number, maxSize: number): PackageFile[] {
  const files: PackageFile[] = [];
  const used = new Set<string>();
  while (files.length < count) {
    const depth = int(r, 0, 3);
    const parts = Array.from({ length: depth }, () => ['src', 'lib', 'dist', 'assets', 'a', 'b'][int(r, 0, 5)]!);
    const path = [...parts, `f${int(r, 0, 999)}.${['js', 'css', 'json', 'png'][int(r, 0, 3)]}`].join('/');
    if (used.has(path)) continue;
    used.add(path);
    const size = r() < 0.1 ? 0 : int(r, 1, maxSize);
    files.push(file(path, path.endsWith('.png') ? randomBytes(r, size) : textLike(r, size)));
  }
  return files;
}

/** A next version: edits, renames, moves, deletions, additions and duplicates. */
function evolve(r: () => number, files: PackageFile[]): PackageFile[] {
  const out: PackageFile[] = [];
  const used = new Set<string>();
  const add = (f: PackageFile) => {
    if (!used.has(f.path)) {
      used.add(f.path);
      out.push(f);
    }
  };
  for (const f of files) {
    const x = r();
    if (x < 0.1) continue; // deleted
    if (x < 0.2) add(file(`moved/${f.path}`, f.data)); // moved to another folder
    else if (x < 0.3) add(file(f.path.replace(/\.(\w+)$/, '.renamed.$1'), mutate(r, f.data, 2)));
    else if (x < 0.6) add(file(f.path, mutate(r, f.data, int(r, 1, 6))));
    else add(f);
  }
  for (let i = 0; i < 3; i++) add(file(`new/added${i}.js`, textLike(r, int(r, 0, 3000))));
  const src = files[int(r, 0, files.length - 1)];
  if (src) add(file('copies/duplicate-of-old.bin', src.data));
  const dup = textLike(r, 500);
  add(file('copies/new-dup-1.txt', dup));
  add(file('copies/new-dup-2.txt', dup));
  return out;
}

describe('createDelta / applyDelta round trips', () => {
  it('rebuilds evolved random packages exactly (property, 25 seeds)', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const r = rng(seed);
      const v1 = randomPackage(r, int(r, 1, 30), 4000);
      const v2 = evolve(r, v1);
      roundTrip(v1, v2);
      roundTrip(v2, v1);
    }
  });

  it('costs next to nothing for identical packages', () => {
    const r = rng(7);
    const v1 = randomPackage(r, 20, 5000);
    const patch = roundTrip(v1, v1);
    expect(patch.length).toBeLessThan(140);
    expect(roundTrip([], []).length).toBeLessThan(140);
  });

  it('ships unchanged content as manifest entries only (renames, moves, duplicates)', () => {
    const r = rng(8);
    const big = randomBytes(r, 200_000);
    const v1 = [file('a/big.bin', big), file('a/small.js', 'x')];
    const v2 = [file('b/c/big-renamed.bin', big), file('b/copy.bin', big), file('a/small.js', 'x')];
    expect(roundTrip(v1, v2).length).toBeLessThan(300);
  });

  it('costs nothing for deleted files', () => {
    const r = rng(9);
    const v1 = [file('keep.js', textLike(r, 1000)), file('gone1.bin', randomBytes(r, 50_000)), file('gone2.bin', randomBytes(r, 50_000))];
    expect(roundTrip(v1, [v1[0]!]).length).toBeLessThan(250);
  });

  it('handles empty files, empty packages and added files', () => {
    const r = rng(10);
    const v1 = [file('empty.txt', ''), file('x/also-empty', '')];
    const v2 = [file('empty.txt', ''), file('added.bin', randomBytes(r, 3000)), file('x/now-full', 'hello')];
    roundTrip([], v2);
    roundTrip(v2, []);
    roundTrip(v1, v2);
    roundTrip(v2, v1);
  });

  it('round-trips unrelated packages', () => {
    const r = rng(11);
    const v1 = [file('a.bin', randomBytes(r, 20_000)), file('b.js', textLike(r, 20_000))];
    const v2 = [file('a.bin', randomBytes(r, 20_000)), file('c.js', textLike(r, 30_000))];
    roundTrip(v1, v2);
  });

  it('diffs a renamed file against its old content (cross-file matching)', () => {
    const r = rng(12);
    const lib = textLike(r, 100_000);
    const v1 = [file('lib/GroundProjectedSkybox.js', lib)];
    const v2 = [file('lib/GroundedSkybox.js', mutate(r, lib, 3))];
    const patch = roundTrip(v1, v2);
    expect(patch.length).toBeLessThan(600);
  });

  it('round-trips a large single file with edits (a few MB)', () => {
    const r = rng(13);
    const data = textLike(r, 2_000_000);
    const next = data.slice();
    for (let i = 0; i < 50; i++) next[int(r, 0, next.length - 1)] = int(r, 0, 255);
    const patch = roundTrip([file('bundle.js', data)], [file('bundle.js', next), file('extra.js', data.subarray(0, 1000))]);
    expect(patch.length).toBeLessThan(2_000);
  });

  it('keeps unicode paths and normalizes backslashes', () => {
    const r = rng(14);
    const v1 = [file('资源/图片😀.png', randomBytes(r, 1000)), file('naïve/ñ.js', 'a')];
    const v2 = [file('资源/图片😀.png', randomBytes(r, 1000)), file('naïve/ñ.js', 'b'), file('Ω/\u{1F600}\u00e9.txt', 'c')];
    roundTrip(v1, v2);
    const out = applyDelta([file('dir\\x.js', 'old')], createDelta([file('dir\\x.js', 'old')], [file('dir\\y.js', 'new')]));
    expect(out.map((f) => f.path)).toEqual(['dir/y.js']);
  });

  it('carries files the content hash excludes with their full hash', () => {
    const v1 = [file('.DS_Store', 'mac'), file('a.js', 'a')];
    const v2 = [file('.DS_Store', 'mac'), file('__MACOSX/._a.js', 'meta'), file('a.js', 'a2')];
    roundTrip(v1, v2);
  });

  it('is deterministic, and the hash option does not change the patch', () => {
    const r = rng(15);
    const v1 = randomPackage(r, 10, 3000);
    const v2 = evolve(r, v1);
    const a = createDelta(v1, v2);
    expect(createDelta(v1, v2, { sha256: nodeSha256 })).toEqual(a);
    expect(createDelta([...v1].reverse(), [...v2].reverse())).toEqual(a);
  });

  it('honours level and minMatch', () => {
    const r = rng(16);
    const v1 = randomPackage(r, 10, 3000);
    const v2 = evolve(r, v1);
    const stored = roundTrip(v1, v2);
    for (const opts of [{ level: 0 }, { level: 1 }, { minMatch: 4 }, { minMatch: 64 }]) {
      const patch = createDelta(v1, v2, opts);
      expectSamePackage(applyDelta(v1, patch), v2);
    }
    expect(createDelta(v1, v2, { level: 0 }).length).toBeGreaterThan(stored.length);
    for (const bad of [{ level: 10 }, { level: 1.5 }, { minMatch: 3 }, { minMatch: 5000 }]) {
      expect(() => createDelta(v1, v2, bad)).toThrow(RangeError);
    }
  });

  it('rejects malformed file lists', () => {
    expect(() => createDelta([file('a', 'x'), file('a', 'y')], [])).toThrow(TypeError);
    expect(() => createDelta([{ path: 'a', data: 'x' } as unknown as PackageFile], [])).toThrow(TypeError);
    expect(() => createDelta(null as unknown as PackageFile[], [])).toThrow(TypeError);
    expect(() => createDelta([], [], { sha256: () => 'nope' })).not.toThrow();
    expect(() => createDelta([file('a', 'x')], [], { sha256: () => 'nope' })).toThrow(TypeError);
  });
});

describe('createBufferDelta / applyBufferDelta', () => {
  it('round-trips edited, identical, empty and unrelated buffers', () => {
    const r = rng(20);
    const cases: [Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < 15; i++) {
      const a = i % 3 === 0 ? randomBytes(r, int(r, 0, 5000), 4) : textLike(r, int(r, 0, 20_000));
      cases.push([a, mutate(r, a, int(r, 0, 10))]);
    }
    const x = textLike(r, 10_000);
    cases.push([x, x], [new Uint8Array(0), new Uint8Array(0)], [new Uint8Array(0), x], [x, new Uint8Array(0)]);
    cases.push([randomBytes(r, 10_000), randomBytes(r, 10_000)]);
    for (const [a, b] of cases) {
      const patch = createBufferDelta(a, b);
      expect(Array.from(applyBufferDelta(a, patch))).toEqual(Array.from(b));
      expect(readDeltaInfo(patch)).toEqual({
        formatVersion: 1,
        kind: 'buffer',
        baseContentHash: sha256Hex(a),
        targetContentHash: sha256Hex(b),
        fileCount: 1,
        targetSize: b.length,
      });
    }
    expect(createBufferDelta(x, x).length).toBeLessThan(120);
  });

  it('checks the old buffer and refuses package patches', () => {
    const r = rng(21);
    const a = textLike(r, 5000);
    const patch = createBufferDelta(a, mutate(r, a));
    const wrong = a.slice();
    wrong[100] = wrong[100]! ^ 1;
    expect(() => applyBufferDelta(wrong, patch)).toThrow(expect.objectContaining({ code: 'HT_DELTA_BASE_MISMATCH' }));
    const pkg = createDelta([file('a', a)], [file('a', a)]);
    expect(() => applyBufferDelta(a, pkg)).toThrow(expect.objectContaining({ code: 'HT_DELTA_CORRUPT' }));
    expect(() => applyDelta([file('a', a)], patch)).toThrow(expect.objectContaining({ code: 'HT_DELTA_CORRUPT' }));
    expect(() => createBufferDelta('x' as unknown as Uint8Array, a)).toThrow(TypeError);
    expect(() => applyBufferDelta('x' as unknown as Uint8Array, patch)).toThrow(TypeError);
  });

  it('refuses inputs beyond 2 GiB - 1 bytes with HT_DELTA_TOO_LARGE', () => {
    // A stand-in claiming 2^31 bytes; the size check runs before any byte is read.
    const huge = Object.defineProperty(new Uint8Array(1), 'length', { value: 2 ** 31 });
    const err = (() => {
      try {
        createBufferDelta(huge, new Uint8Array(1));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DeltaError);
    expect((err as DeltaError).code).toBe('HT_DELTA_TOO_LARGE');
  });
});
