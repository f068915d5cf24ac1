import { describe, expect, it } from 'vitest';
import { HyperLogLog } from './hyperloglog.js';

describe('HyperLogLog', () => {
  it.each([1, 10, 100, 1000, 10_000, 100_000])('estimates %i distinct keys within 5%', (n) => {
    const h = new HyperLogLog();
    for (let i = 0; i < n; i++) h.add(`device-${i}`);
    expect(Math.abs(h.count() - n)).toBeLessThanOrEqual(Math.max(1, n * 0.05));
  });

  it('ignores repeats and reports whether it changed', () => {
    const h = new HyperLogLog();
    expect(h.add('a')).toBe(true);
    expect(h.add('a')).toBe(false);
    for (let i = 0; i < 50; i++) h.add('a');
    expect(h.count()).toBe(1);
  });

  it('merges like a union and survives a base64 round trip', () => {
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 3000; i++) a.add(`d${i}`);
    for (let i = 2000; i < 5000; i++) b.add(`d${i}`);
    a.merge(b);
    const copy = HyperLogLog.fromBase64(a.toBase64());
    expect(Math.abs(copy.count() - 5000)).toBeLessThan(250);
    expect(HyperLogLog.fromBase64('garbage').count()).toBe(0);
  });
});
