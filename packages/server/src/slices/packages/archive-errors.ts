import { defineError } from '../../platform/errors/halftone-error.js';

/**
 * Errors raised while inspecting an uploaded package archive (`archive.ts`). Every one of them
 * is the uploader's fault, so they are 4xx; the `detail` names the offending entry or limit.
 */

/** Corrupt, truncated or encrypted zip, an unsupported compression method, or duplicate paths. */
export const ArchiveInvalid = defineError(
  'HT_PACKAGE_ARCHIVE_INVALID',
  400,
  'The package archive is not a valid zip file',
);

/** An entry name that could escape the extraction folder or is otherwise not a plain path. */
export const ArchiveUnsafePath = defineError(
  'HT_PACKAGE_ARCHIVE_UNSAFE_PATH',
  400,
  'The package archive contains an unsafe entry path: {path}',
);

/** An entry whose unix mode marks it as a symbolic link. */
export const ArchiveSymlink = defineError(
  'HT_PACKAGE_ARCHIVE_SYMLINK',
  400,
  'The package archive contains a symbolic link: {path}',
);

/** More entries than `maxEntries`. */
export const ArchiveTooManyEntries = defineError(
  'HT_PACKAGE_ARCHIVE_TOO_MANY_ENTRIES',
  413,
  'The package archive has more than {max} entries',
);

/** Inflates beyond `maxUncompressedBytes`, or one entry beyond `maxRatio` (a zip bomb). */
export const ArchiveTooLarge = defineError(
  'HT_PACKAGE_ARCHIVE_TOO_LARGE',
  413,
  'The package archive inflates beyond the allowed size',
);
