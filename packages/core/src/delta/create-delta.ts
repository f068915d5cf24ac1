/**
 * Making patches: {@link createDelta} for packages, {@link createBufferDelta} for one buffer.
 */
import { sha256Hex } from '../content-hash.js';
import { DEFAULT_TUNING, diffAgainst, type EngineFile, type EngineTuning } from './diff-engine.js';
import { DeltaError } from './delta-error.js';
import { encodeManifest, type ManifestEntry } from './manifest.js';
import {
  comparePaths,
  contentHashOf,
  hashFiles,
  OldReference,
  type PackageFile,
  type Sha256Hex,
} from './package-model.js';
import { MAX_SIZE, PatchKind, writePatch } from './patch-format.js';

/**
 * Options of {@link createDelta} and {@link createBufferDelta}.
 *
 * @example
 * createDelta(oldFiles, newFiles, { level: 6, sha256: nodeSha256 });
 */
export interface DeltaOptions {
  /** Deflate level of the patch sections, 0 (stored) to 9. Default 9. */
  readonly level?: number;
  /**
   * Shortest exact match (bytes) that may start a cover away from the current alignment.
   * Default 8; larger is a little faster and usually a little bigger. At least 4.
   */
  readonly minMatch?: number;
  /**
   * SHA-256 implementation (bytes → lowercase hex). Default: the pure-JS {@link sha256Hex}.
   * On Node, passing `(d) => createHash('sha256').update(d).digest('hex')` hashes ~10× faster.
   */
  readonly sha256?: Sha256Hex;
}

/** Test and benchmark hook: engine tuning (not part of the public API). */
export interface InternalDeltaOptions extends DeltaOptions {
  readonly tuning?: EngineTuning;
}

function engineTuning(opts: InternalDeltaOptions): { level: number; tuning: EngineTuning } {
  const level = opts.level ?? 9;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError('level must be an integer from 0 to 9');
  const base = opts.tuning ?? DEFAULT_TUNING;
  const minMatch = opts.minMatch ?? base.search.minMatch;
  if (!Number.isInteger(minMatch) || minMatch < 4 || minMatch > 4096) {
    throw new RangeError('minMatch must be an integer from 4 to 4096');
  }
  return { level, tuning: { ...base, search: { ...base.search, minMatch } } };
}

function checkSize(n: number, what: string): void {
  if (n > MAX_SIZE) throw new DeltaError('HT_DELTA_TOO_LARGE', `${what} exceeds ${MAX_SIZE} bytes`);
}

/**
 * Diffs two packages (file lists, any order) into a patch that {@link applyDeltaFiles} turns the
 * old package into the new one with. The new files are diffed as one stream against all old
 * content (so renamed, moved and duplicated files match); a new file whose content some old file
 * has costs only a manifest entry, and one kept at its path costs nothing.
 * Pure and synchronous (run it in a worker): about 6 × (old + new) bytes of memory at most.
 *
 * @throws {DeltaError} `HT_DELTA_TOO_LARGE` when the old content, or the new content to diff,
 *   exceeds 2 GiB - 1 bytes.
 * @throws {TypeError} for malformed file lists or two files with one path.
 * @example
 * const patch = createDelta(
 *   [{ path: 'index.js', data: oldBytes }],
 *   [{ path: 'index.js', data: newBytes }, { path: 'logo.png', data: png }],
 * );
 * readDeltaInfo(patch).fileCount; // 2
 */
export function createDelta(
  oldFiles: readonly PackageFile[],
  newFiles: readonly PackageFile[],
  opts: DeltaOptions = {},
): Uint8Array {
  const { level, tuning } = engineTuning(opts);
  const olds = hashFiles(oldFiles, 'oldFiles', opts.sha256);
  const news = hashFiles(newFiles, 'newFiles', opts.sha256);
  const baseHash = contentHashOf(olds);
  const targetHash = contentHashOf(news);
  const ref = new OldReference(olds);
  checkSize(ref.size, 'the old content');

  const sorted = [...news].sort((a, b) => comparePaths(a.path, b.path));
  const entries: ManifestEntry[] = [];
  const streamFiles: EngineFile[] = [];
  const diffedBySha = new Map<string, string>();
  const newPaths = new Set<string>();
  const newShas = new Set<string>();
  let targetSize = 0;
  let streamSize = 0;
  for (const f of sorted) {
    newPaths.add(f.path);
    targetSize += f.data.length;
    if (!f.excluded) {
      newShas.add(f.sha256);
      if (ref.byPath.get(f.path)?.sha256 === f.sha256) continue;
      const same = ref.pathBySha.get(f.sha256);
      if (same !== undefined) {
        entries.push({ path: f.path, same });
        continue;
      }
      const copy = diffedBySha.get(f.sha256);
      if (copy !== undefined) {
        entries.push({ path: f.path, copy });
        continue;
      }
      diffedBySha.set(f.sha256, f.path);
    }
    // Excluded files are not pinned by the content hash: they carry their full SHA-256.
    entries.push({ path: f.path, size: f.data.length, sha256: f.excluded ? f.sha256 : f.sha256.slice(0, 16) });
    const prev = ref.byPath.get(f.path);
    const start = prev ? ref.offsetBySha.get(prev.sha256) : undefined;
    streamFiles.push({ data: f.data, home: start === undefined ? undefined : { start, end: start + prev!.data.length } });
    streamSize += f.data.length;
  }
  checkSize(streamSize, 'the new content to diff');
  const deleted = [...ref.byPath.keys()].filter((p) => !newPaths.has(p));

  // Old content the new package keeps unchanged stays out of a size-limited suffix array.
  const unchanged: { start: number; end: number }[] = [];
  for (const [sha, offset] of ref.offsetBySha) {
    if (newShas.has(sha)) unchanged.push({ start: offset, end: offset + ref.byPath.get(ref.pathBySha.get(sha)!)!.data.length });
  }
  const streams = diffAgainst(ref.concat(), streamFiles, unchanged, tuning);
  const manifest = encodeManifest({ deleted, files: entries });
  return writePatch(
    { kind: PatchKind.Package, baseHash, targetHash, fileCount: news.length, targetSize },
    { manifest, ...streams },
    level,
  );
}

/**
 * Diffs two single buffers (e.g. a React Native bundle). Apply with {@link applyBufferDelta}.
 *
 * @example
 * const patch = createBufferDelta(oldBundle, newBundle);
 * applyBufferDelta(oldBundle, patch); // bytes equal to newBundle
 */
export function createBufferDelta(oldData: Uint8Array, newData: Uint8Array, opts: DeltaOptions = {}): Uint8Array {
  if (!(oldData instanceof Uint8Array) || !(newData instanceof Uint8Array)) {
    throw new TypeError('oldData and newData must be Uint8Arrays');
  }
  const { level, tuning } = engineTuning(opts);
  checkSize(oldData.length, 'the old data');
  checkSize(newData.length, 'the new data');
  const hash = opts.sha256 ?? sha256Hex;
  const streams = diffAgainst(oldData, [{ data: newData, home: { start: 0, end: oldData.length } }], [], tuning);
  return writePatch(
    {
      kind: PatchKind.Buffer,
      baseHash: hash(oldData).toLowerCase(),
      targetHash: hash(newData).toLowerCase(),
      fileCount: 1,
      targetSize: newData.length,
    },
    { manifest: new Uint8Array(0), ...streams },
    level,
  );
}
