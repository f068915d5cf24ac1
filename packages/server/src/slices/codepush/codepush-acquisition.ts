import {
  type CandidateRelease,
  type CodePushEntry,
  type DeviceContext,
  audiencePath,
  isSelectedForCodePushRollout,
  normalizeCodePushAppVersion,
  selectCodePushRelease,
} from '@halftone/core';
import type { ClientService } from '../client/client-service.js';
import { type AppCatalog, membershipOf, type PackagePayload, type ReleaseIndex } from '../releases/release-index.js';
import { ReleaseStats } from '../releases/release-stats.js';
import type { CodePushDiffs } from './codepush-diffs.js';
import { isFinished } from './codepush-service.js';
import type { CodePushDeployment, CodePushRelease, CodePushStore, LabelMetrics } from './codepush-store.js';
import { isValidAppVersion, rangesCompatible, semverRanges } from './ranges.js';

/** How many earlier releases of a deployment a diff is offered from (CodePush's DIFF_PACKAGE_COUNT). */
export const DIFF_BASES = 5;

interface EntryPayload {
  readonly seq: number;
  readonly row: CodePushRelease;
  readonly candidate: CandidateRelease<PackagePayload>;
  readonly halted: boolean;
}

interface DeploymentView {
  readonly deployment: CodePushDeployment;
  /** Oldest first. */
  readonly history: readonly CodePushEntry<EntryPayload>[];
  readonly byLabel: ReadonlyMap<string, CodePushEntry<EntryPayload>>;
}

/** The update-check answer in CodePush's (legacy, camelCase) field names. */
export interface UpdateInfo {
  downloadURL?: string;
  description?: string;
  isAvailable: boolean;
  isMandatory: boolean;
  appVersion: string;
  packageHash?: string;
  label?: string;
  packageSize?: number;
  updateAppVersion: boolean;
  shouldRunBinaryVersion: boolean;
}

export type CheckOutcome =
  | { readonly kind: 'ok'; readonly updateInfo: UpdateInfo }
  | { readonly kind: 'unknown-key' }
  | { readonly kind: 'malformed'; readonly message: string };

export interface CheckQuery {
  readonly deploymentKey: string | undefined;
  readonly appVersion: string | undefined;
  readonly packageHash: string | undefined;
  readonly label: string | undefined;
  readonly clientUniqueId: string | undefined;
  readonly isCompanion: string | undefined;
}

export interface DeployReport {
  readonly deploymentKey: string | undefined;
  readonly appVersion: string | undefined;
  readonly clientUniqueId: string | undefined;
  readonly label: string | undefined;
  readonly status: string | undefined;
  readonly previousLabelOrAppVersion: string | undefined;
  readonly previousDeploymentKey: string | undefined;
}

export interface CodePushAcquisitionDeps {
  readonly index: Pick<ReleaseIndex, 'catalog'>;
  readonly store: Pick<CodePushStore, 'listDeployments' | 'listReleasesOfApp' | 'addMetrics'>;
  readonly client: Pick<ClientService, 'report'>;
  readonly stats: Pick<ReleaseStats, 'deviceHash' | 'sketch'>;
  readonly diffs: Pick<CodePushDiffs, 'lookup' | 'request'>;
}

const KEY_RE = /^[A-Za-z0-9_-]{10,100}$/;
const STATUSES = new Set(['DeploymentSucceeded', 'DeploymentFailed']);
const blank = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

/**
 * The device side of CodePush: update checks answered from memory (the release index's catalogue
 * plus this slice's labels, rebuilt whenever the app changes), and the two reports.
 */
export class CodePushAcquisition {
  readonly #d: CodePushAcquisitionDeps;
  #keys = new Map<string, string>();
  readonly #views = new WeakMap<AppCatalog, Promise<Map<string, DeploymentView>>>();

  constructor(deps: CodePushAcquisitionDeps) {
    this.#d = deps;
  }

  /** Loads every deployment key (at start). */
  async loadKeys(): Promise<void> {
    const keys = new Map<string, string>();
    for (const d of await this.#d.store.listDeployments()) keys.set(d.key, d.appId);
    this.#keys = keys;
  }

  /** Re-reads one app's deployment keys (after a change here or in another process). */
  async refreshApp(appId: string): Promise<void> {
    const deployments = await this.#d.store.listDeployments(appId);
    for (const [k, id] of this.#keys) if (id === appId) this.#keys.delete(k);
    for (const d of deployments) this.#keys.set(d.key, d.appId);
  }

  async #view(appId: string, key: string): Promise<DeploymentView | undefined> {
    const catalog = await this.#d.index.catalog(appId);
    let views = this.#views.get(catalog);
    if (views === undefined) {
      views = this.#build(appId, catalog);
      this.#views.set(catalog, views);
      views.catch(() => this.#views.delete(catalog));
    }
    return (await views).get(key);
  }

  async #build(appId: string, catalog: AppCatalog): Promise<Map<string, DeploymentView>> {
    const [deployments, rows] = await Promise.all([
      this.#d.store.listDeployments(appId),
      this.#d.store.listReleasesOfApp(appId),
    ]);
    const out = new Map<string, DeploymentView>();
    for (const d of deployments) {
      const modules = catalog.platforms.get(d.platform)?.get(d.module);
      const byId = new Map((modules?.releases ?? []).map((c) => [c.id, c]));
      const history: CodePushEntry<EntryPayload>[] = [];
      for (const row of rows) {
        if (row.deploymentId !== d.id) continue;
        const candidate = byId.get(row.releaseId);
        const release = catalog.releases.get(row.releaseId);
        if (candidate === undefined || release === undefined) continue;
        history.push({
          label: `v${row.seq}`,
          packageHash: candidate.payload.contentHash,
          range: row.range,
          mandatory: release.mandatory,
          // A release rolled back in Halftone is gone for CodePush clients (they get the previous one).
          disabled: row.disabled || release.status === 'rolled_back',
          unfinished: !isFinished(release),
          payload: { seq: row.seq, row, candidate, halted: release.status === 'halted' },
        });
      }
      out.set(d.key, { deployment: d, history, byLabel: new Map(history.map((e) => [e.label, e])) });
    }
    return out;
  }

  /** `GET /updateCheck` and `GET /v0.1/public/codepush/update_check`. */
  async updateCheck(q: CheckQuery, baseUrl: string): Promise<CheckOutcome> {
    const key = blank(q.deploymentKey);
    const rawVersion = blank(q.appVersion);
    const normalized = rawVersion === undefined ? undefined : normalizeCodePushAppVersion(rawVersion);
    const versionOk = normalized !== undefined && isValidAppVersion(normalized.version);
    if (key === undefined || !KEY_RE.test(key)) {
      return {
        kind: 'malformed',
        message:
          'An update check must include a valid deployment key - please check that your app has been configured correctly.',
      };
    }
    if (!versionOk || normalized === undefined || rawVersion === undefined) {
      return {
        kind: 'malformed',
        message:
          "An update check must include a binary version that conforms to the semver standard (e.g. '1.0.0'). The binary version is normally inferred from the App Store/Play Store version configured with your app.",
      };
    }
    const appId = this.#keys.get(key);
    const view = appId === undefined ? undefined : await this.#view(appId, key);
    if (appId === undefined || view === undefined) return { kind: 'unknown-key' };

    const clientId = blank(q.clientUniqueId);
    const catalog = await this.#d.index.catalog(appId);
    const ctx: DeviceContext = { deviceId: clientId ?? '', platform: view.deployment.platform, appVersion: normalized.version };
    const membership = clientId === undefined ? undefined : membershipOf(catalog, clientId, undefined);
    const exact = view.deployment.bucketing === 'codepush';
    const inRollout = (entry: CodePushEntry<EntryPayload>): boolean => {
      if (clientId === undefined || entry.payload.halted) return false;
      const c = entry.payload.candidate;
      if (exact) {
        if (membership !== undefined && membership.whitelisted.has(c.id)) return true;
        return c.stage !== 'whitelist' && c.stage !== 'internal' && isSelectedForCodePushRollout(clientId, c.percent, entry.label);
      }
      return audiencePath(c, ctx, membership) !== null;
    };
    const packageHash = blank(q.packageHash);
    const selection = selectCodePushRelease(
      view.history,
      {
        appVersion: normalized.version,
        label: blank(q.label),
        packageHash,
        isCompanion: (q.isCompanion ?? '').toLowerCase() === 'true',
      },
      semverRanges,
      inRollout,
    );
    if (!selection.available) {
      return {
        kind: 'ok',
        updateInfo: {
          isAvailable: false,
          isMandatory: false,
          appVersion: selection.range ?? rawVersion,
          updateAppVersion: selection.updateAppVersion,
          shouldRunBinaryVersion: selection.shouldRunBinaryVersion,
        },
      };
    }
    const entry = selection.entry;
    const payload = entry.payload.candidate.payload;
    if (clientId !== undefined) {
      const c = entry.payload.candidate;
      ReleaseStats.noteOffered(this.#d.stats.sketch(c.id, c.stage), this.#d.stats.deviceHash(clientId));
    }
    let blob = payload.hash;
    let size = payload.size;
    if (packageHash !== undefined) {
      const diff = this.#diffFor(appId, view, entry, packageHash);
      if (diff !== undefined) {
        blob = diff.blobSha256;
        size = diff.size;
      }
    }
    return {
      kind: 'ok',
      updateInfo: {
        downloadURL: `${baseUrl}/client/v1/blobs/${blob}`,
        description: descriptionOf(catalog, entry) ?? '',
        isAvailable: true,
        isMandatory: selection.mandatory,
        appVersion: rawVersion,
        packageHash: entry.packageHash,
        label: entry.label,
        packageSize: size,
        updateAppVersion: false,
        shouldRunBinaryVersion: false,
      },
    };
  }

  /** A ready diff from the device's package to `target`, or undefined (and one gets queued). */
  #diffFor(
    appId: string,
    view: DeploymentView,
    target: CodePushEntry<EntryPayload>,
    baseHash: string,
  ): { blobSha256: string; size: number } | undefined {
    if (baseHash === target.packageHash) return undefined;
    const idx = view.history.indexOf(target);
    const bases = view.history.slice(Math.max(0, idx - DIFF_BASES), idx);
    const base = bases.find((b) => b.packageHash === baseHash && rangesCompatible(b.range, target.range));
    if (base === undefined) return undefined;
    const toId = target.payload.row.packageId;
    const ready = this.#d.diffs.lookup(toId, baseHash);
    if (ready === undefined) this.#d.diffs.request(appId, toId, baseHash, base.payload.row.packageId);
    return ready;
  }

  /** `POST /reportStatus/download`; false when the report lacks its key or label. */
  async reportDownload(body: { deploymentKey?: string | undefined; label?: string | undefined; clientUniqueId?: string | undefined }): Promise<boolean> {
    const key = blank(body.deploymentKey);
    const l = blank(body.label);
    if (key === undefined || l === undefined) return false;
    const found = await this.#resolve(key, l);
    if (found === undefined) return true;
    if (found.entry === undefined) {
      await this.#count(found.view.deployment.id, '', { ignored: 1 });
      return true;
    }
    await this.#count(found.view.deployment.id, l, { downloaded: 1 });
    const clientId = blank(body.clientUniqueId);
    if (clientId !== undefined) {
      await this.#d.client.report(found.appId, {
        deviceId: clientId,
        events: [{ type: 'download', releaseId: found.entry.payload.candidate.id, ok: true }],
      });
    }
    return true;
  }

  /** `POST /reportStatus/deploy`; a message for a malformed report, else undefined. */
  async reportDeploy(r: DeployReport): Promise<string | undefined> {
    const key = blank(r.deploymentKey);
    const appVersion = blank(r.appVersion);
    const l = blank(r.label);
    if (key === undefined || appVersion === undefined) {
      return 'A deploy status report must contain a valid appVersion and deploymentKey.';
    }
    if (l !== undefined) {
      if (blank(r.status) === undefined) return 'A deploy status report for a labelled package must contain a valid status.';
      if (!STATUSES.has(r.status as string)) return `Invalid status: ${r.status}`;
    }
    const found = await this.#resolve(key, l);
    if (found === undefined) return undefined;
    const dep = found.view.deployment.id;
    const clientId = blank(r.clientUniqueId);
    if (l !== undefined && found.entry === undefined) {
      await this.#count(dep, '', { ignored: 1 });
      return undefined;
    }
    const entry = found.entry;
    if (entry !== undefined && r.status === 'DeploymentFailed') {
      await this.#count(dep, entry.label, { failed: 1 });
      if (clientId !== undefined) {
        await this.#d.client.report(found.appId, {
          deviceId: clientId,
          events: [{ type: 'install', releaseId: entry.payload.candidate.id, ok: false, reason: 'DeploymentFailed' }],
        });
      }
      return undefined;
    }
    // Success of a label, or the first run of a binary: the device is active there now.
    await this.#count(dep, entry?.label ?? appVersion, entry === undefined ? { active: 1 } : { active: 1, installed: 1 });
    const previous = blank(r.previousLabelOrAppVersion);
    const previousKey = blank(r.previousDeploymentKey) ?? key;
    let fromVersion: string | undefined;
    if (previous !== undefined) {
      const prev = await this.#resolve(previousKey, previous);
      if (prev !== undefined) {
        const leftBehind: Partial<LabelMetrics> = { active: -1 };
        if (prev.entry !== undefined &&
          prev.view === found.view &&
          entry !== undefined &&
          (prev.entry.payload.seq > entry.payload.seq || (entry.payload.row.releasedFrom ?? '').startsWith('rollback:'))) {
          leftBehind.rolledBack = 1;
        }
        await this.#count(prev.view.deployment.id, prev.entry?.label ?? previous, leftBehind);
        if (prev.entry !== undefined && prev.view === found.view) fromVersion = prev.entry.payload.candidate.version;
      }
    }
    if (entry !== undefined && clientId !== undefined) {
      await this.#d.client.report(found.appId, {
        deviceId: clientId,
        events: [
          {
            type: 'install',
            releaseId: entry.payload.candidate.id,
            ok: true,
            ...(fromVersion !== undefined ? { fromVersion } : {}),
          },
        ],
      });
    }
    return undefined;
  }

  /** The deployment of a key and, when `l` is a label of it, that label; undefined for unknown keys (counted). */
  async #resolve(
    key: string,
    l: string | undefined,
  ): Promise<{ appId: string; view: DeploymentView; entry: CodePushEntry<EntryPayload> | undefined } | undefined> {
    const appId = this.#keys.get(key);
    const view = appId === undefined ? undefined : await this.#view(appId, key);
    if (appId === undefined || view === undefined) {
      await this.#count('', '', { ignored: 1 });
      return undefined;
    }
    return { appId, view, entry: l === undefined ? undefined : view.byLabel.get(l) };
  }

  #count(deploymentId: string, l: string, delta: Partial<LabelMetrics>): Promise<void> {
    return this.#d.store.addMetrics(deploymentId, l, delta);
  }
}

function descriptionOf(catalog: AppCatalog, entry: CodePushEntry<EntryPayload>): string | null {
  return catalog.releases.get(entry.payload.candidate.id)?.description ?? null;
}
