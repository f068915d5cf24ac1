/**
 * The operand parsers behind the targeting operators that came with dynamic config (Unleash's
 * constraint operators): strict SemVer 2.0.0, RFC 3339 dates, IPv4/IPv6 CIDR blocks and RE2
 * regular expressions. `rules.ts` validates and compiles with these; they are pure and run in
 * Node, browsers and Hermes (`re2js` is plain JS and only uses `TextEncoder` when present).
 */
import { RE2JS } from 're2js';

// ---------------------------------------------------------------------------------------------
// Strict SemVer 2.0.0 (semver.org §2–§11): no leading `v`, no leading zeros, exactly three
// numeric parts. Unleash's SEMVER_* operators use this grammar; mobile 4-part versions belong to
// the `version_*` operators instead.

/**
 * A parsed SemVer 2.0.0 version; numeric parts are kept as digit strings so arbitrarily large
 * numbers compare exactly.
 *
 * @example
 * const v: SemVer | null = parseSemVer('2.0.0-rc.1+b7'); // { core: ['2','0','0'], pre: ['rc', '1'] }
 */
export interface SemVer {
  readonly core: readonly [string, string, string];
  readonly pre: readonly string[];
}

const NUM = '(0|[1-9][0-9]*)';
const PRE_ID = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const SEMVER_RE = new RegExp(
  `^${NUM}\\.${NUM}\\.${NUM}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`,
);
const DIGITS_RE = /^[0-9]+$/;

/**
 * Parses a strict SemVer 2.0.0 version, or returns null.
 *
 * @example
 * parseSemVer('1.2.3');  // { core: ['1', '2', '3'], pre: [] }
 * parseSemVer('v1.2.3'); // null
 * parseSemVer('1.2');    // null
 */
export function parseSemVer(s: string): SemVer | null {
  if (s.length > 256) return null;
  const m = SEMVER_RE.exec(s);
  if (m === null) return null;
  return {
    core: [m[1] as string, m[2] as string, m[3] as string],
    pre: m[4] === undefined ? [] : m[4].split('.'),
  };
}

function compareDigits(a: string, b: string): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * Orders two versions by SemVer §11 (build metadata ignored).
 *
 * @example
 * compareSemVer(parseSemVer('2.0.0-alpha.1')!, parseSemVer('2.0.0')!); // -1
 */
export function compareSemVer(a: SemVer, b: SemVer): -1 | 0 | 1 {
  for (let i = 0; i < 3; i++) {
    const c = compareDigits(a.core[i] as string, b.core[i] as string);
    if (c !== 0) return c;
  }
  if (a.pre.length === 0 || b.pre.length === 0) {
    if (a.pre.length === b.pre.length) return 0;
    return a.pre.length === 0 ? 1 : -1; // a release ranks above its pre-releases
  }
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const x = a.pre[i] as string;
    const y = b.pre[i] as string;
    if (x === y) continue;
    const xn = DIGITS_RE.test(x);
    const yn = DIGITS_RE.test(y);
    if (xn && yn) return compareDigits(x, y);
    if (xn !== yn) return xn ? -1 : 1; // numeric identifiers rank below alphanumeric ones
    return x < y ? -1 : 1;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Dates.

const DATE_TIME_RE =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/**
 * Parses an RFC 3339 date-time with an explicit offset (`2022-01-29T13:00:00.000Z`,
 * `2022-01-22T13:00:00+02:00`) into epoch milliseconds, or returns NaN. Dates without a time
 * zone are refused: their meaning would depend on the evaluating machine.
 *
 * @example
 * parseDateTime('2022-01-22T13:00:00.000+02:00'); // 1642849200000
 * parseDateTime('2022-01-22');                    // NaN
 */
export function parseDateTime(s: string): number {
  if (!DATE_TIME_RE.test(s)) return Number.NaN;
  return Date.parse(s.replace(' ', 'T'));
}

// ---------------------------------------------------------------------------------------------
// IP addresses and CIDR blocks. An address is four 32-bit words (IPv4 uses only the last word
// and is tagged as such); an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as IPv4.

/**
 * A parsed IP address: `v4` true for IPv4 (and IPv4-mapped IPv6), the 128-bit value in `words`
 * (IPv4 in `words[3]`).
 *
 * @example
 * parseIp('10.0.0.1'); // { v4: true, words: [0, 0, 0, 0x0a000001] }
 */
export interface IpAddress {
  readonly v4: boolean;
  readonly words: readonly [number, number, number, number];
}

const V4_PART_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEXTET_RE = /^[0-9A-Fa-f]{1,4}$/;

function parseV4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let w = 0;
  for (const p of parts) {
    if (!V4_PART_RE.test(p)) return null;
    w = w * 256 + Number(p);
  }
  return w >>> 0;
}

function parseV6(input: string): [number, number, number, number] | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (s.length === 0 || s.length > 45) return null;
  const hextets: number[] = [];
  const pushGroups = (part: string, out: number[]): boolean => {
    if (part === '') return true;
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (v4 === null) return false;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEXTET_RE.test(g)) {
        out.push(Number.parseInt(g, 16));
      } else {
        return false;
      }
    }
    return true;
  };
  const dbl = s.indexOf('::');
  if (dbl !== -1) {
    if (s.indexOf('::', dbl + 1) !== -1) return null;
    const head: number[] = [];
    const tail: number[] = [];
    if (!pushGroups(s.slice(0, dbl), head) || !pushGroups(s.slice(dbl + 2), tail)) return null;
    if (head.length + tail.length > 7) return null;
    hextets.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else if (!pushGroups(s, hextets) || hextets.length !== 8) {
    return null;
  }
  const w = (i: number): number => (((hextets[i] as number) << 16) | (hextets[i + 1] as number)) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored), or returns null.
 *
 * @example
 * parseIp('::ffff:192.168.1.2')?.v4; // true
 * parseIp('2001:db8::1')?.v4;        // false
 * parseIp('127.invalid');            // null
 */
export function parseIp(s: string): IpAddress | null {
  if (s.includes(':')) {
    const words = parseV6(s);
    if (words === null) return null;
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { v4: true, words: [0, 0, 0, words[3]] };
    return { v4: false, words };
  }
  const v4 = parseV4(s);
  return v4 === null ? null : { v4: true, words: [0, 0, 0, v4] };
}

/**
 * A parsed CIDR block; a bare address is a block of one address.
 *
 * @example
 * const b: CidrBlock | null = parseCidr('160.33.0.0/16');
 */
export interface CidrBlock {
  readonly v4: boolean;
  readonly network: readonly [number, number, number, number];
  readonly masks: readonly [number, number, number, number];
}

function masksFor(prefix: number, v4: boolean): [number, number, number, number] {
  const bits = v4 ? prefix + 96 : prefix;
  const m: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const b = Math.max(0, Math.min(32, bits - i * 32));
    m[i] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
  }
  return m;
}

/**
 * Parses `address/prefix` (IPv4 prefix 0–32, IPv6 0–128) or a bare address, or returns null.
 * Host bits set under the mask are accepted and ignored (`10.1.2.3/8` is `10.0.0.0/8`).
 *
 * @example
 * parseCidr('2001:db8::/32'); // a block
 * parseCidr('10.0.0.0/33');   // null
 */
export function parseCidr(s: string): CidrBlock | null {
  const slash = s.indexOf('/');
  const addr = parseIp(slash === -1 ? s : s.slice(0, slash));
  if (addr === null) return null;
  const isV4Literal = !s.slice(0, slash === -1 ? s.length : slash).includes(':');
  let prefix = addr.v4 ? 32 : 128;
  if (slash !== -1) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    // An IPv4-mapped IPv6 block takes an IPv6 prefix (>= 96).
    if (addr.v4 && !isV4Literal) {
      if (prefix < 96 || prefix > 128) return null;
      prefix -= 96;
    }
    if (prefix > (addr.v4 ? 32 : 128)) return null;
  }
  const masks = masksFor(prefix, addr.v4);
  const network = addr.words.map((w, i) => (w & (masks[i] as number)) >>> 0) as [number, number, number, number];
  return { v4: addr.v4, network, masks };
}

/**
 * Whether `ip` lies in `block` (families must agree; IPv4-mapped IPv6 counts as IPv4).
 *
 * @example
 * cidrContains(parseCidr('10.0.0.0/8')!, parseIp('10.2.3.4')!); // true
 */
export function cidrContains(block: CidrBlock, ip: IpAddress): boolean {
  if (block.v4 !== ip.v4) return false;
  for (let i = 0; i < 4; i++) {
    if (((ip.words[i] as number) & (block.masks[i] as number)) >>> 0 !== block.network[i]) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// RE2.

/**
 * A compiled RE2 pattern: `test(s)` finds a match anywhere in `s` (anchor with `^…$` for a
 * full match). Linear time in the input, whatever the pattern.
 *
 * @example
 * compileRe2('^user\\d{3}$').test('user123'); // true
 */
export interface Re2Pattern {
  test(s: string): boolean;
}

/**
 * Compiles an RE2 pattern (RE2 syntax: POSIX classes, inline flags such as `(?i)`, no
 * lookaround, no backreferences).
 *
 * @throws {Error} when the pattern is not valid RE2 syntax.
 * @example
 * compileRe2('^[[:alpha:]]+$').test('AlphaBeta'); // true
 * compileRe2('abc', { caseInsensitive: true }).test('xAbCx'); // true
 */
export function compileRe2(pattern: string, opts: { readonly caseInsensitive?: boolean } = {}): Re2Pattern {
  const re = RE2JS.compile(pattern, opts.caseInsensitive === true ? RE2JS.CASE_INSENSITIVE : 0);
  return { test: (s) => re.test(s) };
}

/**
 * Why `pattern` is not a valid RE2 pattern, or `undefined` when it is.
 *
 * @example
 * re2SyntaxError('^(?=a)b$'); // 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'
 */
export function re2SyntaxError(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
