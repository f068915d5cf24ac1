/**
 * The codes a delta operation can fail with. They are public API (see `docs/errors.md` once the
 * server maps them): never renamed, never reused.
 *
 * - `HT_DELTA_CORRUPT`: the patch is not a Halftone delta, is truncated, or fails its checksum.
 * - `HT_DELTA_BASE_MISMATCH`: the old files are not the package the patch was made from.
 * - `HT_DELTA_HASH_MISMATCH`: an output file, or the whole output package, does not hash to the
 *   value the patch promises.
 * - `HT_DELTA_TOO_LARGE`: an input exceeds what the format or engine can address (2 GiB - 1
 *   bytes of old content, or of new content to diff).
 *
 * @example
 * // Whatever the code, a device falls back to downloading the full package.
 * const fallBack: Record<DeltaErrorCode, 'full-package'> = {
 *   HT_DELTA_CORRUPT: 'full-package',
 *   HT_DELTA_BASE_MISMATCH: 'full-package',
 *   HT_DELTA_HASH_MISMATCH: 'full-package',
 *   HT_DELTA_TOO_LARGE: 'full-package',
 * };
 */
export type DeltaErrorCode =
  | 'HT_DELTA_CORRUPT'
  | 'HT_DELTA_BASE_MISMATCH'
  | 'HT_DELTA_HASH_MISMATCH'
  | 'HT_DELTA_TOO_LARGE';

/**
 * Thrown by every delta function; `code` says which failure it is. Nothing a failed apply
 * produced may be kept.
 *
 * @example
 * try {
 *   applyDelta(oldFiles, patch);
 * } catch (e) {
 *   if (e instanceof DeltaError && e.code === 'HT_DELTA_BASE_MISMATCH') {
 *     // the device does not have the package this patch starts from: download the full package
 *   }
 * }
 */
export class DeltaError extends Error {
  readonly code: DeltaErrorCode;

  constructor(code: DeltaErrorCode, message: string) {
    super(message);
    this.name = 'DeltaError';
    this.code = code;
  }
}

/** A `HT_DELTA_CORRUPT` error. */
export function corrupt(detail: string): DeltaError {
  return new DeltaError('HT_DELTA_CORRUPT', `corrupt delta patch: ${detail}`);
}
