import { defineError } from '../../platform/errors/halftone-error.js';

export const GatewayPolicyInvalid = defineError(
  'HT_GATEWAY_POLICY_INVALID',
  400,
  'The policy group is invalid: {summary}',
);
export const GatewayPolicyNotFound = defineError('HT_GATEWAY_POLICY_NOT_FOUND', 404, 'Policy group "{id}" does not exist');
export const GatewayPolicyInUse = defineError(
  'HT_GATEWAY_POLICY_IN_USE',
  409,
  'Policy group "{id}" is bound to host(s) {hosts}; unbind it first',
);
export const GatewayPolicyRevisionConflict = defineError(
  'HT_GATEWAY_POLICY_REVISION_CONFLICT',
  409,
  'Policy group "{id}" was changed meanwhile (expected revision {expected}, now {actual}); reload and retry',
);
export const GatewayUpstreamNotFound = defineError(
  'HT_GATEWAY_UPSTREAM_NOT_FOUND',
  404,
  'Upstream "{name}" does not exist',
);
export const GatewayUpstreamInvalid = defineError(
  'HT_GATEWAY_UPSTREAM_INVALID',
  400,
  'Upstream URL {url} is not an http:// or https:// origin (with an optional base path)',
);
export const GatewayHostNotFound = defineError('HT_GATEWAY_HOST_NOT_FOUND', 404, 'Host "{host}" has no policy bound');
export const GatewayNoUpstream = defineError(
  'HT_GATEWAY_NO_UPSTREAM',
  502,
  'No upstream for this request (no policy matched and no default upstream is set)',
);
export const GatewayUpstreamUnreachable = defineError(
  'HT_GATEWAY_UPSTREAM_UNREACHABLE',
  502,
  'Upstream "{name}" could not be reached',
);
export const GatewayUpstreamTimeout = defineError(
  'HT_GATEWAY_UPSTREAM_TIMEOUT',
  504,
  'Upstream "{name}" did not answer in time',
);
export const GatewayBadRequest = defineError('HT_GATEWAY_BAD_REQUEST', 400, 'The gateway cannot read this request: {reason}');
export const GatewayHeadTooLarge = defineError(
  'HT_GATEWAY_HEAD_TOO_LARGE',
  431,
  'The request head is too large: {reason}',
);
export const GatewayNotImplemented = defineError(
  'HT_GATEWAY_NOT_IMPLEMENTED',
  501,
  'The gateway does not support this request: {reason}',
);
export const GatewayHttpVersion = defineError(
  'HT_GATEWAY_HTTP_VERSION',
  505,
  'The gateway speaks HTTP/1.0 and HTTP/1.1 only: {reason}',
);
