import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  type GatewayRequestFeatures,
  rawQueryArg,
  resolveClientIp,
  singleHeaderValue,
} from '@halftone/core';
import { Pool } from 'undici';
import { toProblemDetails, PROBLEM_CONTENT_TYPE } from '../../platform/errors/error-handler.js';
import type { HalftoneError } from '../../platform/errors/halftone-error.js';
import { newId } from '../../platform/ids.js';
import { GatewayNoUpstream, GatewayUpstreamTimeout, GatewayUpstreamUnreachable } from './gateway-errors.js';
import { type GatewayService, normaliseHost } from './gateway-service.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** The headers minus hop-by-hop ones and those listed in `Connection`. */
export function endToEndHeaders(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  drop: readonly string[] = [],
): Record<string, string | string[]> {
  const listed = new Set(drop);
  const connection = headers.connection;
  for (const v of Array.isArray(connection) ? connection : connection === undefined ? [] : [connection]) {
    for (const name of v.split(',')) listed.add(name.trim().toLowerCase());
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (header === undefined) return m;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== '' && !m.has(name)) m.set(name, part.slice(eq + 1).trim());
  }
  return m;
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The diversion features of a request (uid from `X-Uid`, client IP, `city` query arg, …). */
export function requestFeatures(req: IncomingMessage, trusted: (peer: string | undefined) => boolean): GatewayRequestFeatures {
  const url = req.url ?? '/';
  let cookies: Map<string, string> | undefined;
  return {
    uid: singleHeaderValue(req.headers['x-uid']),
    ip: resolveClientIp(
      req.socket.remoteAddress,
      headerString(req.headers['x-real-ip']),
      headerString(req.headers['x-forwarded-for']),
      trusted,
    ),
    city: rawQueryArg(url, 'city'),
    url,
    headers: (name) => headerString(req.headers[name.toLowerCase()]),
    cookie: (name) => (cookies ??= parseCookies(req.headers.cookie)).get(name),
    query: (name) => rawQueryArg(url, name),
  };
}

export interface GatewayProxyOptions {
  readonly gateway: Pick<GatewayService, 'table'>;
  /** Peers whose X-Real-IP / X-Forwarded-For are believed. */
  readonly trustedProxies: readonly string[];
  /** Headers and inter-chunk body timeout of each upstream request. */
  readonly timeoutMs: number;
  readonly onError?: (err: unknown, context: string) => void;
}

function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The gateway's request handler (for a `node:http` server): picks the upstream of each request
 * (host binding → compiled policy group → default upstream), forwards it through a keep-alive
 * undici Pool per origin (round-robin over the upstream's URLs) with streamed bodies, and
 * answers problem+json when no upstream can answer.
 */
export class GatewayProxy {
  readonly #opts: GatewayProxyOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #cursor = new Map<string, number>();
  readonly #trusted: (peer: string | undefined) => boolean;

  constructor(opts: GatewayProxyOptions) {
    this.#opts = opts;
    const trusted = new Set(opts.trustedProxies.map(stripMapped));
    this.#trusted = (peer) => peer !== undefined && trusted.has(stripMapped(peer));
  }

  /** The upstream name a request goes to, or undefined when none. */
  choose(req: IncomingMessage): { name: string; urls: readonly string[] } | undefined {
    const table = this.#opts.gateway.table;
    const host = normaliseHost(headerString(req.headers.host) ?? '');
    const binding = table.hosts.get(host);
    let name: string | undefined;
    if (binding !== undefined) name = binding.matcher(requestFeatures(req, this.#trusted))?.upstream;
    let urls = name === undefined ? undefined : table.upstreams.get(name);
    if (urls === undefined || urls.length === 0) {
      // No match, or a policy naming an unknown upstream: fail open to the default.
      name = table.defaultUpstream;
      urls = name === undefined ? undefined : table.upstreams.get(name);
    }
    return name === undefined || urls === undefined || urls.length === 0 ? undefined : { name, urls };
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, { connections: 128, keepAliveTimeout: 4_000, pipelining: 1 });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  #pick(name: string, urls: readonly string[]): URL {
    const i = this.#cursor.get(name) ?? 0;
    this.#cursor.set(name, (i + 1) % 1_000_000_007);
    return new URL(urls[i % urls.length] as string);
  }

  #problem(res: ServerResponse, err: HalftoneError, upstream?: string): void {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    const body = JSON.stringify(toProblemDetails(err, newId('req')));
    const headers: Record<string, string | number> = {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
    };
    if (upstream !== undefined) headers['x-halftone-upstream'] = upstream;
    res.writeHead(err.status, headers).end(body);
  }

  /** Handles one request on the gateway port. */
  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chosen = this.choose(req);
    if (chosen === undefined) {
      req.resume();
      this.#problem(res, GatewayNoUpstream());
      return;
    }
    const target = this.#pick(chosen.name, chosen.urls);
    const headers = endToEndHeaders(req.headers, ['host']);
    const peer = req.socket.remoteAddress;
    const xff = headerString(req.headers['x-forwarded-for']);
    if (peer !== undefined) headers['x-forwarded-for'] = xff === undefined ? stripMapped(peer) : `${xff}, ${stripMapped(peer)}`;
    headers['x-forwarded-proto'] = headerString(req.headers['x-forwarded-proto']) ?? 'http';
    const host = headerString(req.headers.host);
    if (host !== undefined) headers['x-forwarded-host'] = headerString(req.headers['x-forwarded-host']) ?? host;
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const basePath = target.pathname === '/' ? '' : target.pathname;
    const timeout = this.#opts.timeoutMs;
    try {
      const upstream = await this.#pool(target.origin).request({
        method: (req.method ?? 'GET') as 'GET',
        path: `${basePath}${req.url ?? '/'}`,
        headers,
        body: hasBody ? req : null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const out = endToEndHeaders(upstream.headers);
      out['x-halftone-upstream'] = chosen.name;
      res.writeHead(upstream.statusCode, out);
      await pipeline(upstream.body, res);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (res.headersSent) {
        // Mid-body failure: the status is gone, so cut the connection (the client sees a broken body).
        res.destroy();
        this.#opts.onError?.(err, `gateway upstream ${chosen.name}`);
        return;
      }
      if (!req.complete) req.resume();
      const cause = { cause: err, detail: `${target.origin}: ${err instanceof Error ? err.message : String(err)}` };
      if (code !== undefined && TIMEOUT_CODES.has(code)) this.#problem(res, GatewayUpstreamTimeout({ name: chosen.name }, cause), chosen.name);
      else this.#problem(res, GatewayUpstreamUnreachable({ name: chosen.name }, cause), chosen.name);
    }
  };

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
  }
}
