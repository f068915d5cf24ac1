import type { RangeMatcher } from '@halftone/core';
import semver from 'semver';

/** Range matching exactly as CodePush servers did it: the `semver` package. */
export const semverRanges: RangeMatcher = {
  satisfies: (version, range) => semver.satisfies(version, range),
  gtr: (version, range) => {
    try {
      return semver.gtr(version, range);
    } catch {
      return false;
    }
  },
};

/** A valid semver range, trimmed as `semver.validRange` would accept it; `null` when it is not one. */
export function checkRange(range: string): 'ok' | 'invalid' | 'unsatisfiable' {
  if (range.trim() === '' || semver.validRange(range) === null) return 'invalid';
  let min: semver.SemVer | null = null;
  try {
    min = semver.minVersion(range);
  } catch {
    return 'invalid';
  }
  return min === null ? 'unsatisfiable' : 'ok';
}

/** Whether `v` is a valid (normalised) binary version. */
export function isValidAppVersion(v: string): boolean {
  return semver.valid(v) !== null;
}

/**
 * Whether a diff from a release with range `a` to one with range `b` can be offered (reference
 * §b.7: equal ranges, or a plain version that satisfies the other's range).
 */
export function rangesCompatible(a: string, b: string): boolean {
  if (a === b) return true;
  if (semver.valid(a) !== null && semver.satisfies(a, b)) return true;
  if (semver.valid(b) !== null && semver.satisfies(b, a)) return true;
  return false;
}
