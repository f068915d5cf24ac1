import { createWriteStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { usageError } from './cli-error.js';

/** The timestamp every entry gets, so the same files always give the same zip bytes. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0); // local time: DOS timestamps have no zone
/** Every entry is a regular file readable by all; local umask and exec bits do not leak in. */
const FILE_MODE = 0o100644;

/**
 * Lists the regular files below `dir` as `/`-separated relative paths, sorted by UTF-16 code
 * units (plain JS order, independent of locale). Symbolic links (which would be followed),
 * sockets, devices and names containing a backslash are refused with a usage error.
 *
 * @example
 * await listDirectoryFiles('./build');
 * // ['CodePush/assets/a.png', 'CodePush/index.android.bundle']
 */
export async function listDirectoryFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(relative: string): Promise<void> {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.name.includes('\\')) {
        throw usageError(`${join(dir, path)}: file names with a backslash cannot go in a package`);
      }
      const stats = await lstat(join(dir, path));
      if (stats.isSymbolicLink()) {
        throw usageError(`${join(dir, path)} is a symbolic link; packages cannot contain links`);
      }
      if (stats.isDirectory()) await walk(path);
      else if (stats.isFile()) files.push(path);
      else throw usageError(`${join(dir, path)} is not a regular file or directory`);
    }
  }
  await walk('');
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Zips the files below `dir` into `outFile`, deterministically: entries in sorted order with
 * `/` paths relative to `dir`, no directory entries, a fixed 1980-01-01 timestamp (DOS field
 * only) and a fixed mode. Zipping the same tree twice gives byte-identical zips, so the package
 * hash only changes when content does.
 *
 * @returns the number of files zipped.
 * @example
 * const count = await zipDirectory('./build', '/tmp/halftone-publish/build.zip');
 */
export async function zipDirectory(dir: string, outFile: string): Promise<number> {
  const files = await listDirectoryFiles(dir);
  if (files.length === 0) throw usageError(`${dir} contains no files`);
  const zip = new yazl.ZipFile();
  // yazl's outputStream is a PassThrough (typed loosely as NodeJS.ReadableStream). yazl reports
  // a file it cannot read on the ZipFile; ending the output with that error makes the pipeline
  // fail and close the half-written zip.
  const output = zip.outputStream as Readable;
  zip.once('error', (err: Error) => output.destroy(err));
  for (const file of files) {
    zip.addFile(join(dir, file), file, {
      mtime: FIXED_MTIME,
      mode: FILE_MODE,
      compress: true,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  await pipeline(output, createWriteStream(outFile));
  return files.length;
}
