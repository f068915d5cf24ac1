import { type Dirent, constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { blobNotFound } from '../errors/platform-errors.js';
import {
  checkRange,
  SHA256_HEX,
  type StagedFile,
  stageToFile,
  TEMP_SUFFIX,
  toStagedBlob,
} from './blob-staging.js';
import type { BlobStore, ByteRange } from './blob-store.js';

/** Options of {@link createFsBlobStore}. */
export interface FsBlobStoreOptions {
  /**
   * At start, temporary files older than this are removed as left over from a crash. The
   * default 0 removes them all, which is right when one process owns the directory (role
   * `all`); give in-flight uploads of other processes time if several share it.
   */
  readonly tempMaxAgeMs?: number;
}

const TEMP_DIR = '.tmp';
const HEX2 = /^[0-9a-f]{2}$/;

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === code;
}

/** Makes a directory's entries (a rename, a new subdirectory) durable. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    // Some platforms (Windows) and file systems cannot fsync a directory; durability is then
    // the file system's business.
    if (!isErrno(err, 'EISDIR') && !isErrno(err, 'EPERM') && !isErrno(err, 'EINVAL')) throw err;
  } finally {
    await handle?.close();
  }
}

async function removeStaleTempFiles(tempDir: string, maxAgeMs: number): Promise<void> {
  const cutoff = Date.now() - maxAgeMs;
  for (const entry of await readdir(tempDir, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(TEMP_SUFFIX)) continue;
    const path = join(tempDir, entry.name);
    try {
      if (maxAgeMs <= 0 || (await stat(path)).mtimeMs <= cutoff) await rm(path, { force: true });
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
}

async function readDirIfExists(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/**
 * Blob storage in a local directory (the embedded default). A blob lives at
 * `<root>/<aa>/<bb>/<sha256>`; uploads are staged in `<root>/.tmp/` on the same file system, so
 * a commit is an atomic rename (after fsync of the file, and then of the directory). A crash
 * leaves at most a temporary file, which is invisible and removed at the next start.
 *
 * @example
 * const blobs = await createFsBlobStore('./.halftone/blobs');
 */
export async function createFsBlobStore(
  root: string,
  opts: FsBlobStoreOptions = {},
): Promise<BlobStore> {
  const tempDir = join(root, TEMP_DIR);
  await mkdir(tempDir, { recursive: true });
  await removeStaleTempFiles(tempDir, opts.tempMaxAgeMs ?? 0);

  const pathOf = (sha256: string) => join(root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);

  const store = async (file: StagedFile): Promise<void> => {
    const target = pathOf(file.sha256);
    const handle = await open(file.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const created = await mkdir(join(target, '..'), { recursive: true });
    if (created !== undefined) {
      await fsyncDir(root);
      await fsyncDir(join(root, file.sha256.slice(0, 2)));
    }
    try {
      await stat(target);
      // Same name means same content: keep what is there.
      await rm(file.path, { force: true });
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    await rename(file.path, target);
    await fsyncDir(join(target, '..'));
  };

  return {
    async stage(source, stageOpts) {
      const file = await stageToFile(source, tempDir, stageOpts);
      return toStagedBlob(file, store);
    },

    async stat(sha256) {
      if (!SHA256_HEX.test(sha256)) return null;
      try {
        const info = await stat(pathOf(sha256));
        return info.isFile() ? { size: info.size } : null;
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return null;
        throw err;
      }
    },

    async openRead(sha256, range?: ByteRange): Promise<Readable> {
      if (!SHA256_HEX.test(sha256)) throw blobNotFound({ sha256 });
      let handle: FileHandle;
      try {
        handle = await open(pathOf(sha256), 'r');
      } catch (err) {
        if (isErrno(err, 'ENOENT')) throw blobNotFound({ sha256 });
        throw err;
      }
      try {
        if (range === undefined) return handle.createReadStream();
        const { size } = await handle.stat();
        const bounds = checkRange(range, size);
        return handle.createReadStream(bounds);
      } catch (err) {
        await handle.close();
        throw err;
      }
    },

    async delete(sha256) {
      if (!SHA256_HEX.test(sha256)) return;
      await rm(pathOf(sha256), { force: true });
    },

    async *list() {
      for (const first of await readDirIfExists(root)) {
        if (!first.isDirectory() || !HEX2.test(first.name)) continue;
        for (const second of await readDirIfExists(join(root, first.name))) {
          if (!second.isDirectory() || !HEX2.test(second.name)) continue;
          for (const file of await readDirIfExists(join(root, first.name, second.name))) {
            const name = file.name;
            if (
              file.isFile() &&
              SHA256_HEX.test(name) &&
              name.startsWith(first.name + second.name)
            ) {
              yield name;
            }
          }
        }
      }
    },

    async close() {},
  };
}
