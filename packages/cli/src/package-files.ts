import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import type { PackageFile } from '@halftone/core';
import yauzl, { type Entry as ZipEntry } from 'yauzl';
import yazl from 'yazl';
import { CliError, usageError } from './cli-error.js';
import { listDirectoryFiles } from './zip-directory.js';

export type { PackageFile } from '@halftone/core';

/** A package read from disk: its files (sorted by path) and what it weighs on disk. */
export interface LoadedPackage {
  readonly kind: 'zip' | 'directory';
  /** The files, `/`-separated paths relative to the archive root or the directory, sorted. */
  readonly files: PackageFile[];
  /** Bytes on disk: the zip file's size, or the sum of the file sizes of a directory. */
  readonly size: number;
}

/** The timestamp and mode of every written zip entry: the same as `zip-directory.ts`. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0); // local time: DOS timestamps have no zone
const FILE_MODE = 0o100644;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const GPBF_ENCRYPTED = 0x0001;

const byPath = (a: PackageFile, b: PackageFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Why `path` cannot be a file of a package (a phrase following the quoted path), or `null` when
 * it is a plain relative path: not empty, no NUL or backslash, not absolute, no drive letter,
 * no `..`, `.` or empty segment.
 *
 * @example
 * unsafePathReason('a/../b');   // 'has a ".." segment'
 * unsafePathReason('/etc/x');   // 'is an absolute path'
 * unsafePathReason('dist/a.js'); // null
 */
export function unsafePathReason(path: string): string | null {
  if (path === '') return 'has an empty name';
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  const segments = path.split('/');
  if (segments.includes('..')) return 'has a ".." segment';
  if (segments.some((s) => s === '' || s === '.')) return 'has an empty or "." segment';
  return null;
}

/**
 * Reads a package given as a `.zip` (or any file starting with a zip signature) or a directory
 * into memory. Directory entries of a zip are skipped; absolute paths, `..` segments, symbolic
 * links, encrypted or duplicated entries and unreadable zips are refused with `HT_CLI_USAGE`
 * (`label` names the argument in messages, e.g. `OLD`).
 *
 * @example
 * const { files, size } = await readPackage('./home-1.4.0.zip', 'OLD');
 * files[0]; // { path: 'index.html', data: Uint8Array(…) }
 */
export async function readPackage(path: string, label: string): Promise<LoadedPackage> {
  const stats = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw usageError(
      `${label} ${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`,
    );
  });
  if (stats.isDirectory()) return readDirectoryPackage(path, label);
  if (!stats.isFile()) throw usageError(`${label} ${path} is not a file or directory`);
  const bytes = await readFile(path);
  return { kind: 'zip', files: await readZipFiles(bytes, `${label} ${path}`), size: bytes.length };
}

async function readDirectoryPackage(dir: string, label: string): Promise<LoadedPackage> {
  const rootStats = await lstat(dir);
  if (rootStats.isSymbolicLink()) {
    throw usageError(`${label} ${dir} is a symbolic link; give the directory itself`);
  }
  const paths = await listDirectoryFiles(dir); // refuses links, devices, backslashes
  const files: PackageFile[] = [];
  let size = 0;
  for (const path of paths) {
    const data = await readFile(join(dir, path));
    size += data.length;
    files.push({ path, data });
  }
  return { kind: 'directory', files, size };
}

/**
 * The files of a zip held in memory, sorted by path. Stored and deflated entries are supported;
 * each entry's size and CRC-32 are checked.
 *
 * @example
 * const files = await readZipFiles(await readFile('home.zip'), 'OLD home.zip');
 */
export async function readZipFiles(bytes: Buffer, label: string): Promise<PackageFile[]> {
  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await yauzl.fromBufferPromise(bytes, {
      lazyEntries: true,
      decodeStrings: false, // names are decoded and judged below, with our own messages
      validateEntrySizes: true,
      autoClose: false,
    });
  } catch (err) {
    throw usageError(`${label} is not a readable zip: ${(err as Error).message}`);
  }
  const files: PackageFile[] = [];
  const seen = new Set<string>();
  try {
    for await (const entry of zipfile.eachEntry()) {
      const path = entryPath(entry, label);
      const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (type === S_IFLNK) {
        throw usageError(`${label}: entry ${JSON.stringify(path)} is a symbolic link`);
      }
      if (path.endsWith('/') || type === S_IFDIR) continue;
      const reason = unsafePathReason(path);
      if (reason !== null) throw usageError(`${label}: entry ${JSON.stringify(path)} ${reason}`);
      if (seen.has(path)) {
        throw usageError(`${label}: entry ${JSON.stringify(path)} appears more than once`);
      }
      seen.add(path);
      files.push({ path, data: await entryData(zipfile, bytes, entry, path, label) });
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw usageError(`${label} is not a readable zip: ${(err as Error).message}`);
  } finally {
    zipfile.close();
  }
  return files.sort(byPath);
}

/** The entry's name as yauzl decodes it (Unicode Path field first); the raw name must agree. */
function entryPath(entry: ZipEntry, label: string): string {
  const flag = entry.generalPurposeBitFlag;
  const headerName = yauzl.getFileNameLowLevel(flag, entry.fileNameRaw, [], true);
  const name = yauzl.getFileNameLowLevel(flag, entry.fileNameRaw, entry.extraFields, true);
  for (const candidate of new Set([headerName, name])) {
    const bare = candidate.endsWith('/') ? candidate.slice(0, -1) : candidate;
    const reason = unsafePathReason(bare);
    if (reason !== null) {
      throw usageError(`${label}: entry ${JSON.stringify(candidate)} ${reason}`);
    }
  }
  return name;
}

async function entryData(
  zipfile: yauzl.ZipFile,
  bytes: Buffer,
  entry: ZipEntry,
  path: string,
  label: string,
): Promise<Uint8Array> {
  const where = `${label}: entry ${JSON.stringify(path)}`;
  if ((entry.generalPurposeBitFlag & GPBF_ENCRYPTED) !== 0) throw usageError(`${where} is encrypted`);
  const { fileDataStart } = await zipfile.readLocalFileHeaderPromise(entry, { minimal: true });
  const raw = bytes.subarray(fileDataStart, fileDataStart + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw usageError(`${where} is truncated`);
  let data: Buffer;
  if (entry.compressionMethod === 0) {
    data = Buffer.from(raw);
  } else if (entry.compressionMethod === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
    } catch (err) {
      throw usageError(`${where} cannot be inflated: ${(err as Error).message}`);
    }
  } else {
    throw usageError(`${where} uses compression method ${entry.compressionMethod}; only stored and deflate are supported`);
  }
  if (data.length !== entry.uncompressedSize) {
    throw usageError(`${where} inflates to ${data.length} bytes, not the ${entry.uncompressedSize} its header says`);
  }
  if (crc32(data) >>> 0 !== entry.crc32 >>> 0) throw usageError(`${where} fails its CRC-32 check`);
  return data;
}

/** What a written package holds. */
export interface WrittenPackage {
  readonly files: number;
  /** Bytes on disk: the zip's size, or the sum of the file sizes. */
  readonly size: number;
  /** SHA-256 (hex) of each file's bytes, by path. */
  readonly sha256: ReadonlyMap<string, string>;
}

function checkOutputPath(path: string): void {
  const reason = unsafePathReason(path);
  if (reason !== null) {
    throw usageError(`refusing to write file ${JSON.stringify(path)}: it ${reason}`);
  }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Writes files into the existing, empty directory `dir`, one at a time as `files` yields them
 * (so a generator that applies a patch streams to disk). Paths are checked like zip entries.
 *
 * @example
 * await writePackageDirectory(applyDeltaFiles(oldFiles, patch), '/tmp/out.partial');
 */
export async function writePackageDirectory(
  files: Iterable<PackageFile>,
  dir: string,
): Promise<WrittenPackage> {
  const sha256 = new Map<string, string>();
  const made = new Set<string>();
  let size = 0;
  for (const file of files) {
    checkOutputPath(file.path);
    if (sha256.has(file.path)) throw usageError(`file ${JSON.stringify(file.path)} is written twice`);
    const target = join(dir, file.path);
    const parent = dirname(target);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await writeFile(target, file.data, { flag: 'wx' });
    sha256.set(file.path, createHash('sha256').update(file.data).digest('hex'));
    size += file.data.byteLength;
  }
  return { files: sha256.size, size, sha256 };
}

/**
 * Writes files as a deterministic zip at `outFile`, like `zipDirectory`: entries sorted by path,
 * deflated, a fixed 1980-01-01 timestamp (DOS field only) and a fixed mode, no directory entries.
 *
 * @example
 * await writePackageZip(applyDelta(oldFiles, patch), '/tmp/home-1.5.0.zip.partial');
 */
export async function writePackageZip(
  files: Iterable<PackageFile>,
  outFile: string,
): Promise<WrittenPackage> {
  const sorted = [...files].sort(byPath);
  const sha256 = new Map<string, string>();
  const zip = new yazl.ZipFile();
  const output = zip.outputStream as Readable;
  zip.once('error', (err: Error) => output.destroy(err));
  for (const file of sorted) {
    checkOutputPath(file.path);
    if (sha256.has(file.path)) throw usageError(`file ${JSON.stringify(file.path)} is written twice`);
    sha256.set(file.path, createHash('sha256').update(file.data).digest('hex'));
    zip.addBuffer(asBuffer(file.data), file.path, {
      mtime: FIXED_MTIME,
      mode: FILE_MODE,
      compress: true,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  await pipeline(output, createWriteStream(outFile, { flags: 'wx' }));
  const { size } = await stat(outFile);
  return { files: sha256.size, size, sha256 };
}
