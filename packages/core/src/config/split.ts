/**
 * Sticky bucketing for config splits and rollout gates: the release engine's `bucketOf`
 * (native) or Unleash's normalisation (`unleashCompatible`). Everything that can be prepared is
 * prepared at compile time; per device this is one string concatenation and one hash.
 */
import { bucketOf, BUCKET_COUNT } from '../bucket.js';
import { murmurHash3String } from '../murmur3.js';
import type { RuleContext } from '../rules.js';
import { attributeValue } from '../rules.js';
import type { ConfigStickiness } from './types.js';

/**
 * The seed Unleash uses to hash variants (`normalizedVariantValue`); strategies use seed 0.
 *
 * @example
 * unleashVariantBucket('feature', 'user-1', 100); // 1..100
 */
export const UNLEASH_VARIANT_SEED = 86028157;

/**
 * Unleash's strategy normalisation: `murmur3(groupId + ":" + key, 0) % 100 + 1`, in 1..100.
 *
 * @example
 * unleashRolloutBucket('Feature.flexibleRollout.10', '174'); // <= 10, so a 10% rollout admits it
 */
export function unleashRolloutBucket(groupId: string, key: string): number {
  return (murmurHash3String(`${groupId}:${key}`, 0) % 100) + 1;
}

/**
 * Unleash's variant normalisation: `murmur3(groupId + ":" + key, 86028157) % total + 1`.
 *
 * @example
 * unleashVariantBucket('Feature.Variants.C', '0', 99); // 1..99
 */
export function unleashVariantBucket(groupId: string, key: string, total: number): number {
  return (murmurHash3String(`${groupId}:${key}`, UNLEASH_VARIANT_SEED) % total) + 1;
}

const BUILTIN_STICKINESS = new Set([
  'deviceId',
  'userId',
  'appVersion',
  'platform',
  'osVersion',
  'channel',
  'region',
  'deviceModel',
  'cpu',
  'remoteAddress',
]);

/**
 * The rule attribute a stickiness name refers to: built-in names and `attributes.X` as is,
 * any other bare name as the custom attribute `attributes.<name>`.
 *
 * @example
 * stickinessAttribute('tenant');   // 'attributes.tenant'
 * stickinessAttribute('userId');   // 'userId'
 */
export function stickinessAttribute(name: string): string {
  if (BUILTIN_STICKINESS.has(name) || name.startsWith('attributes.')) return name;
  return `attributes.${name}`;
}

/** Returns the stickiness key of a device, or `undefined` when it reports none. */
export type KeyGetter = (ctx: RuleContext) => string | undefined;

/**
 * Compiles a stickiness declaration into a key getter (the first present field wins).
 *
 * @example
 * const key = compileStickiness(['userId', 'deviceId']);
 * key({ deviceId: 'd1' }); // 'd1'
 */
export function compileStickiness(stickiness: ConfigStickiness | undefined): KeyGetter {
  const names = (stickiness === undefined ? ['deviceId'] : typeof stickiness === 'string' ? [stickiness] : stickiness).map(
    stickinessAttribute,
  );
  if (names.length === 1) {
    const only = names[0] as string;
    return (ctx) => {
      const v = attributeValue(ctx, only);
      return v === undefined ? undefined : typeof v === 'string' ? v : String(v);
    };
  }
  return (ctx) => {
    for (const n of names) {
      const v = attributeValue(ctx, n);
      if (v !== undefined) return typeof v === 'string' ? v : String(v);
    }
    return undefined;
  };
}

/**
 * Picks an arm index from a device key: native bucketing over {@link BUCKET_COUNT} buckets or
 * Unleash's variant normalisation. Returns -1 when no arm has a positive weight.
 */
export type ArmPicker = (key: string) => number;

/**
 * Prepares the arm picker of a split.
 *
 * @example
 * const pick = compileArmPicker([50, 50], { salt: 'config:k:r' });
 * pick('device-1'); // 0 or 1, always the same for device-1
 */
export function compileArmPicker(
  weights: readonly number[],
  mode: { readonly salt: string; readonly unleashGroupId?: string | undefined },
): ArmPicker {
  const total = weights.reduce((a, w) => a + w, 0);
  if (!(total > 0)) return () => -1;
  if (mode.unleashGroupId !== undefined) {
    const groupId = mode.unleashGroupId;
    const cumulative: number[] = [];
    let acc = 0;
    for (const w of weights) {
      acc += w;
      cumulative.push(w > 0 ? acc : -1); // weight-0 arms never match
    }
    return (key) => {
      const n = unleashVariantBucket(groupId, key, total);
      for (let i = 0; i < cumulative.length; i++) {
        if ((cumulative[i] as number) >= n) return i;
      }
      return -1;
    };
  }
  // Native: arm i takes the buckets [floor(cum_{i-1} * N / total), floor(cum_i * N / total)).
  const upper: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w;
    upper.push(Math.floor((acc * BUCKET_COUNT) / total));
  }
  upper[upper.length - 1] = BUCKET_COUNT;
  const salt = mode.salt;
  return (key) => {
    const b = bucketOf(salt, key);
    for (let i = 0; i < upper.length; i++) {
      if (b < (upper[i] as number)) return i;
    }
    return -1;
  };
}

/** Whether a device key is inside a rollout gate. */
export type GatePredicate = (key: string) => boolean;

/**
 * Prepares a rollout gate.
 *
 * @example
 * const inGate = compileGate(10, { salt: 'config:k:r:rollout' });
 * inGate('device-1'); // sticky yes/no, about 10% yes
 */
export function compileGate(
  percent: number,
  mode: { readonly salt: string; readonly unleashGroupId?: string | undefined },
): GatePredicate {
  if (mode.unleashGroupId !== undefined) {
    const groupId = mode.unleashGroupId;
    if (percent <= 0) return () => false;
    return (key) => unleashRolloutBucket(groupId, key) <= percent;
  }
  const limit = Math.round(percent * 100);
  const salt = mode.salt;
  return (key) => bucketOf(salt, key) < limit;
}
