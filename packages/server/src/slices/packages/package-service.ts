import { isValidVersion, compareVersions } from '@halftone/core';
import type { Config } from '../../platform/config/config-schema.js';
import type { BlobWriter } from '../../platform/blob/blob-store.js';
import type { Clock } from '../../platform/clock.js';
import { newId } from '../../platform/ids.js';
import type { AppService } from '../apps/app-service.js';
import { inspectArchive } from './archive.js';
import {
  PackageNotFound,
  PackagePlatformUnknown,
  PackageVersionExists,
  VersionInvalid,
  VersionRangeInvalid,
} from './package-errors.js';
import type { Package, PackageKind, PackageStore } from './package-store.js';

/** An upload staged and inspected but not recorded yet (see `PackageService.stageUpload`). */
export interface StagedPackage {
  readonly contentHash: string;
  readonly format: 'zip' | 'raw';
  readonly size: number;
  readonly sha256: string;
  publish(meta: PackageMeta): Promise<Package>;
  discard(): Promise<void>;
}

/** What a publisher says about a package besides its bytes. */
export interface PackageMeta {
  readonly module: string;
  readonly version: string;
  readonly kind: PackageKind;
  readonly platform?: string | undefined;
  readonly minAppVersion?: string | undefined;
  readonly maxAppVersion?: string | undefined;
  readonly fallbackUrl?: string | undefined;
  readonly description?: string | undefined;
}

export interface PackageServiceDeps {
  readonly packageStore: PackageStore;
  readonly blobs: BlobWriter;
  readonly apps: Pick<AppService, 'getApp'>;
  readonly clock: Clock;
  readonly notifyChanged: (appId: string) => Promise<void>;
  readonly config: Pick<Config, 'limits'>;
}

/** Checks a version field and says which field was wrong. */
export function assertVersion(field: string, value: string | undefined): void {
  if (value !== undefined && !isValidVersion(value)) throw VersionInvalid({ field, value });
}

/**
 * Publishing: every upload is staged to a temp file, hashed, inspected (paths, symlinks, zip
 * bombs) and only then committed to the content-addressed blob store and recorded. A crash or a
 * rejection at any step leaves no package and no visible blob behind.
 */
export class PackageService {
  readonly #deps: PackageServiceDeps;

  constructor(deps: PackageServiceDeps) {
    this.#deps = deps;
  }

  /** Validates metadata and refuses a duplicate before a single byte is staged. */
  async preflight(appId: string, meta: PackageMeta): Promise<void> {
    const app = await this.#deps.apps.getApp(appId);
    assertVersion('version', meta.version);
    assertVersion('minAppVersion', meta.minAppVersion);
    assertVersion('maxAppVersion', meta.maxAppVersion);
    if (
      meta.minAppVersion !== undefined &&
      meta.maxAppVersion !== undefined &&
      compareVersions(meta.minAppVersion, meta.maxAppVersion) > 0
    ) {
      throw VersionRangeInvalid({ min: meta.minAppVersion, max: meta.maxAppVersion });
    }
    if (meta.platform !== undefined && !app.platforms.includes(meta.platform)) {
      throw PackagePlatformUnknown({ app: appId, platform: meta.platform });
    }
    const existing = await this.#deps.packageStore.findPackage(
      appId,
      meta.module,
      meta.version,
      meta.platform ?? null,
    );
    if (existing) {
      throw PackageVersionExists({
        app: appId,
        module: meta.module,
        version: meta.version,
        platform: meta.platform ? ` for ${meta.platform}` : '',
      });
    }
  }

  /**
   * Streams an upload into the blob store's staging area (size-limited) and inspects it (path
   * traversal, bombs, entry count); a refused archive is discarded before the error is thrown.
   */
  async #stageAndInspect(source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream) {
    const { limits } = this.#deps.config;
    const staged = await this.#deps.blobs.stage(source, { maxBytes: limits.uploadMaxBytes });
    try {
      const manifest = await inspectArchive(staged.path, {
        maxUncompressedBytes: limits.archiveMaxUncompressedBytes,
        maxEntries: limits.archiveMaxEntries,
        maxRatio: limits.archiveMaxRatio,
      });
      return { staged, manifest };
    } catch (err) {
      await staged.discard();
      throw err;
    }
  }

  /** Publishes an archive (zip) or a raw single-file package from a byte stream. */
  async publishUpload(
    appId: string,
    meta: PackageMeta,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  ): Promise<Package> {
    await this.preflight(appId, meta);
    const { staged, manifest } = await this.#stageAndInspect(source);
    await staged.commit();
    // A blob committed but never recorded (a crash right here, or a lost race on the version)
    // is unreachable garbage, never a half package.
    return this.#record(appId, meta, {
      format: manifest.format,
      blobSha256: staged.sha256,
      contentHash: manifest.contentHash,
      size: staged.size,
      fileCount: manifest.format === 'zip' ? manifest.files.length : 1,
      linkUrl: null,
    });
  }

  /**
   * Stages and inspects an upload without recording anything, so a caller can look at the
   * content (e.g. refuse a package identical to the current one) before publishing it with
   * `publish(meta)`, or drop it with `discard()`. Added for the CodePush slice; `publishUpload`
   * is unchanged.
   */
  async stageUpload(
    appId: string,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  ): Promise<StagedPackage> {
    await this.#deps.apps.getApp(appId);
    const { staged, manifest } = await this.#stageAndInspect(source);
    return {
      contentHash: manifest.contentHash,
      format: manifest.format,
      size: staged.size,
      sha256: staged.sha256,
      publish: async (meta) => {
        try {
          await this.preflight(appId, meta);
        } catch (err) {
          await staged.discard();
          throw err;
        }
        await staged.commit();
        return this.#record(appId, meta, {
          format: manifest.format,
          blobSha256: staged.sha256,
          contentHash: manifest.contentHash,
          size: staged.size,
          fileCount: manifest.format === 'zip' ? manifest.files.length : 1,
          linkUrl: null,
        });
      },
      discard: () => staged.discard(),
    };
  }

  /**
   * Publishes another package row over the stored content of `from` (same blob, same hash),
   * e.g. a CodePush promote or rollback. Added for the CodePush slice.
   */
  async publishCopy(appId: string, meta: PackageMeta, from: Package): Promise<Package> {
    await this.preflight(appId, meta);
    return this.#record(appId, meta, {
      format: from.format,
      blobSha256: from.blobSha256,
      contentHash: from.contentHash,
      size: from.size,
      fileCount: from.fileCount,
      linkUrl: from.linkUrl,
    });
  }

  /** Publishes an installer (apk/ipa/store) link. */
  async publishLink(appId: string, meta: PackageMeta, url: string): Promise<Package> {
    await this.preflight(appId, meta);
    return this.#record(appId, meta, {
      format: 'link',
      blobSha256: null,
      contentHash: '',
      size: 0,
      fileCount: 0,
      linkUrl: url,
    });
  }

  async #record(
    appId: string,
    meta: PackageMeta,
    stored: Pick<Package, 'format' | 'blobSha256' | 'contentHash' | 'size' | 'fileCount' | 'linkUrl'>,
  ): Promise<Package> {
    const now = this.#deps.clock.now().toISOString();
    const pkg: Package = {
      id: newId('pkg'),
      appId,
      module: meta.module,
      version: meta.version,
      kind: meta.kind,
      platform: meta.platform ?? null,
      ...stored,
      minAppVersion: meta.minAppVersion ?? null,
      maxAppVersion: meta.maxAppVersion ?? null,
      fallbackUrl: meta.fallbackUrl ?? null,
      description: meta.description ?? null,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    await this.#deps.packageStore.insertPackage(pkg);
    await this.#deps.notifyChanged(appId);
    return pkg;
  }

  async getPackage(id: string): Promise<Package> {
    const pkg = await this.#deps.packageStore.getPackage(id);
    if (!pkg) throw PackageNotFound({ id });
    return pkg;
  }

  async listPackages(appId: string, module?: string): Promise<Package[]> {
    await this.#deps.apps.getApp(appId);
    return this.#deps.packageStore.listPackages(appId, module);
  }

  /** Disables (circuit-breaks) or re-enables a package: devices running it get `disable`. */
  async setDisabled(id: string, disabled: boolean): Promise<Package> {
    const pkg = await this.getPackage(id);
    const updated = await this.#deps.packageStore.setDisabled(
      id,
      disabled,
      this.#deps.clock.now().toISOString(),
    );
    if (!updated) throw PackageNotFound({ id });
    await this.#deps.notifyChanged(pkg.appId);
    return updated;
  }
}
