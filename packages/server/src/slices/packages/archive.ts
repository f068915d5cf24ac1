import { createHash } from 'node:crypto';
import { close as fsClose, open as fsOpen } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { packageContentHash } from '@halftone/core';
import yauzl, { type Options as ZipOptions, type Entry as ZipEntry, type ZipFile } from 'yauzl';
import { isHalftoneError } from '../../platform/errors/halftone-error.js';
import {
  ArchiveInvalid,
  ArchiveSymlink,
  ArchiveTooLarge,
  ArchiveTooManyEntries,
  ArchiveUnsafePath,
} from './archive-errors.js';

/** Limits an uploaded archive must stay within; all of them are checked while inflating. */
export interface ArchiveLimits {
  /** Sum of the real inflated sizes of all files (for a raw upload: its size). */
  readonly maxUncompressedBytes: number;
  /** Number of entries in the central directory, directories included. */
  readonly maxEntries: number;
  /** Largest inflated/compressed ratio of one entry, checked once it is over 1 MiB inflated. */
  readonly maxRatio: number;
}

/** One file of a zip package, as stored in the zip (forward slashes, top folder kept). */
export interface ArchiveFile {
  readonly path: string;
  /** Real inflated size in bytes. */
  readonly size: number;
  /** SHA-256 of the inflated bytes, lower-case hex. */
  readonly sha256: string;
}

/** What `inspectArchive` learned about an upload that passed every check. */
export interface ArchiveManifest {
  /** `zip` for zip archives; `raw` for anything else (e.g. a single React Native bundle). */
  readonly format: 'zip' | 'raw';
  /** The files of a zip, in central-directory order; always empty for `raw`. */
  readonly files: readonly ArchiveFile[];
  readonly totalUncompressedBytes: number;
  /**
   * For `zip`: `packageContentHash(files)`. For `raw`: the SHA-256 of the bytes (CodePush's rule
   * for non-zip uploads).
   */
  readonly contentHash: string;
}

/** The ratio limit only applies to entries that inflate beyond this many bytes. */
const RATIO_THRESHOLD_BYTES = 1024 * 1024;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const GPBF_ENCRYPTED = 0x0001;

/**
 * Checks an uploaded package and describes it. This is the safety gate every upload passes
 * before it is stored: a zip is rejected (with a `HalftoneError`, nothing left open) when an
 * entry could escape an extraction folder (`..`, absolute or drive paths, backslashes, NUL,
 * empty or non-normalized names), is a symbolic link, is encrypted, is duplicated, or when the
 * archive is corrupt, has too many entries or inflates beyond the limits. Sizes are counted
 * while inflating, so a zip bomb that lies in its headers is stopped as soon as it crosses a
 * limit. A file that does not start with a zip signature is a `raw` package.
 *
 * @example
 * const manifest = await inspectArchive('/tmp/upload-1', {
 *   maxUncompressedBytes: 512 * 1024 * 1024,
 *   maxEntries: 10_000,
 *   maxRatio: 200,
 * });
 * manifest.files[0]; // { path: 'CodePush/index.android.bundle', size: 1234, sha256: '…' }
 */
export async function inspectArchive(
  filePath: string,
  limits: ArchiveLimits,
): Promise<ArchiveManifest> {
  const head = await readHead(filePath, 4);
  return isZipSignature(head) ? inspectZip(filePath, limits) : inspectRaw(filePath, limits);
}

async function readHead(filePath: string, length: number): Promise<Buffer> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function isZipSignature(head: Buffer): boolean {
  if (head.length < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false;
  // PK\x03\x04: a local file header; PK\x05\x06: the end record of an empty zip.
  return (head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06);
}

async function inspectRaw(filePath: string, limits: ArchiveLimits): Promise<ArchiveManifest> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > limits.maxUncompressedBytes) {
        throw ArchiveTooLarge(undefined, {
          detail: `The upload is larger than ${limits.maxUncompressedBytes} bytes`,
        });
      }
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return {
    format: 'raw',
    files: [],
    totalUncompressedBytes: size,
    contentHash: hash.digest('hex'),
  };
}

const ZIP_OPTIONS: ZipOptions = {
  lazyEntries: true,
  autoClose: true,
  validateEntrySizes: true,
  // decodeStrings is off because yauzl would then reject unsafe names itself with a plain Error
  // (and, unless strict, rewrite backslashes to '/'). Names are decoded in `entryPath` with
  // yauzl's own decoder (CP437 or UTF-8 per bit 11, plus the Info-ZIP Unicode Path field) and
  // judged there, so each kind of unsafe name gets its own code.
  decodeStrings: false,
  strictFileNames: true,
};

/** How long to wait for yauzl to close the file after a rejection before giving up waiting. */
const CLOSE_WAIT_MS = 5_000;

/**
 * Opens the zip. The descriptor is opened here (not by `yauzl.open`) so that when yauzl rejects
 * the file, closing it can be awaited: a rejected upload leaves nothing open.
 */
async function openZip(filePath: string): Promise<{ zipfile: ZipFile; closed: Promise<void> }> {
  const fd = await new Promise<number>((resolve, reject) =>
    fsOpen(filePath, 'r', (err, descriptor) => (err ? reject(err) : resolve(descriptor))),
  );
  try {
    const zipfile = await new Promise<ZipFile>((resolve, reject) =>
      yauzl.fromFd(fd, ZIP_OPTIONS, (err, z) =>
        err || !z ? reject(err ?? new Error('yauzl returned no zip file')) : resolve(z),
      ),
    );
    // From here yauzl owns the descriptor and emits 'close' once it has closed it. It may emit
    // 'error' at any time (even when closing); an 'error' without a listener would crash.
    zipfile.on('error', () => {});
    const closed = new Promise<void>((resolve) => zipfile.once('close', () => resolve()));
    return { zipfile, closed };
  } catch (err) {
    await new Promise<void>((resolve) => fsClose(fd, () => resolve()));
    throw err;
  }
}

/** Closes the zip and waits (bounded) until its descriptor is really closed. */
async function closeZip(zipfile: ZipFile, closed: Promise<void>): Promise<void> {
  zipfile.close();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_WAIT_MS);
    timer.unref();
  });
  await Promise.race([closed, timeout]);
  clearTimeout(timer);
}

/** Reads the central directory one entry at a time (lazyEntries), `null` at the end. */
function createEntryReader(zipfile: ZipFile): { next(): Promise<ZipEntry | null> } {
  let pending: { resolve(e: ZipEntry | null): void; reject(err: unknown): void } | null = null;
  let failure: unknown = null;
  const settle = (fn: (p: NonNullable<typeof pending>) => void) => {
    const p = pending;
    pending = null;
    if (p) fn(p);
  };
  // The error listener stays for the zip file's whole life: yauzl may emit 'error' between
  // reads, and an EventEmitter 'error' without a listener would crash the process.
  zipfile.on('error', (err: unknown) => {
    failure ??= err;
    settle((p) => p.reject(err));
  });
  zipfile.on('entry', (entry: ZipEntry) => settle((p) => p.resolve(entry)));
  zipfile.on('end', () => settle((p) => p.resolve(null)));
  return {
    next() {
      if (failure !== null) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        zipfile.readEntry();
      });
    },
  };
}

function openEntryStream(zipfile: ZipFile, entry: ZipEntry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipfile.openReadStream(entry, (err, stream) => {
      if (err || !stream) reject(err ?? new Error('yauzl returned no stream'));
      else resolve(stream);
    });
  });
}

async function inspectZip(filePath: string, limits: ArchiveLimits): Promise<ArchiveManifest> {
  let opened: Awaited<ReturnType<typeof openZip>>;
  try {
    opened = await openZip(filePath);
  } catch (err) {
    throw toArchiveError(err);
  }
  const { zipfile, closed } = opened;
  try {
    if (zipfile.entryCount > limits.maxEntries) {
      throw ArchiveTooManyEntries(
        { max: limits.maxEntries },
        {
          detail: `The archive has ${zipfile.entryCount} entries; at most ${limits.maxEntries} are allowed`,
        },
      );
    }
    const reader = createEntryReader(zipfile);
    const layout = createLayout();
    const files: ArchiveFile[] = [];
    let total = 0;
    for (let entry = await reader.next(); entry !== null; entry = await reader.next()) {
      const path = entryPath(entry);
      if (isSymlink(entry)) {
        throw ArchiveSymlink(
          { path: JSON.stringify(path) },
          { detail: `Entry ${JSON.stringify(path)} is a symbolic link; packages hold only files` },
        );
      }
      if (path.endsWith('/')) {
        layout.addDirectory(path.slice(0, -1));
        continue;
      }
      if ((entry.generalPurposeBitFlag & GPBF_ENCRYPTED) !== 0) {
        throw ArchiveInvalid(undefined, {
          detail: `Entry ${JSON.stringify(path)} is encrypted; encrypted archives are not accepted`,
        });
      }
      layout.addFile(path);
      // The declared sizes are only a cheap early exit; the real check counts inflated bytes.
      checkSizes(path, total + entry.uncompressedSize, entry.uncompressedSize, entry, limits);
      const file = await hashEntry(zipfile, entry, path, total, limits);
      total += file.size;
      files.push(file);
    }
    return {
      format: 'zip',
      files,
      totalUncompressedBytes: total,
      contentHash: packageContentHash(files.map(({ path, sha256 }) => ({ path, sha256 }))),
    };
  } catch (err) {
    throw toArchiveError(err);
  } finally {
    // Entry streams left early were destroyed, which released their hold on the descriptor.
    await closeZip(zipfile, closed);
  }
}

async function hashEntry(
  zipfile: ZipFile,
  entry: ZipEntry,
  path: string,
  totalBefore: number,
  limits: ArchiveLimits,
): Promise<ArchiveFile> {
  const stream = await openEntryStream(zipfile, entry);
  const hash = createHash('sha256');
  let size = 0;
  // Leaving this loop early (a limit throws) destroys the stream, and yauzl's destroy also
  // destroys the underlying file read stream, so an aborted bomb holds nothing open.
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    checkSizes(path, totalBefore + size, size, entry, limits);
    hash.update(bytes);
  }
  return { path, size, sha256: hash.digest('hex') };
}

function checkSizes(
  path: string,
  total: number,
  entrySize: number,
  entry: ZipEntry,
  limits: ArchiveLimits,
): void {
  if (total > limits.maxUncompressedBytes) {
    throw ArchiveTooLarge(undefined, {
      detail: `The files inflate to more than ${limits.maxUncompressedBytes} bytes`,
    });
  }
  if (entrySize > RATIO_THRESHOLD_BYTES) {
    const ratio = entrySize / Math.max(entry.compressedSize, 1);
    if (ratio > limits.maxRatio) {
      throw ArchiveTooLarge(undefined, {
        detail:
          `Entry ${JSON.stringify(path)} inflates more than ${limits.maxRatio} times ` +
          'its compressed size',
      });
    }
  }
}

function isSymlink(entry: ZipEntry): boolean {
  return ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

/**
 * The entry's name, decoded as yauzl would (Unicode Path extra field first), after checking that
 * both it and the plain header name are safe: tools disagree about which one to use.
 */
function entryPath(entry: ZipEntry): string {
  const flag = entry.generalPurposeBitFlag;
  const headerName = yauzl.getFileNameLowLevel(flag, entry.fileNameRaw, [], true);
  const name = yauzl.getFileNameLowLevel(flag, entry.fileNameRaw, entry.extraFields, true);
  for (const candidate of new Set([headerName, name])) {
    const reason = unsafePathReason(candidate);
    if (reason !== null) {
      const quoted = JSON.stringify(candidate);
      throw ArchiveUnsafePath({ path: quoted }, { detail: `Entry ${quoted} ${reason}` });
    }
  }
  return name;
}

/**
 * Why a zip entry name is unsafe to extract (a phrase following "Entry <name>"), or `null` when
 * it is a plain relative path.
 */
function unsafePathReason(name: string): string | null {
  if (name === '') return 'has an empty name';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.includes('..')) return 'has a ".." segment';
  if (segments.some((s) => s === '' || s === '.')) return 'has an empty or "." segment';
  return null;
}

/** Tracks paths so duplicates, and a file that is also a folder, are refused. */
function createLayout() {
  const files = new Set<string>();
  const folders = new Set<string>();
  const conflict = (path: string) =>
    ArchiveInvalid(undefined, {
      detail: `Entry ${JSON.stringify(path)} is both a file and a folder`,
    });
  const addFolders = (path: string) => {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      const folder = path.slice(0, i);
      if (files.has(folder)) throw conflict(folder);
      folders.add(folder);
    }
  };
  return {
    addDirectory(path: string) {
      if (files.has(path)) throw conflict(path);
      addFolders(path);
      folders.add(path);
    },
    addFile(path: string) {
      if (files.has(path)) {
        throw ArchiveInvalid(undefined, {
          detail: `Entry ${JSON.stringify(path)} appears more than once`,
        });
      }
      if (folders.has(path)) throw conflict(path);
      addFolders(path);
      files.add(path);
    },
  };
}

/**
 * Maps what went wrong to the uploader-facing error. Errors from the file system (they carry a
 * `syscall`) are the server's own problem and pass through unchanged, to become a 500.
 */
function toArchiveError(err: unknown): unknown {
  if (isHalftoneError(err)) return err;
  if (typeof err === 'object' && err !== null && 'syscall' in err) return err;
  const message = err instanceof Error ? err.message : String(err);
  return ArchiveInvalid(undefined, {
    detail: `The zip file cannot be read: ${message}`,
    cause: err,
  });
}
