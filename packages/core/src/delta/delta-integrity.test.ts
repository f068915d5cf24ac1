import { describe, expect, it } from 'vitest';
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
import { expectSamePackage, mutate, nodeSha256, reseal, rng, textLike } from './delta.test-helpers.js';
import { encodeManifest, parseManifest, type Manifest } from './manifest.js';
import { PatchKind, readPatch, readSections, writePatch, type PatchSections } from './patch-format.js';

function file(path: string, data: Uint8Array | string): PackageFile {
  return { path, data: typeof data === 'string' ? new TextEncoder().encode(data) : data };
}

/** Runs `f` and returns the DeltaError it throws (failing the test on anything else). */
function deltaError(f: () => unknown): DeltaError {
  try {
    f();
  } catch (e) {
    if (e instanceof DeltaError) return e;
    throw e;
  }
  throw new Error('expected a DeltaError');
}

/** Applies a patch, collecting what was yielded before any error. */
function collect(oldFiles: PackageFile[], patch: Uint8Array): { files: PackageFile[]; error?: DeltaError } {
  const files: PackageFile[] = [];
  try {
    for (const f of applyDeltaFiles(oldFiles, patch)) files.push(f);
  } catch (e) {
    if (!(e instanceof DeltaError)) throw e;
    return { files, error: e };
  }
  return { files };
}

const r = rng(99);
const v1: PackageFile[] = [
  file('index.js', textLike(r, 3000)),
  file('lib/util.js', textLike(r, 2000)),
  file('assets/logo.bin', Uint8Array.from({ length: 600 }, (_, i) => (i * 37) & 0xff)),
  file('gone.js', 'removed in v2'),
];
const v2: PackageFile[] = [
  file('index.js', mutate(r, v1[0]!.data, 6)),
  file('lib/util.js', v1[1]!.data),
  file('lib/moved-logo.bin', v1[2]!.data),
  file('lib/added.js', textLike(r, 800)),
  file('z-last.js', mutate(r, v1[1]!.data, 3)),
];

/** Rebuilds a patch with other sections or header fields (and a valid checksum). */
function rebuild(
  patch: Uint8Array,
  change: { sections?: Partial<PatchSections>; targetHash?: string; kind?: PatchKind; targetSize?: number },
): Uint8Array {
  const parsed = readPatch(patch);
  const sections = { ...readSections(parsed), ...change.sections };
  const h = parsed.header;
  return writePatch(
    {
      kind: change.kind ?? h.kind,
      baseHash: h.baseHash,
      targetHash: change.targetHash ?? h.targetHash,
      fileCount: h.fileCount,
      targetSize: change.targetSize ?? h.targetSize,
    },
    sections,
    9,
  );
}

function withManifest(patch: Uint8Array, edit: (m: Manifest) => unknown): Uint8Array {
  const m = parseManifest(readSections(readPatch(patch)).manifest);
  const json = JSON.parse(JSON.stringify(m)) as Manifest;
  const edited = (edit(json) ?? json) as Manifest;
  return rebuild(patch, { sections: { manifest: encodeManifest(edited) } });
}

describe('delta integrity', () => {
  const patch = createDelta(v1, v2);

  it('applies the untouched patch', () => {
    expectSamePackage(applyDelta(v1, patch), v2);
  });

  it('detects a damaged byte at any position before producing anything', () => {
    for (let i = 0; i < patch.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = patch.slice();
        bad[i] = bad[i]! ^ flip;
        const { files, error } = collect(v1, bad);
        expect(error?.code).toBe('HT_DELTA_CORRUPT');
        expect(files).toEqual([]);
        expect(() => readDeltaInfo(bad)).toThrow(DeltaError);
      }
    }
  });

  it('detects truncation and trailing garbage', () => {
    for (let n = 0; n < patch.length; n++) {
      expect(collect(v1, patch.subarray(0, n)).error?.code).toBe('HT_DELTA_CORRUPT');
    }
    const longer = new Uint8Array(patch.length + 1);
    longer.set(patch);
    expect(collect(v1, longer).error?.code).toBe('HT_DELTA_CORRUPT');
    expect(deltaError(() => readDeltaInfo(new Uint8Array(0))).code).toBe('HT_DELTA_CORRUPT');
    expect(() => readDeltaInfo('patch' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('never completes with a wrong result, even when a damaged body carries a valid checksum', () => {
    // As if the checksum missed the damage (odds 2^-64): every later check must still hold.
    // Stored sections (level 0) expose every structure to the damage.
    for (const level of [0, 9]) {
      const p = createDelta(v1, v2, { level });
      for (let i = 4; i < p.length - 8; i++) {
        for (const flip of [0x01, 0xfe]) {
          const bad = p.slice();
          bad[i] = bad[i]! ^ flip;
          // collect() rethrows anything that is not a DeltaError.
          const { files, error } = collect(v1, reseal(bad));
          if (!error) expectSamePackage(files, v2);
        }
      }
    }
  });

  it('checks the base before yielding anything', () => {
    const changed = v1.map((f) => (f.path === 'gone.js' ? file('gone.js', 'edited') : f));
    for (const old of [changed, v1.slice(1), [...v1, file('extra.js', 'x')]]) {
      const { files, error } = collect(old, patch);
      expect(error?.code).toBe('HT_DELTA_BASE_MISMATCH');
      expect(files).toEqual([]);
    }
    // Files the content hash excludes do not take part.
    expectSamePackage(applyDelta([...v1, file('.DS_Store', 'junk')], patch), v2);
  });

  it("stops at a file whose bytes do not match its hash, after yielding only correct files", () => {
    const stored = createDelta(v1, v2, { level: 0 });
    const parsed = readPatch(stored);
    const sections = readSections(parsed);
    // Damage the last literal byte: it belongs to the last diffed file.
    const extra = sections.extra.slice();
    extra[extra.length - 1] = extra[extra.length - 1]! ^ 0x20;
    const bad = rebuild(stored, { sections: { extra } });
    const { files, error } = collect(v1, bad);
    expect(error?.code).toBe('HT_DELTA_HASH_MISMATCH');
    expect(error?.message).toContain('z-last.js');
    expect(files.map((f) => f.path)).toEqual(['index.js', 'lib/added.js', 'lib/moved-logo.bin', 'lib/util.js']);
    expectSamePackage(files, v2.filter((f) => f.path !== 'z-last.js'));
    expect(() => applyDelta(v1, bad)).toThrow(expect.objectContaining({ code: 'HT_DELTA_HASH_MISMATCH' }));
  });

  it('verifies the whole target content hash at the end', () => {
    const bad = rebuild(patch, { targetHash: '0'.repeat(64) });
    const { files, error } = collect(v1, bad);
    expect(error?.code).toBe('HT_DELTA_HASH_MISMATCH');
    expect(files.length).toBe(v2.length);
    expect(() => applyDelta(v1, bad)).toThrow(expect.objectContaining({ code: 'HT_DELTA_HASH_MISMATCH' }));
  });

  it('rejects inconsistent manifests', () => {
    const edits: ((m: Manifest) => unknown)[] = [
      (m) => ({ ...m, deleted: ['not-an-old-file.js'] }),
      (m) => ({ ...m, deleted: [...m.deleted, ...m.deleted] }),
      (m) => ({ ...m, files: [...m.files].reverse() }),
      (m) => ({ ...m, files: m.files.map((e) => ('same' in e ? { ...e, same: 'nope' } : e)) }),
      (m) => ({ ...m, files: [...m.files, { path: 'zz', copy: 'index.js' }] }),
      (m) => ({ ...m, files: [...m.files, { path: 'zz', copy: 'nope' }] }),
      (m) => ({ ...m, files: m.files.map((e) => ('size' in e ? { ...e, size: e.size + 1 } : e)) }),
      (m) => ({ ...m, files: [...m.files, { path: 'zz', size: 0, sha256: 'e3b0c44298fc1c14' }] }),
      (m) => ({ ...m, files: [...m.files, { path: 'zz', weird: true }] }),
      (m) => ({ ...m, files: [...m.files, { path: 'zz', size: 0, sha256: 'xyz' }] }),
      (m) => ({ ...m, files: [...m.files, { path: '', same: 'index.js' }] }),
      (m) => ({ ...m, files: [...m.files, null] }),
      (m) => ({ ...m, files: 'x' }),
      (m) => ({ ...m, deleted: [1] }),
      (m) => ({ ...m, deleted: [...m.deleted, 'gone.js'], files: [...m.files, { path: 'gone.js', same: 'index.js' }] }),
    ];
    for (const edit of edits) {
      const bad = withManifest(patch, edit);
      const { files, error } = collect(v1, bad);

      expect(error?.code).toMatch(/^HT_DELTA_(CORRUPT|HASH_MISMATCH)$/);
      if (error?.code === 'HT_DELTA_CORRUPT') expect(files).toEqual([]);
    }
    const huge = withManifest(patch, (m) => ({ ...m, files: [...m.files, { path: 'zz', size: 2 ** 31, sha256: 'e3b0c44298fc1c14' }] }));
    expect(collect(v1, huge).error?.code).toBe('HT_DELTA_TOO_LARGE');
    for (const text of ['not json', 'null', '{"deleted":[],"files":[]}\u00e9']) {
      const manifest = Uint8Array.from(text, (c) => c.charCodeAt(0));
      const { error } = collect(v1, rebuild(patch, { sections: { manifest } }));
      expect(error?.code).toBe('HT_DELTA_CORRUPT');
    }
  });

  it('rejects diff streams that do not add up, before producing anything', () => {
    const sections = readSections(readPatch(patch));
    const variants: Partial<PatchSections>[] = [
      { extra: sections.extra.subarray(1) },
      { extra: Uint8Array.from([...sections.extra, 1]) },
      { ctrl: sections.ctrl.subarray(0, sections.ctrl.length - 1) },
      { ctrl: Uint8Array.from([...sections.ctrl, 0, 0, 0]) },
      { ctrl: Uint8Array.from([...sections.ctrl, 0, 100, 0x80, 0x80, 0x80, 0x01]) },
      { gaps: Uint8Array.of(0x80, 0x80, 0x80, 0x40), lens: Uint8Array.of(0), diff: Uint8Array.of(7) },
      { diff: Uint8Array.of(1, 2, 3) },
      { lens: Uint8Array.of(0, 0) },
    ];
    for (const v of variants) {
      const { files, error } = collect(v1, rebuild(patch, { sections: v }));

      expect(error?.code).toBe('HT_DELTA_CORRUPT');
      expect(files).toEqual([]);
    }
  });

  it('protects buffer patches the same way', () => {
    const a = textLike(rng(5), 4000);
    const b = mutate(rng(6), a, 8);
    const p = createBufferDelta(a, b);
    for (let i = 0; i < p.length; i++) {
      const bad = p.slice();
      bad[i] = bad[i]! ^ 0x04;
      expect(deltaError(() => applyBufferDelta(a, bad)).code).toBe('HT_DELTA_CORRUPT');
      const resealed = reseal(bad);
      try {
        expect(Array.from(applyBufferDelta(a, resealed))).toEqual(Array.from(b));
      } catch (e) {
        expect(e).toBeInstanceOf(DeltaError);
      }
    }
    const wrongTarget = rebuild(p, { targetHash: '1'.repeat(64) });
    expect(deltaError(() => applyBufferDelta(a, wrongTarget)).code).toBe('HT_DELTA_HASH_MISMATCH');
    const tooLarge = rebuild(p, { targetSize: 2 ** 31 });
    expect(deltaError(() => applyBufferDelta(a, tooLarge)).code).toBe('HT_DELTA_TOO_LARGE');
    const wrongSize = rebuild(p, { targetSize: b.length + 1 });
    expect(deltaError(() => applyBufferDelta(a, wrongSize)).code).toBe('HT_DELTA_CORRUPT');
  });
});
