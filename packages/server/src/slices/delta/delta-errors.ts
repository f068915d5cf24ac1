import { defineError } from '../../platform/errors/halftone-error.js';

export const DeltaVersionUnknown = defineError(
  'HT_DELTA_VERSION_UNKNOWN',
  404,
  'Module "{module}" of app "{app}" has no package {version}{platform}',
);
export const DeltaNotFound = defineError(
  'HT_DELTA_NOT_FOUND',
  404,
  'No patch from {from} to {to} has been asked for yet',
);
