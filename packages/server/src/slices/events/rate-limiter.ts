/** The rate-limit categories of event items (Sentry-style data categories). */
export const RATE_CATEGORIES = ['session', 'crash', 'anr', 'install', 'event', 'feedback', 'clientReport'] as const;
export type RateCategory = (typeof RATE_CATEGORIES)[number];

export interface RateLimitOptions {
  readonly windowSeconds: number;
  readonly limits: Readonly<Record<RateCategory, number>>;
}

export type RateDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryAfterSeconds: number; readonly categories: readonly RateCategory[] };

/**
 * Fixed-window counters per scope key (a device or an app) and category, in memory. The whole
 * request is admitted or refused: admitting part of a batch would drop crash or session data,
 * which is never sampled. Counts are taken only for admitted batches. The map starts empty at
 * every window, so memory is bounded by the keys active in one window.
 */
export class RateLimiter {
  readonly #opts: RateLimitOptions;
  #window = -1;
  #counts = new Map<string, Int32Array>();

  constructor(opts: RateLimitOptions) {
    this.#opts = opts;
  }

  /** Admits `need` (items per category) for `key` at `nowMs`, or says how long to wait. */
  take(key: string, need: Readonly<Partial<Record<RateCategory, number>>>, nowMs: number): RateDecision {
    const windowMs = this.#opts.windowSeconds * 1000;
    const window = Math.floor(nowMs / windowMs);
    if (window !== this.#window) {
      this.#window = window;
      this.#counts = new Map();
    }
    let counts = this.#counts.get(key);
    const over: RateCategory[] = [];
    for (let i = 0; i < RATE_CATEGORIES.length; i++) {
      const cat = RATE_CATEGORIES[i] as RateCategory;
      const n = need[cat] ?? 0;
      if (n > 0 && (counts?.[i] ?? 0) + n > this.#opts.limits[cat]) over.push(cat);
    }
    if (over.length > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - nowMs) / 1000));
      return { ok: false, retryAfterSeconds, categories: over };
    }
    if (counts === undefined) {
      counts = new Int32Array(RATE_CATEGORIES.length);
      this.#counts.set(key, counts);
    }
    for (let i = 0; i < RATE_CATEGORIES.length; i++) counts[i] = (counts[i] ?? 0) + (need[RATE_CATEGORIES[i] as RateCategory] ?? 0);
    return { ok: true };
  }
}
