import { describe, expect, it } from 'vitest';
import { createFakeClock, FAKE_CLOCK_START, systemClock } from './clock.js';

describe('systemClock', () => {
  it('tells the current time', () => {
    const before = Date.now();
    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe('createFakeClock', () => {
  it('starts at a fixed instant and stands still', () => {
    const clock = createFakeClock();
    expect(clock.now().toISOString()).toBe(FAKE_CLOCK_START);
    expect(clock.now().getTime()).toBe(clock.now().getTime());
  });

  it('advances and sets', () => {
    const clock = createFakeClock(new Date('2025-06-01T00:00:00Z'));
    clock.advance(60_000);
    expect(clock.now().toISOString()).toBe('2025-06-01T00:01:00.000Z');
    clock.set(new Date('2030-01-01T00:00:00Z'));
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('cannot be moved by mutating a returned Date', () => {
    const clock = createFakeClock();
    clock.now().setFullYear(1999);
    expect(clock.now().toISOString()).toBe(FAKE_CLOCK_START);
  });

  it('rejects invalid input', () => {
    expect(() => createFakeClock(new Date('nope'))).toThrow(RangeError);
    expect(() => createFakeClock().advance(Number.NaN)).toThrow(RangeError);
  });
});
