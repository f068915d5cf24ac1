import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type HalftoneError, type HalftoneErrorField, isHalftoneError } from './halftone-error.js';
import {
  badJson,
  badRequest,
  conflict,
  forbidden,
  gone,
  internalError,
  methodNotAllowed,
  notAcceptable,
  payloadTooLarge,
  rangeNotSatisfiable,
  requestTimeout,
  routeNotFound,
  tooManyRequests,
  unauthorized,
  unprocessableContent,
  unsupportedMediaType,
  uriTooLong,
  validationFailed,
} from './platform-errors.js';

/** Where the `type` URI of every problem points unless `docsUrl` is given. */
export const DEFAULT_ERRORS_DOCS_URL = 'https://halftone.dev/docs/errors';

/** The media type of every error response (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** An RFC 9457 problem document with Halftone's extension members `code` and `errorId`. */
export interface ProblemDetails {
  /** `<docsUrl>#<code lowercased>`: the docs entry for the code. */
  readonly type: string;
  /** Client-safe summary (the error's message). */
  readonly title: string;
  /** HTTP status, repeated from the response. */
  readonly status: number;
  /** Occurrence-specific explanation (the error's detail, or its message). */
  readonly detail: string;
  /** The request id, to correlate with server logs. */
  readonly instance: string;
  /** Stable Halftone error code. */
  readonly code: string;
  /** Id of this occurrence, also in the server log. */
  readonly errorId: string;
  /** Field-level problems, for validation errors. */
  readonly errors?: readonly HalftoneErrorField[];
}

/** Options of {@link registerErrorHandling}. */
export interface ErrorHandlingOptions {
  /** Base URL of docs/errors.md as published; defaults to {@link DEFAULT_ERRORS_DOCS_URL}. */
  readonly docsUrl?: string;
}

/** Fastify-style validation item (Ajv, or the TypeBox compiler which mimics Ajv's fields). */
interface ValidationItem {
  readonly instancePath?: string;
  readonly message?: string;
  readonly keyword?: string;
  readonly params?: Record<string, unknown>;
}

const GENERIC_BY_STATUS = new Map([
  [400, badRequest],
  [401, unauthorized],
  [403, forbidden],
  [404, routeNotFound],
  [405, methodNotAllowed],
  [406, notAcceptable],
  [408, requestTimeout],
  [409, conflict],
  [410, gone],
  [413, payloadTooLarge],
  [414, uriTooLong],
  [415, unsupportedMediaType],
  [416, rangeNotSatisfiable],
  [422, unprocessableContent],
  [429, tooManyRequests],
]);

const BAD_JSON_CODES = new Set([
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  // @fastify/multipart: a field declared as application/json does not parse.
  'FST_INVALID_JSON_FIELD_ERROR',
]);

const TOO_LARGE_CODES = new Map([
  ['FST_ERR_CTP_BODY_TOO_LARGE', 'The request body exceeds the size limit'],
  // @fastify/multipart limit errors.
  ['FST_REQ_FILE_TOO_LARGE', 'An uploaded file exceeds the size limit'],
  ['FST_FILES_LIMIT', 'Too many files in the multipart body'],
  ['FST_PARTS_LIMIT', 'Too many parts in the multipart body'],
  ['FST_FIELDS_LIMIT', 'Too many fields in the multipart body'],
]);

const MEDIA_TYPE_CODES = new Map([
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'The Content-Type of the request is not supported'],
  // @fastify/multipart answers 406 for this; 415 is the right status for a bad request type.
  ['FST_INVALID_MULTIPART_CONTENT_TYPE', 'The request is not multipart/form-data'],
]);

/** RFC 6901 escaping of one reference token. */
function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function validationField(item: ValidationItem, context: string): HalftoneErrorField {
  let pointer = `/${context}${item.instancePath ?? ''}`;
  // Ajv reports a missing or extra property on the parent object; point at the property itself.
  const property = item.params?.missingProperty ?? item.params?.additionalProperty;
  if (
    typeof property === 'string' &&
    (item.keyword === 'required' || item.keyword === 'additionalProperties')
  ) {
    pointer += `/${escapePointerToken(property)}`;
  }
  return { pointer, message: item.message ?? 'is invalid' };
}

function isFastifyOwnError(code: unknown): boolean {
  return typeof code === 'string' && code.startsWith('FST_');
}

/**
 * Maps anything thrown while handling a request onto a {@link HalftoneError}. Halftone errors
 * pass through; known Fastify and @fastify/multipart errors get their Halftone code; other 4xx
 * errors get a generic code by status (echoing the message only for Fastify's own errors, whose
 * texts are written for clients); everything else is `HT_INTERNAL` with the original as `cause`.
 *
 * Exported for transports other than HTTP (the sync WebSocket puts the code in its close reason).
 */
export function toHalftoneError(err: unknown): HalftoneError {
  if (isHalftoneError(err)) return err;
  if (typeof err !== 'object' || err === null) return internalError(undefined, { cause: err });

  const e = err as Partial<FastifyError> & { validation?: unknown; validationContext?: unknown };
  if (Array.isArray(e.validation)) {
    const context = typeof e.validationContext === 'string' ? e.validationContext : 'body';
    const fields = (e.validation as ValidationItem[]).map((item) => validationField(item, context));
    return validationFailed(undefined, {
      detail: fields.map((f) => `${f.pointer} ${f.message}`).join('; '),
      fields,
      cause: err,
    });
  }

  const code = e.code;
  if (typeof code === 'string') {
    if (BAD_JSON_CODES.has(code)) {
      return badJson(undefined, { cause: err });
    }
    const tooLarge = TOO_LARGE_CODES.get(code);
    if (tooLarge !== undefined) return payloadTooLarge(undefined, { detail: tooLarge, cause: err });
    const mediaType = MEDIA_TYPE_CODES.get(code);
    if (mediaType !== undefined) {
      return unsupportedMediaType(undefined, { detail: mediaType, cause: err });
    }
  }

  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  // A custom content-type parser that throws JSON.parse's SyntaxError with a 400.
  if (err instanceof SyntaxError && status === 400) return badJson(undefined, { cause: err });

  if (status !== undefined && status >= 400 && status <= 499) {
    const generic = GENERIC_BY_STATUS.get(status) ?? badRequest;
    const detail = isFastifyOwnError(code) && typeof e.message === 'string' ? e.message : undefined;
    return generic(undefined, detail === undefined ? { cause: err } : { detail, cause: err });
  }
  return internalError(undefined, { cause: err });
}

/**
 * Builds the RFC 9457 body for an error.
 *
 * @param instance the request id
 */
export function toProblemDetails(
  error: HalftoneError,
  instance: string,
  docsUrl: string = DEFAULT_ERRORS_DOCS_URL,
): ProblemDetails {
  const internal = error.status >= 500 && error.code === internalError.code;
  return {
    type: `${docsUrl}#${error.code.toLowerCase()}`,
    title: error.message,
    status: error.status,
    detail: internal
      ? `An unexpected error occurred; quote error id ${error.errorId} when reporting it`
      : (error.detail ?? error.message),
    instance,
    code: error.code,
    errorId: error.errorId,
    ...(error.fields === undefined || error.fields.length === 0 ? {} : { errors: error.fields }),
  };
}

function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  error: HalftoneError,
  docsUrl: string,
): FastifyReply {
  const problem = toProblemDetails(error, request.id, docsUrl);
  // Serialize ourselves so a route's response schema for this status cannot reshape the body.
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

function logError(request: FastifyRequest, original: unknown, error: HalftoneError): void {
  const bindings = { code: error.code, errorId: error.errorId, statusCode: error.status };
  if (error.status >= 500) {
    request.log.error({ ...bindings, err: original }, error.message);
  } else {
    request.log.info(bindings, error.message);
    request.log.debug({ ...bindings, err: original }, 'client error details');
  }
}

interface KnownRoute {
  readonly methods: readonly string[];
  readonly pattern: RegExp;
}

/** Turns a find-my-way route path into a RegExp over concrete paths (best effort, for 405s). */
function routePattern(url: string): RegExp {
  let out = '';
  let i = 0;
  while (i < url.length) {
    const ch = url.charAt(i);
    if (ch === ':' && url.charAt(i + 1) === ':') {
      out += ':';
      i += 2;
    } else if (ch === ':') {
      i++;
      while (i < url.length && /[A-Za-z0-9_]/.test(url.charAt(i))) i++;
      if (url.charAt(i) === '(') {
        let depth = 0;
        do {
          if (url.charAt(i) === '(') depth++;
          else if (url.charAt(i) === ')') depth--;
          i++;
        } while (i < url.length && depth > 0);
      }
      if (url.charAt(i) === '?') {
        out += '[^/]*';
        i++;
      } else {
        out += '[^/]+';
      }
    } else if (ch === '*') {
      out += '.*';
      i++;
    } else {
      out += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${out}/?$`);
}

/**
 * Installs the one error handler and the not-found handler of the app. Call it on the root
 * instance before registering routes (so 405s can be told apart from 404s).
 *
 * Every error response is `application/problem+json` (RFC 9457) with the extension members
 * `code` and `errorId`; see {@link ProblemDetails}. 5xx are logged at error level with the full
 * error, 4xx at info level (the original error at debug). Bodies never contain stack traces or
 * the messages of unexpected errors.
 *
 * @example
 * const app = Fastify();
 * registerErrorHandling(app, { docsUrl: 'https://docs.example.com/errors' });
 */
export function registerErrorHandling(app: FastifyInstance, opts: ErrorHandlingOptions = {}): void {
  const docsUrl = opts.docsUrl ?? DEFAULT_ERRORS_DOCS_URL;
  const routes: KnownRoute[] = [];

  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) =>
      String(m).toUpperCase(),
    );
    routes.push({ methods, pattern: routePattern(route.url) });
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    const error = toHalftoneError(err);
    logError(request, err, error);
    if (reply.sent || reply.raw.headersSent) return;
    sendProblem(reply, request, error, docsUrl);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const allowed = new Set<string>();
    for (const route of routes) {
      if (route.pattern.test(path)) for (const m of route.methods) allowed.add(m);
    }
    let error: HalftoneError;
    if (allowed.size > 0 && !allowed.has(request.method)) {
      const allow = [...allowed].sort().join(', ');
      reply.header('allow', allow);
      error = methodNotAllowed(undefined, {
        detail: `${request.method} is not allowed for ${path}; allowed: ${allow}`,
      });
    } else {
      error = routeNotFound(undefined, { detail: `No route for ${request.method} ${path}` });
    }
    logError(request, error, error);
    sendProblem(reply, request, error, docsUrl);
  });
}
