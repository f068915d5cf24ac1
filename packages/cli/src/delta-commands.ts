import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  applyDeltaFiles,
  createDelta,
  DeltaError,
  packageContentHash,
  type PackageFile,
} from '@halftone/core';
import type { Command } from 'commander';
import { CliError, EXIT, usageError } from './cli-error.js';
import type { CommandRuntime } from './command-context.js';
import { formatBytes } from './output.js';
import {
  readPackage,
  unsafePathReason,
  type WrittenPackage,
  writePackageDirectory,
  writePackageZip,
} from './package-files.js';

/** `halftone delta diff --json`. */
/** Node's native SHA-256 (the engine's pure-JS default is ~10× slower). */
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

export interface DeltaDiffResult {
  /** Patch bytes. */
  readonly size: number;
  /** Bytes of NEW as given on disk: the zip's size, or the sum of the file sizes. */
  readonly newSize: number;
  /** `size / newSize`. */
  readonly ratio: number;
  /** Wall time of computing the patch (reading and writing excluded), ms. */
  readonly ms: number;
}

/** `halftone delta apply --json`. */
export interface DeltaApplyResult {
  readonly files: number;
  /** Bytes written: the zip's size, or the sum of the file sizes. */
  readonly size: number;
  /** The package content hash of the result (`packageContentHash`, CodePush-compatible). */
  readonly contentHash: string;
  /** Wall time of applying and writing the result (reading OLD and PATCH excluded), ms. */
  readonly ms: number;
}

/** Delta engine failures become `HT_DELTA_…: message`, exit 6; anything else passes through. */
function toCliError(err: unknown): unknown {
  if (err instanceof DeltaError) return new CliError(err.code, err.message, EXIT.BAD_INPUT);
  return err;
}

function corruptPatch(message: string): CliError {
  return new CliError('HT_DELTA_CORRUPT', message, EXIT.BAD_INPUT);
}

const roundMs = (ms: number) => Math.round(ms * 10) / 10;

/** A name for a temporary sibling of `target`, in the same directory so rename is atomic. */
function tempSibling(target: string, suffix: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.${suffix}`);
}

async function statOrNull(path: string) {
  return stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw usageError(`cannot use ${path}: ${err.message}`);
  });
}

/** Refuses an output path whose folder does not exist (it is not created). */
async function checkParentFolder(target: string, label: string): Promise<void> {
  const parent = await statOrNull(dirname(target));
  if (parent === null || !parent.isDirectory()) {
    throw usageError(`${label} ${target}: folder ${dirname(target)} does not exist`);
  }
}

/** Writes `data` at `target` through a temporary file and a rename: all or nothing. */
async function writeFileAtomically(target: string, data: Uint8Array, label: string) {
  await checkParentFolder(target, label);
  const existing = await statOrNull(target);
  if (existing?.isDirectory()) throw usageError(`${label} ${target} is a directory`);
  const temp = tempSibling(target, 'partial');
  try {
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The applied files, refusing paths a hostile patch could use to write outside OUT. */
function* checkedFiles(files: Iterable<PackageFile>): Generator<PackageFile> {
  const seen = new Set<string>();
  for (const file of files) {
    const reason = unsafePathReason(file.path);
    if (reason !== null) {
      throw corruptPatch(`the patch names a file ${JSON.stringify(file.path)}, which ${reason}`);
    }
    if (seen.has(file.path)) {
      throw corruptPatch(`the patch names file ${JSON.stringify(file.path)} twice`);
    }
    seen.add(file.path);
    yield file;
  }
}

/**
 * Applies `patch` to `oldFiles` and writes the result at `out` (a zip when it ends in `.zip`,
 * otherwise a directory). Everything is written next to `out` first and renamed into place at
 * the end, so a failure leaves nothing at `out`.
 */
async function applyToPath(
  oldFiles: readonly PackageFile[],
  patch: Uint8Array,
  out: string,
): Promise<WrittenPackage> {
  const asZip = out.toLowerCase().endsWith('.zip');
  await checkParentFolder(out, 'OUT');
  const existing = await statOrNull(out);
  if (asZip && existing?.isDirectory()) throw usageError(`OUT ${out} is a directory`);
  if (!asZip && existing !== null) {
    if (!existing.isDirectory()) {
      throw usageError(`OUT ${out} exists and is not a directory (end OUT in .zip for a zip)`);
    }
    if ((await readdir(out)).length > 0) {
      throw usageError(`OUT ${out} exists and is not empty; remove it or choose another path`);
    }
  }
  const files = checkedFiles(applyDeltaFiles(oldFiles, patch, { sha256 }));
  if (asZip) {
    const temp = tempSibling(out, 'partial');
    try {
      const written = await writePackageZip(files, temp);
      await rename(temp, out);
      return written;
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
  const temp = await mkdtemp(join(dirname(out), `.${basename(out)}.partial-`));
  try {
    const written = await writePackageDirectory(files, temp);
    if (existing !== null) await rmdir(out); // empty, checked above
    await rename(temp, out);
    return written;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function readPatch(path: string): Promise<Uint8Array> {
  return readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw usageError(
      `PATCH ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message}`,
    );
  });
}

/**
 * Registers `halftone delta diff` and `halftone delta apply`: binary patches between two
 * versions of a package, made and applied locally (no server involved).
 *
 * @example
 * registerDeltaCommands(program, runtime);
 * // halftone delta diff home-1.4.0.zip home-1.5.0.zip 1.4.0-1.5.0.patch
 * // halftone delta apply home-1.4.0.zip 1.4.0-1.5.0.patch home-1.5.0/
 */
export function registerDeltaCommands(program: Command, runtime: CommandRuntime): void {
  const delta = program
    .command('delta')
    .description('make and apply binary patches between package versions (local, no server)');

  delta
    .command('diff')
    .description('write a patch that turns package OLD into package NEW')
    .argument('<old>', 'the old package: a .zip or a directory')
    .argument('<new>', 'the new package: a .zip or a directory')
    .argument('<patch>', 'where to write the patch (replaced atomically)')
    .action(async (oldArg: string, newArg: string, patchArg: string, _opts, command: Command) => {
      const ctx = runtime.contextFor(command);
      const cwd = ctx.io.cwd;
      const oldPkg = await readPackage(resolve(cwd, oldArg), 'OLD');
      const newPkg = await readPackage(resolve(cwd, newArg), 'NEW');
      const started = performance.now();
      let patch: Uint8Array;
      try {
        patch = createDelta(oldPkg.files, newPkg.files, { sha256 });
      } catch (err) {
        throw toCliError(err);
      }
      const ms = roundMs(performance.now() - started);
      await writeFileAtomically(resolve(cwd, patchArg), patch, 'PATCH');
      const result: DeltaDiffResult = {
        size: patch.byteLength,
        newSize: newPkg.size,
        ratio: newPkg.size === 0 ? 0 : patch.byteLength / newPkg.size,
        ms,
      };
      ctx.emit(
        result,
        () =>
          `Wrote ${patchArg}: ${formatBytes(result.size)}, ${(result.ratio * 100).toFixed(2)}% ` +
          `of NEW (${formatBytes(result.newSize)}), in ${result.ms} ms`,
      );
    });

  delta
    .command('apply')
    .description('apply PATCH to package OLD and write the new package at OUT')
    .argument('<old>', 'the old package the patch was made from: a .zip or a directory')
    .argument('<patch>', 'a patch written by `halftone delta diff`')
    .argument('<out>', 'where to write the new package: a .zip when it ends in .zip, else a new directory')
    .action(async (oldArg: string, patchArg: string, outArg: string, _opts, command: Command) => {
      const ctx = runtime.contextFor(command);
      const cwd = ctx.io.cwd;
      const oldPkg = await readPackage(resolve(cwd, oldArg), 'OLD');
      const patch = await readPatch(resolve(cwd, patchArg));
      const started = performance.now();
      let written: WrittenPackage;
      try {
        written = await applyToPath(oldPkg.files, patch, resolve(cwd, outArg));
      } catch (err) {
        throw toCliError(err);
      }
      const ms = roundMs(performance.now() - started);
      const result: DeltaApplyResult = {
        files: written.files,
        size: written.size,
        contentHash: packageContentHash(
          [...written.sha256].map(([path, sha256]) => ({ path, sha256 })),
        ),
        ms,
      };
      ctx.emit(
        result,
        () =>
          `Wrote ${outArg}: ${result.files} files, ${formatBytes(result.size)}, ` +
          `content hash ${result.contentHash}, in ${result.ms} ms`,
      );
    });
}
