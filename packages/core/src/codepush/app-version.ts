/**
 * The binary version a CodePush client sends, normalised the way CodePush servers always did
 * (reference §b.2): a plain integer `"1"` becomes `"1.0.0"`, a version missing its patch
 * (`"2.0"`, `"2.0-beta"`, `"2.0+b7"`) gets `.0` inserted before any pre-release or build
 * suffix. Anything else is left as it is (the caller then checks it is valid semver).
 */
export interface NormalizedAppVersion {
  /** The version to match ranges against. */
  readonly version: string;
  /** Whether normalisation changed it (answers then echo the original form). */
  readonly changed: boolean;
}

/**
 * @example
 * normalizeCodePushAppVersion('1');        // { version: '1.0.0', changed: true }
 * normalizeCodePushAppVersion('2.0-beta'); // { version: '2.0.0-beta', changed: true }
 * normalizeCodePushAppVersion('1.2.3');    // { version: '1.2.3', changed: false }
 */
export function normalizeCodePushAppVersion(appVersion: string): NormalizedAppVersion {
  if (/^\d+$/.test(appVersion)) return { version: `${appVersion}.0.0`, changed: true };
  if (/^\d+\.\d+([+-].*)?$/.test(appVersion)) {
    const tag = appVersion.search(/[+-]/);
    const version = tag === -1 ? `${appVersion}.0` : `${appVersion.slice(0, tag)}.0${appVersion.slice(tag)}`;
    return { version, changed: true };
  }
  return { version: appVersion, changed: false };
}
