import { describe, expect, it } from 'vitest';
import { bucketOf } from '../bucket.js';
import { compileConfigSet } from './compile.js';
import { compileArmPicker, compileGate, unleashRolloutBucket, unleashVariantBucket } from './split.js';
import type { ConfigItem } from './types.js';

const ids = (n: number, prefix = 'device-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const splitItem = (weights: number[], over: Record<string, unknown> = {}): ConfigItem => ({
  key: 'exp.color',
  type: 'string',
  kind: 'config',
  enabled: true,
  defaultValue: 'none',
  rules: [
    {
      id: 'ab',
      when: { all: [] },
      split: { variants: weights.map((w, i) => ({ name: `v${i}`, value: `V${i}`, weight: w })), ...over },
    },
  ],
});

describe('split bucketing', () => {
  it('uses the release engine bucket with the documented salt', () => {
    const pick = compileArmPicker([50, 50], { salt: 'config:exp.color:ab' });
    for (const id of ids(200)) expect(pick(id)).toBe(bucketOf('config:exp.color:ab', id) < 5000 ? 0 : 1);
    const set = compileConfigSet([splitItem([50, 50])]);
    for (const id of ids(200)) {
      expect(set.evaluate('exp.color', { deviceId: id }).variant).toBe(`v${pick(id)}`);
    }
  });

  it('is sticky: the same device always gets the same variant', () => {
    const a = compileConfigSet([splitItem([1, 2, 3])]);
    const b = compileConfigSet([splitItem([1, 2, 3])]); // a separate compile, as after a restart
    for (const id of ids(2000)) {
      const first = a.evaluate('exp.color', { deviceId: id }).variant;
      expect(a.evaluate('exp.color', { deviceId: id, region: 'CN' }).variant).toBe(first);
      expect(b.evaluate('exp.color', { deviceId: id }).variant).toBe(first);
    }
  });

  it('distributes 100k devices within tolerance of the weights', () => {
    const weights = [10, 30, 60];
    const set = compileConfigSet([splitItem(weights)]);
    const counts = [0, 0, 0];
    const n = 100_000;
    for (const id of ids(n)) {
      const v = set.evaluate('exp.color', { deviceId: id }).variant as string;
      counts[Number(v.slice(1))]! += 1;
    }
    weights.forEach((w, i) => {
      expect(Math.abs((counts[i] as number) / n - w / 100)).toBeLessThan(0.01);
    });
  });

  it('widens monotonically: growing the first arm only adds devices to it', () => {
    const before = compileArmPicker([10, 90], { salt: 's' });
    const after = compileArmPicker([25, 75], { salt: 's' });
    for (const id of ids(20_000)) if (before(id) === 0) expect(after(id)).toBe(0);
    // and a rollout gate only adds devices when raised
    const g10 = compileGate(10, { salt: 'g' });
    const g30 = compileGate(30, { salt: 'g' });
    for (const id of ids(20_000)) if (g10(id)) expect(g30(id)).toBe(true);
  });

  it('rollout and split of one rule are independent (distinct salts)', () => {
    const item: ConfigItem = {
      ...splitItem([50, 50]),
      rules: [{ ...(splitItem([50, 50]).rules[0] as object), id: 'ab', rollout: { percent: 50 } } as ConfigItem['rules'][number]],
    };
    const set = compileConfigSet([item]);
    const counts: Record<string, number> = {};
    for (const id of ids(20_000)) {
      const e = set.evaluate('exp.color', { deviceId: id });
      const k = e.variant ?? e.reason;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect((counts.v0 ?? 0) / 20_000).toBeGreaterThan(0.23);
    expect((counts.v1 ?? 0) / 20_000).toBeGreaterThan(0.23);
  });

  it('stickiness names pick the key; a list falls back in order', () => {
    const byUser = compileConfigSet([splitItem([1, 1], { stickiness: ['userId', 'deviceId'] })]);
    const byTenant = compileConfigSet([splitItem([1, 1], { stickiness: 'tenant' })]);
    for (const id of ids(50)) {
      expect(byUser.evaluate('exp.color', { userId: id, deviceId: 'x' }).variant).toBe(
        byUser.evaluate('exp.color', { deviceId: id }).variant,
      );
      expect(byTenant.evaluate('exp.color', { attributes: { tenant: id } }).variant).toBe(
        byUser.evaluate('exp.color', { userId: id }).variant,
      );
    }
    expect(byTenant.evaluate('exp.color', { deviceId: 'd' }).errorCode).toBe('TARGETING_KEY_MISSING');
  });

  it('reproduces Unleash normalisation (spec vectors from 10-flexible-rollout and 08-variants)', () => {
    expect(unleashRolloutBucket('Feature.flexibleRollout.10', '174')).toBeLessThanOrEqual(10);
    expect(unleashRolloutBucket('Feature.flexibleRollout.10', '499')).toBeGreaterThan(10);
    const n = unleashVariantBucket('x', 'y', 100);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(100);
  });

  it('hashes UTF-8 bytes (non-ASCII ids are stable and spread)', () => {
    const set = compileConfigSet([splitItem([1, 1])]);
    const seen = new Set(ids(64, '用户-').map((id) => set.evaluate('exp.color', { deviceId: id }).variant));
    expect(seen).toEqual(new Set(['v0', 'v1']));
  });
});
