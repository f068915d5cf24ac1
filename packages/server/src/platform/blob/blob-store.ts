import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { configInvalid } from '../errors/platform-errors.js';
import { createFsBlobStore } from './blob-store.fs.js';
import { createMemoryBlobStore } from './blob-store.memory.js';

export { SHA256_HEX } from './blob-staging.js';

/**
 * Content that has been written to a temporary file and hashed, but is not stored yet. Inspect
 * the file at `path` (e.g. check a zip), then `commit()` or `discard()`. Until `commit()`
 * resolves the blob is invisible to `stat`, `openRead` and `list`.
 */
export interface StagedBlob {
  /** Local path of the temporary file; valid until `commit()` or `discard()`. */
  readonly path: string;
  /** sha256 of the content, lower-case hex. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Stores the content under its sha256, atomically and durably. If that content is already
   * stored this just drops the temporary file. Calling it again is a no-op; after `discard()`
   * it rejects.
   */
  commit(): Promise<void>;
  /** Deletes the temporary file. A no-op after `commit()` or a previous `discard()`. */
  discard(): Promise<void>;
}

/** What {@link BlobWriter.stage} reads from: a Node stream, or any (async) iterable of bytes. */
export type BlobSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | NodeJS.ReadableStream;

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Read side of blob storage: what the client-facing role may do. */
export interface BlobReader {
  /** Size of a stored blob, or `null` if there is none (or `sha256` is not a digest). */
  stat(sha256: string): Promise<{ size: number } | null>;
  /**
   * Streams a stored blob, or the inclusive `range` of it (`end` is clamped to the last byte).
   *
   * @throws HalftoneError `HT_BLOB_NOT_FOUND` (404) if not stored; `HT_RANGE_NOT_SATISFIABLE`
   *   (416) if `range.start` is past the end.
   */
  openRead(sha256: string, range?: ByteRange): Promise<Readable>;
}

/** Options of {@link BlobWriter.stage}. */
export interface StageOptions {
  /** Abort with `HT_UPLOAD_TOO_LARGE` (413) once more than this many bytes arrive. */
  readonly maxBytes: number;
  /**
   * Abort with `HT_BLOB_HASH_MISMATCH` (400) unless the content hashes to this (hex, any
   * case). Must be a sha256 hex digest; validate client input before passing it.
   */
  readonly expectedSha256?: string;
}

/** Write side of blob storage: uploads and garbage collection. */
export interface BlobWriter {
  /**
   * Streams `source` into a temporary file, hashing it on the way. On any failure (limit, hash
   * mismatch, source error) the temporary file is removed and the error rethrown.
   */
  stage(source: BlobSource, opts: StageOptions): Promise<StagedBlob>;
  /** Removes a stored blob; a no-op if there is none. */
  delete(sha256: string): Promise<void>;
  /** Every stored sha256, in no particular order. */
  list(): AsyncIterable<string>;
}

/** Content-addressed blob storage (sha256 hex). */
export type BlobStore = BlobReader &
  BlobWriter & {
    /** Releases resources (and, for the memory store, its temporary files). */
    close?(): Promise<void>;
  };

/**
 * Opens the blob store named by a `HALFTONE_BLOB_URL`: `file:<dir>` (also `file:///abs/dir`)
 * or `memory:`.
 *
 * @example
 * const blobs = await createBlobStore('file:./.halftone/blobs');
 */
export async function createBlobStore(url: string): Promise<BlobStore> {
  if (url === 'memory:') return createMemoryBlobStore();
  if (url.startsWith('file://')) return createFsBlobStore(fileURLToPath(url));
  if (url.startsWith('file:') && url.length > 'file:'.length) {
    return createFsBlobStore(url.slice('file:'.length));
  }
  throw configInvalid(undefined, { detail: 'Blob URL must be file:<dir> or memory:' });
}
