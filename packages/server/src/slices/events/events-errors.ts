import { defineError } from '../../platform/errors/halftone-error.js';

/** The batch (as sent, or once decompressed), or its item count, is over the configured limit. */
export const EventsBatchTooLarge = defineError(
  'HT_EVENTS_BATCH_TOO_LARGE',
  413,
  'Event batch exceeds the limit of {limit}',
);

/** The body is neither a JSON batch nor NDJSON, or its gzip stream is corrupt. */
export const EventsBodyInvalid = defineError('HT_EVENTS_BODY_INVALID', 400, 'Event batch cannot be read');

/** The batch header is missing or does not match the header schema. */
export const EventsHeaderInvalid = defineError('HT_EVENTS_HEADER_INVALID', 400, 'Event batch header is invalid');

/** The header names another app than the client key's. */
export const EventsAppMismatch = defineError(
  'HT_EVENTS_APP_MISMATCH',
  400,
  'Header app "{app}" is not the app of this client key',
);

/** A Content-Encoding other than gzip or identity. */
export const EventsEncodingUnsupported = defineError(
  'HT_EVENTS_ENCODING_UNSUPPORTED',
  415,
  'Content-Encoding "{encoding}" is not supported (use gzip or none)',
);

/** A per-category rate limit is reached; nothing of the batch was stored. */
export const EventsRateLimited = defineError(
  'HT_EVENTS_RATE_LIMITED',
  429,
  'Rate limit reached for {categories}; retry after {retryAfter} s',
);

/** Reported per item (in `rejected`, in a 200 answer): the item does not match its type's schema. */
export const EventsItemInvalid = defineError('HT_EVENTS_ITEM_INVALID', 422, 'Event item is invalid');

/** Reported per item (in `rejected`): the item's `type` is not one Halftone knows. */
export const EventsItemTypeUnknown = defineError('HT_EVENTS_ITEM_TYPE_UNKNOWN', 422, 'Event item type is unknown');

/** Reported per item (in `rejected`): the same item id appears twice in one batch. */
export const EventsItemDuplicate = defineError('HT_EVENTS_ITEM_DUPLICATE', 422, 'Event item id repeats within the batch');

/** The health query names a release that is not one of the app's. */
export const EventsReleaseUnknown = defineError('HT_EVENTS_RELEASE_UNKNOWN', 404, 'Release "{id}" is not a release of this app');

/** The health query's window or scope is wrong (e.g. `from` after `to`, no module or release). */
export const EventsQueryInvalid = defineError('HT_EVENTS_QUERY_INVALID', 400, 'Health query is invalid');
