import { defineError } from '../../platform/errors/halftone-error.js';

export const ReleaseNotFound = defineError('HT_RELEASE_NOT_FOUND', 404, 'Release "{id}" does not exist');
export const ReleasePackageNotFound = defineError(
  'HT_RELEASE_PACKAGE_NOT_FOUND',
  404,
  'No package {module}@{version}{platform} is published in app "{app}"',
);
export const ReleasePlatformAmbiguous = defineError(
  'HT_RELEASE_PLATFORM_AMBIGUOUS',
  400,
  '{module}@{version} is published for several platforms ({platforms}); say which with "platform"',
);
export const ReleaseExists = defineError(
  'HT_RELEASE_EXISTS',
  409,
  'Package {module}@{version} already has release "{id}"',
);
export const ReleaseRevisionConflict = defineError(
  'HT_RELEASE_REVISION_CONFLICT',
  409,
  'Release "{id}" was changed meanwhile (expected revision {expected}, now {actual}); reload and retry',
);
export const ReleaseStateInvalid = defineError(
  'HT_RELEASE_STATE_INVALID',
  409,
  'Cannot {action} release "{id}" while it is {state}',
);
export const ReleaseRuleInvalid = defineError(
  'HT_RELEASE_RULE_INVALID',
  400,
  'The targeting rule is invalid: {summary}',
);
export const PercentOutOfRange = defineError(
  'HT_ROLLOUT_PERCENT_OUT_OF_RANGE',
  400,
  'Percent must be a number from 0 to 100 with at most two decimals, got {percent}',
);
export const PercentDecrease = defineError(
  'HT_ROLLOUT_PERCENT_DECREASE',
  400,
  'A rollout only widens: percent {percent} is below the current {current}',
);
export const ReleaseWhitelistTooLarge = defineError(
  'HT_RELEASE_WHITELIST_TOO_LARGE',
  400,
  'A whitelist holds at most {max} ids; use a crowd for more',
);
