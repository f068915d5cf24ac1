import { type Clock, createFakeClock, systemClock } from '../../platform/clock.js';
import { ClockBackwards, ClockNotManual } from './health-errors.js';

/** The server's clock and whether (and how) it can be moved: `PUT /admin/v1/clock`. */
export interface ClockControl extends Clock {
  readonly mode: 'system' | 'manual';
  /** Moves a manual clock forward to `time` (HT_CLOCK_NOT_MANUAL, HT_CLOCK_BACKWARDS). */
  set(time: Date): void;
}

/**
 * The clock compose uses for everything: the system clock, or (mode `manual`) a clock that stands
 * still at `start` (default: now) until set forward. A clock passed in by a test is used as is;
 * if it can be set, manual mode moves it.
 */
export function createClockControl(
  mode: 'system' | 'manual',
  opts: { start?: Date | undefined; clock?: Clock | undefined } = {},
): ClockControl {
  if (mode === 'system') {
    const base = opts.clock ?? systemClock;
    return {
      mode,
      now: () => base.now(),
      set() {
        throw ClockNotManual();
      },
    };
  }
  const given = opts.clock as (Clock & { set?: (t: Date) => void }) | undefined;
  const clock = given?.set !== undefined ? (given as Clock & { set: (t: Date) => void }) : createFakeClock(opts.start ?? new Date());
  return {
    mode,
    now: () => clock.now(),
    set(time) {
      const current = clock.now();
      if (time.getTime() < current.getTime()) {
        throw ClockBackwards({ now: time.toISOString(), current: current.toISOString() });
      }
      clock.set(time);
    },
  };
}
