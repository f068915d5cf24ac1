import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { CliError, EXIT, exitCodeForStatus, type Problem } from './cli-error.js';

/** How to reach the admin API. */
export interface ApiClientOptions {
  /** Server base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  readonly baseUrl: string;
  /** Admin or API token, sent as `Authorization: Bearer <token>`; none when undefined. */
  readonly token?: string | undefined;
  /** Longest wait for a connection, and for an answer to an ordinary request (ms). */
  readonly timeoutMs?: number | undefined;
  /** Longest wait for the answer to an upload, counted after the last byte is sent (ms). */
  readonly uploadTimeoutMs?: number | undefined;
}

/** A streamed request body (an upload), with its length known in advance. */
export interface StreamBody {
  readonly stream: Readable;
  readonly contentType: string;
  readonly contentLength: number;
}

/** One admin API call. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the base URL, already encoded (build it with {@link apiPath}). */
  readonly path: string;
  /** Query parameters; undefined values are left out. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** A JSON body. */
  readonly json?: unknown;
  /** A streamed body, for uploads. */
  readonly body?: StreamBody;
}

/** The admin API over HTTP. Every failure is thrown as a {@link CliError}. */
export interface ApiClient {
  readonly baseUrl: string;
  /** Sends the request and returns the parsed JSON body of a 2xx answer. */
  send<T>(req: ApiRequest): Promise<T>;
  /** Closes idle connections; call once when the command is done. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_UPLOAD_TIMEOUT_MS = 10 * 60_000;

/**
 * Builds a URL path from a template, percent-encoding every interpolated value.
 *
 * @example
 * apiPath`/admin/v1/apps/${'my app'}/crowds`; // '/admin/v1/apps/my%20app/crowds'
 */
export function apiPath(strings: TemplateStringsArray, ...values: readonly string[]): string {
  return strings.reduce(
    (path, part, i) => path + part + (i < values.length ? encodeURIComponent(values[i] ?? '') : ''),
    '',
  );
}

/**
 * Creates the admin API client: JSON in and out, bearer auth, timeouts, and errors mapped to
 * the CLI's codes (problem documents keep the server's code).
 *
 * @example
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:8080', token: 'ht_admin_…' });
 * const { apps } = await api.send<{ apps: unknown[] }>({ method: 'GET', path: '/admin/v1/apps' });
 * await api.close();
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const uploadTimeoutMs = options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
  // One agent per command run, closed at the end, so no keep-alive socket holds the process.
  const agent = new Agent({ connect: { timeout: timeoutMs } });

  return {
    baseUrl,
    async send<T>(req: ApiRequest): Promise<T> {
      const url = new URL(baseUrl + req.path);
      for (const [key, value] of Object.entries(req.query ?? {})) {
        if (value !== undefined) url.searchParams.set(key, value);
      }
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      let body: string | Readable | undefined;
      if (req.body !== undefined) {
        headers['content-type'] = req.body.contentType;
        headers['content-length'] = String(req.body.contentLength);
        body = req.body.stream;
      } else if (req.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(req.json);
      }
      const target = `${req.method} ${url.pathname}`;
      let response: Awaited<ReturnType<typeof request>>;
      try {
        response = await request(url, {
          method: req.method,
          headers,
          body,
          dispatcher: agent,
          headersTimeout: req.body === undefined ? timeoutMs : uploadTimeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (err) {
        throw transportError(err, baseUrl);
      }
      let text: string;
      try {
        text = await response.body.text();
      } catch (err) {
        throw transportError(err, baseUrl);
      }
      return parseAnswer<T>(response.statusCode, text, target);
    },
    close: () => agent.close(),
  };
}

function parseAnswer<T>(status: number, text: string, target: string): T {
  const json = parseJson(text);
  if (status >= 200 && status < 300) {
    if (status === 204 || text.trim() === '') return {} as T;
    if (json === undefined || typeof json !== 'object' || json === null) {
      throw new CliError(
        'HT_CLI_BAD_RESPONSE',
        `${target} answered ${status} with a body that is not a JSON object`,
        EXIT.FAILURE,
      );
    }
    return json as T;
  }
  if (isProblem(json)) {
    const message = json.detail ?? json.title ?? `HTTP ${status}`;
    throw new CliError(json.code, message, exitCodeForStatus(status), json);
  }
  const shown = text.trim() === '' ? '' : `: ${excerpt(text)}`;
  const message = `${target} answered HTTP ${status}${shown}`;
  throw new CliError('HT_CLI_HTTP_ERROR', message, exitCodeForStatus(status), {
    title: 'The server answered with an error',
    status,
    detail: message,
    code: 'HT_CLI_HTTP_ERROR',
  });
}

function isProblem(value: unknown): value is Problem & { code: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for an answer',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the answer',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
};

/** The network error code of `err`, looking through `cause` and AggregateError members. */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 4) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code in NETWORK_CODES) return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const found = networkCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return networkCode((err as { cause?: unknown }).cause, depth + 1);
}

function transportError(err: unknown, baseUrl: string): unknown {
  if (err instanceof CliError) return err;
  const code = networkCode(err);
  if (code === undefined) return err;
  const message = `cannot reach the Halftone server at ${baseUrl} (${NETWORK_CODES[code]})`;
  return new CliError('HT_CLI_UNREACHABLE', message, EXIT.UNREACHABLE);
}
