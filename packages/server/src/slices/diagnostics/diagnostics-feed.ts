import type { Clock } from '../../platform/clock.js';
import type { DiagnosticCommand } from './diagnostic-command.js';
import type { Delivery, DiagnosticsStore } from './diagnostics-store.js';

/** Most commands one check answer carries (oldest first); the rest follow in later checks. */
export const MAX_COMMANDS_PER_CHECK = 20;

interface FeedEntry {
  readonly id: string;
  readonly expiresAtMs: number;
  /** `{"id":…,"kind":…,"params":…,"expiresAt":…,"uploadUrl":"` — the base URL and path follow. */
  readonly head: string;
  /** Already returned to a device (by this process, or stored as delivered). */
  delivered: boolean;
}

interface AppFeed {
  /** `d\0<deviceId>` / `u\0<userId>` → the open commands for it, oldest first. */
  readonly byTarget: ReadonlyMap<string, readonly FeedEntry[]>;
}

const EMPTY: AppFeed = { byTarget: new Map() };

export interface DiagnosticsFeedDeps {
  readonly store: Pick<DiagnosticsStore, 'listOpen' | 'markDelivered'>;
  readonly clock: Clock;
  /** How often first deliveries are written (ms). */
  readonly flushIntervalMs?: number;
  readonly onError?: (err: unknown, context: string) => void;
}

const targetKey = (type: 'd' | 'u', id: string) => `${type}\u0000${id}`;

/**
 * The diagnostic commands a check hands out, from memory: one index per app of its open
 * (pending or delivered, unexpired) commands by device id and user id, built on first use and
 * dropped whenever a command of the app changes (here, or announced on the event bus by another
 * process) — the same life cycle as the release index. A check of an app without open commands
 * costs one map lookup.
 *
 * A command handed to a device is marked delivered in memory at once and written in batches
 * (first delivery only, conditional on the stored state still being pending), like the rollout
 * counters; {@link flush} writes what is queued. Open commands keep being handed out until they
 * are uploaded, cancelled or expire, so a device that missed one (a crash, a lost answer) gets it
 * again; devices act on each command id once. The sync channel (a later issue) will push this
 * same feed.
 */
export class DiagnosticsFeed {
  readonly #d: DiagnosticsFeedDeps;
  readonly #apps = new Map<string, AppFeed>();
  readonly #building = new Map<string, Promise<AppFeed>>();
  readonly #generation = new Map<string, number>();
  readonly #queued = new Map<string, Delivery>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #lastBase = '';
  #lastBaseJson = '';

  constructor(deps: DiagnosticsFeedDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.flush().catch((err) => this.#d.onError?.(err, 'diagnostics delivery flush'));
    }, this.#d.flushIntervalMs ?? 5_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** Forgets an app's commands; the next check of the app reloads them (one query). */
  invalidate(appId: string): void {
    this.#generation.set(appId, (this.#generation.get(appId) ?? 0) + 1);
    this.#apps.delete(appId);
    this.#building.delete(appId);
  }

  /**
   * The JSON array of the commands for a device (by its device id and user id), or '' when
   * there are none. Synchronous when the app's index is warm (the common case). Marks every
   * command handed out as delivered.
   */
  feedJson(appId: string, deviceId: string, userId: string | undefined, baseUrl: string): string | Promise<string> {
    const warm = this.#apps.get(appId);
    if (warm !== undefined) return this.#answer(warm, deviceId, userId, baseUrl);
    return this.#load(appId).then((feed) => this.#answer(feed, deviceId, userId, baseUrl));
  }

  #answer(feed: AppFeed, deviceId: string, userId: string | undefined, baseUrl: string): string {
    if (feed.byTarget.size === 0) return '';
    const byDevice = feed.byTarget.get(targetKey('d', deviceId));
    const byUser = userId === undefined || userId === '' ? undefined : feed.byTarget.get(targetKey('u', userId));
    if (byDevice === undefined && byUser === undefined) return '';
    const nowMs = this.#d.clock.now().getTime();
    if (baseUrl !== this.#lastBase) {
      // The base URL may come from the Host header: escape it like any other JSON string.
      this.#lastBaseJson = JSON.stringify(baseUrl).slice(1, -1);
      this.#lastBase = baseUrl;
    }
    const base = this.#lastBaseJson;
    const parts: string[] = [];
    let at: string | undefined;
    for (const list of [byDevice, byUser]) {
      if (list === undefined) continue;
      for (const e of list) {
        if (parts.length >= MAX_COMMANDS_PER_CHECK) break;
        if (e.expiresAtMs <= nowMs) continue;
        parts.push(`${e.head}${base}/client/v1/diagnostics/${e.id}"}`);
        if (!e.delivered) {
          e.delivered = true;
          at ??= new Date(nowMs).toISOString();
          if (!this.#queued.has(e.id)) this.#queued.set(e.id, { id: e.id, at, deviceId });
        }
      }
    }
    return parts.length === 0 ? '' : `[${parts.join(',')}]`;
  }

  #load(appId: string): Promise<AppFeed> {
    let building = this.#building.get(appId);
    if (building === undefined) {
      const generation = this.#generation.get(appId) ?? 0;
      building = this.#build(appId).then((feed) => {
        // A change while loading makes this result stale: serve it once, keep nothing.
        if ((this.#generation.get(appId) ?? 0) === generation) {
          this.#apps.set(appId, feed);
          this.#building.delete(appId);
        }
        return feed;
      });
      building.catch(() => this.#building.delete(appId));
      this.#building.set(appId, building);
    }
    return building;
  }

  async #build(appId: string): Promise<AppFeed> {
    const open = await this.#d.store.listOpen(appId, this.#d.clock.now().toISOString());
    if (open.length === 0) return EMPTY;
    const byTarget = new Map<string, FeedEntry[]>();
    for (const cmd of open) {
      const key = targetKey(cmd.targetType === 'device' ? 'd' : 'u', cmd.targetId);
      let list = byTarget.get(key);
      if (list === undefined) byTarget.set(key, (list = []));
      list.push(entryOf(cmd, this.#queued.has(cmd.id)));
    }
    return { byTarget };
  }

  /** Writes the queued first deliveries. Calls never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  async #flushNow(): Promise<void> {
    if (this.#queued.size === 0) return;
    const batch = [...this.#queued.values()];
    this.#queued.clear();
    try {
      await this.#d.store.markDelivered(batch);
    } catch (err) {
      for (const d of batch) if (!this.#queued.has(d.id)) this.#queued.set(d.id, d);
      throw err;
    }
  }
}

function entryOf(cmd: DiagnosticCommand, queued: boolean): FeedEntry {
  const head = JSON.stringify({ id: cmd.id, kind: cmd.kind, params: cmd.params, expiresAt: cmd.expiresAt, uploadUrl: '' });
  return {
    id: cmd.id,
    expiresAtMs: Date.parse(cmd.expiresAt),
    // Drop the closing '"}' of the empty uploadUrl; the answer appends base URL, path and '"}'.
    head: head.slice(0, -2),
    delivered: cmd.state === 'delivered' || queued,
  };
}
