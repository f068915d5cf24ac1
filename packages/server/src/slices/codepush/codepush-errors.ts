import { defineError } from '../../platform/errors/halftone-error.js';

export const CodePushDeploymentNotFound = defineError(
  'HT_CODEPUSH_DEPLOYMENT_NOT_FOUND',
  404,
  'App "{app}" has no CodePush deployment "{deployment}"',
);
export const CodePushDeploymentExists = defineError(
  'HT_CODEPUSH_DEPLOYMENT_EXISTS',
  409,
  'App "{app}" already has a CodePush deployment "{deployment}"',
);
export const CodePushPlatformRequired = defineError(
  'HT_CODEPUSH_PLATFORM_REQUIRED',
  400,
  'App "{app}" has several platforms ({platforms}); say which one the deployment serves with "platform"',
);
export const CodePushLabelNotFound = defineError(
  'HT_CODEPUSH_LABEL_NOT_FOUND',
  404,
  'Deployment "{deployment}" has no release {label}',
);
export const CodePushNoReleases = defineError(
  'HT_CODEPUSH_NO_RELEASES',
  409,
  'Deployment "{deployment}" has no release yet',
);
export const CodePushRangeInvalid = defineError(
  'HT_CODEPUSH_RANGE_INVALID',
  400,
  '"{range}" is not a semver range of binary versions (e.g. 1.0.x, ^1.2.0, >=1.0.0 <2.0.0, *)',
);
export const CodePushRangeUnsatisfiable = defineError(
  'HT_CODEPUSH_RANGE_UNSATISFIABLE',
  409,
  'The target binary version range "{range}" matches no binary version at all; no device could ever get this release',
);
export const CodePushRolloutInvalid = defineError(
  'HT_CODEPUSH_ROLLOUT_INVALID',
  400,
  'Rollout must be a percentage above 0 and at most 100 (two decimals at most), got {rollout}',
);
export const CodePushRolloutUnfinished = defineError(
  'HT_CODEPUSH_ROLLOUT_UNFINISHED',
  409,
  'Deployment "{deployment}" has an unfinished rollout ({label} at {percent}%); finish it (patch --rollout 100) or disable it before releasing again',
);
export const CodePushRolloutDecrease = defineError(
  'HT_CODEPUSH_ROLLOUT_DECREASE',
  409,
  'A rollout only grows: {label} is at {percent}%, cannot set {rollout}%',
);
export const CodePushPackageIdentical = defineError(
  'HT_CODEPUSH_PACKAGE_IDENTICAL',
  409,
  'The package was not released because it is identical to the current release {label} of deployment "{deployment}"',
);
export const CodePushRollbackInvalid = defineError(
  'HT_CODEPUSH_ROLLBACK_INVALID',
  409,
  'Cannot roll back deployment "{deployment}": {reason}',
);
export const CodePushReleaseStateInvalid = defineError(
  'HT_CODEPUSH_RELEASE_STATE_INVALID',
  409,
  'Label {label} of deployment "{deployment}" is {state} in Halftone; {action} is not possible',
);
