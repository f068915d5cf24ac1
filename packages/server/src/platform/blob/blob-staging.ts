import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blobHashMismatch,
  rangeNotSatisfiable,
  uploadTooLarge,
} from '../errors/platform-errors.js';
import type { BlobSource, ByteRange, StagedBlob, StageOptions } from './blob-store.js';

// Shared by the blob store adapters: streaming a source into a hashed temporary file, and the
// commit/discard life cycle of the result. Not part of the port.

/** A sha256 digest in lower-case hex: the address of a blob. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Suffix of temporary files; stale ones are recognised (and removed) by it. */
export const TEMP_SUFFIX = '.upload.tmp';

/** A fully written, hashed temporary file. */
export interface StagedFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

/**
 * Streams `source` into a new file in `dir`, hashing it. Removes the file and rethrows on any
 * failure; throws `HT_UPLOAD_TOO_LARGE` past `maxBytes` (without reading further) and
 * `HT_BLOB_HASH_MISMATCH` when `expectedSha256` does not match.
 */
export async function stageToFile(
  source: BlobSource,
  dir: string,
  opts: StageOptions,
): Promise<StagedFile> {
  const { maxBytes } = opts;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new TypeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
  const expected = opts.expectedSha256?.toLowerCase();
  if (expected !== undefined && !SHA256_HEX.test(expected)) {
    throw new TypeError('expectedSha256 must be a sha256 hex digest');
  }

  const path = join(dir, `${randomUUID()}${TEMP_SUFFIX}`);
  const handle = await open(path, 'wx');
  const hash = createHash('sha256');
  let size = 0;
  try {
    // Leaving the loop early (throw) calls the iterator's return(), which destroys a Readable.
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += bytes.byteLength;
      if (size > maxBytes) throw uploadTooLarge({ maxBytes });
      hash.update(bytes);
      await writeAll(handle, bytes);
    }
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(path, { force: true });
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (expected !== undefined && expected !== sha256) {
    await rm(path, { force: true });
    throw blobHashMismatch({ expected, actual: sha256 });
  }
  return { path, sha256, size };
}

/**
 * Wraps a staged file in the {@link StagedBlob} life cycle: `commit` runs `store` once (again
 * after a failure), `discard` removes the file unless committed.
 */
export function toStagedBlob(
  file: StagedFile,
  store: (file: StagedFile) => Promise<void>,
): StagedBlob {
  let committing: Promise<void> | undefined;
  let committed = false;
  let discarded = false;
  return {
    path: file.path,
    sha256: file.sha256,
    size: file.size,
    commit() {
      if (discarded) return Promise.reject(new Error('Cannot commit a discarded blob'));
      committing ??= store(file).then(
        () => {
          committed = true;
        },
        (err: unknown) => {
          committing = undefined;
          throw err;
        },
      );
      return committing;
    },
    async discard() {
      if (committing !== undefined) await committing.catch(() => {});
      if (committed || discarded) return;
      discarded = true;
      await rm(file.path, { force: true });
    },
  };
}

/**
 * Validates an inclusive range against a size and clamps `end` to the last byte.
 *
 * @throws HalftoneError `HT_RANGE_NOT_SATISFIABLE` when `start` is past the end or the range
 *   is malformed.
 */
export function checkRange(range: ByteRange, size: number): { start: number; end: number } {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw rangeNotSatisfiable(undefined, { detail: `Invalid range ${start}-${end}` });
  }
  if (start >= size) {
    throw rangeNotSatisfiable(undefined, { detail: `Range starts at ${start}; size is ${size}` });
  }
  return { start, end: Math.min(end, size - 1) };
}
