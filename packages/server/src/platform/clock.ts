/** The source of the current time. Inject it; never call `new Date()` in domain code. */
export interface Clock {
  /** The current time, as a new Date each call. */
  now(): Date;
}

/** A {@link Clock} that can be moved by tests. */
export interface FakeClock extends Clock {
  /** Moves the clock forward (or back, with a negative value) by `ms` milliseconds. */
  advance(ms: number): void;
  /** Sets the clock to `time`. */
  set(time: Date): void;
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => new Date() });

/** Where a fake clock starts unless told otherwise: a fixed instant, so tests are repeatable. */
export const FAKE_CLOCK_START = '2025-01-01T00:00:00.000Z';

/**
 * A clock that stands still until moved. `now()` returns a fresh Date each call, so callers
 * mutating it cannot move the clock.
 *
 * @example
 * const clock = createFakeClock(new Date('2025-06-01T00:00:00Z'));
 * clock.advance(60_000);
 * clock.now().toISOString(); // '2025-06-01T00:01:00.000Z'
 */
export function createFakeClock(start: Date = new Date(FAKE_CLOCK_START)): FakeClock {
  let ms = start.getTime();
  if (Number.isNaN(ms)) throw new RangeError('createFakeClock: invalid start date');
  return {
    now: () => new Date(ms),
    advance(delta) {
      if (!Number.isFinite(delta)) throw new RangeError('advance: ms must be finite');
      ms += delta;
    },
    set(time) {
      const next = time.getTime();
      if (Number.isNaN(next)) throw new RangeError('set: invalid date');
      ms = next;
    },
  };
}
