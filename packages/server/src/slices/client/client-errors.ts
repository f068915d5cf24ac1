import { defineError } from '../../platform/errors/halftone-error.js';

export const ReportReleaseUnknown = defineError(
  'HT_REPORT_RELEASE_UNKNOWN',
  400,
  'Release "{id}" is not a release of this app',
);
