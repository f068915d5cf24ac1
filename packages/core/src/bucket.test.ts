import { describe, expect, it } from 'vitest';
import {
  BUCKET_COUNT,
  bucketOf,
  bucketOfPrepared,
  isInPercent,
  isValidPercent,
  percentToBuckets,
  prepareGrayId,
  stickinessKeyOf,
} from './bucket.js';
import type { DeviceContext } from './context.js';
import { encodeUtf8 } from './utf8.js';

/** Deterministic pseudo-random device ids (xorshift32 → UUID-shaped hex), so runs are stable. */
function randomIds(n: number, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const hex = () => next().toString(16).padStart(8, '0');
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = hex();
    const b = hex();
    ids.push(`${a}-${b.slice(0, 4)}-${b.slice(4)}-${hex().slice(0, 4)}-${hex()}${hex().slice(0, 4)}`);
  }
  return ids;
}

const N = 100_000;
const IDS = randomIds(N, 20240601);

describe('bucketOf: golden vectors', () => {
  // Computed once (and cross-checked against an independent Python MurmurHash3). These pin the
  // device contract: if any of them changes, every running rollout would reshuffle.
  it.each([
    ['rel_1', 'device-42', 1406],
    ['发布', '用户-1', 2148],
    ['rel_1', 'user-1', 771],
    ['rel_2', 'device-42', 2588],
    ['gray_2024_01', 'd', 3538],
    ['', '', 7430],
    ['rel_1', 'émoji 🚀', 9654],
    ['release-123', '00000000-0000-0000-0000-000000000000', 808],
  ] as const)('bucketOf(%j, %j) = %d', (grayId, key, want) => {
    expect(bucketOf(grayId, key)).toBe(want);
  });
});

describe('bucketOf: invariants', () => {
  it('is stable: the same inputs always give the same bucket in 0..9999', () => {
    const first = IDS.slice(0, 20_000).map((id) => bucketOf('rel_stable', id));
    const again = IDS.slice(0, 20_000).map((id) => bucketOf('rel_stable', id));
    expect(again).toEqual(first);
    expect(first.every((b) => Number.isInteger(b) && b >= 0 && b < BUCKET_COUNT)).toBe(true);
  });

  it('widens monotonically: the set at p1 is a subset of the set at p2 for p1 < p2', () => {
    const buckets = IDS.map((id) => bucketOf('rel_widen', id));
    const steps = [0, 0.01, 1, 5, 10, 12.5, 25, 50, 99.99, 100];
    let previous = 0;
    for (let s = 0; s + 1 < steps.length; s++) {
      const p1 = steps[s] as number;
      const p2 = steps[s + 1] as number;
      let size = 0;
      for (const b of buckets) {
        const in1 = isInPercent(b, p1);
        const in2 = isInPercent(b, p2);
        if (in1 && !in2) throw new Error(`bucket ${b} left the rollout going ${p1}% → ${p2}%`);
        if (in2) size++;
      }
      expect(size).toBeGreaterThanOrEqual(previous);
      previous = size;
    }
    expect(previous).toBe(N);
    expect(buckets.filter((b) => isInPercent(b, 0))).toHaveLength(0);
  });

  it('is fair: 10% selects 10% ± 0.5% of 100k ids, and 100 groups pass a chi-square test', () => {
    const groups = new Array<number>(100).fill(0);
    let inTen = 0;
    for (const id of IDS) {
      const b = bucketOf('rel_fair', id);
      groups[Math.floor(b / 100)] = (groups[Math.floor(b / 100)] ?? 0) + 1;
      if (isInPercent(b, 10)) inTen++;
    }
    expect(inTen / N).toBeGreaterThan(0.095);
    expect(inTen / N).toBeLessThan(0.105);
    const expected = N / 100;
    const chi2 = groups.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 99 degrees of freedom: mean 99, sd ≈ 14; 150 is beyond p = 0.001.
    expect(chi2).toBeLessThan(150);
  });

  it('is fair for sequential ids too (no structure leaks through)', () => {
    let inTen = 0;
    for (let i = 0; i < N; i++) if (isInPercent(bucketOf('rel_seq', `device-${i}`), 10)) inTen++;
    expect(inTen / N).toBeGreaterThan(0.095);
    expect(inTen / N).toBeLessThan(0.105);
  });

  it('keeps releases independent: two grayIds at 10% overlap on ≈1%; one grayId on 100%', () => {
    let a = 0;
    let both = 0;
    let same = 0;
    for (const id of IDS) {
      const inA = isInPercent(bucketOf('rel_a', id), 10);
      const inB = isInPercent(bucketOf('rel_b', id), 10);
      if (inA) a++;
      if (inA && inB) both++;
      if (inA && isInPercent(bucketOf('rel_a', id), 10)) same++;
    }
    expect(both / N).toBeGreaterThan(0.007);
    expect(both / N).toBeLessThan(0.013);
    expect(same).toBe(a);
  });

  it('buckets non-ASCII ids like their UTF-8 bytes and keeps them distinct', () => {
    const keys = ['用户-1', '用户-2', 'émoji 🚀', 'émoji 🚁', 'Ünïcödé'];
    const buckets = keys.map((k) => bucketOf('发布', k));
    expect(new Set(buckets).size).toBe(keys.length);
    expect(buckets.map((_, i) => bucketOf('发布', keys[i] as string))).toEqual(buckets);
  });
});

describe('percentages', () => {
  it.each([
    [0, 0],
    [0.01, 1],
    [0.29, 29],
    [1.15, 115],
    [10, 1000],
    [12.5, 1250],
    [33.33, 3333],
    [99.99, 9999],
    [100, 10000],
  ])('percentToBuckets(%d) = %d', (p, want) => {
    expect(isValidPercent(p)).toBe(true);
    expect(percentToBuckets(p)).toBe(want);
  });

  it('accepts every two-decimal percentage despite float noise', () => {
    const wrong: number[] = [];
    for (let i = 0; i <= 10000; i++) {
      const p = i / 100;
      if (!isValidPercent(p) || percentToBuckets(p) !== i) wrong.push(p);
      // The same percent reached by float arithmetic (as a UI slider might produce it).
      if (!isValidPercent(i * 0.01)) wrong.push(i * 0.01);
    }
    expect(wrong).toEqual([]);
  });

  it.each([-0.01, 100.01, 12.345, 0.001, Number.NaN, Number.POSITIVE_INFINITY, '10', null])(
    'rejects %j',
    (p) => {
      expect(isValidPercent(p)).toBe(false);
      expect(() => percentToBuckets(p as number)).toThrow(RangeError);
    },
  );

  it('isInPercent takes the buckets [0, percent * 100)', () => {
    expect(isInPercent(999, 10)).toBe(true);
    expect(isInPercent(1000, 10)).toBe(false);
    expect(isInPercent(0, 0)).toBe(false);
    expect(isInPercent(0, 0.01)).toBe(true);
    expect(isInPercent(1, 0.01)).toBe(false);
    expect(isInPercent(9999, 100)).toBe(true);
  });
});

describe('stickinessKeyOf', () => {
  const base: DeviceContext = { deviceId: 'd1', platform: 'ios', appVersion: '1.0' };
  it('userId sticks to the user when there is one, else to the device', () => {
    expect(stickinessKeyOf({ ...base, userId: 'u9' }, 'userId')).toBe('u9');
    expect(stickinessKeyOf({ ...base, userId: '' }, 'userId')).toBe('d1');
    expect(stickinessKeyOf({ ...base, userId: undefined }, 'userId')).toBe('d1');
    expect(stickinessKeyOf(base, 'userId')).toBe('d1');
  });

  it('deviceId always sticks to the device', () => {
    expect(stickinessKeyOf({ ...base, userId: 'u9' }, 'deviceId')).toBe('d1');
    expect(stickinessKeyOf(base, 'deviceId')).toBe('d1');
  });
});

describe('bucketOfPrepared', () => {
  it('gives exactly bucketOf for any grayId and key, ASCII or not', () => {
    const grayIds = ['rel_1', 'rel_01kc3x', '发布', 'g', 'abc', 'abcd', ''];
    for (const grayId of grayIds) {
      const prefix = prepareGrayId(grayId);
      for (let i = 0; i < 500; i++) {
        const key = i % 3 === 0 ? `用户-${i}` : i % 3 === 1 ? `device-${i}` : `${i}🚀`;
        expect(bucketOfPrepared(prefix, encodeUtf8(key))).toBe(bucketOf(grayId, key));
      }
    }
  });
});
