import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import type { LOG_LEVELS } from './config/config-schema.js';

/** A pino level, or `silent`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Log paths whose values are replaced by `[redacted]`, wherever a log call puts them. Secrets
 * must never reach a log: bearer tokens, client keys, cookies, the admin token.
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers["x-halftone-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-halftone-key"]',
  'headers.cookie',
  'adminToken',
  '*.adminToken',
  'clientKey',
  '*.clientKey',
]);

/** Request headers worth logging; everything else (including credentials) is left out. */
const LOGGED_HEADERS = ['user-agent', 'content-type', 'content-length', 'x-forwarded-for'];

/** Options of {@link createLoggerOptions}. */
export interface LoggerOptions {
  /** Where to write (tests capture logs with it); stdout by default. */
  readonly stream?: DestinationStream;
}

/** Fastify's `logger` option, in its object form (pino options). */
export type HalftoneLoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/**
 * Logger options for Fastify (pino): the level, redaction of every credential path
 * ({@link REDACT_PATHS}), and a request serializer that logs method, URL, remote address and a
 * few harmless headers, never `authorization`, `x-halftone-key` or cookies.
 *
 * @example
 * const app = Fastify({ logger: createLoggerOptions(config.logLevel) });
 */
export function createLoggerOptions(
  level: LogLevel,
  opts: LoggerOptions = {},
): HalftoneLoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: {
      req(request: FastifyRequest) {
        const headers: Record<string, unknown> = {};
        for (const name of LOGGED_HEADERS) {
          const value = request.headers[name];
          if (value !== undefined) headers[name] = value;
        }
        return {
          method: request.method,
          url: request.url,
          remoteAddress: request.ip,
          headers,
        };
      },
    },
    ...(opts.stream === undefined ? {} : { stream: opts.stream }),
  };
}
