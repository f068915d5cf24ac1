/**
 * Sticky, fair bucketing for gray releases.
 *
 * A device lands in one of {@link BUCKET_COUNT} buckets per gray release:
 * `murmurHash3String(grayId + ':' + stickinessKey) % BUCKET_COUNT`. A rollout at `p`% takes the
 * buckets `[0, p * 100)`. Hence:
 * - **sticky**: the same device (or user) always gets the same bucket for the same release;
 * - **monotonic**: raising the percent only adds devices, it never removes one;
 * - **independent**: the grayId salts the hash, so different releases pick unrelated cohorts
 *   (the code-push `rollout-selector` idea);
 * - **fine-grained**: percentages have two decimals (0.01% = one bucket).
 *
 * Changing anything here reshuffles every running rollout: the golden vectors in
 * `bucket.test.ts` exist to make such a change impossible to do by accident.
 */
import type { DeviceContext } from './context.js';
import {
  type Murmur3Prefix,
  murmurHash3Continue,
  murmurHash3Prefix,
  murmurHash3String,
} from './murmur3.js';
import { encodeUtf8 } from './utf8.js';

/**
 * Number of buckets; one bucket is 0.01% of the devices.
 *
 * @example
 * const share = percentToBuckets(12.5) / BUCKET_COUNT; // 0.125
 */
export const BUCKET_COUNT = 10000;

/**
 * What keeps a device in its cohort: the signed-in user (falling back to the device) or the
 * device. See {@link stickinessKeyOf}.
 *
 * @example
 * const stickiness: Stickiness = 'userId';
 */
export type Stickiness = 'userId' | 'deviceId';

/**
 * The bucket (0..9999) of a stickiness key within one gray release.
 *
 * @example
 * const b = bucketOf('rel_1', 'device-42'); // always the same number in 0..9999
 * isInPercent(b, 10); // whether that device is in a 10% rollout of rel_1
 */
export function bucketOf(grayId: string, stickinessKey: string): number {
  return murmurHash3String(`${grayId}:${stickinessKey}`) % BUCKET_COUNT;
}

/** A release's `grayId + ":"` hashed ahead of time, for {@link bucketOfPrepared}. */
export type GrayIdPrefix = Murmur3Prefix;

/**
 * Prepares `grayId` for bucketing many devices: the prefix is hashed once.
 *
 * @example
 * const p = prepareGrayId('rel_1');
 * bucketOfPrepared(p, encodeUtf8('device-42')) === bucketOf('rel_1', 'device-42'); // true
 */
export function prepareGrayId(grayId: string): GrayIdPrefix {
  const bytes = encodeUtf8(`${grayId}:`);
  return murmurHash3Prefix(bytes, bytes.length);
}

/** The same bucket as {@link bucketOf}, from a prepared grayId and the key's UTF-8 bytes. */
export function bucketOfPrepared(prefix: GrayIdPrefix, keyBytes: Uint8Array, keyLength = keyBytes.length): number {
  return murmurHash3Continue(prefix, keyBytes, keyLength) % BUCKET_COUNT;
}

/**
 * Whether `p` is a valid rollout percentage: a finite number in [0, 100] with at most two
 * decimal places (tolerating binary floating-point noise such as `0.29 * 100`).
 *
 * @example
 * isValidPercent(12.5);   // true
 * isValidPercent(0.01);   // true
 * isValidPercent(12.345); // false (3 decimals)
 * isValidPercent(101);    // false
 */
export function isValidPercent(p: unknown): boolean {
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) return false;
  const scaled = p * 100;
  return Math.abs(Math.round(scaled) - scaled) < 1e-9;
}

/**
 * How many buckets a percentage covers: `Math.round(percent * 100)`, in 0..10000.
 *
 * @throws {RangeError} when `percent` is not a valid percentage ({@link isValidPercent}).
 * @example
 * percentToBuckets(10);   // 1000
 * percentToBuckets(0.29); // 29
 * percentToBuckets(100);  // 10000
 */
export function percentToBuckets(percent: number): number {
  if (!isValidPercent(percent)) {
    throw new RangeError(`invalid rollout percent ${String(percent)}: need 0..100, 2 decimals`);
  }
  return Math.round(percent * 100);
}

/**
 * Whether a bucket is inside a rollout of `percent`% (the buckets `[0, percent * 100)`).
 * 0% contains no bucket and 100% contains all of them.
 *
 * @throws {RangeError} when `percent` is not a valid percentage.
 * @example
 * isInPercent(999, 10);  // true
 * isInPercent(1000, 10); // false
 */
export function isInPercent(bucket: number, percent: number): boolean {
  return bucket < percentToBuckets(percent);
}

/**
 * The key a device is bucketed by. `'userId'` uses the user id when it is present and non-empty
 * and falls back to the device id (so signed-out devices still get a stable cohort);
 * `'deviceId'` always uses the device id.
 *
 * @example
 * stickinessKeyOf({ deviceId: 'd1', userId: 'u9', platform: 'ios', appVersion: '1.0' }, 'userId'); // 'u9'
 * stickinessKeyOf({ deviceId: 'd1', userId: '', platform: 'ios', appVersion: '1.0' }, 'userId');   // 'd1'
 */
export function stickinessKeyOf(ctx: DeviceContext, stickiness: Stickiness): string {
  if (stickiness === 'userId') {
    const userId = ctx.userId;
    if (typeof userId === 'string' && userId !== '') return userId;
  }
  return ctx.deviceId;
}
