import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type GatewayRequestFeatures, rawQueryArg, resolveClientIp } from '@halftone/core';
import { toProblemDetails, PROBLEM_CONTENT_TYPE } from '../../platform/errors/error-handler.js';
import type { HalftoneError } from '../../platform/errors/halftone-error.js';
import { newId } from '../../platform/ids.js';
import { CoarseClock } from './coarse-clock.js';
import {
  GatewayBadRequest,
  GatewayHeadTooLarge,
  GatewayHttpVersion,
  GatewayNoUpstream,
  GatewayNotImplemented,
  GatewayUpstreamTimeout,
  GatewayUpstreamUnreachable,
} from './gateway-errors.js';
import { GatewayMetrics, NO_LABEL } from './gateway-metrics.js';
import { type GatewayService, type GatewayTableStatus, normaliseHost } from './gateway-service.js';
import { trustedPeerMatcher } from './trusted-proxies.js';
import {
  type BodyFraming,
  ChunkedScanner,
  type Http1Error,
  NO_BODY,
  REASONS,
  type RequestHead,
  type PlainResponse,
  type ResponseHead,
  parseRequestHead,
  parseResponseHead,
  responseFraming,
  scanPlainResponse,
} from './http1.js';

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

/** Request fields the proxy drops: hop-by-hop ones and those it sets itself. */
const DROP_REQUEST = new Set([...HOP_BY_HOP, 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
/** Response fields the proxy drops: hop-by-hop ones and its own marker. */
const DROP_RESPONSE = new Set([...HOP_BY_HOP, 'x-halftone-upstream']);

function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Whether a peer address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x). */
export function isLoopback(peer: string | undefined): boolean {
  if (peer === undefined) return false;
  return peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
}

/** The value of a field in a parsed head (repeated fields joined with `sep`), or undefined. */
function field(head: RequestHead, name: string, sep = ', '): string | undefined {
  let out: string | undefined;
  const names = head.names;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === name) out = out === undefined ? head.values[i] : `${out}${sep}${head.values[i]}`;
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

/**
 * The diversion features of a parsed request, computed on first use (a policy that reads only
 * `X-Uid` never parses cookies or resolves the client IP).
 */
class RequestFeatures implements GatewayRequestFeatures {
  readonly #head: RequestHead;
  readonly #peer: string | undefined;
  readonly #trusted: (peer: string | undefined) => boolean;
  #cookies: Map<string, string> | undefined;
  #uid: string | undefined | null = null;
  #ip: string | undefined | null = null;

  constructor(head: RequestHead, peer: string | undefined, trusted: (peer: string | undefined) => boolean) {
    this.#head = head;
    this.#peer = peer;
    this.#trusted = trusted;
  }

  /** `X-Uid`, like ABTestingGateway: absent when missing, empty or repeated. */
  get uid(): string | undefined {
    if (this.#uid === null) this.#uid = this.#readUid();
    return this.#uid;
  }

  #readUid(): string | undefined {
    const names = this.#head.names;
    let v: string | undefined;
    let n = 0;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === 'x-uid') {
        n++;
        v = this.#head.values[i];
      }
    }
    return n === 1 && v !== '' ? v : undefined;
  }

  get ip(): string | undefined {
    if (this.#ip === null) {
      this.#ip = resolveClientIp(this.#peer, field(this.#head, 'x-real-ip'), field(this.#head, 'x-forwarded-for'), this.#trusted);
    }
    return this.#ip;
  }

  get city(): string | undefined {
    return rawQueryArg(this.#head.target, 'city');
  }

  get url(): string {
    return this.#head.target;
  }

  headers(name: string): string | undefined {
    return field(this.#head, name.toLowerCase());
  }

  cookie(name: string): string | undefined {
    return (this.#cookies ??= parseCookies(field(this.#head, 'cookie', '; '))).get(name);
  }

  query(name: string): string | undefined {
    return rawQueryArg(this.#head.target, name);
  }
}

/**
 * The path of a request target as nginx's `$uri` has it, for location matching: the query
 * dropped, percent-escapes decoded, repeated slashes merged, `.` and `..` segments resolved.
 * Undefined when the path climbs above the root or has a malformed escape (the request is
 * then refused with 400, as nginx does).
 *
 * @example
 * normaliseUriPath('/a//b/./c/../%64?x=1'); // '/a/b/d'
 */
export function normaliseUriPath(target: string): string | undefined {
  const q = target.indexOf('?');
  let path = q < 0 ? target : target.slice(0, q);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return undefined;
    }
  }
  if (!path.includes('//') && !path.includes('/.')) return path;
  const out: string[] = [];
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i] as string;
    if (p === '' || p === '.') {
      if (i === parts.length - 1) out.push('');
      continue;
    }
    if (p === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (i === parts.length - 1) out.push('');
      continue;
    }
    out.push(p);
  }
  return `/${out.join('/')}`;
}

export interface GatewayProxyOptions {
  readonly gateway: Pick<GatewayService, 'table'> & Partial<Pick<GatewayService, 'status'>>;
  /** Where requests are counted (default: a new GatewayMetrics over `gateway`). */
  readonly metrics?: GatewayMetrics;
  /**
   * Peers whose X-Real-IP / X-Forwarded-For / X-Forwarded-Proto / X-Forwarded-Host are believed:
   * addresses, CIDR blocks or `loopback` (see trusted-proxies.ts).
   */
  readonly trustedProxies?: readonly string[];
  /** A ready-made trust predicate (overrides `trustedProxies`). */
  readonly trusted?: (peer: string | undefined) => boolean;
  /** Inactivity timeout of an upstream exchange: no byte from the upstream for this long → 504. */
  readonly timeoutMs: number;
  /**
   * Location-level runtime keys (the ABTestingGateway `$hostkey` of a location): a request whose
   * normalised path matches `pattern` (case-insensitive, like nginx `location ~*`; first match
   * wins) is diverted by the binding of `<host><suffix>` instead of `<host>`.
   */
  readonly locations?: readonly GatewayLocation[];
  /** Idle client connections are closed after this long (default 5 s). */
  readonly keepAliveTimeoutMs?: number;
  /**
   * A client that takes none of an answer's unsent bytes for this long is disconnected (default
   * 60 s, nginx's `send_timeout`); while it does take them, the keep-alive timeout waits.
   */
  readonly sendTimeoutMs?: number;
  /** A request head must arrive within this long (default 30 s) and fit in `maxHeadBytes`. */
  readonly headersTimeoutMs?: number;
  /** Largest request head accepted (default 16 KiB; 431 beyond). */
  readonly maxHeadBytes?: number;
  /** Idle keep-alive connections kept per upstream origin (default 256). */
  readonly maxIdlePerOrigin?: number;
  /** Idle upstream connections are closed after this long (default 4 s). */
  readonly upstreamIdleMs?: number;
  readonly onError?: (err: unknown, context: string) => void;
}

export interface GatewayLocation {
  /** Regular expression over the normalised request path (case-insensitive). */
  readonly pattern: string;
  /** Appended to the normalised host to form the runtime key, e.g. `.abc`. */
  readonly suffix: string;
}

const NO_STATUS: GatewayTableStatus = { loadedAt: undefined, revision: 0, storeOk: true };
const CRLFCRLF = Buffer.from('\r\n\r\n');
/** One read buffer shared by every plain upstream socket: reads are handled synchronously, and
 * anything kept past the callback is copied out first. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/** The same for client connections (see {@link adoptWithReadBuffer}). */
const CLIENT_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/**
 * Output buffers for answers, cut from 64 KiB slabs by bumping an offset. A slice is never
 * reused (a slab is freed once its last slice is), so a write may complete whenever it likes.
 * Cutting one costs ~60 ns; `Buffer.allocUnsafe` took ~190 ns for the gateway's ~1 KiB answers,
 * mostly rebuilding its 8 KiB pool every few calls. Only short-lived buffers (being written) come
 * from here: a slice kept long pins its whole slab, so 64 KiB bounds that to 8× Node's own pool.
 */
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function outputBuffer(n: number): Buffer {
  if (n > SLAB_BYTES / 8) return Buffer.allocUnsafe(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = Buffer.from(slab, slabUsed, n);
  slabUsed = (slabUsed + n + 7) & ~7;
  return out;
}

/** Methods whose requests (without a body) may be replayed on a new connection. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'PUT', 'TRACE']);

interface Upstream {
  readonly socket: Socket;
  readonly pool: UpstreamPool;
  /** Whether the connection has carried an exchange before (a reused one may have gone stale). */
  reused: boolean;
  owner: ClientConnection | null;
  /** When it went back to the pool (a tick of the proxy's clock). */
  idleSince: number;
}

/** Keep-alive connections to one upstream origin. */
class UpstreamPool {
  readonly #idle: Upstream[] = [];
  readonly #host: string;
  readonly #port: number;
  readonly #secure: boolean;
  readonly #maxIdle: number;
  readonly #idleMs: number;
  readonly #all = new Set<Upstream>();
  readonly #clock: CoarseClock;
  /** Inactivity limit of an exchange on this pool's connections (ms). */
  readonly timeoutMs: number;

  constructor(url: URL, maxIdle: number, idleMs: number, timeoutMs: number, clock: CoarseClock) {
    this.timeoutMs = timeoutMs;
    this.#clock = clock;
    this.#secure = url.protocol === 'https:';
    this.#host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#port = url.port === '' ? (this.#secure ? 443 : 80) : Number(url.port);
    this.#maxIdle = maxIdle;
    this.#idleMs = idleMs;
  }

  /** An idle connection, or a new one (writes before it connects are queued by the socket). */
  take(owner: ClientConnection): Upstream {
    let up = this.#idle.pop();
    if (up !== undefined && this.#clock.expired(up.idleSince, this.#idleMs)) {
      // Everything below it is older still.
      this.discard(up);
      this.sweepIdle();
      up = undefined;
    }
    while (up !== undefined && up.socket.destroyed) up = this.#idle.pop();
    if (up === undefined) up = this.#open();
    up.owner = owner;
    return up;
  }

  /** A new connection (never a reused one). */
  fresh(owner: ClientConnection): Upstream {
    const up = this.#open();
    up.owner = owner;
    return up;
  }

  release(up: Upstream): void {
    up.owner = null;
    up.reused = true;
    if (up.socket.destroyed || this.#idle.length >= this.#maxIdle) {
      this.discard(up);
      return;
    }
    up.idleSince = this.#clock.tick;
    up.socket.resume();
    this.#idle.push(up);
  }

  /** Closes idle connections older than the idle limit (the oldest are first in the stack). */
  sweepIdle(): void {
    let n = 0;
    while (n < this.#idle.length && this.#clock.expired((this.#idle[n] as Upstream).idleSince, this.#idleMs)) n++;
    if (n > 0) for (const up of this.#idle.splice(0, n)) this.discard(up);
  }

  discard(up: Upstream): void {
    up.owner = null;
    up.socket.destroy();
    this.#forget(up);
  }

  #forget(up: Upstream): void {
    this.#all.delete(up);
    const i = this.#idle.indexOf(up);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  #open(): Upstream {
    let up: Upstream;
    const onRead = (n: number, buf: Uint8Array): boolean => {
      const owner = up.owner;
      if (owner === null) {
        // Bytes from an idle upstream connection: it is out of step, drop it.
        this.discard(up);
        return false;
      }
      owner.upstreamData(buf, 0, n);
      return true;
    };
    const socket: Socket = this.#secure
      ? tlsConnect({ host: this.#host, port: this.#port, servername: this.#host })
      : netConnect({ host: this.#host, port: this.#port, noDelay: true, onread: { buffer: READ_BUFFER, callback: onRead } });
    up = { socket, pool: this, reused: false, owner: null, idleSince: 0 };
    // No socket timeout: the exchange's inactivity deadline is the client connection's (see
    // ClientConnection.sweep), and idle pooled sockets are closed by sweepIdle.
    this.#all.add(up);
    if (this.#secure) {
      socket.on('data', (chunk: Buffer) => {
        if (up.owner === null) this.discard(up);
        else up.owner.upstreamData(chunk, 0, chunk.length);
      });
    }
    socket.on('drain', () => up.owner?.upstreamDrain());
    socket.on('end', () => {
      if (up.owner === null) this.discard(up);
      else up.owner.upstreamEnd();
    });
    socket.on('error', (err) => {
      if (up.owner !== null) up.owner.upstreamFailed(up, 'error', err);
    });
    socket.on('close', () => {
      const owner = up.owner;
      this.#forget(up);
      if (owner !== null) owner.upstreamFailed(up, 'closed', new Error('upstream closed the connection'));
    });
    return up;
  }

  close(): void {
    for (const up of [...this.#all]) {
      up.owner = null;
      up.socket.destroy();
    }
    this.#all.clear();
    this.#idle.length = 0;
  }
}

interface Target {
  readonly pool: UpstreamPool;
  /** `Host` for the upstream (the URL's host[:port]). */
  readonly hostHeader: string;
  readonly basePath: string;
  readonly origin: string;
}

interface Route {
  readonly name: string;
  readonly policy: string;
  readonly target: Target;
}

const PHASE_HEAD = 0;
const PHASE_ACTIVE = 1;
const PHASE_TUNNEL = 2;
const PHASE_CLOSED = 3;

/**
 * The accepted connection as a socket that reads into {@link CLIENT_READ_BUFFER} (Node's `onread`),
 * or undefined when that is not possible. `net.Server` has no `onread` option, so the paused
 * socket's handle is moved into a new `net.Socket` that has one: each read then lands in one
 * shared buffer, handed to `callback` synchronously, instead of a fresh 64 KiB allocation per read
 * passed through the stream machinery (~0.8 µs a request, bench/GATEWAY.md). This relies on
 * `socket._handle`, which Node does not document; when it is not what is expected (another
 * runtime, a socket already reading) the accepted socket is used as it is.
 */
function adoptWithReadBuffer(accepted: Socket, callback: (n: number, buf: Uint8Array) => boolean): Socket | undefined {
  const s = accepted as Socket & { _handle?: { reading?: boolean; useUserBuffer?: unknown } | null };
  const handle = s._handle;
  // Only a handle that has never started reading (the listener's `pauseOnConnect`).
  if (handle == null || typeof handle.useUserBuffer !== 'function' || handle.reading !== false || accepted.bytesRead !== 0) {
    return undefined;
  }
  let adopted: Socket;
  try {
    adopted = new Socket({
      handle,
      readable: true,
      writable: true,
      allowHalfOpen: true,
      onread: { buffer: CLIENT_READ_BUFFER, callback },
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    return undefined;
  }
  // The old object lets go of the handle; destroying it only settles the server's count.
  s._handle = null;
  accepted.destroy();
  return adopted;
}

/** Copies `buf[start, end)` into a new Buffer (the source may be the shared read buffer). */
function copyOf(buf: Uint8Array, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  out.set(buf.subarray(start, end));
  return out;
}

/**
 * One client connection on the gateway port: reads request heads, routes each request, forwards
 * it on an upstream keep-alive connection, and relays the answer, one exchange at a time
 * (pipelined requests wait in the buffer, in order).
 */
class ClientConnection {
  readonly #proxy: GatewayProxy;
  readonly socket: Socket;
  readonly peer: string | undefined;
  #phase = PHASE_HEAD;
  /** Bytes read from the client and not consumed yet. */
  #buf: Buffer | null = null;
  /** Whether `#buf` is a view of the shared read buffer (valid only during the read callback). */
  #borrowed = false;
  /** Where the search for the end of the head resumes in `#buf`. */
  #scanFrom = 0;
  // Ticks of the proxy's clock: the last client activity, the start of the head being read, and
  // the last progress of the exchange in flight.
  #active = 0;
  #headTick = 0;
  #upTick = 0;
  /** The client socket's unsent bytes at the last sweep (a change is progress). */
  #pendingSeen = 0;
  #clientEnded = false;
  #keepAlive = true;

  // The exchange in flight (valid in PHASE_ACTIVE).
  #req: RequestHead | undefined;
  #route: Route | undefined;
  #start = 0;
  #up: Upstream | null = null;
  /** The request head as sent upstream, kept while the exchange may be replayed. */
  #replay: string | null = null;
  #reqLeft = 0;
  #reqChunks: ChunkedScanner | null = null;
  #reqDone = true;
  #resHeadBuf: Buffer | null = null;
  #res: ResponseHead | undefined;
  #resFraming: BodyFraming = NO_BODY;
  #resLeft = 0;
  #resChunks: ChunkedScanner | null = null;
  #dechunk = false;
  #resStarted = false;
  /** Any byte of a response seen on this exchange (a retry is no longer possible). */
  #resBytes = false;
  #upstreamPaused = false;
  #clientPaused = false;

  /** `accepted` should be paused (the listener's `pauseOnConnect`); it is resumed here. */
  constructor(proxy: GatewayProxy, accepted: Socket) {
    this.#proxy = proxy;
    const adopted = adoptWithReadBuffer(accepted, this.#onRead);
    const socket = adopted ?? accepted;
    this.socket = socket;
    this.peer = socket.remoteAddress;
    this.#active = proxy.clock.tick;
    socket.setNoDelay(true);
    if (adopted === undefined) socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('drain', this.#onDrain);
    socket.on('error', () => {});
    socket.on('close', this.#onClose);
    socket.resume();
  }

  /**
   * A read into the shared buffer. An idle connection's request is handled straight from it (the
   * usual case: a whole head, nothing else); whatever has to outlive this call is copied.
   */
  readonly #onRead = (n: number, shared: Uint8Array): boolean => {
    this.#active = this.#proxy.clock.tick;
    if (this.#phase === PHASE_HEAD && this.#buf === null) {
      this.#headTick = this.#active;
      this.#buf = Buffer.from(shared.buffer, shared.byteOffset, n);
      this.#borrowed = true;
      this.#nextHeads();
      if (this.#borrowed) {
        this.#borrowed = false;
        if (this.#buf !== null) this.#buf = Buffer.from(this.#buf);
      }
      return true;
    }
    this.#onData(copyOf(shared, 0, n));
    return true;
  };

  /** Bytes from the client, in a Buffer of their own. */
  readonly #onData = (chunk: Buffer): void => {
    this.#active = this.#proxy.clock.tick;
    switch (this.#phase) {
      case PHASE_HEAD:
        if (this.#buf === null) {
          this.#buf = chunk;
          this.#headTick = this.#active;
        } else {
          this.#buf = Buffer.concat([this.#buf, chunk]);
        }
        this.#nextHeads();
        break;
      case PHASE_ACTIVE:
        if (!this.#reqDone) {
          const used = this.#forwardBody(chunk, 0);
          if (used < chunk.length) this.#stash(chunk.subarray(used));
        } else {
          this.#stash(chunk);
        }
        break;
      case PHASE_TUNNEL:
        if (this.#up !== null && !this.#up.socket.write(chunk)) this.#pauseClient();
        break;
      default:
    }
  };

  readonly #onEnd = (): void => {
    this.#clientEnded = true;
    if (this.#phase === PHASE_TUNNEL) this.#up?.socket.end();
    else if (this.#phase === PHASE_HEAD) this.#close();
    // PHASE_ACTIVE: the answer is still written, then the connection ends.
  };

  readonly #onDrain = (): void => {
    // The client reads what it is sent: the exchange is making progress.
    this.#active = this.#upTick = this.#proxy.clock.tick;
    if (this.#upstreamPaused && this.#up !== null) {
      this.#upstreamPaused = false;
      this.#up.socket.resume();
    }
  };

  /**
   * The connection's inactivity deadlines, checked on every tick of the proxy's clock (no timer is
   * set or re-armed per request): an idle keep-alive connection (`keepAliveTimeoutMs` since the
   * last activity, once its answers are sent), a head that does not arrive whole within
   * `headersTimeoutMs`, or a client that takes none of its unsent bytes for `sendTimeoutMs` is
   * destroyed; an exchange in flight gets 504 after its upstream's timeout without progress. A
   * tunnel has no deadline.
   */
  sweep(clock: CoarseClock): void {
    const proxy = this.#proxy;
    // A slow client still taking in an answer is not idle: the keep-alive timeout starts once
    // everything is sent, and until then only a client that takes nothing is cut off.
    const pending = this.socket.writableLength;
    if (pending !== this.#pendingSeen) {
      this.#pendingSeen = pending;
      this.#active = clock.tick;
    }
    const idleMs = pending > 0 ? proxy.sendTimeoutMs : proxy.keepAliveTimeoutMs;
    switch (this.#phase) {
      case PHASE_HEAD:
        if (
          clock.expired(this.#active, idleMs) ||
          (this.#buf !== null && clock.expired(this.#headTick, proxy.headersTimeoutMs))
        ) {
          this.socket.destroy();
        }
        break;
      case PHASE_ACTIVE: {
        const up = this.#up;
        if (up !== null && clock.expired(this.#upTick, up.pool.timeoutMs)) this.upstreamFailed(up, 'timeout', new Error('upstream timed out'));
        break;
      }
      case PHASE_CLOSED:
        if (clock.expired(this.#active, idleMs)) this.socket.destroy();
        break;
      default:
    }
  }

  readonly #onClose = (): void => {
    const up = this.#up;
    this.#phase = PHASE_CLOSED;
    this.#up = null;
    if (up !== null) up.pool.discard(up);
    this.#proxy.forget(this);
  };

  #stash(bytes: Buffer): void {
    this.#buf = this.#buf === null ? bytes : Buffer.concat([this.#buf, bytes]);
    // Pipelined requests wait; do not let a client queue without bound.
    if (this.#buf.length > this.#proxy.maxHeadBytes) this.#pauseClient();
  }

  #pauseClient(): void {
    if (!this.#clientPaused) {
      this.#clientPaused = true;
      this.socket.pause();
    }
  }

  #resumeClient(): void {
    if (this.#clientPaused) {
      this.#clientPaused = false;
      this.socket.resume();
    }
  }

  /** Parses and starts as many buffered requests as the state allows (one at a time). */
  #nextHeads(): void {
    const max = this.#proxy.maxHeadBytes;
    while (this.#phase === PHASE_HEAD && this.#buf !== null) {
      const buf = this.#buf;
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      let s = 0;
      while (s + 1 < buf.length && buf[s] === 13 && buf[s + 1] === 10) s += 2;
      const end = buf.indexOf(CRLFCRLF, Math.max(s, this.#scanFrom));
      if (end < 0) {
        // (Leading empty lines count too: a stream of CRLFs is not a way around the limit.)
        if (buf.length > max) {
          this.#reject({ status: 431, reason: `the request head is larger than ${max} bytes` });
        } else {
          // (The headers timeout is enforced by sweep.)
          this.#scanFrom = Math.max(s, buf.length - 3);
        }
        return;
      }
      if (end > max) {
        this.#reject({ status: 431, reason: `the request head is larger than ${max} bytes` });
        return;
      }
      this.#scanFrom = 0;
      const head = parseRequestHead(buf.toString('latin1', s, end));
      if ('status' in head) {
        this.#reject(head);
        return;
      }
      if (this.#proxy.isLocal(head, this.peer)) {
        this.#handoff(s === 0 ? buf : buf.subarray(s));
        return;
      }
      const rest = end + 4;
      this.#buf = rest < buf.length ? buf.subarray(rest) : null;
      this.#begin(head);
    }
    if (this.#phase === PHASE_HEAD && this.#buf === null) this.#resumeClient();
  }

  /** Gives the connection (and what was read of it) to the local HTTP server. */
  #handoff(bytes: Buffer): void {
    this.#phase = PHASE_CLOSED;
    this.#buf = null;
    const s = this.socket;
    s.removeListener('data', this.#onData);
    s.removeListener('end', this.#onEnd);
    s.removeListener('drain', this.#onDrain);
    s.removeListener('close', this.#onClose);
    s.removeAllListeners('error');
    this.#proxy.forget(this);
    s.pause();
    s.unshift(this.#borrowed ? Buffer.from(bytes) : bytes);
    this.#borrowed = false;
    this.#proxy.handoff(s);
  }

  /** Answers a request the gateway cannot parse, and closes the connection. */
  #reject(e: Http1Error): void {
    this.#buf = null;
    this.#phase = PHASE_ACTIVE;
    this.#keepAlive = false;
    this.#start = performance.now();
    this.#route = undefined;
    const make =
      e.status === 431 ? GatewayHeadTooLarge : e.status === 501 ? GatewayNotImplemented : e.status === 505 ? GatewayHttpVersion : GatewayBadRequest;
    this.#writeProblem(make({ reason: e.reason }));
  }

  #begin(req: RequestHead): void {
    this.#phase = PHASE_ACTIVE;
    this.#req = req;
    this.#start = performance.now();
    this.#keepAlive = req.keepAlive && !this.#proxy.closing;
    const route = this.#proxy.route(req, this.peer);
    this.#route = route;
    this.#reqDone = req.framing.kind === 'none';
    this.#reqLeft = req.framing.kind === 'length' ? req.framing.length : 0;
    this.#reqChunks = req.framing.kind === 'chunked' ? new ChunkedScanner() : null;
    this.#resHeadBuf = null;
    this.#res = undefined;
    this.#resStarted = false;
    this.#resBytes = false;
    this.#dechunk = false;
    if (route === undefined) {
      // Nothing to forward to: answer, and close if a body would have to be drained first.
      if (!this.#reqDone) this.#keepAlive = false;
      this.#writeProblem(GatewayNoUpstream());
      return;
    }
    // Written as a latin1 string: Node encodes it straight into the write, no Buffer in between.
    const head = this.#proxy.upstreamHead(req, route.target, this.peer);
    this.#replay = this.#reqDone && req.upgrade === undefined && IDEMPOTENT.has(req.method) ? head : null;
    const up = route.target.pool.take(this);
    this.#up = up;
    this.#upTick = this.#proxy.clock.tick;
    if (!this.#reqDone && this.#buf !== null) {
      const buf = this.#buf;
      this.#buf = null;
      const used = this.#bodyBytes(buf, 0);
      if (used < 0) return;
      if (used < buf.length) this.#buf = buf.subarray(used);
      // Head and the body bytes already read leave in one writev (copied out of a shared buffer:
      // the write may complete later).
      const body = used === buf.length ? buf : buf.subarray(0, used);
      up.socket.cork();
      up.socket.write(head, 'latin1');
      const ok = up.socket.write(this.#borrowed ? Buffer.from(body) : body);
      up.socket.uncork();
      if (!ok) this.#pauseClient();
      return;
    }
    if (!up.socket.write(head, 'latin1')) this.#pauseClient();
  }

  /**
   * How many bytes of `chunk` (from `from`) belong to the request body, updating the body state;
   * -1 when the body is malformed (the exchange is then answered with 400 and ends).
   */
  #bodyBytes(chunk: Buffer, from: number): number {
    if (this.#reqChunks !== null) {
      const r = this.#reqChunks.scan(chunk, from, chunk.length);
      if (r === -2) {
        this.#badBody(this.#reqChunks.error ?? 'malformed chunked body');
        return -1;
      }
      if (r === -1) return chunk.length - from;
      this.#reqDone = true;
      return r - from;
    }
    const take = Math.min(this.#reqLeft, chunk.length - from);
    this.#reqLeft -= take;
    if (this.#reqLeft === 0) this.#reqDone = true;
    return take;
  }

  /** Forwards request-body bytes of `chunk` from `from`; returns how many were consumed. */
  #forwardBody(chunk: Buffer, from: number): number {
    const used = this.#bodyBytes(chunk, from);
    if (used < 0) return chunk.length;
    const up = this.#up;
    if (up !== null && used > 0) {
      this.#upTick = this.#proxy.clock.tick;
      const part = from === 0 && used === chunk.length ? chunk : chunk.subarray(from, from + used);
      if (!up.socket.write(part)) this.#pauseClient();
    }
    return used;
  }

  #badBody(reason: string): void {
    const up = this.#up;
    this.#up = null;
    if (up !== null) up.pool.discard(up);
    this.#keepAlive = false;
    if (this.#resStarted) {
      this.socket.destroy();
      return;
    }
    this.#writeProblem(GatewayBadRequest({ reason }), this.#route?.name);
  }

  upstreamDrain(): void {
    if (this.#phase === PHASE_ACTIVE || this.#phase === PHASE_TUNNEL) this.#resumeClient();
  }

  /** Bytes from the upstream of this exchange (`buf` may be the shared read buffer). */
  upstreamData(buf: Uint8Array, start: number, end: number): void {
    if (this.#phase === PHASE_TUNNEL) {
      if (!this.socket.write(copyOf(buf, start, end))) this.#pauseUpstream();
      return;
    }
    if (this.#phase !== PHASE_ACTIVE) return;
    this.#resBytes = true;
    this.#upTick = this.#proxy.clock.tick;
    let s = start;
    while (s < end && this.#phase === PHASE_ACTIVE) {
      if (this.#res === undefined) {
        const r = this.#responseHead(buf, s, end);
        if (r < 0) return;
        s = r;
        continue;
      }
      s = this.#responseBody(buf, s, end);
    }
  }

  /**
   * Collects and handles the response head; returns where the body starts in `buf`, or -1 when
   * more bytes are needed or the exchange ended.
   */
  #responseHead(buf: Uint8Array, start: number, end: number): number {
    // (Bytes past `end` in a shared read buffer are stale: every search below is bounded by it.)
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, end);
    let head: string;
    let rest: number;
    if (this.#resHeadBuf === null) {
      const e = b.indexOf(CRLFCRLF, start);
      if (e < 0 || e + 4 > end) {
        this.#resHeadBuf = copyOf(buf, start, end);
        return this.#checkHeadSize();
      }
      const req = this.#req as RequestHead;
      if (req.minor === 1 && req.method !== 'HEAD' && req.upgrade === undefined) {
        const plain = scanPlainResponse(b, start, e);
        if (plain !== undefined) return this.#plainResponse(plain, b, start, e, end);
      }
      head = b.toString('latin1', start, e);
      rest = e + 4;
    } else {
      const prev = this.#resHeadBuf;
      const joined = Buffer.concat([prev, b.subarray(start, end)]);
      const e = joined.indexOf(CRLFCRLF, Math.max(0, prev.length - 3));
      if (e < 0) {
        this.#resHeadBuf = joined;
        return this.#checkHeadSize();
      }
      this.#resHeadBuf = null;
      head = joined.toString('latin1', 0, e);
      // Continue from the bytes of this read that follow the head.
      rest = start + (e + 4 - prev.length);
    }
    this.#resHeadBuf = null;
    const res = parseResponseHead(head);
    const route = this.#route as Route;
    const req = this.#req as RequestHead;
    if ('reason' in res && !('names' in res)) {
      this.#upstreamBroken(new Error(res.reason));
      return -1;
    }
    const r = res as ResponseHead;
    if (r.status < 200) {
      if (r.status === 101) {
        if (req.upgrade === undefined) {
          this.#upstreamBroken(new Error('upstream switched protocols unasked'));
          return -1;
        }
        this.#tunnel(r, b, rest, end);
        return -1;
      }
      // Interim answers (100 Continue, 103 Early Hints) go to HTTP/1.1 clients as they are.
      if (req.minor === 1) this.socket.write(this.#clientHead(r, false, undefined), 'latin1');
      return rest;
    }
    this.#res = r;
    const framing = responseFraming(req.method, r);
    this.#resFraming = framing;
    this.#dechunk = framing.kind === 'chunked' && req.minor === 0;
    if (framing.kind === 'close' || this.#dechunk) this.#keepAlive = false;
    if (framing.kind === 'length') this.#resLeft = framing.length;
    this.#resChunks = framing.kind === 'chunked' ? new ChunkedScanner() : null;
    const text = this.#clientHead(r, true, route.name);
    this.#resStarted = true;
    if (framing.kind === 'none') {
      this.socket.write(text, 'latin1');
      this.#complete(rest < end);
      return -1;
    }
    // De-chunking writes the head alone; the data ranges follow through #responseBody.
    if (this.#dechunk) {
      this.socket.write(text, 'latin1');
      return rest;
    }
    // Otherwise the head and the body bytes of this read leave in one write.
    let bodyEnd = end;
    let completed = false;
    if (framing.kind === 'length') {
      bodyEnd = rest + Math.min(this.#resLeft, end - rest);
      this.#resLeft -= bodyEnd - rest;
      completed = this.#resLeft === 0;
    } else if (framing.kind === 'chunked') {
      const scanner = this.#resChunks as ChunkedScanner;
      const r2 = scanner.scan(buf, rest, end);
      if (r2 === -2) {
        this.socket.write(text, 'latin1');
        this.#upstreamBroken(new Error(`upstream: ${scanner.error ?? 'malformed chunked body'}`));
        return -1;
      }
      if (r2 >= 0) bodyEnd = r2;
      completed = r2 >= 0;
    }
    const hl = Buffer.byteLength(text, 'latin1');
    const out = outputBuffer(hl + bodyEnd - rest);
    out.write(text, 0, 'latin1');
    out.set(buf.subarray(rest, bodyEnd), hl);
    if (!this.socket.write(out)) this.#pauseUpstream();
    if (completed) {
      this.#complete(bodyEnd < end);
      return -1;
    }
    return end;
  }

  /**
   * The fast path of {@link scanPlainResponse}: the head's bytes are copied as they came, minus
   * the hop-by-hop lines, plus `x-halftone-upstream` (and `connection: close` when the client
   * connection ends), followed by the body bytes of this read — one buffer, one write.
   */
  #plainResponse(plain: PlainResponse, b: Buffer, start: number, e: number, end: number): number {
    const route = this.#route as Route;
    this.#res = { status: plain.status, keepAlive: plain.keepAlive } as ResponseHead;
    const length = plain.contentLength;
    this.#resFraming = length === 0 ? NO_BODY : { kind: 'length', length };
    this.#resLeft = length;
    this.#resChunks = null;
    this.#resStarted = true;
    const extra = this.#proxy.headEnding(route.name, this.#keepAlive);
    const headEnd = e + 2; // through the last field line's CRLF
    const rest = e + 4;
    const bodyEnd = rest + Math.min(length, end - rest);
    const drop = plain.drop;
    let headBytes = headEnd - start;
    for (let k = 0; k < drop.length; k += 2) headBytes -= (drop[k + 1] as number) - (drop[k] as number);
    const out = outputBuffer(headBytes + extra.length + (bodyEnd - rest));
    let w = 0;
    let from = start;
    for (let k = 0; k < drop.length; k += 2) {
      w += b.copy(out, w, from, drop[k] as number);
      from = drop[k + 1] as number;
    }
    w += b.copy(out, w, from, headEnd);
    out.set(extra, w);
    w += extra.length;
    if (bodyEnd > rest) b.copy(out, w, rest, bodyEnd);
    if (!this.socket.write(out)) this.#pauseUpstream();
    this.#resLeft -= bodyEnd - rest;
    if (this.#resLeft === 0) {
      this.#complete(bodyEnd < end);
      return -1;
    }
    return end;
  }

  #checkHeadSize(): number {
    if ((this.#resHeadBuf?.length ?? 0) > 64 * 1024) this.#upstreamBroken(new Error('upstream response head is too large'));
    return -1;
  }

  /** Relays response-body bytes; returns where the next unread byte is (or `end`). */
  #responseBody(buf: Uint8Array, start: number, end: number): number {
    const framing = this.#resFraming;
    if (framing.kind === 'length') {
      const take = Math.min(this.#resLeft, end - start);
      if (!this.socket.write(copyOf(buf, start, start + take))) this.#pauseUpstream();
      this.#resLeft -= take;
      if (this.#resLeft === 0) this.#complete(start + take < end);
      return end;
    }
    if (framing.kind === 'close') {
      if (!this.socket.write(copyOf(buf, start, end))) this.#pauseUpstream();
      return end;
    }
    const scanner = this.#resChunks as ChunkedScanner;
    let r: number;
    if (this.#dechunk) {
      r = scanner.scan(buf, start, end, (from, to) => {
        if (!this.socket.write(copyOf(buf, from, to))) this.#pauseUpstream();
      });
    } else {
      r = scanner.scan(buf, start, end);
      const stop = r >= 0 ? r : end;
      if (stop > start && !this.socket.write(copyOf(buf, start, stop))) this.#pauseUpstream();
    }
    if (r === -2) {
      this.#upstreamBroken(new Error(`upstream: ${scanner.error ?? 'malformed chunked body'}`));
      return end;
    }
    if (r >= 0) this.#complete(r < end);
    return end;
  }

  #pauseUpstream(): void {
    if (!this.#upstreamPaused && this.#up !== null) {
      this.#upstreamPaused = true;
      this.#up.socket.pause();
    }
  }

  /** The head the client gets for an upstream answer. */
  #clientHead(r: ResponseHead, final: boolean, upstream: string | undefined): string {
    let out = `HTTP/1.1 ${r.status} ${r.reason}\r\n`;
    const { names, lines } = r;
    const listed = r.connectionListed;
    for (let i = 0; i < names.length; i++) {
      const n = names[i] as string;
      if (DROP_RESPONSE.has(n) || (listed !== undefined && listed.includes(n))) continue;
      out += `${lines[i]}\r\n`;
    }
    if (upstream !== undefined) out += `x-halftone-upstream: ${upstream}\r\n`;
    if (final) {
      if (this.#resFraming.kind === 'chunked' && !this.#dechunk) out += 'transfer-encoding: chunked\r\n';
      if (!this.#keepAlive) out += 'connection: close\r\n';
      else if ((this.#req as RequestHead).minor === 0) out += 'connection: keep-alive\r\n';
    }
    return `${out}\r\n`;
  }

  /** Switches to a two-way byte tunnel after `101 Switching Protocols`. */
  #tunnel(r: ResponseHead, buf: Buffer, rest: number, end: number): void {
    const route = this.#route as Route;
    let out = `HTTP/1.1 101 ${r.reason}\r\n`;
    for (let i = 0; i < r.names.length; i++) {
      const n = r.names[i] as string;
      if (n === 'connection' || n === 'keep-alive' || n === 'x-halftone-upstream') continue;
      out += `${r.lines[i]}\r\n`;
    }
    out += `connection: upgrade\r\nx-halftone-upstream: ${route.name}\r\n\r\n`;
    this.#phase = PHASE_TUNNEL;
    this.#replay = null;
    this.socket.write(out, 'latin1');
    if (rest < end) this.socket.write(copyOf(buf, rest, end));
    this.#proxy.observe(route, 101, this.#start);
    const pending = this.#buf;
    this.#buf = null;
    if (pending !== null) this.#up?.socket.write(pending);
    this.#resumeClient();
    if (this.#clientEnded) this.#up?.socket.end();
  }

  /** The upstream ended its side (close-delimited bodies end here; tunnels end the client). */
  upstreamEnd(): void {
    if (this.#phase === PHASE_TUNNEL) {
      this.socket.end();
      return;
    }
    if (this.#phase === PHASE_ACTIVE && this.#res !== undefined && this.#resFraming.kind === 'close') {
      this.#complete(true);
    }
    // Otherwise 'close' follows and reports the failure.
  }

  upstreamFailed(up: Upstream, kind: 'timeout' | 'error' | 'closed', err: Error): void {
    if (up !== this.#up) return;
    if (this.#phase === PHASE_TUNNEL) {
      this.#up = null;
      up.pool.discard(up);
      this.socket.destroy();
      return;
    }
    if (this.#phase !== PHASE_ACTIVE) return;
    this.#up = null;
    up.pool.discard(up);
    const route = this.#route as Route;
    // A kept-alive connection the upstream closed as we reused it: replay once on a new one.
    if (kind !== 'timeout' && up.reused && !this.#resBytes && this.#replay !== null) {
      const head = this.#replay;
      this.#replay = null;
      const fresh = route.target.pool.fresh(this);
      this.#up = fresh;
      this.#upTick = this.#proxy.clock.tick;
      fresh.socket.write(head, 'latin1');
      return;
    }
    if (this.#resStarted) {
      // The status is gone: cut the connection so the client sees a broken body.
      this.#proxy.observe(route, (this.#res as ResponseHead).status, this.#start);
      this.#proxy.reportError(err, `gateway upstream ${route.name}`);
      this.#phase = PHASE_CLOSED;
      this.socket.destroy();
      return;
    }
    if (!this.#reqDone) this.#keepAlive = false;
    const cause = { cause: err, detail: `${route.target.origin}: ${err.message}` };
    if (kind === 'timeout') {
      this.#proxy.countError(route.name, 'timeout');
      this.#writeProblem(GatewayUpstreamTimeout({ name: route.name }, cause), route.name);
    } else {
      this.#proxy.countError(route.name, 'unreachable');
      this.#writeProblem(GatewayUpstreamUnreachable({ name: route.name }, cause), route.name);
    }
  }

  /** The upstream sent something unusable. */
  #upstreamBroken(err: Error): void {
    const up = this.#up;
    if (up !== null) {
      this.#up = null;
      up.pool.discard(up);
    }
    const route = this.#route as Route;
    if (this.#resStarted) {
      this.#proxy.reportError(err, `gateway upstream ${route.name}`);
      this.#phase = PHASE_CLOSED;
      this.socket.destroy();
      return;
    }
    if (!this.#reqDone) this.#keepAlive = false;
    this.#proxy.countError(route.name, 'unreachable');
    this.#writeProblem(GatewayUpstreamUnreachable({ name: route.name }, { cause: err, detail: `${route.target.origin}: ${err.message}` }), route.name);
  }

  /** The response is complete: count it, recycle the upstream connection, go on. */
  #complete(extraBytes: boolean): void {
    const route = this.#route as Route;
    const up = this.#up;
    this.#up = null;
    this.#upstreamPaused = false;
    if (up !== null) {
      up.socket.resume();
      if (!extraBytes && this.#reqDone && (this.#res as ResponseHead).keepAlive && this.#resFraming.kind !== 'close') {
        up.pool.release(up);
      } else {
        up.pool.discard(up);
      }
    }
    this.#proxy.observe(route, (this.#res as ResponseHead).status, this.#start);
    this.#finish();
  }

  /** Writes a problem+json answer for the exchange in flight and finishes it. */
  #writeProblem(err: HalftoneError, upstream?: string): void {
    const up = this.#up;
    if (up !== null) {
      this.#up = null;
      up.pool.discard(up);
    }
    const body = JSON.stringify(toProblemDetails(err, newId('req')));
    const close = !this.#keepAlive || !this.#reqDone;
    if (close) this.#keepAlive = false;
    let head =
      `HTTP/1.1 ${err.status} ${REASONS[err.status] ?? 'Error'}\r\n` +
      `content-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
    if (upstream !== undefined) head += `x-halftone-upstream: ${upstream}\r\n`;
    if (close) head += 'connection: close\r\n';
    this.socket.write(`${head}\r\n${body}`);
    this.#proxy.observeProblem(this.#route, err.status, this.#start);
    this.#finish();
  }

  /** Ends the exchange: closes the connection or goes on with the next buffered request. */
  #finish(): void {
    this.#req = undefined;
    this.#res = undefined;
    this.#route = undefined;
    this.#replay = null;
    this.#reqChunks = null;
    this.#resChunks = null;
    if (!this.#reqDone || !this.#keepAlive || this.#clientEnded || this.#proxy.closing) {
      this.#close();
      return;
    }
    this.#phase = PHASE_HEAD;
    this.#active = this.#headTick = this.#proxy.clock.tick;
    if (this.#buf !== null) this.#nextHeads();
    else this.#resumeClient();
  }

  #close(): void {
    this.#phase = PHASE_CLOSED;
    this.#buf = null;
    this.socket.end();
    // A client that never reads its answer does not hold the connection for ever: the idle
    // timeout destroys it (see #onTimeout).
  }

  /** Closes the connection when it is idle (graceful shutdown). */
  closeIfIdle(): void {
    if (this.#phase === PHASE_HEAD && this.#buf === null) this.#close();
    // A tunnel has no request boundary to wait for.
    else if (this.#phase === PHASE_TUNNEL) this.socket.destroy();
  }
}

/**
 * The gray gateway's HTTP/1.1 proxy engine. It speaks HTTP itself on raw sockets — a strict
 * head parser (./http1.ts), bytes forwarded without re-encoding, one write per answer where the
 * upstream's answer arrives in one read, keep-alive upstream pools with a shared read buffer —
 * because Node's `http` server plus a client library costs about twice as much per request
 * (measured: bench/GATEWAY.md). For each request: host (+ location) → policy binding → compiled
 * policy group → upstream (or the default upstream); problem+json answers when no upstream can
 * answer; WebSocket and other upgrades become byte tunnels after `101`.
 */
export class GatewayProxy {
  readonly #opts: GatewayProxyOptions;
  readonly #pools = new Map<string, UpstreamPool>();
  readonly #cursor = new Map<string, number>();
  readonly #targets = new Map<string, Target>();
  readonly #trusted: (peer: string | undefined) => boolean;
  readonly #locations: readonly { readonly re: RegExp; readonly suffix: string }[];
  readonly #clients = new Set<ClientConnection>();
  /** Per upstream name: the bytes that end a fast-path answer's head (kept alive, closing). */
  readonly #headEndings = new Map<string, readonly [Buffer, Buffer]>();
  #handoff: ((socket: Socket) => void) | undefined;
  #isLocal: ((method: string, path: string, peer: string | undefined) => boolean) | undefined;
  /** Request counters, latency histogram, upstream errors and policy-table gauges. */
  readonly metrics: GatewayMetrics;
  readonly timeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly maxHeadBytes: number;
  /** @internal The clock of every inactivity deadline (see ClientConnection.sweep). */
  readonly clock: CoarseClock;
  closing = false;

  constructor(opts: GatewayProxyOptions) {
    this.#opts = opts;
    const gateway = opts.gateway;
    this.metrics = opts.metrics ?? new GatewayMetrics({ get status() { return gateway.status ?? NO_STATUS; } });
    this.metrics.prebind([NO_LABEL, ...gateway.table.upstreams.keys()]);
    this.#locations = (opts.locations ?? []).map((l) => ({ re: new RegExp(l.pattern, 'i'), suffix: l.suffix }));
    this.#trusted = opts.trusted ?? trustedPeerMatcher(opts.trustedProxies ?? []);
    this.timeoutMs = opts.timeoutMs;
    this.keepAliveTimeoutMs = opts.keepAliveTimeoutMs ?? 5_000;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 60_000;
    this.headersTimeoutMs = opts.headersTimeoutMs ?? 30_000;
    this.maxHeadBytes = opts.maxHeadBytes ?? 16 * 1024;
    const shortest = Math.min(this.timeoutMs, this.keepAliveTimeoutMs, this.headersTimeoutMs, opts.upstreamIdleMs ?? 4_000);
    this.clock = new CoarseClock(shortest, this.#sweep);
  }

  /** Checks every connection's deadlines (one tick of the clock). */
  readonly #sweep = (): void => {
    for (const c of this.#clients) c.sweep(this.clock);
    for (const p of this.#pools.values()) p.sweepIdle();
  };

  /**
   * Where requests that are not proxied go: `isLocal(method, path, peer)` picks them (e.g.
   * `/healthz` for loopback peers) and `handoff(socket)` receives the connection, with the bytes
   * read so far pushed back into it (a `node:http` server's `emit('connection', socket)`).
   */
  setLocal(isLocal: (method: string, path: string, peer: string | undefined) => boolean, handoff: (socket: Socket) => void): void {
    this.#isLocal = isLocal;
    this.#handoff = handoff;
  }

  /** Takes a new client connection (the gateway listener's `connection` handler). */
  readonly accept = (socket: Socket): void => {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.clock.start();
    this.#clients.add(new ClientConnection(this, socket));
  };

  /** @internal */
  forget(c: ClientConnection): void {
    this.#clients.delete(c);
  }

  /** @internal */
  handoff(socket: Socket): void {
    if (this.#handoff === undefined) socket.destroy();
    else this.#handoff(socket);
  }

  /** @internal Whether a request is answered by the local server rather than proxied. */
  isLocal(head: RequestHead, peer: string | undefined): boolean {
    if (this.#isLocal === undefined) return false;
    return this.#isLocal(head.method, head.target, peer);
  }

  /**
   * The key of the host binding that diverts a request: the normalised `Host`, plus the suffix of
   * the first configured location whose pattern matches the normalised path (e.g.
   * `api.weibo.cn.abc`); undefined when the path cannot be normalised.
   */
  runtimeKey(host: string | undefined, target: string): string | undefined {
    const h = normaliseHost(host ?? '');
    if (this.#locations.length === 0) return h;
    const path = normaliseUriPath(target);
    if (path === undefined) return undefined;
    for (const l of this.#locations) if (l.re.test(path)) return h + l.suffix;
    return h;
  }

  /** The upstream of a request and the policy that chose it, or undefined when none. */
  choose(req: RequestHead, peer: string | undefined): { readonly name: string; readonly policy: string } | undefined {
    return this.route(req, peer);
  }

  /**
   * @internal The route of a request — binding → policy group → default upstream — with the
   * target it goes to, or undefined when there is no upstream.
   */
  route(req: RequestHead, peer: string | undefined): Route | undefined {
    const table = this.#opts.gateway.table;
    const key = this.runtimeKey(req.host, req.target);
    const binding = key === undefined ? undefined : table.hosts.get(key);
    let name: string | undefined;
    if (binding !== undefined) name = binding.matcher(new RequestFeatures(req, peer, this.#trusted))?.upstream;
    let urls = name === undefined ? undefined : table.upstreams.get(name);
    let policy = binding === undefined ? NO_LABEL : binding.policyId;
    if (urls === undefined || urls.length === 0) {
      // No match, or a policy naming an unknown upstream: fail open to the default.
      name = table.defaultUpstream;
      urls = name === undefined ? undefined : table.upstreams.get(name);
      policy = NO_LABEL;
    }
    if (name === undefined || urls === undefined || urls.length === 0) return undefined;
    const timeout = table.timeouts?.get(name) ?? this.timeoutMs;
    return { name, policy, target: this.#pick(name, urls, timeout) };
  }

  /**
   * @internal The bytes that end the head of an answer from upstream `name`: its
   * `x-halftone-upstream` field, `connection: close` when the client connection ends, the blank line.
   */
  headEnding(name: string, keepAlive: boolean): Buffer {
    let pair = this.#headEndings.get(name);
    if (pair === undefined) {
      if (this.#headEndings.size >= 1024) this.#headEndings.clear();
      pair = [
        Buffer.from(`x-halftone-upstream: ${name}\r\n\r\n`, 'latin1'),
        Buffer.from(`x-halftone-upstream: ${name}\r\nconnection: close\r\n\r\n`, 'latin1'),
      ];
      this.#headEndings.set(name, pair);
    }
    return keepAlive ? pair[0] : pair[1];
  }

  /** @internal The request head sent upstream. */
  upstreamHead(req: RequestHead, target: Target, peer: string | undefined): string {
    let out = `${req.method} ${target.basePath}${req.target} HTTP/1.1\r\nhost: ${target.hostHeader}\r\n`;
    const { names, lines } = req;
    const listed = req.connectionListed;
    for (let i = 0; i < names.length; i++) {
      const n = names[i] as string;
      if (DROP_REQUEST.has(n) || (listed !== undefined && listed.includes(n))) continue;
      out += `${lines[i]}\r\n`;
    }
    const trusted = this.#trusted(peer);
    const prior = field(req, 'x-forwarded-for');
    const ip = peer === undefined ? undefined : stripMapped(peer);
    if (ip !== undefined) out += `x-forwarded-for: ${prior === undefined ? ip : `${prior}, ${ip}`}\r\n`;
    else if (prior !== undefined) out += `x-forwarded-for: ${prior}\r\n`;
    const proto = trusted ? field(req, 'x-forwarded-proto') : undefined;
    out += `x-forwarded-proto: ${proto ?? 'http'}\r\n`;
    const fwdHost = (trusted ? field(req, 'x-forwarded-host') : undefined) ?? req.host;
    if (fwdHost !== undefined) out += `x-forwarded-host: ${fwdHost}\r\n`;
    if (req.framing.kind === 'chunked') out += 'transfer-encoding: chunked\r\n';
    if (req.upgrade !== undefined) out += `connection: upgrade\r\nupgrade: ${req.upgrade}\r\n`;
    return `${out}\r\n`;
  }

  /** @internal */
  observe(route: Route, status: number, start: number): void {
    this.metrics.observe(this.metrics.upstream(route.name), route.name, route.policy, status, start);
  }

  /** @internal Counts an answer the gateway wrote itself. */
  observeProblem(route: Route | undefined, status: number, start: number): void {
    if (route === undefined) {
      const m = this.metrics.upstream(NO_LABEL);
      if (status === 502) m.errors.no_upstream.inc();
      this.metrics.observe(m, NO_LABEL, NO_LABEL, status, start);
      return;
    }
    this.metrics.observe(this.metrics.upstream(route.name), route.name, route.policy, status, start);
  }

  /** @internal */
  countError(upstream: string, kind: 'timeout' | 'unreachable'): void {
    this.metrics.upstream(upstream).errors[kind].inc();
  }

  /** @internal */
  reportError(err: unknown, context: string): void {
    this.#opts.onError?.(err, context);
  }

  /** The `/healthz` body: table provenance, store health, known upstreams. */
  health(): { ok: boolean; policies: Record<string, unknown>; upstreams: string[] } {
    const s = this.#opts.gateway.status ?? NO_STATUS;
    const policies: Record<string, unknown> = { loadedAt: s.loadedAt ?? null, revision: s.revision, storeOk: s.storeOk };
    if (s.lastError !== undefined) policies.lastError = s.lastError;
    if (s.lastErrorAt !== undefined) policies.lastErrorAt = s.lastErrorAt;
    return { ok: true, policies, upstreams: [...this.#opts.gateway.table.upstreams.keys()] };
  }

  /** Whether `/healthz` or `/metrics` answers this request locally (loopback GET/HEAD). */
  static isHealthPath(method: string, path: string, peer: string | undefined): boolean {
    return (path === '/healthz' || path === '/metrics') && (method === 'GET' || method === 'HEAD') && isLoopback(peer);
  }

  /** Answers `/healthz` and `/metrics` (for the local `node:http` server of the listener). */
  answerLocal(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url;
    req.resume();
    if (url === '/healthz') {
      const body = JSON.stringify(this.health());
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
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
  }

  /** The pool of an origin and timeout (the timeout is set once per socket, never per request). */
  #pool(url: URL, timeoutMs: number): UpstreamPool {
    const key = `${url.origin} ${timeoutMs}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new UpstreamPool(url, this.#opts.maxIdlePerOrigin ?? 256, this.#opts.upstreamIdleMs ?? 4_000, timeoutMs, this.clock);
      this.clock.resolve(timeoutMs);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #pick(name: string, urls: readonly string[], timeoutMs: number): Target {
    let raw: string;
    if (urls.length === 1) raw = urls[0] as string;
    else {
      const i = this.#cursor.get(name) ?? 0;
      this.#cursor.set(name, (i + 1) % 1_000_000_007);
      raw = urls[i % urls.length] as string;
    }
    const key = timeoutMs === this.timeoutMs ? raw : `${raw} ${timeoutMs}`;
    let target = this.#targets.get(key);
    if (target === undefined) {
      const url = new URL(raw);
      target = {
        pool: this.#pool(url, timeoutMs),
        hostHeader: url.host,
        basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
        origin: url.origin,
      };
      if (this.#targets.size >= 1024) this.#targets.clear();
      this.#targets.set(key, target);
    }
    return target;
  }

  /** Stops taking requests: idle client connections close now, busy ones after their answer. */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of [...this.#clients]) c.closeIfIdle();
    const deadline = Date.now() + 2_000;
    while (this.#clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of [...this.#clients]) c.socket.destroy();
    this.#clients.clear();
    for (const p of this.#pools.values()) p.close();
    this.#pools.clear();
    this.#targets.clear();
    this.clock.stop();
  }
}
