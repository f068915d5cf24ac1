import type { Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config/config-schema.js';
import { UnparseableLine } from './batch-decoding.js';
import { crashFingerprint } from './crash-fingerprint.js';
import {
  EventsAppMismatch,
  EventsBatchTooLarge,
  EventsHeaderInvalid,
  EventsQueryInvalid,
  EventsReleaseUnknown,
} from './events-errors.js';
import { type EventItem, type EventsHeader, checkHeader, checkItem } from './events-schemas.js';
import type {
  Cohort,
  CohortQuery,
  CrashGroupStat,
  EventsStore,
  PreparedEvent,
  RollupCounters,
  RollupGroup,
} from './events-store.js';
import { zeroCounters } from './events-store.js';
import { type RateCategory, RateLimiter } from './rate-limiter.js';
import type { ReleaseAttribution, ReleaseLookup } from './release-attribution.js';

/** Corrected timestamps later than this past the receive time are set to the receive time. */
export const MAX_FUTURE_MS = 60_000;

export interface EventsServiceDeps {
  readonly store: EventsStore;
  readonly attribution: ReleaseAttribution;
  readonly clock: Clock;
  readonly config: Pick<Config, 'events'>;
  readonly onError?: (err: unknown, context: string) => void;
  /**
   * Called after a batch committed, with its feedback items (text as stored) and the releases the
   * device runs (the health slice's feedback watch). Not awaited; errors go to `onError`.
   */
  readonly onFeedback?: (items: readonly FeedbackNotice[]) => Promise<unknown>;
}

/** A feedback item of a committed batch, attributed to the releases the device runs. */
export interface FeedbackNotice {
  readonly appId: string;
  readonly eventId: string;
  readonly deviceId: string;
  readonly userId?: string | undefined;
  readonly text: string;
  /** Corrected timestamp (epoch ms). */
  readonly ts: number;
  readonly releaseIds: readonly string[];
}

export interface RejectedItem {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

export type IngestResult =
  | {
      readonly kind: 'stored';
      readonly accepted: number;
      readonly duplicates: number;
      readonly rejected: readonly RejectedItem[];
      readonly truncated: readonly number[];
      readonly skewMs: number;
    }
  | { readonly kind: 'rate_limited'; readonly retryAfterSeconds: number; readonly categories: readonly string[] };

/** Sessions and rates of one group of rollups (rates are null without sessions: "no data"). */
export interface HealthCounts {
  readonly sessions: number;
  readonly sessionsCrashed: number;
  readonly sessionsAbnormal: number;
  readonly sessionsExited: number;
  readonly crashes: number;
  readonly anrs: number;
  /** 1 − sessionsCrashed / sessions. */
  readonly crashFreeSessionRate: number | null;
  /** sessionsCrashed / sessions. */
  readonly crashRate: number | null;
  /** anrs / sessions. */
  readonly anrRate: number | null;
}

/** Health of one cohort over a window: what health gates judge. */
export interface CohortHealth extends HealthCounts {
  readonly appId: string;
  readonly releaseId: string | null;
  readonly module: string | null;
  readonly version: string | null;
  readonly from: Date;
  readonly to: Date;
  /** Distinct devices seen (HyperLogLog over the hours overlapping the window, ≈1.6% error). */
  readonly distinctDevices: number;
  readonly installs: { readonly ok: number; readonly failed: number };
  readonly downloads: { readonly ok: number; readonly failed: number };
  readonly pageViews: number;
  readonly feedback: number;
  readonly dropped: number;
  readonly byDeviceModel: readonly (HealthCounts & { readonly deviceModel: string })[];
  readonly byStage: readonly (HealthCounts & { readonly stage: string })[];
  readonly topCrashGroups: readonly CrashGroupStat[];
}

export interface HealthQuery {
  readonly appId: string;
  /**
   * A release id (its module and version are implied); `''` = devices on a module version no
   * release shipped (the baseline; give `module`, and `version` for one version); undefined =
   * every device on `module` (and `version`), whatever shipped it.
   */
  readonly releaseId?: string | undefined;
  readonly module?: string | undefined;
  readonly version?: string | undefined;
  readonly from: Date;
  readonly to: Date;
  readonly topCrashGroups?: number;
}

/**
 * A timestamp as epoch ms: a number is taken as epoch milliseconds, a string must be an
 * RFC 3339 / ISO-8601 date-time. NaN when it is neither.
 */
export function parseTimestamp(value: number | string): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return Number.NaN;
  return Date.parse(value);
}

/**
 * Clock-skew correction: the device's clock is off by `receivedAt − sentAt` (network time is
 * ignored — it only ever makes events look slightly earlier), and that offset is added to every
 * item timestamp. A corrected time more than {@link MAX_FUTURE_MS} after the receive time is
 * clamped to the receive time.
 *
 * @example
 * correctTimestamp(1_000, 10_000, 60_000); // device 50 s behind: 51_000
 */
export function correctTimestamp(itemTs: number, sentAt: number, receivedAt: number): number {
  const corrected = itemTs + (receivedAt - sentAt);
  return corrected > receivedAt + MAX_FUTURE_MS ? receivedAt : corrected;
}

function categoryOf(type: EventItem['type']): RateCategory {
  switch (type) {
    case 'session':
      return 'session';
    case 'crash':
      return 'crash';
    case 'anr':
      return 'anr';
    case 'download':
    case 'install':
      return 'install';
    case 'feedback':
      return 'feedback';
    case 'client_report':
      return 'clientReport';
    default:
      return 'event';
  }
}

function countersOf(item: EventItem): Partial<RollupCounters> {
  switch (item.type) {
    case 'session':
      if (item.phase === 'start') return { sessionsStarted: 1 };
      if (item.status === 'crashed') return { sessionsCrashed: 1 };
      if (item.status === 'abnormal') return { sessionsAbnormal: 1 };
      if (item.status === 'exited') return { sessionsExited: 1 };
      return {};
    case 'crash':
      return { crashes: 1 };
    case 'anr':
      return { anrs: 1 };
    case 'page_view':
      return { pageViews: 1 };
    case 'custom':
      return { customEvents: 1 };
    case 'feedback':
      return { feedbacks: 1 };
    case 'download':
      return item.ok ? { downloadsOk: 1 } : { downloadsFailed: 1 };
    case 'install':
      return item.ok ? { installsOk: 1 } : { installsFailed: 1 };
    case 'client_report': {
      let n = 0;
      for (const d of item.discarded) n += d.quantity;
      return { dropped: n };
    }
  }
}

function rate(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

function healthCounts(c: RollupCounters): HealthCounts {
  const sessions = c.sessionsStarted;
  const crashRate = rate(c.sessionsCrashed, sessions);
  return {
    sessions,
    sessionsCrashed: c.sessionsCrashed,
    sessionsAbnormal: c.sessionsAbnormal,
    sessionsExited: c.sessionsExited,
    crashes: c.crashes,
    anrs: c.anrs,
    crashFreeSessionRate: crashRate === null ? null : Math.max(0, 1 - crashRate),
    crashRate,
    anrRate: rate(c.anrs, sessions),
  };
}

function sumInto(into: RollupCounters, g: RollupCounters): void {
  for (const k of Object.keys(into) as (keyof RollupCounters)[]) into[k] += g[k];
}

/**
 * Client event ingestion and release-health queries. A batch is validated item by item (bad
 * items are reported back, the rest stored), rate-limited as a whole per category, attributed
 * to the releases that shipped the module versions the device runs, and stored in one
 * transaction (raw events, rollups, sketches, crash groups); the answer is sent after commit.
 */
export class EventsService {
  readonly #d: EventsServiceDeps;
  readonly #limiter: RateLimiter;
  #purgeTimer: NodeJS.Timeout | undefined;

  constructor(deps: EventsServiceDeps) {
    this.#d = deps;
    const ev = deps.config.events;
    this.#limiter = new RateLimiter({ windowSeconds: ev.rateLimitWindowSeconds, limits: ev.rateLimits });
  }

  async ingest(appId: string, headerValue: unknown, items: readonly unknown[]): Promise<IngestResult> {
    const ev = this.#d.config.events;
    const checked = checkHeader(headerValue);
    if (!checked.ok) {
      const fields = checked.problems.map((p) => ({ pointer: `/header${p.path}`, message: p.message }));
      throw EventsHeaderInvalid(undefined, {
        detail: fields.map((f) => `${f.pointer} ${f.message}`).join('; '),
        fields,
      });
    }
    const header: EventsHeader = checked.header;
    if (header.app !== appId) throw EventsAppMismatch({ app: header.app.slice(0, 64) });
    if (items.length > ev.maxBatchItems) {
      throw EventsBatchTooLarge({ limit: `${ev.maxBatchItems} items` }, {
        detail: `The batch has ${items.length} items; at most ${ev.maxBatchItems} are accepted (HALFTONE_EVENTS_MAX_BATCH_ITEMS)`,
      });
    }
    const receivedAt = this.#d.clock.now().getTime();
    const sentAt = parseTimestamp(header.sent_at);
    if (Number.isNaN(sentAt)) {
      throw EventsHeaderInvalid(undefined, {
        detail: '/header/sent_at must be epoch milliseconds or an RFC 3339 date-time',
        fields: [{ pointer: '/header/sent_at', message: 'must be epoch milliseconds or an RFC 3339 date-time' }],
      });
    }

    const rejected: RejectedItem[] = [];
    const valid: { index: number; item: EventItem; ts: number }[] = [];
    const ids = new Set<string>();
    const need: Partial<Record<RateCategory, number>> = {};
    for (let i = 0; i < items.length; i++) {
      const value = items[i];
      if (value instanceof UnparseableLine) {
        rejected.push({ index: i, code: 'HT_EVENTS_ITEM_INVALID', message: value.message });
        continue;
      }
      const c = checkItem(value);
      if (!c.ok) {
        rejected.push({
          index: i,
          code: c.code === 'unknown_type' ? 'HT_EVENTS_ITEM_TYPE_UNKNOWN' : 'HT_EVENTS_ITEM_INVALID',
          message: c.message,
        });
        continue;
      }
      const ts = parseTimestamp(c.item.ts);
      if (Number.isNaN(ts)) {
        rejected.push({ index: i, code: 'HT_EVENTS_ITEM_INVALID', message: '/ts must be epoch milliseconds or an RFC 3339 date-time' });
        continue;
      }
      const id = c.item.id.toLowerCase();
      if (ids.has(id)) {
        rejected.push({ index: i, code: 'HT_EVENTS_ITEM_DUPLICATE', message: `id ${id} repeats an earlier item of this batch` });
        continue;
      }
      ids.add(id);
      valid.push({ index: i, item: c.item, ts });
      const cat = categoryOf(c.item.type);
      need[cat] = (need[cat] ?? 0) + 1;
    }

    const scopeKey = ev.rateLimitScope === 'app' ? appId : `${appId}\u0000${header.deviceId}`;
    const decision = this.#limiter.take(scopeKey, need, receivedAt);
    if (!decision.ok) {
      return { kind: 'rate_limited', retryAfterSeconds: decision.retryAfterSeconds, categories: decision.categories };
    }

    const lookupOrPromise = this.#d.attribution.lookup(appId);
    const lookup = lookupOrPromise instanceof Promise ? await lookupOrPromise : lookupOrPromise;
    const cohortCache = new Map<string, Cohort>();
    const cohortOf = (module: string, version: string): Cohort => {
      const key = `${module}\u0000${version}`;
      let c = cohortCache.get(key);
      if (c === undefined) {
        const r = lookup.find(header.platform, module, version);
        c = { module, moduleVersion: version, releaseId: r?.id ?? '', stage: r?.stage ?? '' };
        cohortCache.set(key, c);
      }
      return c;
    };
    const deviceCohorts: Cohort[] = Object.entries(header.modules).map(([m, v]) => cohortOf(m, v));
    const firstRelease = deviceCohorts.find((c) => c.releaseId !== '')?.releaseId ?? '';
    const context = {
      userId: header.userId,
      platform: header.platform,
      appVersion: header.appVersion,
      deviceModel: header.deviceModel,
      osVersion: header.osVersion,
    };

    const truncated: number[] = [];
    const events: PreparedEvent[] = valid.map(({ index, item, ts }) => {
      let stored: EventItem = item;
      if (item.type === 'feedback' && item.text.length > ev.feedbackMaxChars) {
        stored = { ...item, text: item.text.slice(0, ev.feedbackMaxChars) };
        truncated.push(index);
      }
      let cohorts: readonly Cohort[] = deviceCohorts;
      if (item.type === 'download' || item.type === 'install') {
        cohorts = [cohortOf(item.module, item.version)];
      } else if ((item.type === 'crash' || item.type === 'anr') && item.module !== undefined) {
        const version = item.moduleVersion ?? header.modules[item.module];
        cohorts = version === undefined ? [] : [cohortOf(item.module, version)];
      }
      const data = JSON.stringify({
        ...stored,
        ...(stored !== item ? { truncated: true } : {}),
        context,
      });
      const prepared: PreparedEvent = {
        id: item.id.toLowerCase(),
        type: item.type,
        ts: correctTimestamp(ts, sentAt, receivedAt),
        releaseId: cohorts === deviceCohorts ? firstRelease : (cohorts[0]?.releaseId ?? ''),
        data,
        cohorts,
        counters: countersOf(item),
        ...(item.type === 'crash'
          ? {
              crash: (() => {
                const fp = crashFingerprint(item);
                return {
                  fingerprint: fp.fingerprint,
                  exceptionType: fp.exceptionType,
                  title: (item.message ?? fp.exceptionType).slice(0, 300),
                  frames: fp.frames,
                };
              })(),
            }
          : {}),
      };
      return prepared;
    });

    const outcome = await this.#d.store.ingest({
      appId,
      deviceId: header.deviceId,
      deviceModel: header.deviceModel ?? '',
      receivedAt,
      events,
    });
    if (this.#d.onFeedback !== undefined) this.#notifyFeedback(appId, header, deviceCohorts, events);
    return {
      kind: 'stored',
      accepted: outcome.inserted,
      duplicates: outcome.duplicates,
      rejected,
      truncated,
      skewMs: receivedAt - sentAt,
    };
  }

  /**
   * Health of a cohort over `[from, to)`: sessions, crash-free session rate, crash and ANR rates,
   * distinct devices, by device model and stage, and the top crash groups. Rates are null when
   * there are no sessions ("no data": hold, never judge).
   */
  async health(q: HealthQuery): Promise<CohortHealth> {
    const from = q.from.getTime();
    const to = q.to.getTime();
    if (!(from < to)) throw EventsQueryInvalid(undefined, { detail: '`from` must be before `to`' });
    let module = q.module;
    let version = q.version;
    let releaseId: string | null = null;
    if (q.releaseId !== undefined && q.releaseId !== '') {
      const lookupOrPromise = this.#d.attribution.lookup(q.appId);
      const lookup: ReleaseLookup = lookupOrPromise instanceof Promise ? await lookupOrPromise : lookupOrPromise;
      const r = lookup.get(q.releaseId);
      if (r === undefined) throw EventsReleaseUnknown({ id: q.releaseId });
      module = r.module;
      version = r.version;
      releaseId = r.id;
    } else if (q.releaseId === '') {
      releaseId = '';
    }
    if (module === undefined || module === '') {
      throw EventsQueryInvalid(undefined, { detail: 'Name a release, or a module (and optionally a version)' });
    }
    const cq: CohortQuery = { appId: q.appId, module, moduleVersion: version, releaseId, from, to };
    const [groups, distinctDevices, topCrashGroups] = await Promise.all([
      this.#d.store.rollups(cq),
      this.#d.store.distinctDevices(cq),
      this.#d.store.topCrashGroups(cq, q.topCrashGroups ?? 10),
    ]);
    const total = zeroCounters();
    const byModel = new Map<string, RollupCounters>();
    const byStage = new Map<string, RollupCounters>();
    const add = (m: Map<string, RollupCounters>, key: string, g: RollupGroup) => {
      let c = m.get(key);
      if (c === undefined) {
        c = zeroCounters();
        m.set(key, c);
      }
      sumInto(c, g);
    };
    for (const g of groups) {
      sumInto(total, g);
      add(byModel, g.deviceModel, g);
      add(byStage, g.stage, g);
    }
    return {
      appId: q.appId,
      releaseId,
      module,
      version: version ?? null,
      from: q.from,
      to: q.to,
      ...healthCounts(total),
      distinctDevices,
      installs: { ok: total.installsOk, failed: total.installsFailed },
      downloads: { ok: total.downloadsOk, failed: total.downloadsFailed },
      pageViews: total.pageViews,
      feedback: total.feedbacks,
      dropped: total.dropped,
      byDeviceModel: [...byModel]
        .map(([deviceModel, c]) => ({ deviceModel, ...healthCounts(c) }))
        .sort((a, b) => b.sessions - a.sessions || a.deviceModel.localeCompare(b.deviceModel)),
      byStage: [...byStage].map(([stage, c]) => ({ stage, ...healthCounts(c) })).sort((a, b) => a.stage.localeCompare(b.stage)),
      topCrashGroups,
    };
  }

  #notifyFeedback(
    appId: string,
    header: EventsHeader,
    cohorts: readonly Cohort[],
    events: readonly PreparedEvent[],
  ): void {
    const onFeedback = this.#d.onFeedback;
    if (onFeedback === undefined) return;
    const releaseIds = [...new Set(cohorts.map((c) => c.releaseId).filter((id) => id !== ''))];
    const items: FeedbackNotice[] = [];
    for (const e of events) {
      if (e.type !== 'feedback' || releaseIds.length === 0) continue;
      const text = (JSON.parse(e.data) as { text?: unknown }).text;
      if (typeof text !== 'string') continue;
      items.push({ appId, eventId: e.id, deviceId: header.deviceId, userId: header.userId, text, ts: e.ts, releaseIds });
    }
    if (items.length === 0) return;
    void onFeedback(items).catch((err) => this.#d.onError?.(err, 'feedback watch'));
  }

  /** Deletes raw events older than the retention window; returns how many. */
  async purge(): Promise<number> {
    const cutoff = this.#d.clock.now().getTime() - this.#d.config.events.retentionHours * 3_600_000;
    return this.#d.store.purgeRaw(cutoff);
  }

  /** Starts the periodic purge of raw events. */
  start(): void {
    if (this.#purgeTimer !== undefined) return;
    this.#purgeTimer = setInterval(() => {
      this.purge().catch((err) => this.#d.onError?.(err, 'events purge'));
    }, this.#d.config.events.purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  stop(): void {
    if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
    this.#purgeTimer = undefined;
  }
}
