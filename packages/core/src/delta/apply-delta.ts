/**
 * Applying patches: {@link applyDeltaFiles} / {@link applyDelta} for packages,
 * {@link applyBufferDelta} for one buffer, and {@link readDeltaInfo}.
 */
import { packageContentHash, sha256Hex } from '../content-hash.js';
import { DiffDecoder } from './diff-codec.js';
import { corrupt, DeltaError } from './delta-error.js';
import { parseManifest } from './manifest.js';
import {
  bufferSource,
  comparePaths,
  contentHashOf,
  hashFiles,
  OldReference,
  type HashedFile,
  type PackageFile,
  type Sha256Hex,
} from './package-model.js';
import { MAX_SIZE, PatchKind, readPatch, readSections } from './patch-format.js';

/**
 * Options of the apply functions.
 *
 * @example
 * applyDelta(oldFiles, patch, { sha256: (d) => createHash('sha256').update(d).digest('hex') });
 */
export interface ApplyOptions {
  /**
   * SHA-256 implementation (bytes → lowercase hex). Default: the pure-JS `sha256Hex`. On Node,
   * `(d) => createHash('sha256').update(d).digest('hex')` is ~10× faster; hashing dominates
   * the cost of applying a patch.
   */
  readonly sha256?: Sha256Hex;
}

/**
 * What a patch says about itself, read without applying it ({@link readDeltaInfo}).
 *
 * @example
 * const { baseContentHash, targetContentHash, targetSize } = readDeltaInfo(patch);
 */
export interface DeltaInfo {
  /** The patch format version (currently 1). */
  readonly formatVersion: number;
  /** `package` for {@link createDelta} patches, `buffer` for {@link createBufferDelta} ones. */
  readonly kind: 'package' | 'buffer';
  /** `packageContentHash` of the old files (a buffer patch: the old buffer's SHA-256). */
  readonly baseContentHash: string;
  /** `packageContentHash` of the new files (a buffer patch: the new buffer's SHA-256). */
  readonly targetContentHash: string;
  /** Number of new files (1 for a buffer patch). */
  readonly fileCount: number;
  /** Total bytes of the new files. */
  readonly targetSize: number;
}

/**
 * Reads a patch's header without applying it; the whole patch's checksum is verified.
 *
 * @throws {DeltaError} `HT_DELTA_CORRUPT` when the patch is malformed, truncated or damaged.
 * @example
 * const info = readDeltaInfo(patch);
 * if (info.baseContentHash !== installed.contentHash) {
 *   // this patch is not for the installed package
 * }
 */
export function readDeltaInfo(patch: Uint8Array): DeltaInfo {
  const { header } = readPatch(patch);
  return {
    formatVersion: header.formatVersion,
    kind: header.kind === PatchKind.Buffer ? 'buffer' : 'package',
    baseContentHash: header.baseHash,
    targetContentHash: header.targetHash,
    fileCount: header.fileCount,
    targetSize: header.targetSize,
  };
}

/** One new file to produce, in path order. */
type Step =
  | { readonly path: string; readonly kind: 'old'; readonly file: HashedFile }
  | { readonly path: string; readonly kind: 'diffed'; readonly size: number; readonly sha256: string }
  | { readonly path: string; readonly kind: 'copy'; readonly from: string };

function hashMismatch(path: string): DeltaError {
  return new DeltaError('HT_DELTA_HASH_MISMATCH', `${JSON.stringify(path)} does not match its SHA-256 in the patch`);
}

/**
 * Applies a package patch, yielding the new package file by file in path order (memory ≈ old
 * files + one new file + the patch's buffers). A yielded file's `data` may be the very buffer
 * of an old file with the same content.
 *
 * Before yielding anything it verifies the patch's checksum and structure, and that the old
 * files' content hash is the patch's base (else `HT_DELTA_BASE_MISMATCH`). Each file's SHA-256
 * is checked before it is yielded, and the whole package's content hash after the last one
 * (`HT_DELTA_HASH_MISMATCH`). **Consume the generator to the end, and treat any exception as
 * "discard everything written so far"**; {@link applyDelta} does that for you.
 *
 * @throws {DeltaError} `HT_DELTA_CORRUPT`, `HT_DELTA_BASE_MISMATCH` or `HT_DELTA_HASH_MISMATCH`.
 * @throws {TypeError} for a malformed file list or two old files with one path.
 * @example
 * for (const file of applyDeltaFiles(installedFiles, patch)) {
 *   writeToStaging(file.path, file.data); // promote the staging dir only after the loop ends
 * }
 */
export function* applyDeltaFiles(
  oldFiles: readonly PackageFile[],
  patch: Uint8Array,
  opts: ApplyOptions = {},
): Generator<PackageFile> {
  const parsed = readPatch(patch);
  const { header } = parsed;
  if (header.kind !== PatchKind.Package) throw corrupt('this is a buffer patch; use applyBufferDelta');
  const hash = opts.sha256;
  const olds = hashFiles(oldFiles, 'oldFiles', hash);
  if (contentHashOf(olds) !== header.baseHash) {
    throw new DeltaError('HT_DELTA_BASE_MISMATCH', 'the old files are not the package this patch was made from');
  }
  const sections = readSections(parsed);
  const manifest = parseManifest(sections.manifest);
  const ref = new OldReference(olds);

  // The new file list: kept old files, then the manifest's entries over them.
  const steps = new Map<string, Step>();
  const deleted = new Set<string>();
  for (const p of manifest.deleted) {
    if (!ref.byPath.has(p) || deleted.has(p)) throw corrupt(`deleted path ${JSON.stringify(p)} is not an old file`);
    deleted.add(p);
  }
  for (const [path, file] of ref.byPath) {
    if (!deleted.has(path)) steps.set(path, { path, kind: 'old', file });
  }
  const diffedPaths = new Set<string>();
  const copied = new Set<string>();
  let prev = '';
  let streamSize = 0;
  for (const e of manifest.files) {
    if (prev !== '' && comparePaths(prev, e.path) >= 0) throw corrupt('manifest entries out of order');
    prev = e.path;
    if (deleted.has(e.path)) throw corrupt(`${JSON.stringify(e.path)} is both deleted and present`);
    if ('size' in e) {
      if (e.size > MAX_SIZE) throw new DeltaError('HT_DELTA_TOO_LARGE', `${JSON.stringify(e.path)} is too large`);
      steps.set(e.path, { path: e.path, kind: 'diffed', size: e.size, sha256: e.sha256 });
      diffedPaths.add(e.path);
      streamSize += e.size;
    } else if ('same' in e) {
      const file = ref.byPath.get(e.same);
      if (!file) throw corrupt(`${JSON.stringify(e.same)} is not an old file`);
      steps.set(e.path, { path: e.path, kind: 'old', file });
    } else {
      if (!diffedPaths.has(e.copy)) throw corrupt(`${JSON.stringify(e.copy)} is not an earlier diffed file`);
      steps.set(e.path, { path: e.path, kind: 'copy', from: e.copy });
      copied.add(e.copy);
    }
  }
  const order = [...steps.values()].sort((a, b) => comparePaths(a.path, b.path));
  let targetSize = 0;
  const sizeOf = new Map<string, number>();
  for (const s of order) {
    const size = s.kind === 'old' ? s.file.data.length : s.kind === 'diffed' ? s.size : sizeOf.get(s.from)!;
    sizeOf.set(s.path, size);
    targetSize += size;
  }
  if (order.length !== header.fileCount || targetSize !== header.targetSize) {
    throw corrupt('file count or size disagrees with the header');
  }
  const decoder = new DiffDecoder(sections, ref);
  decoder.check(streamSize);

  const kept = new Map<string, { data: Uint8Array; sha256: string }>();
  const hashed: { path: string; sha256: string }[] = [];
  for (const s of order) {
    if (s.kind === 'old') {
      hashed.push({ path: s.path, sha256: s.file.sha256 });
      yield { path: s.path, data: s.file.data };
    } else if (s.kind === 'diffed') {
      const data = new Uint8Array(s.size);
      decoder.fill(data);
      const sha = hash ? hash(data).toLowerCase() : sha256Hex(data);
      if (!sha.startsWith(s.sha256)) throw hashMismatch(s.path);
      if (copied.has(s.path)) kept.set(s.path, { data, sha256: sha });
      hashed.push({ path: s.path, sha256: sha });
      yield { path: s.path, data };
    } else {
      const from = kept.get(s.from)!;
      hashed.push({ path: s.path, sha256: from.sha256 });
      yield { path: s.path, data: from.data };
    }
  }
  decoder.finish();
  if (packageContentHash(hashed) !== header.targetHash) {
    throw new DeltaError('HT_DELTA_HASH_MISMATCH', 'the new package does not match the content hash in the patch');
  }
}

/**
 * Applies a package patch and returns all new files in path order, or throws (then nothing may
 * be kept). See {@link applyDeltaFiles} for the checks.
 *
 * @throws {DeltaError} `HT_DELTA_CORRUPT`, `HT_DELTA_BASE_MISMATCH` or `HT_DELTA_HASH_MISMATCH`.
 * @example
 * const files = applyDelta(oldFiles, patch); // [{ path, data }, …] sorted by path
 */
export function applyDelta(oldFiles: readonly PackageFile[], patch: Uint8Array, opts: ApplyOptions = {}): PackageFile[] {
  return Array.from(applyDeltaFiles(oldFiles, patch, opts));
}

/**
 * Applies a {@link createBufferDelta} patch. Checks the old buffer's SHA-256 first
 * (`HT_DELTA_BASE_MISMATCH`) and the result's before returning it (`HT_DELTA_HASH_MISMATCH`).
 *
 * @throws {DeltaError} `HT_DELTA_CORRUPT`, `HT_DELTA_BASE_MISMATCH` or `HT_DELTA_HASH_MISMATCH`.
 * @example
 * const bundle = applyBufferDelta(oldBundle, patch);
 */
export function applyBufferDelta(oldData: Uint8Array, patch: Uint8Array, opts: ApplyOptions = {}): Uint8Array {
  if (!(oldData instanceof Uint8Array)) throw new TypeError('oldData must be a Uint8Array');
  const parsed = readPatch(patch);
  const { header } = parsed;
  if (header.kind !== PatchKind.Buffer) throw corrupt('this is a package patch; use applyDeltaFiles');
  const hash = opts.sha256 ?? sha256Hex;
  if (hash(oldData).toLowerCase() !== header.baseHash) {
    throw new DeltaError('HT_DELTA_BASE_MISMATCH', 'the old data is not the buffer this patch was made from');
  }
  if (header.targetSize > MAX_SIZE) throw new DeltaError('HT_DELTA_TOO_LARGE', 'the result would be too large');
  const sections = readSections(parsed);
  const decoder = new DiffDecoder(sections, bufferSource(oldData));
  decoder.check(header.targetSize);
  const out = new Uint8Array(header.targetSize);
  decoder.fill(out);
  decoder.finish();
  if (hash(out).toLowerCase() !== header.targetHash) {
    throw new DeltaError('HT_DELTA_HASH_MISMATCH', 'the result does not match the SHA-256 in the patch');
  }
  return out;
}
