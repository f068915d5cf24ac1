import { afterEach, describe, expect, it, vi } from 'vitest';
import { CoarseClock } from './coarse-clock.js';

describe('CoarseClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes an eighth of the shortest deadline as its period, between 5 and 250 ms', () => {
    expect(new CoarseClock(800, () => {}).periodMs).toBe(100);
    expect(new CoarseClock(10, () => {}).periodMs).toBe(5);
    expect(new CoarseClock(60_000, () => {}).periodMs).toBe(250);
  });

  it('never expires a deadline early and expires it at most two periods late', () => {
    vi.useFakeTimers();
    const clock = new CoarseClock(800, () => {});
    clock.start();
    // A stamp taken at the very end of a tick is the worst case for "never early".
    vi.advanceTimersByTime(99);
    const stamp = clock.tick;
    const stampedAt = Date.now();
    let firedAt: number | undefined;
    for (let t = 0; t < 2_000 && firedAt === undefined; t++) {
      vi.advanceTimersByTime(1);
      if (clock.expired(stamp, 800)) firedAt = Date.now();
    }
    clock.stop();
    expect(firedAt).toBeDefined();
    const waited = (firedAt as number) - stampedAt;
    expect(waited).toBeGreaterThanOrEqual(800);
    expect(waited).toBeLessThanOrEqual(800 + 2 * clock.periodMs);
  });

  it('calls onTick every period, and a finer deadline makes the period finer, never coarser', () => {
    vi.useFakeTimers();
    const ticks: number[] = [];
    const clock = new CoarseClock(2_000, (t) => ticks.push(t));
    clock.start();
    vi.advanceTimersByTime(1_000);
    expect(ticks).toEqual([1, 2, 3, 4]);
    clock.resolve(400);
    expect(clock.periodMs).toBe(50);
    clock.resolve(10_000);
    expect(clock.periodMs).toBe(50);
    vi.advanceTimersByTime(100);
    expect(ticks.slice(4)).toEqual([5, 6]);
    clock.stop();
    vi.advanceTimersByTime(1_000);
    expect(ticks.length).toBe(6);
  });

  it('stays conservative when the period becomes finer after a stamp', () => {
    vi.useFakeTimers();
    const clock = new CoarseClock(2_000, () => {});
    clock.start();
    const stamp = clock.tick;
    const stampedAt = Date.now();
    vi.advanceTimersByTime(500); // two 250 ms ticks
    clock.resolve(80); // 10 ms ticks from now on
    let firedAt: number | undefined;
    for (let t = 0; t < 2_000 && firedAt === undefined; t++) {
      vi.advanceTimersByTime(1);
      if (clock.expired(stamp, 300)) firedAt = Date.now();
    }
    clock.stop();
    expect((firedAt as number) - stampedAt).toBeGreaterThanOrEqual(300);
  });
});
