/**
 * Feature parsing with ABTestingGateway's semantics: IPv4 like `inet_aton`, uids like Lua's
 * `tonumber`, client-IP resolution like its `ipParser`, raw query arguments like nginx `$arg_x`.
 */

function isSpace(c: number): boolean {
  // C isspace in the "C" locale: space, \t, \n, \v, \f, \r.
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Parses an IPv4 address the way glibc `inet_aton` does (what the reference uses): one to four
 * parts separated by dots, each decimal, octal (leading `0`) or hex (`0x`); the last part fills
 * the remaining bytes (`127.1` = 127.0.0.1, `2130706433` = 127.0.0.1). Trailing whitespace is
 * allowed, anything else is not (`"10.0.0.1,"` fails).
 *
 * @returns the address as an unsigned 32-bit integer, or `undefined` when it does not parse.
 * @example
 * parseIpv4('10.0.0.0'); // 167772160
 * parseIpv4('127.1');    // 2130706433
 * parseIpv4('1.2.3.4,'); // undefined
 */
export function parseIpv4(s: string): number | undefined {
  // One remembered answer: a request's IP is parsed once to validate it and once to match it,
  // and consecutive requests mostly come from the same peer.
  if (s === lastIpv4Text) return lastIpv4;
  const v = parseIpv4Uncached(s);
  lastIpv4Text = s;
  lastIpv4 = v;
  return v;
}

let lastIpv4Text = '';
let lastIpv4: number | undefined; // ('' does not parse)

function parseIpv4Uncached(s: string): number | undefined {
  // Up to four parts, kept in locals (this runs per request for iprange policies).
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let count = 0;
  let i = 0;
  const n = s.length;
  for (;;) {
    if (i >= n) return undefined;
    let c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined; // each part starts with a digit
    let base = 10;
    if (c === 0x30) {
      base = 8;
      const x = s.charCodeAt(i + 1);
      if (x === 0x78 || x === 0x58) {
        base = 16;
        i += 2;
      }
    }
    let value = 0;
    let digits = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (base === 16 && c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (base === 16 && c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else break;
      if (d >= base) return undefined;
      value = value * base + d;
      if (value > 0xffffffff) return undefined;
      digits++;
    }
    if (base === 16 && digits === 0) {
      // glibc accepts a bare "0x" as zero.
      value = 0;
    }
    if (count === 0) p0 = value;
    else if (count === 1) p1 = value;
    else if (count === 2) p2 = value;
    else p3 = value;
    count++;
    if (i < n && s.charCodeAt(i) === 0x2e) {
      if (count === 4) return undefined;
      i++;
      continue;
    }
    break;
  }
  for (; i < n; i++) if (!isSpace(s.charCodeAt(i))) return undefined;
  // The last part fills the remaining bytes; the others are one byte each.
  switch (count) {
    case 1:
      return p0;
    case 2:
      return p0 > 0xff || p1 > 0xffffff ? undefined : p0 * 0x1000000 + p1;
    case 3:
      return p0 > 0xff || p1 > 0xff || p2 > 0xffff ? undefined : p0 * 0x1000000 + p1 * 0x10000 + p2;
    default:
      return p0 > 0xff || p1 > 0xff || p2 > 0xff || p3 > 0xff
        ? undefined
        : p0 * 0x1000000 + p1 * 0x10000 + p2 * 0x100 + p3;
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^[+-]?0[xX][0-9a-fA-F]+$/;

/**
 * The number a uid denotes, like Lua's `tonumber` (decimal with optional fraction and exponent,
 * or hex; surrounding whitespace ignored). `inf`/`nan` are not uids and give `undefined`.
 *
 * @example
 * uidToNumber('31');   // 31
 * uidToNumber(' -9 '); // -9
 * uidToNumber('abc');  // undefined
 */
export function uidToNumber(s: string): number | undefined {
  // The usual uid: up to 15 plain digits.
  const n = s.length;
  if (n > 0 && n <= 15) {
    let v = 0;
    let i = 0;
    for (; i < n; i++) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === n) return v;
  }
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  const t = a === 0 && b === s.length ? s : s.slice(a, b);
  if (DECIMAL.test(t)) {
    const v = Number(t);
    return Number.isFinite(v) ? v : undefined;
  }
  if (HEX.test(t)) {
    const neg = t.charCodeAt(0) === 0x2d;
    const digits = t.replace(/^[+-]?0[xX]/, '');
    const v = Number.parseInt(digits, 16);
    return Number.isFinite(v) ? (neg ? -v : v) : undefined;
  }
  return undefined;
}

const INTEGER = /^\s*([+-]?)\d*(\d)\s*$/;
const DIGIT_TEXT = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * The `uidsuffix` lookup key of a uid: `uid mod 10` with Lua's floored modulo, as a string
 * (`"-9"` → `"1"`). Integer uids of any length are handled exactly from their last digit (the
 * reference goes through a double and gets uids above 2^53 wrong).
 *
 * @returns `undefined` when the uid is not a number.
 * @example
 * uidSuffixKey('31');                 // '1'
 * uidSuffixKey('-9');                 // '1'
 * uidSuffixKey('223456789012345678'); // '8'
 */
export function uidSuffixKey(uid: string): string | undefined {
  // The usual uid: plain digits.
  const n = uid.length;
  let i = 0;
  while (i < n && uid.charCodeAt(i) - 0x30 >= 0 && uid.charCodeAt(i) - 0x30 <= 9) i++;
  if (n > 0 && i === n) return DIGIT_TEXT[uid.charCodeAt(n - 1) - 0x30];
  const m = INTEGER.exec(uid);
  if (m !== null) {
    const d = Number(m[2]);
    return String(m[1] === '-' && d !== 0 ? 10 - d : d);
  }
  const v = uidToNumber(uid);
  if (v === undefined) return undefined;
  return String(v - Math.floor(v / 10) * 10);
}

const IPV6ISH = /^[0-9A-Fa-f:.]+$/;

function usableIp(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === '') return undefined;
  if (parseIpv4(t) !== undefined) return t;
  if (t.includes(':') && IPV6ISH.test(t)) return t;
  return undefined;
}

/**
 * The client IP of a request, with ABTestingGateway's `ipParser` precedence:
 * 1. `X-Real-IP`, when present and non-empty;
 * 2. else the left-most element of `X-Forwarded-For` (the reference cuts the header at the first
 *    space, so the usual `"a, b"` form left it with `"a,"` and no IP; Halftone splits on commas
 *    and whitespace, so that form yields `a`);
 * 3. else the socket peer.
 *
 * As in the reference there is no fallback after a chosen source: a malformed `X-Real-IP` or
 * left-most XFF element gives `undefined` (the IP feature is absent), not the next source. The
 * headers are only believed when `trusted(peer)` holds; otherwise the peer itself is returned.
 * The result is a string the engine can use (IPv4 in any `inet_aton` form, or an IPv6 literal,
 * which never matches an `iprange`).
 *
 * @example
 * resolveClientIp('127.0.0.1', undefined, '192.168.1.7, 10.0.0.1', () => true); // '192.168.1.7'
 * resolveClientIp('203.0.113.9', '10.0.0.1', undefined, () => false);             // '203.0.113.9'
 */
export function resolveClientIp(
  peer: string | undefined,
  xRealIp: string | undefined,
  xForwardedFor: string | undefined,
  trusted: (peer: string | undefined) => boolean,
): string | undefined {
  if (trusted(peer)) {
    if (xRealIp !== undefined && xRealIp.trim() !== '') return usableIp(xRealIp);
    if (xForwardedFor !== undefined && xForwardedFor.trim() !== '') {
      const first = xForwardedFor.trim().split(/[\s,]+/, 1)[0];
      return usableIp(first);
    }
  }
  return usableIp(peer);
}

/**
 * The raw value of the first query argument `name` in `url` (path + query), like nginx
 * `$arg_<name>`: not percent-decoded, case-sensitive name. `undefined` when absent.
 *
 * @example
 * rawQueryArg('/?a=1&city=BJ&city=SH', 'city'); // 'BJ'
 * rawQueryArg('/?city=B%4A', 'city');            // 'B%4A'
 */
export function rawQueryArg(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const hash = url.indexOf('#', q);
  const query = hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/**
 * The path of `url` (path + query), without query or fragment; the `url` divtype matches it
 * exactly.
 *
 * @example
 * pathOf('/2/statuses?x=1'); // '/2/statuses'
 */
export function pathOf(url: string): string {
  let end = url.length;
  const q = url.indexOf('?');
  if (q >= 0) end = q;
  const h = url.indexOf('#');
  if (h >= 0 && h < end) end = h;
  return end === url.length ? url : url.slice(0, end);
}

/**
 * The single value of a possibly repeated header, as the reference reads `X-Uid`: a repeated
 * header is unusable (DIV-33) and an empty one absent.
 *
 * @example
 * singleHeaderValue(['31', '33']); // undefined
 * singleHeaderValue('31');         // '31'
 */
export function singleHeaderValue(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return v.length === 1 ? singleHeaderValue(v[0]) : undefined;
  return v === '' ? undefined : v;
}
