import {
  BUCKET_COUNT,
  type GrayIdPrefix,
  type Stickiness,
  bucketOfPrepared,
  percentToBuckets,
  prepareGrayId,
  stickinessKeyOf,
} from './bucket.js';
import { encodeUtf8Into } from './utf8.js';
import type { DeviceContext } from './context.js';
import type { CompiledRule } from './rules.js';
import { type ParsedVersion, compareParsed, parseVersion, versionKey } from './version.js';

/**
 * The stages a release widens through. Each stage's audience contains the previous one's
 * (given a percentage that only grows), so advancing never takes a package away from anyone.
 */
export const RELEASE_STAGES = ['whitelist', 'internal', 'gray', 'percentage', 'full'] as const;
export type ReleaseStage = (typeof RELEASE_STAGES)[number];

/** `active` serves its audience; `halted` exposes nobody new; `rolled_back` sends its installers back. */
export const RELEASE_STATUSES = ['active', 'halted', 'rolled_back'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** What the client API answers for one module. */
export type ModuleAction = 'none' | 'update' | 'rollback' | 'disable' | 'store-update';

/**
 * A release as the decision engine sees it: everything precomputed, nothing to parse per device.
 * `P` is the payload the caller wants back (download URL, hash, size…); the engine never reads it.
 */
export interface CandidateRelease<P = unknown> {
  readonly id: string;
  readonly version: string;
  readonly status: ReleaseStatus;
  readonly stage: ReleaseStage;
  /** 0–100, two decimals at most; only ever grows. */
  readonly percent: number;
  /** User ids and device ids that always get the release (while it is active). */
  readonly whitelist: ReadonlySet<string>;
  /** Members (user or device ids) of the release's internal crowds; used from stage `internal` on. */
  readonly crowd: ReadonlySet<string>;
  /** The external gray condition; used in stage `gray` (with the percentage) only. */
  readonly rule: CompiledRule | null;
  readonly grayId: string;
  readonly stickiness: Stickiness;
  readonly mandatory: boolean;
  /** `null` = every platform. */
  readonly platform: string | null;
  readonly minAppVersion: string | null;
  readonly maxAppVersion: string | null;
  /** The package was disabled (circuit breaking or by hand). */
  readonly disabled: boolean;
  readonly fallbackUrl: string | null;
  readonly payload: P;
  /**
   * Versions parsed and the grayId hashed ahead of time (see {@link prepareRelease});
   * computed on the fly when absent.
   */
  readonly prepared?: PreparedRelease | undefined;
}

/** What a release needs per device, computed once when the release is indexed. */
export interface PreparedRelease {
  readonly version: ParsedVersion;
  readonly min: ParsedVersion | null;
  readonly max: ParsedVersion | null;
  readonly gray: GrayIdPrefix;
  /** `stageRank(stage)`. */
  readonly rank: number;
  /** `percentToBuckets(percent)`: buckets below this are in. */
  readonly limit: number;
}

function mustParse(v: string): ParsedVersion {
  const parsed = parseVersion(v);
  if (parsed === null) throw new TypeError(`Invalid version ${JSON.stringify(v)}`);
  return parsed;
}

/**
 * Parses a release's versions and hashes its grayId once, so deciding for each device compares
 * numbers and hashes only the device's key.
 *
 * @example
 * const ready = { ...candidate, prepared: prepareRelease(candidate) };
 */
export function prepareRelease(
  release: Pick<
    CandidateRelease,
    'version' | 'minAppVersion' | 'maxAppVersion' | 'grayId' | 'stage' | 'percent'
  >,
): PreparedRelease {
  return {
    version: mustParse(release.version),
    min: release.minAppVersion === null ? null : mustParse(release.minAppVersion),
    max: release.maxAppVersion === null ? null : mustParse(release.maxAppVersion),
    gray: prepareGrayId(release.grayId),
    rank: STAGE_RANK[release.stage],
    limit: percentToBuckets(release.percent),
  };
}

// Candidates built without `prepared` are prepared once, on first use.
const preparedLater = new WeakMap<CandidateRelease, PreparedRelease>();

function versionsOf(release: CandidateRelease): PreparedRelease {
  if (release.prepared !== undefined) return release.prepared;
  let prepared = preparedLater.get(release);
  if (prepared === undefined) {
    prepared = prepareRelease(release);
    preparedLater.set(release, prepared);
  }
  return prepared;
}

// The UTF-8 bytes of the current device's keys, in two reused buffers: a device is decided for
// many releases in a row, so its key is encoded once, and nothing is allocated per device.
// (JavaScript is single-threaded and this is never re-entered.)
interface KeyBuffer {
  bytes: Uint8Array;
  length: number;
  key: string | undefined;
}
const userKey: KeyBuffer = { bytes: new Uint8Array(256), length: 0, key: undefined };
const deviceKey: KeyBuffer = { bytes: new Uint8Array(256), length: 0, key: undefined };

function keyBuffer(ctx: DeviceContext, stickiness: Stickiness): KeyBuffer {
  const key = stickinessKeyOf(ctx, stickiness);
  const buf = stickiness === 'userId' ? userKey : deviceKey;
  if (buf.key !== key) {
    if (key.length * 3 > buf.bytes.length) buf.bytes = new Uint8Array(key.length * 3);
    buf.length = encodeUtf8Into(key, buf.bytes);
    buf.key = key;
  }
  return buf;
}

/** A version of a module the device might be sent back to (any published package of the module). */
export interface KnownVersion<P = unknown> {
  readonly version: string;
  readonly disabled: boolean;
  readonly fallbackUrl: string | null;
  readonly payload: P | null;
}

/** What the engine needs to know about one module of the app. */
export interface ModuleState<P = unknown> {
  /** Every release of the module, newest version first. */
  readonly releases: readonly CandidateRelease<P>[];
  /** The rolled-back ones among `releases`; derived from `releases` when absent. */
  readonly rolledBack?: readonly CandidateRelease<P>[] | undefined;
  /** The mandatory ones among `releases` (newest first); derived from `releases` when absent. */
  readonly mandatory?: readonly CandidateRelease<P>[] | undefined;
  /**
   * Published packages of the module by version key (`ParsedVersion.key`, so `2.0` finds
   * `2.0.0`), for rollback targets and disabled versions.
   */
  readonly versions: ReadonlyMap<string, KnownVersion<P>>;
  /**
   * For a rolled-back release: whether this device reported installing it, and the version it
   * had before (`null` = the version bundled in the app). `undefined` = it never installed it.
   */
  installedFrom(releaseId: string, deviceId: string): string | null | undefined;
}

export interface ModuleDecision<P = unknown> {
  readonly action: ModuleAction;
  readonly release?: CandidateRelease<P>;
  /** The version to run after acting (update/rollback target, or the required native version). */
  readonly version?: string;
  readonly payload?: P | null;
  readonly mandatory?: boolean;
  readonly fallbackUrl?: string;
  /** How the device got into the audience of `release` (for per-stage statistics). */
  readonly via?: AudiencePath;
}

/**
 * Which releases list a device by name, precomputed per device: the ids of the releases whose
 * whitelist, and whose crowds, hold its device id or user id. With it the engine asks one small
 * set per release instead of every release's own lists (see {@link decideModule}).
 */
export interface Membership {
  readonly whitelisted: ReadonlySet<string>;
  readonly inCrowd: ReadonlySet<string>;
}

/** What a check computes once per device and hands to every module's decision. */
export interface PreparedDevice {
  /** `ctx.appVersion`, parsed. */
  readonly appVersion?: ParsedVersion | undefined;
  readonly membership?: Membership | undefined;
}

/** The membership of a device that no release lists. */
export const NO_MEMBERSHIP: Membership = Object.freeze({
  whitelisted: new Set<string>(),
  inCrowd: new Set<string>(),
});

/** Which part of a release's audience a device belongs to. */
export type AudiencePath = 'whitelist' | 'internal' | 'gray' | 'percentage' | 'full';

const STAGE_RANK: Readonly<Record<ReleaseStage, number>> = {
  whitelist: 0,
  internal: 1,
  gray: 2,
  percentage: 3,
  full: 4,
};

const RANK_INTERNAL = STAGE_RANK.internal;
const RANK_GRAY = STAGE_RANK.gray;
const RANK_FULL = STAGE_RANK.full;

/** Where `stage` stands in the widening order (whitelist = 0 … full = 4). */
export function stageRank(stage: ReleaseStage): number {
  return STAGE_RANK[stage];
}

function isListed(set: ReadonlySet<string>, ctx: DeviceContext): boolean {
  if (set.size === 0) return false;
  return set.has(ctx.deviceId) || (ctx.userId !== undefined && ctx.userId !== '' && set.has(ctx.userId));
}

/**
 * Whether the device is in the release's audience at its current stage, ignoring status and
 * compatibility. Whitelisted devices are always in; the internal crowd from stage `internal`;
 * devices matching the gray rule and under the percentage in stage `gray`; devices under the
 * percentage in stage `percentage`; everybody in stage `full`.
 *
 * @example
 * audiencePath(release, { deviceId: 'd1', platform: 'android', appVersion: '8.3' }); // 'whitelist' | … | null
 */
export function audiencePath(
  release: CandidateRelease,
  ctx: DeviceContext,
  membership?: Membership,
): AudiencePath | null {
  const prepared = versionsOf(release);
  const rank = prepared.rank;
  const whitelisted =
    membership === undefined
      ? isListed(release.whitelist, ctx)
      : membership.whitelisted.size !== 0 && membership.whitelisted.has(release.id);
  if (rank === RANK_FULL) return whitelisted ? 'whitelist' : 'full';
  if (whitelisted) return 'whitelist';
  if (rank >= RANK_INTERNAL) {
    const inCrowd =
      membership === undefined
        ? isListed(release.crowd, ctx)
        : membership.inCrowd.size !== 0 && membership.inCrowd.has(release.id);
    if (inCrowd) return 'internal';
  }
  if (rank < RANK_GRAY) return null;
  if (rank === RANK_GRAY && release.rule !== null && !release.rule(ctx)) return null;
  if (prepared.limit === 0) return null;
  if (prepared.limit < BUCKET_COUNT) {
    const key = keyBuffer(ctx, release.stickiness);
    const bucket = bucketOfPrepared(prepared.gray, key.bytes, key.length);
    if (bucket >= prepared.limit) return null;
  }
  return rank === RANK_GRAY ? 'gray' : 'percentage';
}

/**
 * Whether the package can run on this device at all: its platform, and its native app version
 * range (inclusive). Returns `'too-old'` when the app must be updated from the store first.
 */
export function compatibility(
  release: Pick<CandidateRelease, 'platform' | 'minAppVersion' | 'maxAppVersion' | 'prepared'>,
  ctx: DeviceContext,
  appVersion: ParsedVersion = mustParse(ctx.appVersion),
): 'ok' | 'too-old' | 'no' {
  if (release.platform !== null && release.platform !== ctx.platform) return 'no';
  const min = release.prepared ? release.prepared.min : release.minAppVersion === null ? null : mustParse(release.minAppVersion);
  if (min !== null && compareParsed(appVersion, min) < 0) return 'too-old';
  const max = release.prepared ? release.prepared.max : release.maxAppVersion === null ? null : mustParse(release.maxAppVersion);
  if (max !== null && compareParsed(appVersion, max) > 0) return 'no';
  return 'ok';
}

const NONE: ModuleDecision<never> = Object.freeze({ action: 'none' });

/**
 * The engine's answer for one module of one device — the heart of "what should I run?".
 *
 * In order:
 * 1. the newest active release whose audience holds the device and whose package runs on it,
 *    if newer than what the device runs → `update` (mandatory if it, or any mandatory release the
 *    device skipped on the way, is mandatory);
 * 2. the device runs a rolled-back release it reported installing → `rollback` to the version it
 *    had before (its package, or the bundled version when `version` is absent);
 * 3. the device runs a disabled package → `disable` with the fallback URL;
 * 4. a newer release in its audience needs a newer native app → `store-update`;
 * 5. otherwise `none` (a halted release exposes nobody new; whoever installed it keeps it).
 *
 * `currentVersion` is the module version the device runs (`undefined` = none / bundled), as a
 * string or already parsed. `device`, when given, holds what is the same for every module of
 * one check: the parsed app version, and which releases' whitelists and crowds list this device
 * (the engine then does not look into the releases' own lists).
 *
 * @example
 * const d = decideModule(ctx, '1.0.0', moduleState);
 * if (d.action === 'update') download(d.payload);
 */
export function decideModule<P>(
  ctx: DeviceContext,
  currentVersion: string | ParsedVersion | undefined,
  state: ModuleState<P>,
  device?: PreparedDevice,
): ModuleDecision<P> {
  let storeUpdate: CandidateRelease<P> | undefined;
  const current = typeof currentVersion === 'string' ? mustParse(currentVersion) : currentVersion;
  const app = device?.appVersion ?? mustParse(ctx.appVersion);
  const membership = device?.membership;
  for (const release of state.releases) {
    if (release.status !== 'active' || release.disabled) continue;
    if (current !== undefined && compareParsed(versionsOf(release).version, current) <= 0) break;
    const compat = compatibility(release, ctx, app);
    if (compat === 'no') continue;
    const via = audiencePath(release, ctx, membership);
    if (via === null) continue;
    if (compat === 'too-old') {
      storeUpdate ??= release;
      continue;
    }
    return {
      action: 'update',
      release,
      version: release.version,
      payload: release.payload,
      mandatory: release.mandatory || skippedMandatory(state, current, release),
      fallbackUrl: release.fallbackUrl ?? undefined,
      via,
    };
  }

  if (current !== undefined) {
    const rollback = rollbackFor(ctx, current, state);
    if (rollback !== undefined) return rollback;
    const running = state.versions.get(current.key);
    if (running?.disabled) {
      return {
        action: 'disable',
        version: current.source,
        ...(running.fallbackUrl !== null ? { fallbackUrl: running.fallbackUrl } : {}),
      };
    }
  }

  if (storeUpdate !== undefined) {
    return {
      action: 'store-update',
      release: storeUpdate,
      ...(storeUpdate.minAppVersion !== null ? { version: storeUpdate.minAppVersion } : {}),
    };
  }
  return NONE;
}

function skippedMandatory<P>(
  state: ModuleState<P>,
  current: ParsedVersion | undefined,
  target: CandidateRelease<P>,
): boolean {
  // Like CodePush: a device that runs no package yet has skipped nothing.
  if (current === undefined) return false;
  const targetVersion = versionsOf(target).version;
  for (const r of state.mandatory ?? state.releases) {
    if (!r.mandatory || r.status === 'rolled_back' || r === target) continue;
    const v = versionsOf(r).version;
    if (compareParsed(v, current) > 0 && compareParsed(v, targetVersion) <= 0) return true;
  }
  return false;
}

function rollbackFor<P>(
  ctx: DeviceContext,
  current: ParsedVersion,
  state: ModuleState<P>,
): ModuleDecision<P> | undefined {
  for (const release of state.rolledBack ?? state.releases) {
    if (release.status !== 'rolled_back' || compareParsed(versionsOf(release).version, current) !== 0) {
      continue;
    }
    const from = state.installedFrom(release.id, ctx.deviceId);
    if (from === undefined) return undefined;
    if (from === null) return { action: 'rollback', release, payload: null };
    const target = state.versions.get(versionKey(from) ?? from);
    return {
      action: 'rollback',
      release,
      version: from,
      payload: target?.payload ?? null,
      ...(target?.fallbackUrl ? { fallbackUrl: target.fallbackUrl } : {}),
    };
  }
  return undefined;
}
