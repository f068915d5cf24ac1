import { defineError } from '../../platform/errors/halftone-error.js';

export const AppNotFound = defineError('HT_APP_NOT_FOUND', 404, 'App "{app}" does not exist');
export const AppExists = defineError('HT_APP_EXISTS', 409, 'App "{app}" already exists');
export const CrowdNotFound = defineError(
  'HT_CROWD_NOT_FOUND',
  404,
  'Crowd "{crowd}" does not exist in app "{app}"',
);
