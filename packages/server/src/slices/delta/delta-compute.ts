import { createHash } from 'node:crypto';
import { createBufferDelta, createDelta } from '@halftone/core';
import { readPackageFiles } from './package-files.js';

/** What a patch job needs: both packages' stored bytes and how they are stored. */
export interface DeltaJobInput {
  readonly oldBytes: Uint8Array;
  readonly oldFormat: 'zip' | 'raw';
  readonly newBytes: Uint8Array;
  readonly newFormat: 'zip' | 'raw';
}

/** Node's native SHA-256 (the engine's pure-JS default is ~10× slower). */
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Computes the patch from one package to another: a file-level delta between two zips, or a
 * byte delta between two single-file (raw) packages. CPU-heavy: run it in a worker.
 */
export async function computePatch(input: DeltaJobInput): Promise<Uint8Array> {
  if (input.oldFormat === 'raw' && input.newFormat === 'raw') {
    return createBufferDelta(input.oldBytes, input.newBytes, { sha256 });
  }
  const [oldFiles, newFiles] = await Promise.all([
    readPackageFiles(input.oldBytes, input.oldFormat),
    readPackageFiles(input.newBytes, input.newFormat),
  ]);
  return createDelta(oldFiles, newFiles, { sha256 });
}
