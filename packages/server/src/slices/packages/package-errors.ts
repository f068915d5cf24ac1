import { defineError } from '../../platform/errors/halftone-error.js';

export const PackageNotFound = defineError('HT_PACKAGE_NOT_FOUND', 404, 'Package "{id}" does not exist');
export const PackageVersionExists = defineError(
  'HT_PACKAGE_VERSION_EXISTS',
  409,
  'Module "{module}" of app "{app}" already has version {version}{platform}',
);
export const PackageFileMissing = defineError(
  'HT_PACKAGE_FILE_MISSING',
  400,
  'The upload has no file part named "file" (send it last, after the fields)',
);
export const PackageLinkRequired = defineError(
  'HT_PACKAGE_LINK_REQUIRED',
  400,
  'An installer package is a link: send JSON with "url" instead of a file',
);
export const PackagePlatformUnknown = defineError(
  'HT_PACKAGE_PLATFORM_UNKNOWN',
  400,
  'App "{app}" has no platform "{platform}"',
);
export const VersionInvalid = defineError(
  'HT_VERSION_INVALID',
  400,
  'Field "{field}" is not a valid version: "{value}" (up to 5 numeric segments, optional -prerelease)',
);
export const VersionRangeInvalid = defineError(
  'HT_VERSION_RANGE_INVALID',
  400,
  'minAppVersion {min} is above maxAppVersion {max}',
);
