import {
  isValidPercent,
  type ReleaseStage,
  type ReleaseStatus,
  type Rule,
  type Stickiness,
  stageRank,
  validateRule,
} from '@halftone/core';
import type { Clock } from '../../platform/clock.js';
import { newId } from '../../platform/ids.js';
import type { AppService } from '../apps/app-service.js';
import { assertVersion } from '../packages/package-service.js';
import type { PackageStore } from '../packages/package-store.js';
import {
  PercentDecrease,
  PercentOutOfRange,
  ReleaseNotFound,
  ReleasePackageNotFound,
  ReleasePlatformAmbiguous,
  ReleaseRevisionConflict,
  ReleaseRuleInvalid,
  ReleaseStateInvalid,
  ReleaseWhitelistTooLarge,
} from './release-errors.js';
import type { ReleaseStats, StageCounters } from './release-stats.js';
import type { Release, ReleaseEvent, ReleaseFilter, ReleaseStore } from './release-store.js';

export const MAX_WHITELIST = 10_000;

export interface CreateReleaseInput {
  readonly module: string;
  readonly version: string;
  readonly platform?: string | undefined;
  readonly whitelist?: readonly string[] | undefined;
  readonly crowds?: readonly string[] | undefined;
  readonly rule?: Rule | undefined;
  readonly percent?: number | undefined;
  readonly mandatory?: boolean | undefined;
  readonly grayId?: string | undefined;
  readonly stickiness?: Stickiness | undefined;
  readonly description?: string | undefined;
  /**
   * Where the release starts, instead of the stage its audience settings imply (the health
   * slice's template stage). Not part of the admin API body.
   */
  readonly initialStage?: { readonly stage: ReleaseStage; readonly percent: number } | undefined;
}

export interface UpdateReleaseInput {
  readonly whitelist?: readonly string[] | undefined;
  readonly crowds?: readonly string[] | undefined;
  readonly rule?: Rule | null | undefined;
  readonly mandatory?: boolean | undefined;
  readonly description?: string | undefined;
}

export interface ReleaseStatusView {
  readonly release: Release;
  readonly stats: {
    readonly total: StageCounters;
    readonly stages: Partial<Record<ReleaseStage, StageCounters>>;
  };
  readonly history: readonly ReleaseEvent[];
}

export interface ReleaseServiceDeps {
  readonly releaseStore: ReleaseStore;
  readonly packageStore: Pick<PackageStore, 'findPackagesByVersion'>;
  readonly apps: Pick<AppService, 'getApp' | 'getCrowd'>;
  readonly stats: Pick<ReleaseStats, 'countersFor'>;
  readonly clock: Clock;
  readonly notifyChanged: (appId: string) => Promise<void>;
}

function checkPercent(percent: number): void {
  if (!isValidPercent(percent)) throw PercentOutOfRange({ percent: String(percent) });
}

function checkRule(rule: Rule | null | undefined): void {
  if (rule === undefined || rule === null) return;
  const issues = validateRule(rule);
  if (issues.length > 0) {
    throw ReleaseRuleInvalid(
      { summary: issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ') },
      { fields: issues.map((i) => ({ pointer: `/rule${i.path}`, message: i.message })) },
    );
  }
}

function checkWhitelist(ids: readonly string[] | undefined): void {
  if (ids !== undefined && ids.length > MAX_WHITELIST) throw ReleaseWhitelistTooLarge({ max: MAX_WHITELIST });
}

/**
 * Where a release starts: the widest stage its audience settings ask for. A rule without a
 * percentage means every matching device (gray at 100%); a bare percentage is the percentage stage.
 */
function initialStage(input: CreateReleaseInput): { stage: ReleaseStage; percent: number } {
  const percent = input.percent ?? 0;
  if (input.rule !== undefined) return { stage: 'gray', percent: input.percent ?? 100 };
  if (percent > 0) return { stage: 'percentage', percent };
  if ((input.crowds ?? []).length > 0) return { stage: 'internal', percent };
  return { stage: 'whitelist', percent };
}

/**
 * The next stage when a releaser says "advance": whitelist → internal → gray (only when the
 * release has a gray rule) → percentage → full. Entering gray at 0% means every matching device
 * (100%); entering the percentage stage at 0% starts at 1%.
 */
export function nextStage(release: Pick<Release, 'stage' | 'rule' | 'percent'>): {
  stage: ReleaseStage;
  percent: number;
} | null {
  switch (release.stage) {
    case 'whitelist':
      return { stage: 'internal', percent: release.percent };
    case 'internal':
      return release.rule !== null
        ? { stage: 'gray', percent: release.percent > 0 ? release.percent : 100 }
        : { stage: 'percentage', percent: release.percent > 0 ? release.percent : 1 };
    case 'gray':
      return { stage: 'percentage', percent: release.percent > 0 ? release.percent : 1 };
    case 'percentage':
      return { stage: 'full', percent: 100 };
    case 'full':
      return null;
  }
}

/** Creating, widening, halting, resuming and rolling back gray releases. */
export class ReleaseService {
  readonly #d: ReleaseServiceDeps;

  constructor(deps: ReleaseServiceDeps) {
    this.#d = deps;
  }

  async create(appId: string, input: CreateReleaseInput): Promise<Release> {
    await this.#d.apps.getApp(appId);
    assertVersion('version', input.version);
    if (input.percent !== undefined) checkPercent(input.percent);
    checkRule(input.rule);
    checkWhitelist(input.whitelist);
    for (const crowd of input.crowds ?? []) await this.#d.apps.getCrowd(appId, crowd);

    const candidates = await this.#d.packageStore.findPackagesByVersion(appId, input.module, input.version);
    const matching =
      input.platform === undefined
        ? candidates
        : candidates.filter((p) => p.platform === input.platform || p.platform === null);
    const platformLabel = input.platform ? ` for ${input.platform}` : '';
    if (matching.length === 0) {
      throw ReleasePackageNotFound({
        app: appId,
        module: input.module,
        version: input.version,
        platform: platformLabel,
      });
    }
    // A platform-specific package beats the every-platform one when a platform is named.
    const pkg = matching.find((p) => p.platform === input.platform) ?? matching[0];
    if (pkg === undefined || (input.platform === undefined && matching.length > 1)) {
      throw ReleasePlatformAmbiguous({
        module: input.module,
        version: input.version,
        platforms: matching.map((p) => p.platform ?? 'all').join(', '),
      });
    }

    const id = newId('rel');
    const now = this.#d.clock.now().toISOString();
    if (input.initialStage !== undefined) checkPercent(input.initialStage.percent);
    const { stage, percent } = input.initialStage ?? initialStage(input);
    const release: Release = {
      id,
      appId,
      module: input.module,
      version: input.version,
      packageId: pkg.id,
      platform: pkg.platform,
      stage,
      status: 'active',
      percent,
      whitelist: [...new Set(input.whitelist ?? [])],
      crowds: [...new Set(input.crowds ?? [])],
      rule: input.rule ?? null,
      mandatory: input.mandatory ?? false,
      grayId: input.grayId ?? id,
      stickiness: input.stickiness ?? 'userId',
      description: input.description ?? null,
      revision: 1,
      createdAt: now,
      updatedAt: now,
    };
    await this.#d.releaseStore.insertRelease(release, this.#event(id, 'release.created', { stage, percent }));
    await this.#d.notifyChanged(appId);
    return release;
  }

  async get(id: string): Promise<Release> {
    const release = await this.#d.releaseStore.getRelease(id);
    if (!release) throw ReleaseNotFound({ id });
    return release;
  }

  async list(appId: string, filter?: ReleaseFilter): Promise<Release[]> {
    await this.#d.apps.getApp(appId);
    return this.#d.releaseStore.listReleases(appId, filter);
  }

  async status(id: string): Promise<ReleaseStatusView> {
    const release = await this.get(id);
    const [stats, history] = await Promise.all([
      this.#d.stats.countersFor(release.id),
      this.#d.releaseStore.listEvents(release.id),
    ]);
    return { release, stats, history };
  }

  advance(id: string, expectedRevision?: number): Promise<Release> {
    return this.#mutate(id, expectedRevision, (r) => {
      this.#requireStatus(r, 'advance', ['active']);
      const next = nextStage(r);
      if (next === null) throw ReleaseStateInvalid({ action: 'advance', id, state: 'at stage full' });
      return { change: next, event: 'release.advanced', data: { from: r.stage, to: next.stage, percent: next.percent } };
    });
  }

  /**
   * Moves an active release straight to `target` in one revision (event `release.advanced`,
   * with `by`): what the health gates use to enter a template's stage. The stage never narrows
   * and the percentage never shrinks (a lower `target.percent` keeps the current one); `full`
   * is 100%.
   */
  moveTo(
    id: string,
    target: { readonly stage: ReleaseStage; readonly percent: number },
    by: string,
    expectedRevision?: number,
  ): Promise<Release> {
    checkPercent(target.percent);
    return this.#mutate(id, expectedRevision, (r) => {
      this.#requireStatus(r, 'advance', ['active']);
      if (stageRank(target.stage) < stageRank(r.stage)) {
        throw ReleaseStateInvalid({ action: `move to stage ${target.stage}`, id, state: `at stage ${r.stage}` });
      }
      const percent = target.stage === 'full' ? 100 : Math.max(target.percent, r.percent);
      return {
        change: { stage: target.stage, percent },
        event: 'release.advanced',
        data: { from: r.stage, to: target.stage, percent, by },
      };
    });
  }

  setPercent(id: string, percent: number, expectedRevision?: number): Promise<Release> {
    checkPercent(percent);
    return this.#mutate(id, expectedRevision, (r) => {
      this.#requireStatus(r, 'change the percentage of', ['active']);
      if (r.stage === 'full') throw ReleaseStateInvalid({ action: 'change the percentage of', id, state: 'at stage full' });
      if (percent < r.percent) throw PercentDecrease({ percent, current: r.percent });
      // Setting a percentage on a whitelist/internal release opens its external stage.
      const stage: ReleaseStage =
        stageRank(r.stage) >= stageRank('gray') ? r.stage : r.rule !== null ? 'gray' : 'percentage';
      return { change: { percent, stage }, event: 'release.percent_changed', data: { from: r.percent, to: percent, stage } };
    });
  }

  halt(id: string, expectedRevision?: number): Promise<Release> {
    return this.#transition(id, expectedRevision, 'halt', ['active'], 'halted', 'release.halted');
  }

  resume(id: string, expectedRevision?: number): Promise<Release> {
    return this.#transition(id, expectedRevision, 'resume', ['halted'], 'active', 'release.resumed');
  }

  rollback(id: string, expectedRevision?: number): Promise<Release> {
    return this.#transition(id, expectedRevision, 'roll back', ['active', 'halted'], 'rolled_back', 'release.rolled_back');
  }

  update(id: string, input: UpdateReleaseInput, expectedRevision?: number): Promise<Release> {
    checkRule(input.rule);
    checkWhitelist(input.whitelist);
    return this.#mutate(id, expectedRevision, async (r) => {
      this.#requireStatus(r, 'change', ['active', 'halted']);
      for (const crowd of input.crowds ?? []) await this.#d.apps.getCrowd(r.appId, crowd);
      const change: Partial<Release> = {
        ...(input.whitelist !== undefined ? { whitelist: [...new Set(input.whitelist)] } : {}),
        ...(input.crowds !== undefined ? { crowds: [...new Set(input.crowds)] } : {}),
        ...(input.rule !== undefined ? { rule: input.rule } : {}),
        ...(input.mandatory !== undefined ? { mandatory: input.mandatory } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      };
      return { change, event: 'release.updated', data: { fields: Object.keys(change) } };
    });
  }

  #requireStatus(r: Release, action: string, allowed: readonly ReleaseStatus[]): void {
    if (!allowed.includes(r.status)) {
      throw ReleaseStateInvalid({ action, id: r.id, state: r.status.replace('_', ' ') });
    }
  }

  #transition(
    id: string,
    expectedRevision: number | undefined,
    action: string,
    from: readonly ReleaseStatus[],
    to: ReleaseStatus,
    event: string,
  ): Promise<Release> {
    return this.#mutate(id, expectedRevision, (r) => {
      this.#requireStatus(r, action, from);
      return { change: { status: to }, event, data: { from: r.status, to } };
    });
  }

  async #mutate(
    id: string,
    expectedRevision: number | undefined,
    fn: (
      r: Release,
    ) =>
      | { change: Partial<Release>; event: string; data: Record<string, unknown> }
      | Promise<{ change: Partial<Release>; event: string; data: Record<string, unknown> }>,
  ): Promise<Release> {
    const current = await this.get(id);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw ReleaseRevisionConflict({ id, expected: expectedRevision, actual: current.revision });
    }
    const { change, event, data } = await fn(current);
    const next: Release = {
      ...current,
      ...change,
      revision: current.revision + 1,
      updatedAt: this.#d.clock.now().toISOString(),
    };
    const ok = await this.#d.releaseStore.updateRelease(next, current.revision, this.#event(id, event, data));
    if (!ok) {
      const now = await this.get(id);
      throw ReleaseRevisionConflict({ id, expected: current.revision, actual: now.revision });
    }
    await this.#d.notifyChanged(next.appId);
    return next;
  }

  #event(releaseId: string, type: string, data: Record<string, unknown>): ReleaseEvent {
    return { id: newId('evt'), releaseId, type, data, createdAt: this.#d.clock.now().toISOString() };
  }
}
