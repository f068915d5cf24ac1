import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { blobNotFound } from '../errors/platform-errors.js';
import {
  checkRange,
  SHA256_HEX,
  type StagedFile,
  stageToFile,
  toStagedBlob,
} from './blob-staging.js';
import type { BlobStore } from './blob-store.js';

/** Options of {@link createMemoryBlobStore}. */
export interface MemoryBlobStoreOptions {
  /** Where the private staging directory is created; defaults to `os.tmpdir()`. */
  readonly tempRoot?: string;
}

/**
 * In-memory blob storage: the fake for tests and `HALFTONE_BLOB_URL=memory:`. It passes the
 * same contract as the filesystem store. Staging still goes through a real temporary file (in a
 * private directory under `os.tmpdir()`), so callers can inspect `StagedBlob.path` the same
 * way; `close()` removes that directory.
 *
 * @example
 * const blobs = createMemoryBlobStore();
 */
export function createMemoryBlobStore(opts: MemoryBlobStoreOptions = {}): BlobStore {
  const blobs = new Map<string, Buffer>();
  let tempDir: Promise<string> | undefined;
  const getTempDir = () => {
    tempDir ??= mkdtemp(join(opts.tempRoot ?? tmpdir(), 'halftone-blobs-'));
    return tempDir;
  };

  const store = async (file: StagedFile): Promise<void> => {
    const content = await readFile(file.path);
    if (!blobs.has(file.sha256)) blobs.set(file.sha256, content);
    await rm(file.path, { force: true });
  };

  return {
    async stage(source, opts) {
      const file = await stageToFile(source, await getTempDir(), opts);
      return toStagedBlob(file, store);
    },

    async stat(sha256) {
      const content = blobs.get(sha256);
      return content === undefined ? null : { size: content.byteLength };
    },

    async openRead(sha256, range) {
      const content = SHA256_HEX.test(sha256) ? blobs.get(sha256) : undefined;
      if (content === undefined) throw blobNotFound({ sha256 });
      const { start, end } =
        range === undefined
          ? { start: 0, end: content.byteLength - 1 }
          : checkRange(range, content.byteLength);
      // A copy, so a consumer cannot change the stored bytes; a byte stream, like fs streams.
      return Readable.from([Buffer.from(content.subarray(start, end + 1))], { objectMode: false });
    },

    async delete(sha256) {
      blobs.delete(sha256);
    },

    async *list() {
      yield* [...blobs.keys()];
    },

    async close() {
      if (tempDir !== undefined) await rm(await tempDir, { recursive: true, force: true });
      tempDir = undefined;
    },
  };
}
