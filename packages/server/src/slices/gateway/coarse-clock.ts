/** The finest and coarsest tick period (ms). */
const MIN_PERIOD_MS = 5;
const MAX_PERIOD_MS = 250;

/**
 * A coarse clock for inactivity deadlines. One unref'd interval advances `tick` and calls
 * `onTick`; connections stamp `tick` when something happens on them (a property write: no clock
 * read and no timer re-armed per request — Node's socket timeouts re-arm a timer on every read and
 * write, about 0.4 µs a request on the gateway's path), and `onTick` compares stamps with
 * deadlines through {@link CoarseClock.expired}.
 *
 * A deadline of `ms` never fires before `ms` have passed since the stamp (ticks are at least one
 * period apart, however late the interval runs) and fires at most about two periods late. The
 * period is an eighth of the shortest deadline in use, between 5 and 250 ms.
 *
 * @example
 * const clock = new CoarseClock(5_000, (tick) => sweep(tick));
 * conn.stamp = clock.tick;                       // on I/O
 * if (clock.expired(conn.stamp, 5_000)) close(); // in sweep
 */
export class CoarseClock {
  /** Advanced by one every period. */
  tick = 0;
  #periodMs: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #onTick: (tick: number) => void;

  constructor(shortestDeadlineMs: number, onTick: (tick: number) => void) {
    this.#periodMs = periodFor(shortestDeadlineMs);
    this.#onTick = onTick;
  }

  get periodMs(): number {
    return this.#periodMs;
  }

  /** Whether `ms` have surely passed since `stamp` (a value of `tick`). */
  expired(stamp: number, ms: number): boolean {
    return this.tick - stamp > Math.ceil(ms / this.#periodMs);
  }

  /** Makes the period fine enough for a deadline of `ms` (it never becomes coarser). */
  resolve(ms: number): void {
    const p = periodFor(ms);
    if (p >= this.#periodMs) return;
    this.#periodMs = p;
    if (this.#timer !== undefined) {
      this.stop();
      this.start();
    }
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      this.tick++;
      this.#onTick(this.tick);
    }, this.#periodMs).unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function periodFor(ms: number): number {
  return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, Math.floor(ms / 8)));
}
