export const PACKAGE_KINDS = ['h5', 'rn', 'patch', 'mini', 'installer'] as const;
export type PackageKind = (typeof PACKAGE_KINDS)[number];

/** How the package is stored: an inspected zip, a single raw file, or a link (installers). */
export type PackageFormat = 'zip' | 'raw' | 'link';

/** One published version of one business module of an app. Immutable but for `disabled`. */
export interface Package {
  readonly id: string;
  readonly appId: string;
  readonly module: string;
  readonly version: string;
  readonly kind: PackageKind;
  /** `null` = runs on every platform of the app. */
  readonly platform: string | null;
  readonly format: PackageFormat;
  /** Content address of the stored file (sha256 hex of its bytes); `null` for links. */
  readonly blobSha256: string | null;
  /** Sorted `path:sha256` list → SHA-256 (see @halftone/core packageContentHash). */
  readonly contentHash: string;
  readonly size: number;
  readonly fileCount: number;
  readonly linkUrl: string | null;
  readonly minAppVersion: string | null;
  readonly maxAppVersion: string | null;
  readonly fallbackUrl: string | null;
  readonly description: string | null;
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface PackageStore {
  /** Throws PackageVersionExists when (app, module, platform, version) is taken. */
  insertPackage(pkg: Package): Promise<void>;
  getPackage(id: string): Promise<Package | null>;
  /** Exact platform match; `null` = the every-platform package. */
  findPackage(appId: string, module: string, version: string, platform: string | null): Promise<Package | null>;
  /** Every platform-specific and every-platform package of that version. */
  findPackagesByVersion(appId: string, module: string, version: string): Promise<Package[]>;
  listPackages(appId: string, module?: string): Promise<Package[]>;
  setDisabled(id: string, disabled: boolean, updatedAt: string): Promise<Package | null>;
}
