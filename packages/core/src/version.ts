/**
 * Mobile app versions: a relaxed cousin of SemVer 2.0.0 that matches what app stores accept.
 *
 * - 1 to 5 numeric segments (`8`, `8.3`, `8.3.1`, `8.3.1.20`, `1.2.3.4.5`); missing segments
 *   count as 0, so `8.3.1` == `8.3.1.0` and `8` == `8.0.0.0.0`.
 * - Each segment has 1 to 9 digits (so it fits a 32-bit integer); leading zeros are accepted
 *   (`08` == `8`).
 * - An optional pre-release after `-`: dot-separated identifiers of `[0-9A-Za-z-]`, ordered as in
 *   SemVer §11 (numeric identifiers numerically, others lexically by ASCII, numeric before
 *   alphanumeric, a shorter list before a longer one with an equal prefix). A pre-release orders
 *   before its release: `1.0-beta` < `1.0`. Numeric identifiers have at most 15 digits (so they
 *   compare exactly as JS numbers); leading zeros are accepted there too.
 * - Optional build metadata after `+` (same identifier alphabet), ignored for ordering.
 * - No leading `v`, no surrounding whitespace, at most {@link MAX_VERSION_LENGTH} characters.
 *
 * Parsing is cached (bounded), so hot paths may call {@link compareVersions} with strings; code
 * that compares one version against many may hold on to a {@link ParsedVersion} and call
 * {@link compareParsed}, which does no parsing at all.
 */

/**
 * The longest version string {@link parseVersion} accepts.
 *
 * @example
 * parseVersion(`1.0-${'x'.repeat(MAX_VERSION_LENGTH)}`); // null
 */
export const MAX_VERSION_LENGTH = 256;

/**
 * One pre-release identifier: numeric identifiers are numbers, the others strings.
 *
 * @example
 * const ids: readonly PrereleaseIdentifier[] = parseVersion('1.0-rc.2')?.prerelease ?? []; // ['rc', 2]
 */
export type PrereleaseIdentifier = string | number;

/**
 * A parsed mobile version. Instances returned by {@link parseVersion} are frozen and may be
 * shared (they come from a cache); never mutate them.
 *
 * @example
 * const v: ParsedVersion | null = parseVersion('8.3.1-beta.2+build.7');
 * // v.segments   → [8, 3, 1, 0, 0]
 * // v.prerelease → ['beta', 2]
 * // v.build      → 'build.7'
 */
export interface ParsedVersion {
  /** The string that was parsed, unchanged. */
  readonly source: string;
  /** The five numeric segments, padded with zeros. */
  readonly segments: readonly [number, number, number, number, number];
  /** The pre-release identifiers; empty for a release. */
  readonly prerelease: readonly PrereleaseIdentifier[];
  /** The build metadata after `+`, or '' when there is none. Ignored for ordering. */
  readonly build: string;
  /**
   * One spelling per version: five segments and the pre-release, no build metadata
   * (`8.3` and `8.3.0.0.0+b1` are both `8.3.0.0.0`). Equal versions have equal keys.
   */
  readonly key: string;
}

const CORE_RE = /^\d{1,9}(?:\.\d{1,9}){0,4}$/;
const IDENTIFIER_RE = /^[0-9A-Za-z-]+$/;
const NUMERIC_RE = /^\d+$/;
const MAX_PRERELEASE_NUMERIC_DIGITS = 15;
const CACHE_LIMIT = 2048;
const EMPTY: readonly PrereleaseIdentifier[] = Object.freeze([]);
const cache = new Map<string, ParsedVersion>();

function parseUncached(s: string): ParsedVersion | null {
  if (s.length === 0 || s.length > MAX_VERSION_LENGTH) return null;
  const plus = s.indexOf('+');
  const main = plus === -1 ? s : s.slice(0, plus);
  const build = plus === -1 ? '' : s.slice(plus + 1);
  if (plus !== -1 && !build.split('.').every((id) => IDENTIFIER_RE.test(id))) return null;

  const dash = main.indexOf('-');
  const core = dash === -1 ? main : main.slice(0, dash);
  if (!CORE_RE.test(core)) return null;
  const parts = core.split('.');
  const segments: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  for (let i = 0; i < parts.length; i++) segments[i] = Number(parts[i]);

  let prerelease = EMPTY;
  if (dash !== -1) {
    const ids: PrereleaseIdentifier[] = [];
    for (const id of main.slice(dash + 1).split('.')) {
      if (!IDENTIFIER_RE.test(id)) return null;
      if (NUMERIC_RE.test(id)) {
        if (id.length > MAX_PRERELEASE_NUMERIC_DIGITS) return null;
        ids.push(Number(id));
      } else {
        ids.push(id);
      }
    }
    prerelease = Object.freeze(ids);
  }
  const key = prerelease.length === 0 ? segments.join('.') : `${segments.join('.')}-${prerelease.join('.')}`;
  return Object.freeze({ source: s, segments: Object.freeze(segments), prerelease, build, key });
}

/**
 * Parses a mobile version, or returns `null` when `s` is not one. Results are cached in a
 * bounded map (first in, first out), so parsing the same few app versions repeatedly is cheap.
 *
 * @example
 * parseVersion('8.3.1')?.segments;      // [8, 3, 1, 0, 0]
 * parseVersion('1.0-rc.1')?.prerelease; // ['rc', 1]
 * parseVersion('v1.0');                 // null (no leading v)
 */
export function parseVersion(s: string): ParsedVersion | null {
  const hit = cache.get(s);
  if (hit !== undefined) return hit;
  if (typeof s !== 'string') return null;
  const parsed = parseUncached(s);
  if (parsed !== null) {
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(s, parsed);
  }
  return parsed;
}

/**
 * Whether `s` is a valid mobile version (see the module notes for the grammar).
 *
 * @example
 * isValidVersion('8.3.1.20'); // true
 * isValidVersion('1.2.3.4.5.6'); // false (more than 5 segments)
 */
export function isValidVersion(s: unknown): boolean {
  return typeof s === 'string' && parseVersion(s) !== null;
}

function compareIdentifiers(a: PrereleaseIdentifier, b: PrereleaseIdentifier): -1 | 0 | 1 {
  if (typeof a === 'number') {
    if (typeof b !== 'number') return -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The canonical key of a version (see {@link ParsedVersion.key}), or `null` when it is not one.
 *
 * @example
 * versionKey('8.3');     // '8.3.0.0.0'
 * versionKey('8.3.0.0'); // '8.3.0.0.0'
 */
export function versionKey(s: string): string | null {
  return parseVersion(s)?.key ?? null;
}

/**
 * Orders two parsed versions: -1 when `a` < `b`, 0 when equal, 1 when `a` > `b`.
 * Does no parsing, so it is the fastest way to compare one version against many.
 *
 * @example
 * const min = parseVersion('8.3')!;
 * compareParsed(parseVersion('8.3.0.1')!, min); // 1
 */
export function compareParsed(a: ParsedVersion, b: ParsedVersion): -1 | 0 | 1 {
  if (a === b) return 0;
  const sa = a.segments;
  const sb = b.segments;
  if (sa[0] !== sb[0]) return sa[0] < sb[0] ? -1 : 1;
  if (sa[1] !== sb[1]) return sa[1] < sb[1] ? -1 : 1;
  if (sa[2] !== sb[2]) return sa[2] < sb[2] ? -1 : 1;
  if (sa[3] !== sb[3]) return sa[3] < sb[3] ? -1 : 1;
  if (sa[4] !== sb[4]) return sa[4] < sb[4] ? -1 : 1;
  const pa = a.prerelease;
  const pb = b.prerelease;
  // A release sorts after every pre-release of the same numbers (SemVer §11.3).
  if (pa.length === 0) return pb.length === 0 ? 0 : 1;
  if (pb.length === 0) return -1;
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifiers(pa[i] as PrereleaseIdentifier, pb[i] as PrereleaseIdentifier);
    if (c !== 0) return c;
  }
  return pa.length === pb.length ? 0 : pa.length < pb.length ? -1 : 1;
}

function parseOrThrow(s: string, name: string): ParsedVersion {
  const parsed = parseVersion(s);
  if (parsed === null) throw new TypeError(`${name} is not a valid version: ${JSON.stringify(s)}`);
  return parsed;
}

/**
 * Orders two version strings: -1 when `a` < `b`, 0 when equal, 1 when `a` > `b`.
 *
 * @throws {TypeError} when either string is not a valid version.
 * @example
 * compareVersions('8.3.1', '8.3.1.0'); // 0
 * compareVersions('1.0-beta', '1.0');  // -1
 * compareVersions('1.10', '1.9');      // 1
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return compareParsed(parseOrThrow(a, 'a'), parseOrThrow(b, 'b'));
}

/**
 * Whether version `v` lies in `[min, max]` (both ends inclusive). An omitted or empty `min` or
 * `max` leaves that end open. A `v` that is not a valid version is never in range.
 *
 * @throws {TypeError} when `min` or `max` is non-empty and not a valid version.
 * @example
 * versionInRange('8.3.1', '8.0', '8.4');  // true
 * versionInRange('8.5', '8.0');           // true (no upper bound)
 * versionInRange('7.9', '8.0', '');       // false
 * versionInRange('garbage', '', '');      // false
 */
export function versionInRange(v: string, min?: string, max?: string): boolean {
  const lo = min === undefined || min === '' ? null : parseOrThrow(min, 'min');
  const hi = max === undefined || max === '' ? null : parseOrThrow(max, 'max');
  const pv = parseVersion(v);
  if (pv === null) return false;
  if (lo !== null && compareParsed(pv, lo) < 0) return false;
  return hi === null || compareParsed(pv, hi) <= 0;
}
