import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  type GatewayRequestFeatures,
  rawQueryArg,
  resolveClientIp,
  singleHeaderValue,
} from '@halftone/core';
import { Pool, type Dispatcher } from 'undici';
import { toProblemDetails, PROBLEM_CONTENT_TYPE } from '../../platform/errors/error-handler.js';
import type { HalftoneError } from '../../platform/errors/halftone-error.js';
import { newId } from '../../platform/ids.js';
import { GatewayNoUpstream, GatewayUpstreamTimeout, GatewayUpstreamUnreachable } from './gateway-errors.js';
import { GatewayMetrics, NO_LABEL } from './gateway-metrics.js';
import { type GatewayService, type GatewayTableStatus, normaliseHost } from './gateway-service.js';

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
  readonly gateway: Pick<GatewayService, 'table'> & Partial<Pick<GatewayService, 'status'>>;
  /** Where requests are counted (default: a new GatewayMetrics over `gateway`). */
  readonly metrics?: GatewayMetrics;
  /** Peers whose X-Real-IP / X-Forwarded-For are believed. */
  readonly trustedProxies: readonly string[];
  /** Headers and inter-chunk body timeout of each upstream request. */
  readonly timeoutMs: number;
  /**
   * Location-level runtime keys (the ABTestingGateway `$hostkey` of a location): a request whose
   * path matches `pattern` (case-insensitive, like nginx `location ~*`; first match wins) is
   * diverted by the binding of `<host><suffix>` instead of `<host>`.
   */
  readonly locations?: readonly GatewayLocation[];
  readonly onError?: (err: unknown, context: string) => void;
}

export interface GatewayLocation {
  /** Regular expression over the request path without the query (case-insensitive). */
  readonly pattern: string;
  /** Appended to the normalised host to form the runtime key, e.g. `.abc`. */
  readonly suffix: string;
}

function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Whether a peer address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x). */
export function isLoopback(peer: string | undefined): boolean {
  if (peer === undefined) return false;
  return peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
}

const NO_STATUS: GatewayTableStatus = { loadedAt: undefined, revision: 0, storeOk: true };

interface Target {
  readonly origin: string;
  readonly basePath: string;
  readonly pool: Pool;
}

/** Request headers the proxy sets itself (and `host`, which undici derives from the origin). */
const REPLACED_REQUEST = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** Names listed in a `Connection` header value (lower-cased), or undefined when there are none. */
function connectionListed(connection: string | string[] | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined;
  let listed: Set<string> | undefined;
  for (const v of Array.isArray(connection) ? connection : [connection]) {
    for (const name of v.split(',')) {
      const n = name.trim().toLowerCase();
      if (n !== '' && !HOP_BY_HOP.has(n)) (listed ??= new Set()).add(n);
    }
  }
  return listed;
}

/**
 * The flat `[name, value, …]` list forwarded upstream: the end-to-end headers of the request
 * (as `endToEndHeaders(req.headers, ['host'])` yields them) plus the X-Forwarded-* trio.
 */
function forwardedRequestHeaders(req: IncomingMessage): string[] {
  const h = req.headers;
  const listed = connectionListed(h.connection);
  const out: string[] = [];
  for (const name in h) {
    const value = h[name];
    if (value === undefined || HOP_BY_HOP.has(name) || REPLACED_REQUEST.has(name)) continue;
    if (listed !== undefined && listed.has(name)) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  const xff = h['x-forwarded-for'];
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) {
    const ip = stripMapped(peer);
    const prior = headerString(xff);
    out.push('x-forwarded-for', prior === undefined ? ip : `${prior}, ${ip}`);
  } else if (xff !== undefined && !listed?.has('x-forwarded-for')) {
    out.push('x-forwarded-for', headerString(xff) as string);
  }
  const proto = h['x-forwarded-proto'];
  out.push('x-forwarded-proto', headerString(proto) ?? 'http');
  const host = headerString(h.host);
  if (host !== undefined) out.push('x-forwarded-host', headerString(h['x-forwarded-host']) ?? host);
  else if (h['x-forwarded-host'] !== undefined && !listed?.has('x-forwarded-host')) {
    out.push('x-forwarded-host', headerString(h['x-forwarded-host']) as string);
  }
  return out;
}

/**
 * The flat `[name, value, …]` list answered to the client from undici's raw upstream headers:
 * lower-cased names minus hop-by-hop ones, those listed in `Connection` and `x-halftone-upstream`,
 * then `x-halftone-upstream: <name>`.
 */
function forwardedResponseHeaders(raw: Buffer[], upstream: string): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (name === 'connection') {
      listed = connectionListed(value);
      continue;
    }
    if (HOP_BY_HOP.has(name) || name === 'x-halftone-upstream') continue;
    out.push(name, value);
  }
  if (listed !== undefined) {
    let w = 0;
    for (let i = 0; i < out.length; i += 2) {
      if (listed.has(out[i] as string)) continue;
      out[w++] = out[i] as string;
      out[w++] = out[i + 1] as string;
    }
    out.length = w;
  }
  out.push('x-halftone-upstream', upstream);
  return out;
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
  /** Parsed upstream URLs (origin, base path, pool), so the hot path builds no `URL`. */
  readonly #targets = new Map<string, Target>();
  readonly #trusted: (peer: string | undefined) => boolean;
  readonly #locations: readonly { readonly re: RegExp; readonly suffix: string }[];
  /** Request counters, latency histogram, upstream errors and policy-table gauges. */
  readonly metrics: GatewayMetrics;

  constructor(opts: GatewayProxyOptions) {
    this.#opts = opts;
    const gateway = opts.gateway;
    this.metrics = opts.metrics ?? new GatewayMetrics({ get status() { return gateway.status ?? NO_STATUS; } });
    this.metrics.prebind([NO_LABEL, ...gateway.table.upstreams.keys()]);
    this.#locations = (opts.locations ?? []).map((l) => ({ re: new RegExp(l.pattern, 'i'), suffix: l.suffix }));
    const trusted = new Set(opts.trustedProxies.map(stripMapped));
    this.#trusted = (peer) => peer !== undefined && trusted.has(stripMapped(peer));
  }

  /**
   * The key of the host binding that diverts a request: the normalised `Host`, plus the suffix of
   * the first configured location whose pattern matches the path (e.g. `api.weibo.cn.abc`).
   */
  runtimeKey(req: IncomingMessage): string {
    const host = normaliseHost(headerString(req.headers.host) ?? '');
    if (this.#locations.length === 0) return host;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    for (const l of this.#locations) if (l.re.test(path)) return host + l.suffix;
    return host;
  }

  /** The upstream name a request goes to, or undefined when none. */
  choose(req: IncomingMessage): { name: string; urls: readonly string[]; policy: string } | undefined {
    const table = this.#opts.gateway.table;
    const binding = table.hosts.get(this.runtimeKey(req));
    let name: string | undefined;
    if (binding !== undefined) name = binding.matcher(requestFeatures(req, this.#trusted))?.upstream;
    let urls = name === undefined ? undefined : table.upstreams.get(name);
    let policy = binding === undefined ? NO_LABEL : binding.policyId;
    if (urls === undefined || urls.length === 0) {
      // No match, or a policy naming an unknown upstream: fail open to the default.
      name = table.defaultUpstream;
      urls = name === undefined ? undefined : table.upstreams.get(name);
      policy = NO_LABEL;
    }
    return name === undefined || urls === undefined || urls.length === 0 ? undefined : { name, urls, policy };
  }

  /** The `/healthz` body: table provenance, store health, known upstreams. */
  health(): { ok: boolean; policies: Record<string, unknown>; upstreams: string[] } {
    const s = this.#opts.gateway.status ?? NO_STATUS;
    const policies: Record<string, unknown> = { loadedAt: s.loadedAt ?? null, revision: s.revision, storeOk: s.storeOk };
    if (s.lastError !== undefined) policies.lastError = s.lastError;
    if (s.lastErrorAt !== undefined) policies.lastErrorAt = s.lastErrorAt;
    return { ok: true, policies, upstreams: [...this.#opts.gateway.table.upstreams.keys()] };
  }

  /** Answers `/healthz` and `/metrics` for loopback peers; false when the request is to be proxied. */
  #local(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url;
    if (url !== '/healthz' && url !== '/metrics') return false;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !isLoopback(req.socket.remoteAddress)) return false;
    req.resume();
    if (url === '/healthz') {
      const body = JSON.stringify(this.health());
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    this.metrics.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': this.metrics.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        this.#opts.onError?.(err, 'gateway metrics');
        res.writeHead(500).end();
      },
    );
    return true;
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, { connections: 128, keepAliveTimeout: 4_000, pipelining: 1 });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  #pick(name: string, urls: readonly string[]): Target {
    const i = this.#cursor.get(name) ?? 0;
    this.#cursor.set(name, (i + 1) % 1_000_000_007);
    const raw = urls[i % urls.length] as string;
    let target = this.#targets.get(raw);
    if (target === undefined) {
      const url = new URL(raw);
      target = { origin: url.origin, basePath: url.pathname === '/' ? '' : url.pathname, pool: this.#pool(url.origin) };
      if (this.#targets.size >= 1024) this.#targets.clear();
      this.#targets.set(raw, target);
    }
    return target;
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

  #failed(req: IncomingMessage, res: ServerResponse, err: unknown, name: string, origin: string, policy: string, start: number): void {
    const m = this.metrics.upstream(name);
    if (res.headersSent) {
      this.metrics.observe(m, name, policy, res.statusCode, start);
      // Mid-body failure: the status is gone, so cut the connection (the client sees a broken body).
      res.destroy();
      this.#opts.onError?.(err, `gateway upstream ${name}`);
      return;
    }
    if (!req.complete) req.resume();
    const code = (err as { code?: string }).code;
    const cause = { cause: err, detail: `${origin}: ${err instanceof Error ? err.message : String(err)}` };
    if (code !== undefined && TIMEOUT_CODES.has(code)) {
      m.errors.timeout.inc();
      this.#problem(res, GatewayUpstreamTimeout({ name }, cause), name);
    } else {
      m.errors.unreachable.inc();
      this.#problem(res, GatewayUpstreamUnreachable({ name }, cause), name);
    }
    this.metrics.observe(m, name, policy, res.statusCode, start);
  }

  /**
   * Handles one request on the gateway port: one undici `dispatch` whose handler writes the
   * upstream's status, headers and body chunks straight to `res` (with backpressure), so the
   * per-request path allocates no stream pipeline, AbortController or header objects.
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (this.#local(req, res)) return Promise.resolve();
    const start = performance.now();
    const chosen = this.choose(req);
    if (chosen === undefined) {
      req.resume();
      this.#problem(res, GatewayNoUpstream());
      const m = this.metrics.upstream(NO_LABEL);
      m.errors.no_upstream.inc();
      this.metrics.observe(m, NO_LABEL, NO_LABEL, res.statusCode, start);
      return Promise.resolve();
    }
    const name = chosen.name;
    const policy = chosen.policy;
    const target = this.#pick(name, chosen.urls);
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const timeout = this.#opts.timeoutMs;
    return new Promise<void>((resolve) => {
      let abort: ((err?: Error) => void) | undefined;
      let done = false;
      let resume: (() => void) | undefined;
      const onDrain = (): void => resume?.();
      const onClose = (): void => {
        // The client went away before the upstream answer was complete: stop the upstream request.
        if (!done) abort?.(new Error('client closed the connection'));
      };
      res.once('close', onClose);
      const finish = (): void => {
        done = true;
        res.removeListener('close', onClose);
        res.removeListener('drain', onDrain);
        resolve();
      };
      const handler: Dispatcher.DispatchHandlers = {
        onConnect: (a) => {
          abort = a;
        },
        onHeaders: (statusCode, rawHeaders, r) => {
          resume = r;
          res.on('drain', onDrain);
          res.writeHead(statusCode, forwardedResponseHeaders(rawHeaders as unknown as Buffer[], name));
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => {
          res.end();
          finish();
          this.metrics.observe(this.metrics.upstream(name), name, policy, res.statusCode, start);
        },
        onError: (err) => {
          if (done) return;
          finish();
          this.#failed(req, res, err, name, target.origin, policy, start);
        },
      };
      try {
        target.pool.dispatch(
          {
            method: (req.method ?? 'GET') as 'GET',
            path: target.basePath === '' ? (req.url ?? '/') : `${target.basePath}${req.url ?? '/'}`,
            headers: forwardedRequestHeaders(req),
            body: hasBody ? req : null,
            headersTimeout: timeout,
            bodyTimeout: timeout,
          },
          handler,
        );
      } catch (err) {
        if (!done) {
          finish();
          this.#failed(req, res, err, name, target.origin, policy, start);
        }
      }
    });
  };

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
  }
}
