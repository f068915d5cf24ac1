import { defineError } from '../../platform/errors/halftone-error.js';

// The diagnostics slice's codes (docs/errors.md, "Diagnostics").

/** No diagnostic command with this id in this app (admin and client API). */
export const DiagNotFound = defineError('HT_DIAG_NOT_FOUND', 404, 'Diagnostic command "{id}" not found');

/** An upload from a device (or user) the command does not target. */
export const DiagTargetMismatch = defineError(
  'HT_DIAG_TARGET_MISMATCH',
  403,
  'Diagnostic command "{id}" targets another {targetType}',
);

/** The command expired before anything was uploaded. */
export const DiagExpired = defineError('HT_DIAG_EXPIRED', 410, 'Diagnostic command "{id}" expired at {expiresAt}');

/** The command was cancelled by a releaser. */
export const DiagCancelled = defineError('HT_DIAG_CANCELLED', 410, 'Diagnostic command "{id}" was cancelled');

/** The command already has its upload (one upload per command). */
export const DiagAlreadyUploaded = defineError(
  'HT_DIAG_ALREADY_UPLOADED',
  409,
  'Diagnostic command "{id}" already has an upload',
);

/** The upload grew past `diagnostics.uploadMaxBytes`; nothing was stored. */
export const DiagUploadTooLarge = defineError(
  'HT_DIAG_UPLOAD_TOO_LARGE',
  413,
  'Diagnostic upload exceeds the limit of {limit} bytes',
);

/** The admin asked to download the upload of a command that has none (yet). */
export const DiagUploadMissing = defineError(
  'HT_DIAG_UPLOAD_MISSING',
  404,
  'Diagnostic command "{id}" has no upload ({state})',
);

/** Cancel of a command that is already uploaded or expired. */
export const DiagNotCancellable = defineError(
  'HT_DIAG_NOT_CANCELLABLE',
  409,
  'Diagnostic command "{id}" is {state} and can no longer be cancelled',
);

/** The command's kind and parameters do not fit together (e.g. `upload_logs` without `sinceHours`). */
export const DiagParamsInvalid = defineError('HT_DIAG_PARAMS_INVALID', 400, 'Diagnostic command parameters are invalid');

/** The requested expiry is beyond `diagnostics.maxExpirySeconds`. */
export const DiagExpiryTooLong = defineError(
  'HT_DIAG_EXPIRY_TOO_LONG',
  400,
  'Expiry of {seconds} s is beyond the limit of {max} s',
);

/** The list cursor is not one this API handed out. */
export const DiagCursorInvalid = defineError('HT_DIAG_CURSOR_INVALID', 400, 'List cursor is invalid');
