import { type DeviceContext, decideModule, isValidVersion, type ModuleState } from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { VersionInvalid } from '../packages/package-errors.js';
import type { PackagePayload, ReleaseIndex } from '../releases/release-index.js';
import type { ReleaseStats } from '../releases/release-stats.js';
import type { ReleaseStore } from '../releases/release-store.js';
import { ReportReleaseUnknown } from './client-errors.js';
import type { CheckBody, CheckResponse, ModuleAnswer, ReportBody, ReportResponse } from './client-schemas.js';

export interface ClientServiceDeps {
  readonly index: ReleaseIndex;
  readonly stats: Pick<ReleaseStats, 'deviceHash' | 'noteChecked' | 'noteOffered'>;
  readonly releaseStore: Pick<ReleaseStore, 'recordDeviceReport' | 'lastInstalledVersion'>;
  readonly clock: Clock;
  readonly notifyChanged: (appId: string) => Promise<void>;
}

const NO_MODULES: ReadonlyMap<string, ModuleState<PackagePayload>> = new Map();

/**
 * The device-facing logic: "what should I run for each of my modules?" answered from memory,
 * and download/install reports recorded per release and stage.
 */
export class ClientService {
  readonly #d: ClientServiceDeps;

  constructor(deps: ClientServiceDeps) {
    this.#d = deps;
  }

  /**
   * Answers a check. `baseUrl` turns stored-package paths into absolute URLs. Every module the
   * device listed is answered; unlisted modules appear only when there is something to do.
   */
  async check(appId: string, body: CheckBody, baseUrl: string): Promise<CheckResponse> {
    if (!isValidVersion(body.appVersion)) throw VersionInvalid({ field: 'appVersion', value: body.appVersion });
    const listed = new Map<string, string | undefined>();
    for (let i = 0; i < body.modules.length; i++) {
      const m = body.modules[i];
      if (m === undefined) continue;
      const version = m.version === '' ? undefined : m.version;
      if (version !== undefined && !isValidVersion(version)) {
        throw VersionInvalid({ field: `modules/${i}/version`, value: version });
      }
      listed.set(m.name, version);
    }
    const ctx: DeviceContext = body;
    const catalog = await this.#d.index.catalog(appId);
    const modules = catalog.platforms.get(body.platform) ?? NO_MODULES;
    const out: ModuleAnswer[] = [];
    const deviceHash = this.#d.stats.deviceHash(body.deviceId);
    for (const [name, current] of listed) {
      const state = modules.get(name);
      out.push(
        state === undefined
          ? { name, action: 'none' }
          : this.#answer(name, ctx, current, state, baseUrl, deviceHash),
      );
    }
    for (const [name, state] of modules) {
      if (listed.has(name)) continue;
      const answer = this.#answer(name, ctx, undefined, state, baseUrl, deviceHash);
      if (answer.action !== 'none') out.push(answer);
    }
    return { modules: out };
  }

  #answer(
    name: string,
    ctx: DeviceContext,
    current: string | undefined,
    state: ModuleState<PackagePayload>,
    baseUrl: string,
    deviceHash: number,
  ): ModuleAnswer {
    // The module's newest active release is the one whose rollout this check counts towards.
    for (const r of state.releases) {
      if (r.status === 'active') {
        this.#d.stats.noteChecked(r.id, r.stage, deviceHash);
        break;
      }
    }
    const d = decideModule(ctx, current, state);
    if (d.action === 'none') return { name, action: 'none' };
    const answer: ModuleAnswer = { name, action: d.action };
    if (d.version !== undefined) answer.version = d.version;
    if (d.release !== undefined) answer.releaseId = d.release.id;
    const p = d.payload;
    if (p !== undefined && p !== null && d.action !== 'store-update') {
      answer.url = p.absolute ? p.url : baseUrl + p.url;
      if (p.hash !== '') answer.hash = p.hash;
      if (p.contentHash !== '') answer.contentHash = p.contentHash;
      answer.size = p.size;
      answer.kind = p.kind;
    }
    if (d.fallbackUrl !== undefined) answer.fallbackUrl = d.fallbackUrl;
    if (d.action === 'update') {
      answer.mandatory = d.mandatory === true;
      if (d.release !== undefined) this.#d.stats.noteOffered(d.release.id, d.release.stage, deviceHash);
    }
    return answer;
  }

  /** Records download/install results; an install is what later makes `rollback` reach a device. */
  async report(appId: string, body: ReportBody): Promise<ReportResponse> {
    const catalog = await this.#d.index.catalog(appId);
    const at = this.#d.clock.now().toISOString();
    const rejected: ReportResponse['rejected'] = [];
    let accepted = 0;
    let touchedRolledBack = false;
    for (let i = 0; i < body.events.length; i++) {
      const e = body.events[i];
      if (e === undefined) continue;
      const release = catalog.releases.get(e.releaseId);
      if (release === undefined) {
        const err = ReportReleaseUnknown({ id: e.releaseId });
        rejected.push({ index: i, code: err.code, message: err.message });
        continue;
      }
      if (e.fromVersion !== undefined && e.fromVersion !== '' && !isValidVersion(e.fromVersion)) {
        const err = VersionInvalid({ field: `events/${i}/fromVersion`, value: e.fromVersion });
        rejected.push({ index: i, code: err.code, message: err.message });
        continue;
      }
      let fromVersion: string | null = null;
      if (e.type === 'install' && e.ok) {
        fromVersion =
          e.fromVersion !== undefined && e.fromVersion !== ''
            ? e.fromVersion
            : await this.#d.releaseStore.lastInstalledVersion(appId, release.module, body.deviceId, release.id);
      }
      await this.#d.releaseStore.recordDeviceReport({
        releaseId: release.id,
        deviceId: body.deviceId,
        userId: body.userId ?? null,
        stage: release.stage,
        type: e.type,
        ok: e.ok,
        reason: e.reason ?? null,
        fromVersion,
        at,
      });
      if (release.status === 'rolled_back' && e.type === 'install') touchedRolledBack = true;
      accepted++;
    }
    // Late install reports of a rolled-back release must reach the in-memory rollback set.
    if (touchedRolledBack) await this.#d.notifyChanged(appId);
    return { accepted, rejected };
  }
}
