import { defineError } from './halftone-error.js';

// Codes shared by every slice: HTTP plumbing, authentication, configuration and the platform
// ports. Every code here is listed in docs/errors.md (error-catalogue.test.ts checks it).

// --- Request shape -------------------------------------------------------------------------

/** The request did not match the route's schema; `errors[]` points at each offending field. */
export const validationFailed = defineError('HT_VALIDATION', 400, 'Request validation failed');

/** The body claimed to be JSON but was empty or not parseable. */
export const badJson = defineError('HT_BAD_JSON', 400, 'Request body is not valid JSON');

/** Any other malformed request (generic mapping for 400s without a more specific code). */
export const badRequest = defineError('HT_BAD_REQUEST', 400, 'Bad request');

/** No route matches the URL (also the generic mapping for other 404s). */
export const routeNotFound = defineError('HT_NOT_FOUND', 404, 'Not found');

/** The URL exists but not for this method; the response carries an `Allow` header. */
export const methodNotAllowed = defineError('HT_METHOD_NOT_ALLOWED', 405, 'Method not allowed');

/** The server cannot produce a representation the client accepts. */
export const notAcceptable = defineError('HT_NOT_ACCEPTABLE', 406, 'Not acceptable');

/** The client took too long to send its request. */
export const requestTimeout = defineError('HT_REQUEST_TIMEOUT', 408, 'Request timeout');

/** The request conflicts with the current state (generic mapping for 409s). */
export const conflict = defineError('HT_CONFLICT', 409, 'Conflict');

/** The target existed but is permanently gone (generic mapping for 410s). */
export const gone = defineError('HT_GONE', 410, 'Gone');

/** The request body exceeds the configured size limit. */
export const payloadTooLarge = defineError(
  'HT_PAYLOAD_TOO_LARGE',
  413,
  'Request body is too large',
);

/** An upload exceeded the byte limit while it was being staged into blob storage. */
export const uploadTooLarge = defineError(
  'HT_UPLOAD_TOO_LARGE',
  413,
  'Upload exceeds the limit of {maxBytes} bytes',
);

/** The request URL is longer than the server accepts. */
export const uriTooLong = defineError('HT_URI_TOO_LONG', 414, 'Request URI is too long');

/** The request's Content-Type is not accepted by this route. */
export const unsupportedMediaType = defineError(
  'HT_UNSUPPORTED_MEDIA_TYPE',
  415,
  'Unsupported media type',
);

/** A Range request cannot be satisfied for the resource's size. */
export const rangeNotSatisfiable = defineError(
  'HT_RANGE_NOT_SATISFIABLE',
  416,
  'Requested range not satisfiable',
);

/** The request was well-formed but semantically wrong (generic mapping for 422s). */
export const unprocessableContent = defineError(
  'HT_UNPROCESSABLE_CONTENT',
  422,
  'Unprocessable content',
);

/** The client sent too many requests; retry later. */
export const tooManyRequests = defineError('HT_TOO_MANY_REQUESTS', 429, 'Too many requests');

// --- Authentication ------------------------------------------------------------------------

/** Generic 401 mapping when no more specific auth code applies. */
export const unauthorized = defineError('HT_UNAUTHORIZED', 401, 'Authentication required');

/** Generic 403 mapping when no more specific auth code applies. */
export const forbidden = defineError('HT_FORBIDDEN', 403, 'Forbidden');

/** An admin route was called without `Authorization: Bearer <token>`. */
export const authTokenMissing = defineError('HT_AUTH_TOKEN_MISSING', 401, 'Missing bearer token');

/** The bearer token is unknown, revoked or lacks the required scope. */
export const authTokenInvalid = defineError('HT_AUTH_TOKEN_INVALID', 403, 'Invalid bearer token');

/** A client route was called without the `x-halftone-key` header. */
export const authClientKeyMissing = defineError(
  'HT_AUTH_CLIENT_KEY_MISSING',
  401,
  'Missing client key',
);

/** The client key is unknown or revoked. */
export const authClientKeyInvalid = defineError(
  'HT_AUTH_CLIENT_KEY_INVALID',
  401,
  'Invalid client key',
);

// --- Platform ------------------------------------------------------------------------------

/** The configuration is invalid; `detail` and `fields` list every problem. Raised at boot. */
export const configInvalid = defineError('HT_CONFIG_INVALID', 500, 'Configuration is invalid');

/** A database migration failed; the server cannot start. */
export const migrationFailed = defineError(
  'HT_MIGRATION_FAILED',
  500,
  'Database migration {migration} failed',
);

/** No blob with this sha256 is stored. */
export const blobNotFound = defineError('HT_BLOB_NOT_FOUND', 404, 'Blob {sha256} not found');

/** The uploaded content does not hash to the sha256 the client declared. */
export const blobHashMismatch = defineError(
  'HT_BLOB_HASH_MISMATCH',
  400,
  'Uploaded content has sha256 {actual}, expected {expected}',
);

/** Anything unexpected. The response carries only the `errorId`; the log has the details. */
export const internalError = defineError('HT_INTERNAL', 500, 'Internal server error');

/** A dependency (database, bus, storage) is unavailable; retry later. */
export const serviceUnavailable = defineError(
  'HT_SERVICE_UNAVAILABLE',
  503,
  'Service temporarily unavailable',
);
