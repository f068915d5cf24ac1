import { randomBytes } from 'node:crypto';
import { isValidPercent } from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { isHalftoneError } from '../../platform/errors/halftone-error.js';
import { newId } from '../../platform/ids.js';
import type { AppService } from '../apps/app-service.js';
import type { PackageService } from '../packages/package-service.js';
import type { Package } from '../packages/package-store.js';
import type { ReleaseService } from '../releases/release-service.js';
import type { Release } from '../releases/release-store.js';
import {
  CodePushDeploymentNotFound,
  CodePushLabelNotFound,
  CodePushNoReleases,
  CodePushPackageIdentical,
  CodePushPlatformRequired,
  CodePushRangeInvalid,
  CodePushRangeUnsatisfiable,
  CodePushReleaseStateInvalid,
  CodePushRollbackInvalid,
  CodePushRolloutDecrease,
  CodePushRolloutInvalid,
  CodePushRolloutUnfinished,
} from './codepush-errors.js';
import type {
  CodePushBucketing,
  CodePushDeployment,
  CodePushRelease,
  CodePushStore,
  LabelMetrics,
} from './codepush-store.js';
import { checkRange } from './ranges.js';

/** What a releaser says about a CodePush release (the old CLI's options). */
export interface CodePushReleaseOptions {
  readonly targetBinaryVersion?: string | undefined;
  readonly mandatory?: boolean | undefined;
  readonly rollout?: number | undefined;
  readonly description?: string | undefined;
  readonly disabled?: boolean | undefined;
}

/** One label of a deployment as the admin API shows it (CodePush's package fields plus Halftone's). */
export interface CodePushLabelView {
  readonly label: string;
  readonly appVersion: string;
  readonly packageHash: string;
  readonly blobSha256: string | null;
  readonly size: number;
  readonly isMandatory: boolean;
  readonly isDisabled: boolean;
  /** 100 when the release reaches everyone. */
  readonly rollout: number;
  readonly description: string | null;
  readonly releaseId: string;
  readonly status: Release['status'];
  readonly stage: Release['stage'];
  readonly releasedFrom: string | null;
  readonly uploadTime: string;
}

export interface CodePushServiceDeps {
  readonly store: CodePushStore;
  readonly apps: Pick<AppService, 'getApp'>;
  readonly packages: Pick<PackageService, 'stageUpload' | 'publishCopy' | 'getPackage'>;
  readonly releases: Pick<ReleaseService, 'create' | 'get' | 'setPercent' | 'update'>;
  readonly clock: Clock;
  readonly notifyChanged: (appId: string) => Promise<void>;
}

/** Generates a deployment key: 32 URL-safe characters (CodePush accepted 10–100 of [A-Za-z0-9_-]). */
export function generateDeploymentKey(): string {
  return randomBytes(24).toString('base64url');
}

const label = (seq: number): string => `v${seq}`;
const parseLabel = (l: string): number | null => {
  const m = /^v([1-9][0-9]{0,8})$/.exec(l);
  return m ? Number(m[1]) : null;
};

/** Whether a Halftone release reaches every device (a CodePush "finished" rollout). */
export function isFinished(r: Pick<Release, 'stage' | 'percent' | 'status'>): boolean {
  if (r.status !== 'active') return false;
  return r.stage === 'full' || (r.stage === 'percentage' && r.percent >= 100);
}

/** The rollout percentage CodePush would show for a release. */
export function rolloutOf(r: Pick<Release, 'stage' | 'percent'>): number {
  return r.stage === 'full' ? 100 : r.percent;
}

function checkRollout(rollout: number | undefined): void {
  if (rollout === undefined) return;
  if (!isValidPercent(rollout) || rollout <= 0) throw CodePushRolloutInvalid({ rollout: String(rollout) });
}

function checkTargetRange(range: string | undefined): void {
  if (range === undefined) return;
  const verdict = checkRange(range);
  if (verdict === 'invalid') throw CodePushRangeInvalid({ range });
  if (verdict === 'unsatisfiable') throw CodePushRangeUnsatisfiable({ range });
}

/**
 * CodePush's management side over Halftone: deployments and their keys, and release, promote,
 * rollback and patch with the old CLI's meaning. Every label is a Halftone package + release in
 * the deployment's module (version `<n>.0.0` for label `v<n>`); the audience, percentage,
 * mandatory flag and description live on the Halftone release, so Halftone's own release API
 * (whitelists, conditions, halt) works on CodePush releases too (ADR 0003).
 */
export class CodePushService {
  readonly #d: CodePushServiceDeps;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: CodePushServiceDeps) {
    this.#d = deps;
  }

  async addDeployment(
    appId: string,
    input: { name: string; platform?: string | undefined; key?: string | undefined; bucketing?: CodePushBucketing | undefined },
  ): Promise<CodePushDeployment> {
    const app = await this.#d.apps.getApp(appId);
    let platform = input.platform;
    if (platform === undefined) {
      if (app.platforms.length !== 1) {
        throw CodePushPlatformRequired({ app: appId, platforms: app.platforms.join(', ') });
      }
      platform = app.platforms[0] as string;
    } else if (!app.platforms.includes(platform)) {
      throw CodePushPlatformRequired({ app: appId, platforms: app.platforms.join(', ') });
    }
    const deployment: CodePushDeployment = {
      id: newId('cpd'),
      appId,
      name: input.name,
      platform,
      module: `codepush-${input.name.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}`.slice(0, 128),
      key: input.key ?? generateDeploymentKey(),
      bucketing: input.bucketing ?? 'halftone',
      createdAt: this.#d.clock.now().toISOString(),
    };
    await this.#d.store.insertDeployment(deployment);
    await this.#d.notifyChanged(appId);
    return deployment;
  }

  async listDeployments(appId: string): Promise<CodePushDeployment[]> {
    await this.#d.apps.getApp(appId);
    return this.#d.store.listDeployments(appId);
  }

  async deployment(appId: string, name: string): Promise<CodePushDeployment> {
    await this.#d.apps.getApp(appId);
    const d = await this.#d.store.getDeployment(appId, name);
    if (d === null) throw CodePushDeploymentNotFound({ app: appId, deployment: name });
    return d;
  }

  async history(appId: string, name: string): Promise<CodePushLabelView[]> {
    const d = await this.deployment(appId, name);
    const rows = await this.#d.store.listReleases(d.id);
    return Promise.all(rows.map((r) => this.#view(r)));
  }

  async metrics(appId: string, name: string): Promise<Record<string, LabelMetrics>> {
    const d = await this.deployment(appId, name);
    return Object.fromEntries(await this.#d.store.metrics(d.id));
  }

  /** `release`: uploads a new label. The content stream is consumed (or drained) in every case. */
  release(
    appId: string,
    name: string,
    opts: CodePushReleaseOptions & { targetBinaryVersion: string },
    content: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  ): Promise<CodePushLabelView> {
    return this.#serial(`${appId}/${name}`, async () => {
      let d: CodePushDeployment;
      try {
        d = await this.deployment(appId, name);
        checkTargetRange(opts.targetBinaryVersion);
        checkRollout(opts.rollout);
      } catch (err) {
        await drain(content);
        throw err;
      }
      const history = await this.#d.store.listReleases(d.id);
      const latest = history.at(-1);
      try {
        await this.#refuseUnfinished(d, latest);
      } catch (err) {
        await drain(content);
        throw err;
      }
      const staged = await this.#d.packages.stageUpload(appId, content);
      if (latest !== undefined) {
        const current = await this.#d.packages.getPackage(latest.packageId);
        if (current.contentHash === staged.contentHash) {
          await staged.discard();
          throw CodePushPackageIdentical({ label: label(latest.seq), deployment: d.name });
        }
      }
      const seq = (latest?.seq ?? 0) + 1;
      const pkg = await staged.publish({
        module: d.module,
        version: `${seq}.0.0`,
        kind: 'rn',
        platform: d.platform,
        ...(opts.description !== undefined ? { description: opts.description } : {}),
      });
      return this.#record(d, seq, pkg, opts.targetBinaryVersion, opts, null);
    });
  }

  /** `promote FROM TO`: the source's label (latest, or `label`) becomes a new label of the target. */
  promote(
    appId: string,
    from: string,
    to: string,
    opts: CodePushReleaseOptions & { label?: string | undefined },
  ): Promise<CodePushLabelView> {
    return this.#serial(`${appId}/${to}`, async () => {
      const src = await this.deployment(appId, from);
      const dst = await this.deployment(appId, to);
      checkTargetRange(opts.targetBinaryVersion);
      checkRollout(opts.rollout);
      const srcHistory = await this.#d.store.listReleases(src.id);
      const source = opts.label !== undefined ? this.#find(src, srcHistory, opts.label) : srcHistory.at(-1);
      if (source === undefined) throw CodePushNoReleases({ deployment: src.name });
      const sourceRelease = await this.#d.releases.get(source.releaseId);
      const sourcePkg = await this.#d.packages.getPackage(source.packageId);
      const dstHistory = await this.#d.store.listReleases(dst.id);
      const latest = dstHistory.at(-1);
      await this.#refuseUnfinished(dst, latest);
      if (latest !== undefined && (await this.#d.packages.getPackage(latest.packageId)).contentHash === sourcePkg.contentHash) {
        throw CodePushPackageIdentical({ label: label(latest.seq), deployment: dst.name });
      }
      const seq = (latest?.seq ?? 0) + 1;
      const description = opts.description ?? sourceRelease.description ?? undefined;
      const pkg = await this.#d.packages.publishCopy(
        appId,
        {
          module: dst.module,
          version: `${seq}.0.0`,
          kind: 'rn',
          platform: dst.platform,
          ...(description !== undefined ? { description } : {}),
        },
        sourcePkg,
      );
      return this.#record(
        dst,
        seq,
        pkg,
        opts.targetBinaryVersion ?? source.range,
        {
          mandatory: opts.mandatory ?? sourceRelease.mandatory,
          description,
          rollout: opts.rollout,
          disabled: opts.disabled ?? source.disabled,
        },
        `promote:${src.name}:${label(source.seq)}`,
      );
    });
  }

  /** `rollback`: re-publishes an earlier label (the previous one, or `targetLabel`) as a new label. */
  rollback(appId: string, name: string, targetLabel?: string): Promise<CodePushLabelView> {
    return this.#serial(`${appId}/${name}`, async () => {
      const d = await this.deployment(appId, name);
      const history = await this.#d.store.listReleases(d.id);
      const latest = history.at(-1);
      if (latest === undefined) throw CodePushRollbackInvalid({ deployment: d.name, reason: 'it has no releases' });
      let target: CodePushRelease | undefined;
      if (targetLabel !== undefined) {
        target = this.#find(d, history, targetLabel);
        if (target.seq === latest.seq) {
          throw CodePushRollbackInvalid({ deployment: d.name, reason: `${targetLabel} is already the current release` });
        }
      } else {
        target = history.at(-2);
        if (target === undefined) {
          throw CodePushRollbackInvalid({ deployment: d.name, reason: 'there is no previous release to roll back to' });
        }
      }
      if (target.range !== latest.range) {
        throw CodePushRollbackInvalid({
          deployment: d.name,
          reason: `${label(target.seq)} targets binary versions "${target.range}", the current release "${latest.range}" (a rollback never crosses binary versions)`,
        });
      }
      const targetRelease = await this.#d.releases.get(target.releaseId);
      const targetPkg = await this.#d.packages.getPackage(target.packageId);
      const seq = latest.seq + 1;
      const pkg = await this.#d.packages.publishCopy(
        appId,
        {
          module: d.module,
          version: `${seq}.0.0`,
          kind: 'rn',
          platform: d.platform,
          ...(targetRelease.description !== null ? { description: targetRelease.description } : {}),
        },
        targetPkg,
      );
      return this.#record(
        d,
        seq,
        pkg,
        target.range,
        { mandatory: targetRelease.mandatory, description: targetRelease.description ?? undefined, disabled: false },
        `rollback:${label(target.seq)}`,
      );
    });
  }

  /** `patch`: changes a label's (default: the latest) rollout, mandatory flag, disabled flag, description or range. */
  patch(appId: string, name: string, labelName: string | undefined, opts: CodePushReleaseOptions): Promise<CodePushLabelView> {
    return this.#serial(`${appId}/${name}`, async () => {
      const d = await this.deployment(appId, name);
      checkTargetRange(opts.targetBinaryVersion);
      checkRollout(opts.rollout);
      const history = await this.#d.store.listReleases(d.id);
      const row = labelName !== undefined ? this.#find(d, history, labelName) : history.at(-1);
      if (row === undefined) throw CodePushNoReleases({ deployment: d.name });
      let release = await this.#d.releases.get(row.releaseId);
      if (opts.rollout !== undefined) {
        const current = rolloutOf(release);
        if (opts.rollout < current) {
          throw CodePushRolloutDecrease({ label: label(row.seq), percent: current, rollout: opts.rollout });
        }
        if (opts.rollout > current) {
          release = await this.#halftone(d, row, 'change the rollout of', () =>
            this.#d.releases.setPercent(row.releaseId, opts.rollout as number),
          );
        }
      }
      if (opts.mandatory !== undefined || opts.description !== undefined) {
        release = await this.#halftone(d, row, 'change', () =>
          this.#d.releases.update(row.releaseId, {
            ...(opts.mandatory !== undefined ? { mandatory: opts.mandatory } : {}),
            ...(opts.description !== undefined ? { description: opts.description } : {}),
          }),
        );
      }
      if (opts.disabled !== undefined || opts.targetBinaryVersion !== undefined) {
        await this.#d.store.updateRelease(d.id, row.seq, {
          ...(opts.disabled !== undefined ? { disabled: opts.disabled } : {}),
          ...(opts.targetBinaryVersion !== undefined ? { range: opts.targetBinaryVersion } : {}),
        });
        await this.#d.notifyChanged(appId);
      }
      const updated = (await this.#d.store.listReleases(d.id)).find((r) => r.seq === row.seq) ?? row;
      return this.#view(updated, release);
    });
  }

  async #halftone(d: CodePushDeployment, row: CodePushRelease, action: string, fn: () => Promise<Release>): Promise<Release> {
    try {
      return await fn();
    } catch (err) {
      if (isHalftoneError(err) && err.code === 'HT_RELEASE_STATE_INVALID') {
        const r = await this.#d.releases.get(row.releaseId);
        throw CodePushReleaseStateInvalid({ label: label(row.seq), deployment: d.name, state: r.status.replace('_', ' '), action });
      }
      throw err;
    }
  }

  #find(d: CodePushDeployment, history: readonly CodePushRelease[], l: string): CodePushRelease {
    const seq = parseLabel(l);
    const row = seq === null ? undefined : history.find((r) => r.seq === seq);
    if (row === undefined) throw CodePushLabelNotFound({ deployment: d.name, label: l });
    return row;
  }

  async #refuseUnfinished(d: CodePushDeployment, latest: CodePushRelease | undefined): Promise<void> {
    if (latest === undefined || latest.disabled) return;
    const r = await this.#d.releases.get(latest.releaseId);
    if (r.status === 'active' && !isFinished(r)) {
      throw CodePushRolloutUnfinished({ deployment: d.name, label: label(latest.seq), percent: rolloutOf(r) });
    }
  }

  async #record(
    d: CodePushDeployment,
    seq: number,
    pkg: Package,
    range: string,
    opts: CodePushReleaseOptions,
    releasedFrom: string | null,
  ): Promise<CodePushLabelView> {
    const release = await this.#d.releases.create(d.appId, {
      module: d.module,
      version: pkg.version,
      platform: d.platform,
      percent: opts.rollout ?? 100,
      mandatory: opts.mandatory ?? false,
      stickiness: 'deviceId',
      ...(opts.description !== undefined ? { description: opts.description } : {}),
    });
    const row: CodePushRelease = {
      deploymentId: d.id,
      seq,
      releaseId: release.id,
      packageId: pkg.id,
      range,
      disabled: opts.disabled ?? false,
      releasedFrom,
      createdAt: this.#d.clock.now().toISOString(),
    };
    await this.#d.store.insertRelease(row);
    await this.#d.notifyChanged(d.appId);
    return this.#view(row, release, pkg);
  }

  async #view(row: CodePushRelease, release?: Release, pkg?: Package): Promise<CodePushLabelView> {
    const r = release ?? (await this.#d.releases.get(row.releaseId));
    const p = pkg ?? (await this.#d.packages.getPackage(row.packageId));
    return {
      label: label(row.seq),
      appVersion: row.range,
      packageHash: p.contentHash,
      blobSha256: p.blobSha256,
      size: p.size,
      isMandatory: r.mandatory,
      isDisabled: row.disabled,
      rollout: rolloutOf(r),
      description: r.description,
      releaseId: r.id,
      status: r.status,
      stage: r.stage,
      releasedFrom: row.releasedFrom,
      uploadTime: row.createdAt,
    };
  }

  /** One change at a time per deployment in this process (labels are taken in order). */
  #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return next;
  }
}

async function drain(content: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<void> {
  try {
    for await (const _ of content as AsyncIterable<unknown>) {
      // discard
    }
  } catch {
    // the request is being answered with an error anyway
  }
}
