/**
 * Which release a CodePush client is offered: the algorithm every CodePush server ran
 * (reference §b.4), written as a pure function over a deployment's history. Range matching is
 * injected (the server passes the `semver` package, as the original did), and so is the
 * per-device rollout decision, so Halftone's gray release (whitelist, conditions, salted
 * percentage) or the original selector can stand behind it.
 */

/** One release of a deployment as the selection sees it. */
export interface CodePushEntry<P = unknown> {
  /** `v1`, `v2`, … */
  readonly label: string;
  /** The package hash (CodePush's content hash). */
  readonly packageHash: string;
  /** The binary-version range (`1.0.x`, `^1.2.0`, `>=1.0.0 <2.0.0`, `*`). */
  readonly range: string;
  readonly mandatory: boolean;
  /** Disabled (or rolled back in Halftone): skipped, so devices on it get the previous one. */
  readonly disabled: boolean;
  /** The release does not reach every device yet (a rollout under 100%, a whitelist, a halt). */
  readonly unfinished: boolean;
  readonly payload: P;
}

/** What the selection needs from a range library (the server passes `semver`). */
export interface RangeMatcher {
  /** `semver.satisfies(version, range)`. */
  satisfies(version: string, range: string): boolean;
  /** `semver.gtr(version, range)`: the version is above every version the range allows. */
  gtr(version: string, range: string): boolean;
}

/** The device's side of an update check, already validated and normalised. */
export interface CodePushQuery {
  /** The normalised binary version. */
  readonly appVersion: string;
  /** The running package's label; `undefined` when running the binary (empty = absent). */
  readonly label: string | undefined;
  readonly packageHash: string | undefined;
  readonly isCompanion: boolean;
}

export type CodePushSelection<P> =
  | {
      readonly available: true;
      readonly entry: CodePushEntry<P>;
      readonly mandatory: boolean;
    }
  | {
      readonly available: false;
      /** The range to answer as `appVersion`/`target_binary_range` (when the client is above every range or needs a store update). */
      readonly range: string | undefined;
      /** The client must update its binary first (`update_app_version`). */
      readonly updateAppVersion: boolean;
      /** The client's package is no longer enabled and nothing older is: run the binary (ignored by the SDK). */
      readonly shouldRunBinaryVersion: boolean;
    };

/**
 * Selects the answer for one device. `history` is the deployment's releases **oldest first**;
 * `inRollout(entry)` says whether this device is in an unfinished release's audience (it is
 * only asked for unfinished ones). A device is never sent away from the release it runs because
 * of a rollout or a halt: only disabling (or rolling back) a release does that.
 *
 * @example
 * const s = selectCodePushRelease(history, { appVersion: '1.0.0', label: 'v1', packageHash: h1, isCompanion: false }, semverMatcher, () => true);
 * if (s.available) offer(s.entry, s.mandatory);
 */
export function selectCodePushRelease<P>(
  history: readonly CodePushEntry<P>[],
  query: CodePushQuery,
  ranges: RangeMatcher,
  inRollout: (entry: CodePushEntry<P>) => boolean,
): CodePushSelection<P> {
  const label = query.label === '' ? undefined : query.label;
  const hash = query.packageHash === '' ? undefined : query.packageHash;
  let found = label === undefined && hash === undefined;
  let runningFound = false;
  let latestEnabled: CodePushEntry<P> | undefined;
  let latestSatisfying: CodePushEntry<P> | undefined;
  let escalate = false;
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i] as CodePushEntry<P>;
    const isRunning = label !== undefined ? entry.label === label : hash !== undefined && entry.packageHash === hash;
    if (isRunning) runningFound = true;
    found = found || isRunning;
    if (entry.disabled) continue;
    if (entry.unfinished && !isRunning && !inRollout(entry)) continue;
    latestEnabled ??= entry;
    if (!query.isCompanion && !ranges.satisfies(query.appVersion, entry.range)) continue;
    latestSatisfying ??= entry;
    if (found) break;
    if (entry.mandatory) {
      escalate = true;
      break;
    }
  }
  if (latestEnabled === undefined) {
    return { available: false, range: undefined, updateAppVersion: false, shouldRunBinaryVersion: runningFound };
  }
  if (latestSatisfying === undefined || (hash !== undefined && latestSatisfying.packageHash === hash)) {
    let range: string | undefined;
    let updateAppVersion = false;
    if (ranges.gtr(query.appVersion, latestEnabled.range)) {
      range = latestEnabled.range;
    } else if (!ranges.satisfies(query.appVersion, latestEnabled.range)) {
      range = latestEnabled.range;
      updateAppVersion = true;
    }
    return {
      available: false,
      range,
      updateAppVersion,
      shouldRunBinaryVersion: latestSatisfying === undefined && runningFound,
    };
  }
  return { available: true, entry: latestSatisfying, mandatory: escalate || latestSatisfying.mandatory };
}
