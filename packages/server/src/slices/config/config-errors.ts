import { defineError } from '../../platform/errors/halftone-error.js';

export const ConfigItemNotFound = defineError(
  'HT_CONFIG_ITEM_NOT_FOUND',
  404,
  'Config item "{key}" does not exist in namespace "{namespace}" of app "{app}" ({env})',
);
export const ConfigItemInvalid = defineError(
  'HT_CONFIG_ITEM_INVALID',
  400,
  'Config item "{key}" is invalid: {reason}',
);
export const ConfigDependencyCycle = defineError(
  'HT_CONFIG_DEPENDENCY_CYCLE',
  400,
  'Config item dependencies would form a cycle: {cycle}',
);
export const ConfigItemInUse = defineError(
  'HT_CONFIG_ITEM_IN_USE',
  409,
  'Config item "{key}" cannot be deleted: {dependents} depend on it',
);
export const ConfigRuleNotFound = defineError(
  'HT_CONFIG_RULE_NOT_FOUND',
  404,
  'Config item "{key}" has no rule "{rule}"',
);
export const ConfigRevisionNotFound = defineError(
  'HT_CONFIG_REVISION_NOT_FOUND',
  404,
  'Config item "{key}" has no revision {revision} in {env}',
);
export const ConfigNotASwitch = defineError(
  'HT_CONFIG_NOT_A_SWITCH',
  400,
  'Config item "{key}" is a {type} item; only boolean items can be switched on and off',
);
export const ConfigPromoteStale = defineError(
  'HT_CONFIG_PROMOTE_STALE',
  409,
  'The {env} environment changed since the diff was computed (revision {expected}, now {actual}); nothing was changed: compute the diff again',
);
export const ConfigPromoteSameEnv = defineError(
  'HT_CONFIG_PROMOTE_SAME_ENV',
  400,
  'Promote needs two different environments, got {env} twice',
);
export const ConfigConflict = defineError(
  'HT_CONFIG_CONFLICT',
  409,
  'The {env} environment of app "{app}" is being changed concurrently; try again',
);
