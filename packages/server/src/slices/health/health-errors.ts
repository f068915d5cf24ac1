import { defineError } from '../../platform/errors/halftone-error.js';

// The health slice's codes (docs/errors.md, "Release health gates, breakers and the clock").

/** An inline release template that core `validateTemplate` rejects (fields carry the pointers). */
export const HealthTemplateInvalid = defineError('HT_HEALTH_TEMPLATE_INVALID', 400, 'The release template is invalid: {summary}');

/** A template name that is not a built-in one. */
export const HealthTemplateUnknown = defineError(
  'HT_HEALTH_TEMPLATE_UNKNOWN',
  400,
  'Unknown release template "{name}"; use standard, cautious, fast or an inline template object',
);

/** `percent` given with `health`: the template decides the stages and percentages. */
export const HealthPolicyConflict = defineError(
  'HT_HEALTH_POLICY_CONFLICT',
  400,
  'A release with a health policy takes its stages and percentages from its template; do not give "{field}"',
);

/** The release has no health policy. */
export const HealthPolicyNotFound = defineError('HT_HEALTH_POLICY_NOT_FOUND', 404, 'Release "{id}" has no health policy');

/** Confirm of a release that is not waiting for a confirmation. */
export const HealthNotAwaiting = defineError(
  'HT_HEALTH_NOT_AWAITING_CONFIRMATION',
  409,
  'Release "{id}" is not waiting for a confirmation (health state {state})',
);

/** Another process holds the evaluator lease. */
export const HealthEvaluatorBusy = defineError(
  'HT_HEALTH_EVALUATOR_BUSY',
  409,
  'Another process is evaluating release health; retry in a moment',
);

/** A health policy asked of a server built without the health slice. */
export const HealthUnavailable = defineError('HT_HEALTH_UNAVAILABLE', 400, 'This server does not run health gates');

/** A breaker rule that core `validateBreakerRules` rejects. */
export const BreakerInvalid = defineError('HT_BREAKER_INVALID', 400, 'The breaker rule is invalid: {summary}');

/** A rule id the app already has. */
export const BreakerExists = defineError('HT_BREAKER_EXISTS', 409, 'App "{app}" already has a breaker rule "{id}"');

/** No rule with this id in this app. */
export const BreakerNotFound = defineError('HT_BREAKER_NOT_FOUND', 404, 'App "{app}" has no breaker rule "{id}"');

/** `PUT /admin/v1/clock` while the clock is the system clock. */
export const ClockNotManual = defineError(
  'HT_CLOCK_NOT_MANUAL',
  409,
  'The server runs on the system clock; start it with HALFTONE_CLOCK_MODE=manual to set the time',
);

/** `PUT /admin/v1/clock` to a time before the current one. */
export const ClockBackwards = defineError(
  'HT_CLOCK_BACKWARDS',
  400,
  'The manual clock only moves forward: {now} is before the current {current}',
);
