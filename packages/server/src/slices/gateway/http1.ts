/**
 * A strict HTTP/1.1 message-head parser and chunked-body scanner for the gateway's proxy engine
 * (RFC 9112). The gateway forwards bytes, so this module never builds bodies: it finds where a
 * head ends, reads the fields the proxy needs, and decides how the body is framed.
 *
 * Strictness is the point. Everything a request-smuggling attack relies on is refused rather than
 * guessed at: obs-fold, bare CR or LF, control characters, a field name that is not a token,
 * whitespace before the colon, both Content-Length and Transfer-Encoding, differing or malformed
 * Content-Lengths, a Transfer-Encoding other than `chunked`, chunk sizes with signs, spaces or
 * more than 12 hex digits.
 */

/** Why a head or a body was refused, with the status the client gets. */
export interface Http1Error {
  readonly status: 400 | 431 | 501 | 505 | 502;
  readonly reason: string;
}

/** How a message body is delimited. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export const NO_BODY: BodyFraming = Object.freeze({ kind: 'none' });
const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' });
const UNTIL_CLOSE: BodyFraming = Object.freeze({ kind: 'close' });

/** The fields of a head, as parallel arrays (names lower-cased; lines verbatim for forwarding). */
export interface HeadFields {
  /** Lower-cased field names. */
  readonly names: string[];
  /** Field values without surrounding whitespace. */
  readonly values: string[];
  /** The field lines exactly as received (for forwarding without rebuilding them). */
  readonly lines: string[];
}

export interface RequestHead extends HeadFields {
  readonly method: string;
  /** The request-target as received (origin-form, or `*` for OPTIONS). */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: 0 | 1;
  readonly framing: BodyFraming;
  /** Whether the connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** The `Upgrade` value when the request asks for a protocol upgrade (`Connection: upgrade`). */
  readonly upgrade: string | undefined;
  /** The `Host` value (undefined for an HTTP/1.0 request without one). */
  readonly host: string | undefined;
  /** Lower-cased field names listed in `Connection` (besides close/keep-alive/upgrade). */
  readonly connectionListed: readonly string[] | undefined;
}

export interface ResponseHead extends HeadFields {
  readonly status: number;
  /** The reason phrase as received (may be empty). */
  readonly reason: string;
  readonly minor: 0 | 1;
  /** Whether the upstream connection may be reused after this response. */
  readonly keepAlive: boolean;
  readonly connectionListed: readonly string[] | undefined;
  /** Content-Length when present and valid. */
  readonly contentLength: number | undefined;
  /** Whether Transfer-Encoding is present (its final coding decides chunked vs close). */
  readonly chunked: boolean;
  /** Transfer-Encoding present but not ending in `chunked` (body runs until close). */
  readonly otherCoding: boolean;
}

/** Whether `s` is one or more `tchar` (RFC 9110 §5.6.2). (Loops over tables here and below run
 * several times faster than the equivalent regular expressions on the gateway's path.) */
function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Whether `s` is a request-target's characters: visible ASCII only (no spaces, controls, obs-text). */
function isTargetChars(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Whether a Host value has whitespace, a comma or an `@` (userinfo). */
function hasBadHostChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13) || c === 44 || c === 64 || c === 0xa0) return true;
  }
  return false;
}

/** Per char code below 128: 1 = refused control character, 2 = CR, 3 = LF. */
const CTL = new Uint8Array(128);
for (let c = 0; c < 32; c++) CTL[c] = 1;
CTL[9] = 0;
CTL[127] = 1;
CTL[13] = 2;
CTL[10] = 3;

/**
 * Whether `head` has a control character other than HTAB, or a CR or LF that is not part of a
 * CRLF pair. (A table-driven loop: about twice as fast as the equivalent regular expression.)
 */
function hasBadChars(head: string): boolean {
  const n = head.length;
  for (let i = 0; i < n; i++) {
    const c = head.charCodeAt(i);
    if (c >= 128) continue;
    const k = CTL[c];
    if (k === 0) continue;
    if (k === 2 && head.charCodeAt(i + 1) === 10) {
      i++;
      continue;
    }
    return true;
  }
  return false;
}
const DIGITS = /^[0-9]{1,15}$/;

function err(status: Http1Error['status'], reason: string): Http1Error {
  return { status, reason };
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Splits the field lines of `head` (from `from`, lines separated by CRLF, no final CRLF) into
 * `fields`; an error when a line is folded, has no colon, or has a bad name.
 */
function parseFields(head: string, from: number, fields: HeadFields, maxFields: number): Http1Error | undefined {
  let pos = from;
  const end = head.length;
  while (pos < end) {
    let eol = head.indexOf('\r\n', pos);
    if (eol < 0) eol = end;
    const first = head.charCodeAt(pos);
    if (first === 32 || first === 9) return err(400, 'obsolete line folding is not accepted');
    const colon = head.indexOf(':', pos);
    if (colon < 0 || colon >= eol) return err(400, 'a header line has no colon');
    // The name must be a token; it is lower-cased only when it has upper-case letters.
    let bad = colon === pos;
    let upper = false;
    for (let i = pos; i < colon && !bad; i++) {
      const c = head.charCodeAt(i);
      if (TCHAR[c] !== 1) bad = true;
      else if (c >= 65 && c <= 90) upper = true;
    }
    const rawName = head.slice(pos, colon);
    if (bad) return err(400, `invalid header name ${JSON.stringify(rawName.slice(0, 64))}`);
    if (fields.names.length >= maxFields) return err(431, `more than ${maxFields} header fields`);
    fields.names.push(upper ? rawName.toLowerCase() : rawName);
    fields.values.push(trimOws(head.slice(colon + 1, eol)));
    fields.lines.push(head.slice(pos, eol));
    pos = eol + 2;
  }
  return undefined;
}

/** Comma-separated, trimmed, lower-cased tokens of a list-valued field. */
function listTokens(value: string, into: string[]): void {
  for (const part of value.split(',')) {
    const t = trimOws(part).toLowerCase();
    if (t !== '') into.push(t);
  }
}

interface ConnectionInfo {
  close: boolean;
  keepAlive: boolean;
  upgrade: boolean;
  listed: string[] | undefined;
}

const KEEP_ALIVE: ConnectionInfo = Object.freeze({ close: false, keepAlive: true, upgrade: false, listed: undefined });
const CLOSE: ConnectionInfo = Object.freeze({ close: true, keepAlive: false, upgrade: false, listed: undefined });

function connectionInfo(values: readonly string[]): ConnectionInfo {
  if (values.length === 1) {
    // The common single values, without splitting.
    const v = values[0] as string;
    if (v.length === 10 && v.toLowerCase() === 'keep-alive') return KEEP_ALIVE;
    if (v.length === 5 && v.toLowerCase() === 'close') return CLOSE;
  }
  const info: ConnectionInfo = { close: false, keepAlive: false, upgrade: false, listed: undefined };
  const tokens: string[] = [];
  for (const v of values) listTokens(v, tokens);
  for (const t of tokens) {
    if (t === 'close') info.close = true;
    else if (t === 'keep-alive') info.keepAlive = true;
    else if (t === 'upgrade') info.upgrade = true;
    else (info.listed ??= []).push(t);
  }
  return info;
}

/** A plain run of 1–15 digits as a number, or -1. */
function digits(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

/** Parses one Content-Length set (all values must be the same non-negative integer). */
function contentLength(values: readonly string[]): number | Http1Error {
  if (values.length === 1) {
    const fast = digits(values[0] as string);
    if (fast >= 0) return fast;
  }
  let n: number | undefined;
  for (const v of values) {
    for (const part of v.split(',')) {
      const t = trimOws(part);
      if (!DIGITS.test(t)) return err(400, `invalid Content-Length ${JSON.stringify(v.slice(0, 32))}`);
      const x = Number(t);
      if (x > Number.MAX_SAFE_INTEGER) return err(400, 'Content-Length is too large');
      if (n !== undefined && n !== x) return err(400, 'conflicting Content-Length values');
      n = x;
    }
  }
  return n ?? err(400, 'empty Content-Length');
}

export interface ParseLimits {
  /** Most header fields accepted in one head (431 beyond). */
  readonly maxFields: number;
}

const DEFAULT_LIMITS: ParseLimits = { maxFields: 128 };

/**
 * Parses a request head: `head` is the text before the blank line (latin1), without the final
 * CRLFCRLF. Returns the head or the error the client must get.
 *
 * @example
 * parseRequestHead('GET /x HTTP/1.1\r\nHost: a');   // { method: 'GET', target: '/x', framing: { kind: 'none' }, … }
 * parseRequestHead('GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked'); // { status: 400, … }
 */
export function parseRequestHead(head: string, limits: ParseLimits = DEFAULT_LIMITS): RequestHead | Http1Error {
  if (hasBadChars(head)) return err(400, 'control characters or a bare CR/LF in the request head');
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = head.length;
  // request-line = method SP request-target SP HTTP-version, single spaces only.
  const sp1 = head.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : head.indexOf(' ', sp1 + 1);
  const sp3 = sp2 < 0 ? -1 : head.indexOf(' ', sp2 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 >= eol || (sp3 !== -1 && sp3 < eol)) return err(400, 'malformed request line');
  const method = head.slice(0, sp1);
  const target = head.slice(sp1 + 1, sp2);
  const version = head.slice(sp2 + 1, eol);
  if (!isToken(method)) return err(400, 'invalid method');
  let minor: 0 | 1;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else if (/^HTTP\/[0-9]\.[0-9]$/.test(version)) return err(505, `${version} is not supported`);
  else return err(400, 'malformed HTTP version');
  if (!isTargetChars(target)) return err(400, 'invalid request target');
  if (method === 'CONNECT') return err(501, 'CONNECT is not supported');
  if (target.charCodeAt(0) !== 47 /* / */ && !(target === '*' && method === 'OPTIONS')) {
    return err(400, 'the request target must be in origin-form (start with "/")');
  }
  const fields: HeadFields = { names: [], values: [], lines: [] };
  const bad = parseFields(head, eol + 2, fields, limits.maxFields);
  if (bad !== undefined) return bad;

  let host: string | undefined;
  let hosts = 0;
  let cl: string[] | undefined;
  let te: string[] | undefined;
  let conn: string[] | undefined;
  let upgradeValue: string | undefined;
  const { names, values } = fields;
  for (let i = 0; i < names.length; i++) {
    const n = names[i] as string;
    switch (n) {
      case 'host':
        hosts++;
        host = values[i];
        break;
      case 'content-length':
        (cl ??= []).push(values[i] as string);
        break;
      case 'transfer-encoding':
        (te ??= []).push(values[i] as string);
        break;
      case 'connection':
        (conn ??= []).push(values[i] as string);
        break;
      case 'upgrade':
        upgradeValue = upgradeValue === undefined ? values[i] : `${upgradeValue}, ${values[i]}`;
        break;
      default:
    }
  }
  if (hosts > 1) return err(400, 'more than one Host header');
  if (minor === 1 && hosts === 0) return err(400, 'an HTTP/1.1 request needs a Host header');
  if (host !== undefined && hasBadHostChars(host)) return err(400, 'invalid Host header');

  let framing: BodyFraming = NO_BODY;
  if (te !== undefined) {
    if (cl !== undefined) return err(400, 'both Content-Length and Transfer-Encoding');
    if (minor === 0) return err(400, 'Transfer-Encoding in an HTTP/1.0 request');
    const codings: string[] = [];
    for (const v of te) listTokens(v, codings);
    if (codings.length !== 1 || codings[0] !== 'chunked') {
      return err(501, `unsupported Transfer-Encoding ${JSON.stringify(te.join(', ').slice(0, 64))}`);
    }
    framing = CHUNKED;
  } else if (cl !== undefined) {
    const n = contentLength(cl);
    if (typeof n !== 'number') return n;
    framing = n === 0 ? NO_BODY : { kind: 'length', length: n };
  }
  const c = conn === undefined ? undefined : connectionInfo(conn);
  const keepAlive = c === undefined ? minor === 1 : !c.close && (minor === 1 || c.keepAlive);
  const upgrade = c?.upgrade === true && upgradeValue !== undefined && upgradeValue !== '' ? upgradeValue : undefined;
  return {
    method,
    target,
    minor,
    names,
    values,
    lines: fields.lines,
    framing,
    keepAlive,
    upgrade,
    host,
    connectionListed: c?.listed,
  };
}

/**
 * Parses a response head (text before the blank line, latin1). Upstream answers are checked as
 * strictly as requests where framing depends on them; anything unusable is a 502.
 *
 * @example
 * parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 2'); // { status: 200, contentLength: 2, keepAlive: true, … }
 */
export function parseResponseHead(head: string, limits: ParseLimits = DEFAULT_LIMITS): ResponseHead | Http1Error {
  if (hasBadChars(head)) return err(502, 'control characters or a bare CR/LF in the upstream response head');
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = head.length;
  // status-line = HTTP-version SP 3DIGIT SP [reason]
  if (eol < 12 || !head.startsWith('HTTP/1.') || head.charCodeAt(12) !== 32 && eol !== 12) {
    return err(502, 'malformed upstream status line');
  }
  const mc = head.charCodeAt(7);
  if ((mc !== 48 && mc !== 49) || head.charCodeAt(8) !== 32) return err(502, 'unsupported upstream HTTP version');
  const minor = mc === 49 ? 1 : 0;
  const d0 = head.charCodeAt(9) - 48;
  const d1 = head.charCodeAt(10) - 48;
  const d2 = head.charCodeAt(11) - 48;
  if (!(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return err(502, 'malformed upstream status code');
  const status = d0 * 100 + d1 * 10 + d2;
  const reason = eol > 13 ? head.slice(13, eol) : '';
  const fields: HeadFields = { names: [], values: [], lines: [] };
  const bad = parseFields(head, eol + 2, fields, limits.maxFields);
  if (bad !== undefined) return { status: 502, reason: `upstream: ${bad.reason}` };
  let cl: string[] | undefined;
  let te: string[] | undefined;
  let conn: string[] | undefined;
  const { names, values } = fields;
  for (let i = 0; i < names.length; i++) {
    const n = names[i] as string;
    if (n === 'content-length') (cl ??= []).push(values[i] as string);
    else if (n === 'transfer-encoding') (te ??= []).push(values[i] as string);
    else if (n === 'connection') (conn ??= []).push(values[i] as string);
  }
  let contentLengthValue: number | undefined;
  let chunked = false;
  let otherCoding = false;
  if (te !== undefined) {
    const codings: string[] = [];
    for (const v of te) listTokens(v, codings);
    if (codings.at(-1) === 'chunked' && codings.indexOf('chunked') === codings.length - 1) chunked = true;
    else otherCoding = true;
  } else if (cl !== undefined) {
    const n = contentLength(cl);
    if (typeof n !== 'number') return err(502, `upstream: ${n.reason}`);
    contentLengthValue = n;
  }
  const c = conn === undefined ? undefined : connectionInfo(conn);
  const keepAlive = (c === undefined ? minor === 1 : !c.close && (minor === 1 || c.keepAlive)) && !otherCoding;
  return {
    status,
    reason,
    minor,
    names,
    values,
    lines: fields.lines,
    keepAlive,
    connectionListed: c?.listed,
    contentLength: contentLengthValue,
    chunked,
    otherCoding,
  };
}

/** How the body of `res` (an answer to `method`) is framed (RFC 9112 §6.3). */
export function responseFraming(method: string, res: ResponseHead): BodyFraming {
  if (method === 'HEAD' || res.status < 200 || res.status === 204 || res.status === 304) return NO_BODY;
  if (res.chunked) return CHUNKED;
  if (res.otherCoding) return UNTIL_CLOSE;
  if (res.contentLength !== undefined) return res.contentLength === 0 ? NO_BODY : { kind: 'length', length: res.contentLength };
  return UNTIL_CLOSE;
}

const enum Chunk {
  Size,
  SizeOrExt,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
}

/** Longest chunk size accepted, in hex digits (2^48 bytes). */
const MAX_SIZE_DIGITS = 12;
const MAX_EXT = 4096;
const MAX_TRAILERS = 16384;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * Follows a chunked body (RFC 9112 §7.1) through arbitrary byte slices without copying it: it
 * tells where the body ends and, for de-chunking, where the data bytes are. Chunk extensions and
 * trailer fields are allowed (bounded) and passed through untouched.
 *
 * @example
 * const s = new ChunkedScanner();
 * s.scan(Buffer.from('3\r\nabc\r\n0\r\n\r\nNEXT'), 0, 18); // 15: the body ends before "NEXT"
 */
export class ChunkedScanner {
  #state = Chunk.Size;
  #remaining = 0;
  #digits = 0;
  #extra = 0;
  #trailerBytes = 0;
  /** The first malformed-body reason, once the scanner has failed. */
  error: string | undefined;

  get done(): boolean {
    return this.#state === Chunk.Done;
  }

  /**
   * Scans `buf[start, end)`. Returns the index just past the body when it ends inside the range,
   * -1 when more bytes are needed, or -2 when the body is malformed (see `error`). `onData` gets
   * each range of chunk data (for de-chunking).
   */
  scan(buf: Uint8Array, start: number, end: number, onData?: (from: number, to: number) => void): number {
    let i = start;
    while (i < end) {
      switch (this.#state) {
        case Chunk.Size:
        case Chunk.SizeOrExt: {
          const c = buf[i] as number;
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail('chunk size is too large');
            this.#remaining = this.#remaining * 16 + h;
            this.#state = Chunk.SizeOrExt;
          } else if (this.#state === Chunk.Size) {
            return this.#fail('chunk size expected');
          } else if (c === 59 /* ; */) {
            this.#state = Chunk.Ext;
            this.#extra = 0;
          } else if (c === 13) {
            this.#state = Chunk.SizeLf;
          } else {
            return this.#fail('invalid character in chunk size');
          }
          i++;
          break;
        }
        case Chunk.Ext: {
          const c = buf[i] as number;
          if (c === 13) this.#state = Chunk.SizeLf;
          else if ((c < 32 && c !== 9) || c === 127) return this.#fail('invalid character in chunk extension');
          else if (++this.#extra > MAX_EXT) return this.#fail('chunk extension is too long');
          i++;
          break;
        }
        case Chunk.SizeLf:
          if (buf[i] !== 10) return this.#fail('CRLF expected after chunk size');
          i++;
          this.#digits = 0;
          if (this.#remaining === 0) {
            this.#state = Chunk.TrailerStart;
          } else {
            this.#state = Chunk.Data;
          }
          break;
        case Chunk.Data: {
          const take = Math.min(end - i, this.#remaining);
          if (onData !== undefined) onData(i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = Chunk.DataCr;
          break;
        }
        case Chunk.DataCr:
          if (buf[i] !== 13) return this.#fail('CRLF expected after chunk data');
          this.#state = Chunk.DataLf;
          i++;
          break;
        case Chunk.DataLf:
          if (buf[i] !== 10) return this.#fail('CRLF expected after chunk data');
          this.#state = Chunk.Size;
          i++;
          break;
        case Chunk.TrailerStart: {
          // Either the final CRLF or a trailer field line (which cannot start with whitespace).
          const c = buf[i] as number;
          if (c === 13) this.#state = Chunk.FinalLf;
          else if (c <= 32 || c === 127) return this.#fail('invalid character in a trailer field');
          else this.#state = Chunk.Trailer;
          if (++this.#trailerBytes > MAX_TRAILERS) return this.#fail('trailer section is too large');
          i++;
          break;
        }
        case Chunk.Trailer: {
          const c = buf[i] as number;
          if (c === 13) this.#state = Chunk.TrailerLf;
          else if ((c < 32 && c !== 9) || c === 127 || c === 10) return this.#fail('invalid character in a trailer field');
          if (++this.#trailerBytes > MAX_TRAILERS) return this.#fail('trailer section is too large');
          i++;
          break;
        }
        case Chunk.TrailerLf:
          if (buf[i] !== 10) return this.#fail('CRLF expected after a trailer field');
          this.#state = Chunk.TrailerStart;
          i++;
          break;
        case Chunk.FinalLf:
          if (buf[i] !== 10) return this.#fail('CRLF expected at the end of the chunked body');
          this.#state = Chunk.Done;
          return i + 1;
        case Chunk.Done:
          return i;
      }
    }
    return -1;
  }

  #fail(reason: string): number {
    this.error = reason;
    this.#state = Chunk.Done;
    return -2;
  }
}

/** Status reason phrases for the answers the gateway writes itself. */
export const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** A response head read straight from bytes by {@link scanPlainResponse}. */
export interface PlainResponse {
  readonly status: number;
  /** Content-Length (the only framing the fast path takes). */
  readonly contentLength: number;
  readonly keepAlive: boolean;
  /** Byte ranges `[from, to)` of the head lines to leave out (hop-by-hop fields), in order. */
  readonly drop: readonly number[];
}

/** Lower-case ASCII of a byte (for case-insensitive name checks). */
function lower(b: number): number {
  return b >= 65 && b <= 90 ? b + 32 : b;
}

function nameIs(buf: Uint8Array, at: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if (lower(buf[at + i] as number) !== name.charCodeAt(i)) return false;
  return true;
}

/** Byte classes of a response head for {@link scanPlainResponse}: most bytes need one look. */
const B_PLAIN = 0;
const B_CR = 1;
const B_COLON = 2;
/** LF outside CRLF, other control characters but HTAB, DEL. */
const B_BAD = 3;
const BYTE_CLASS = new Uint8Array(256);
for (let c = 0; c < 32; c++) BYTE_CLASS[c] = c === 9 ? B_PLAIN : B_BAD;
BYTE_CLASS[127] = B_BAD;
BYTE_CLASS[13] = B_CR;
BYTE_CLASS[58] = B_COLON;

/** Byte-level tchar table (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/**
 * The fast path for the usual upstream answer — `HTTP/1.1`, a final status, a `Content-Length`,
 * no `Transfer-Encoding`, `Connection` absent or `keep-alive`/`close` — read directly from the
 * bytes `buf[start, end)` (the head without its final CRLFCRLF), with no strings built. Returns
 * undefined for anything else, and for anything malformed: the caller then takes the full parser
 * ({@link parseResponseHead}), which also produces the error. The same strictness applies: no
 * control characters, no bare CR or LF, no obs-fold, token field names, one valid length.
 */
export function scanPlainResponse(buf: Uint8Array, start: number, end: number): PlainResponse | undefined {
  // "HTTP/1.1 ddd"
  if (end - start < 12) return undefined;
  if (
    buf[start] !== 72 || buf[start + 1] !== 84 || buf[start + 2] !== 84 || buf[start + 3] !== 80 ||
    buf[start + 4] !== 47 || buf[start + 5] !== 49 || buf[start + 6] !== 46 || buf[start + 7] !== 49 ||
    buf[start + 8] !== 32
  ) {
    return undefined;
  }
  const d0 = (buf[start + 9] as number) - 48;
  const d1 = (buf[start + 10] as number) - 48;
  const d2 = (buf[start + 11] as number) - 48;
  if (!(d0 >= 2 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return undefined;
  const status = d0 * 100 + d1 * 10 + d2;
  if (status === 204 || status === 304) return undefined;
  if (end > start + 12 && buf[start + 12] !== 32) return undefined; // "HTTP/1.1 2000"
  let contentLength = -1;
  let keepAlive = true;
  const drop: number[] = [];
  let lineStart = -1;
  let colon = -1;
  // Walk the bytes once: validate characters, split lines, look at the names that matter. The
  // status line's end and each field line's end are CRs; `end` (where the blank line starts)
  // ends the last field line.
  for (let i = start + 12; i <= end; i++) {
    if (i < end) {
      const k = BYTE_CLASS[buf[i] as number] as number;
      if (k === B_PLAIN) continue;
      if (k === B_COLON) {
        if (colon < 0 && lineStart >= 0) colon = i;
        continue;
      }
      if (k === B_BAD) return undefined;
      if (buf[i + 1] !== 10) return undefined; // bare CR
    }
    if (lineStart >= 0) {
      if (colon < 0) return undefined;
      const nameLen = colon - lineStart;
      if (nameLen === 0) return undefined;
      for (let k = lineStart; k < colon; k++) if (TCHAR[buf[k] as number] === 0) return undefined;
      const first = lower(buf[lineStart] as number);
      // Value without surrounding whitespace.
      let vs = colon + 1;
      let ve = i;
      while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
      while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
      if (first === 99 && nameIs(buf, lineStart, nameLen, 'content-length')) {
        if (contentLength >= 0 || ve === vs || ve - vs > 15) return undefined;
        let n = 0;
        for (let k = vs; k < ve; k++) {
          const d = (buf[k] as number) - 48;
          if (d < 0 || d > 9) return undefined;
          n = n * 10 + d;
        }
        contentLength = n;
      } else if (first === 99 && nameIs(buf, lineStart, nameLen, 'connection')) {
        if (nameIs(buf, vs, ve - vs, 'close')) keepAlive = false;
        else if (!nameIs(buf, vs, ve - vs, 'keep-alive')) return undefined; // a listed field: full parser
        drop.push(lineStart, i + 2);
      } else if (
        (first === 116 && (nameIs(buf, lineStart, nameLen, 'transfer-encoding') || nameIs(buf, lineStart, nameLen, 'te') || nameIs(buf, lineStart, nameLen, 'trailer'))) ||
        (first === 117 && nameIs(buf, lineStart, nameLen, 'upgrade'))
      ) {
        return undefined;
      } else if (
        (first === 107 && nameIs(buf, lineStart, nameLen, 'keep-alive')) ||
        (first === 112 &&
          (nameIs(buf, lineStart, nameLen, 'proxy-connection') ||
            nameIs(buf, lineStart, nameLen, 'proxy-authenticate') ||
            nameIs(buf, lineStart, nameLen, 'proxy-authorization'))) ||
        (first === 120 && nameIs(buf, lineStart, nameLen, 'x-halftone-upstream'))
      ) {
        drop.push(lineStart, i + 2);
      }
    }
    i++; // the LF
    lineStart = i + 1;
    colon = -1;
    if (lineStart < end) {
      const f = buf[lineStart] as number;
      if (f === 32 || f === 9) return undefined; // obs-fold
    }
  }
  if (contentLength < 0) return undefined;
  return { status, contentLength, keepAlive, drop };
}
