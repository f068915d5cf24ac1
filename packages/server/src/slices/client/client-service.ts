import {
  type CandidateRelease,
  type DeviceContext,
  type ModuleDecision,
  type ParsedVersion,
  type PreparedDevice,
  decideModule,
  isValidVersion,
  parseVersion,
} from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { VersionInvalid } from '../packages/package-errors.js';
import { type IndexedModule, membershipOf, type PackagePayload, type ReleaseIndex } from '../releases/release-index.js';
import type { DeltaService } from '../delta/delta-service.js';
import type { DiagnosticsFeed } from '../diagnostics/index.js';
import type { ModuleGate, ModuleSwitches } from '../config/index.js';
import { ReleaseStats, type StageSketch } from '../releases/release-stats.js';
import type { ReleaseStore } from '../releases/release-store.js';
import { ReportReleaseUnknown } from './client-errors.js';
import type { CheckBody, ModuleAnswer, ReportBody, ReportResponse } from './client-schemas.js';

export interface ClientServiceDeps {
  readonly index: ReleaseIndex;
  readonly stats: Pick<ReleaseStats, 'deviceHash' | 'sketch'>;
  readonly releaseStore: Pick<ReleaseStore, 'recordDeviceReport' | 'lastInstalledVersion'>;
  readonly clock: Clock;
  /** Patches between package versions (on demand). */
  readonly deltas: Pick<DeltaService, 'enabled' | 'lookup' | 'request'>;
  /** Announces an install of a rolled-back release (to every process's release index). */
  readonly notifyInstalled: (install: InstallNotice) => Promise<void>;
  /**
   * Diagnostic commands for the device (by device id and user id), answered as `commands`; from
   * memory like the catalogue. The sync channel will push the same feed.
   */
  readonly commands?: Pick<DiagnosticsFeed, 'feedJson'>;
  /**
   * Config switches bound to modules (production environment): while one is off for the device,
   * its module is answered `disable` and offered nothing. From memory like the catalogue.
   */
  readonly switches?: ModuleSwitches;
}

export interface InstallNotice {
  readonly appId: string;
  readonly releaseId: string;
  readonly deviceId: string;
  readonly fromVersion: string | null;
}

const NO_MODULES: ReadonlyMap<string, IndexedModule> = new Map();

type Candidate = CandidateRelease<PackagePayload>;

/**
 * The device-facing logic: "what should I run for each of my modules?" answered from memory,
 * and download/install reports recorded per release and stage.
 *
 * The check is the hot path: it writes its JSON answer itself, from fragments memoized per
 * release in the catalogue (a rebuild makes new candidates, so a stale fragment is never used).
 */
export class ClientService {
  readonly #d: ClientServiceDeps;
  readonly #nameJson = new Map<string, string>();

  constructor(deps: ClientServiceDeps) {
    this.#d = deps;
  }

  /**
   * Answers a check with the JSON text of a CheckResponse. `baseUrl` turns stored-package paths
   * into absolute URLs. Every module the device listed is answered; unlisted modules appear only
   * when there is something to do.
   */
  async checkJson(appId: string, body: CheckBody, baseUrl: string): Promise<string> {
    const appVersion = parseVersion(body.appVersion);
    if (appVersion === null) throw VersionInvalid({ field: 'appVersion', value: body.appVersion });
    // Every version is checked before anything is decided or counted.
    const currents: (ParsedVersion | undefined)[] = new Array(body.modules.length);
    for (let i = 0; i < body.modules.length; i++) {
      const version = body.modules[i]?.version;
      if (version === undefined || version === '') continue;
      const parsed = parseVersion(version);
      if (parsed === null) throw VersionInvalid({ field: `modules/${i}/version`, value: version });
      currents[i] = parsed;
    }
    // One fixed shape for every device (JSON bodies come in many), so the engine's property
    // reads stay monomorphic.
    const ctx: DeviceContext = {
      deviceId: body.deviceId,
      userId: body.userId === '' ? undefined : body.userId,
      platform: body.platform,
      appVersion: body.appVersion,
      osVersion: body.osVersion,
      channel: body.channel,
      deviceModel: body.deviceModel,
      cpu: body.cpu,
      region: body.region,
      attributes: body.attributes,
    };
    const catalog = await this.#d.index.catalog(appId);
    const modules = catalog.platforms.get(body.platform) ?? NO_MODULES;
    const deviceHash = this.#d.stats.deviceHash(body.deviceId);
    const device: PreparedDevice = {
      appVersion,
      membership: membershipOf(catalog, ctx.deviceId, ctx.userId),
    };
    let gate: ModuleGate | null | Promise<ModuleGate | null> = this.#d.switches?.gate(appId) ?? null;
    if (gate instanceof Promise) gate = await gate;
    const listed = new Set<string>();
    const parts: string[] = [];
    let known = 0;
    for (let i = 0; i < body.modules.length; i++) {
      const name = (body.modules[i] as { name: string }).name;
      if (listed.has(name)) continue; // listed twice: the first entry counts
      listed.add(name);
      const state = modules.get(name);
      if (state !== undefined) known++;
      if (gate !== null && gate.modules.has(name) && gate.isOff(name, ctx)) {
        parts.push(switchedOff(name, body.modules[i]?.version, state, currents[i]));
        continue;
      }
      parts.push(
        state === undefined
          ? this.#none(name)
          : (this.#answer(appId, name, ctx, currents[i], state, baseUrl, deviceHash, device) ?? this.#none(name)),
      );
    }
    // Modules the device did not list are answered when there is something to do.
    if (known < modules.size) {
      for (const [name, state] of modules) {
        if (listed.has(name)) continue;
        if (gate !== null && gate.modules.has(name) && gate.isOff(name, ctx)) continue;
        const answer = this.#answer(appId, name, ctx, undefined, state, baseUrl, deviceHash, device);
        if (answer !== undefined) parts.push(answer);
      }
    }
    const feed = this.#d.commands;
    if (feed === undefined) return `{"modules":[${parts.join(',')}]}`;
    let commands = feed.feedJson(appId, body.deviceId, ctx.userId, baseUrl);
    if (typeof commands !== 'string') commands = await commands;
    // `commands` only when there are some: most checks carry none, and their bytes stay as they were.
    return commands === ''
      ? `{"modules":[${parts.join(',')}]}`
      : `{"modules":[${parts.join(',')}],"commands":${commands}}`;
  }

  /** `"name":"…"` for a module name (names repeat in every check). */
  #name(name: string): string {
    let json = this.#nameJson.get(name);
    if (json === undefined) {
      json = `"name":${JSON.stringify(name)}`;
      if (this.#nameJson.size < 100_000) this.#nameJson.set(name, json);
    }
    return json;
  }

  #none(name: string): string {
    return `{${this.#name(name)},"action":"none"}`;
  }

  #sketch(release: Candidate): StageSketch {
    const memo = release.payload.memo;
    memo.sketch ??= this.#d.stats.sketch(release.id, release.stage);
    return memo.sketch as StageSketch;
  }

  /** The `update` answer after the name, up to `"mandatory"` (patch and flag are per device). */
  #updateTail(release: Candidate, baseUrl: string): string {
    const memo = release.payload.memo;
    if (memo.updateTail === undefined || memo.baseUrl !== baseUrl) {
      const full = answerJson('', {
        action: 'update',
        release,
        version: release.version,
        payload: release.payload,
        ...(release.fallbackUrl !== null ? { fallbackUrl: release.fallbackUrl } : {}),
      }, baseUrl);
      // Drop '{"name":"",' (11 characters), and everything from '"mandatory"' on.
      memo.updateTail = full.slice(11, full.lastIndexOf('"mandatory":'));
      memo.baseUrl = baseUrl;
    }
    return memo.updateTail;
  }

  /**
   * `"patch":{…},` when a patch from the package the device runs to the offered one is ready;
   * otherwise '' — and the first such device makes sure one gets computed.
   */
  #patch(appId: string, state: IndexedModule, current: ParsedVersion, target: Candidate, baseUrl: string): string {
    const deltas = this.#d.deltas;
    if (!deltas.enabled) return '';
    const base = state.versions.get(current.key);
    const from = base?.payload;
    const to = target.payload;
    if (base === undefined || from === undefined || from === null || from.absolute || to.absolute) return '';
    if (from.packageId === to.packageId) return '';
    const ready = deltas.lookup(from.packageId, to.packageId);
    if (ready === undefined) {
      deltas.request(appId, { id: from.packageId }, { id: to.packageId, size: to.size });
      return '';
    }
    return `"patch":${JSON.stringify({
      url: `${baseUrl}/client/v1/blobs/${ready.blobSha256}`,
      size: ready.size,
      hash: ready.blobSha256,
      from: base.version,
    })},`;
  }

  /** One module's answer as JSON, or `undefined` for `none`. */
  #answer(
    appId: string,
    name: string,
    ctx: DeviceContext,
    current: ParsedVersion | undefined,
    state: IndexedModule,
    baseUrl: string,
    deviceHash: number,
    device: PreparedDevice,
  ): string | undefined {
    if (state.current !== undefined) ReleaseStats.noteChecked(this.#sketch(state.current), deviceHash);
    const d = decideModule(ctx, current, state, device);
    if (d.action === 'none') return undefined;
    if (d.action === 'update' && d.release !== undefined) {
      ReleaseStats.noteOffered(this.#sketch(d.release), deviceHash);
      const patch = current === undefined ? '' : this.#patch(appId, state, current, d.release, baseUrl);
      return `{${this.#name(name)},${this.#updateTail(d.release, baseUrl)}${patch}"mandatory":${d.mandatory === true}}`;
    }
    return answerJson(name, d, baseUrl);
  }

  /** Records download/install results; an install is what later makes `rollback` reach a device. */
  async report(appId: string, body: ReportBody): Promise<ReportResponse> {
    const catalog = await this.#d.index.catalog(appId);
    const at = this.#d.clock.now().toISOString();
    const rejected: ReportResponse['rejected'] = [];
    let accepted = 0;
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
      if (e.type === 'install' && e.ok) {
        // Every process keeps the installers of rolled-back releases in memory. This process's
        // view of the release may lag a rollback made elsewhere, so every install is announced
        // and each process keeps it only if it knows the release as rolled back.
        await this.#d.notifyInstalled({ appId, releaseId: release.id, deviceId: body.deviceId, fromVersion });
      }
      accepted++;
    }
    return { accepted, rejected };
  }
}

/**
 * The answer for a module whose switch is off for this device: `disable`, with the version it
 * runs and the fallback URL of that package (else of the module's current release), if known.
 */
function switchedOff(
  name: string,
  version: string | undefined,
  state: IndexedModule | undefined,
  current: ParsedVersion | undefined,
): string {
  const answer: ModuleAnswer = { name, action: 'disable' };
  if (version !== undefined && version !== '') answer.version = version;
  const fallback =
    (current !== undefined ? state?.versions.get(current.key)?.fallbackUrl : undefined) ?? state?.current?.fallbackUrl ?? null;
  if (fallback !== null) answer.fallbackUrl = fallback;
  return JSON.stringify(answer);
}

/** The JSON of one module's answer (field order fixed; the update fragment cache relies on it). */
function answerJson(name: string, d: ModuleDecision<PackagePayload>, baseUrl: string): string {
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
  if (d.action === 'update') answer.mandatory = d.mandatory === true;
  return JSON.stringify(answer);
}
