import { describe, expect, it } from 'vitest';
import { normalizeCodePushAppVersion } from './app-version.js';
import { codePushRolloutBucket, codePushRolloutHash, isSelectedForCodePushRollout } from './rollout-selector.js';
import { type CodePushEntry, type RangeMatcher, selectCodePushRelease } from './select.js';

describe('CodePush rollout selector (golden vectors of reference §b.6)', () => {
  it('reproduces the original hash, which is not kept to 32 bits', () => {
    expect(codePushRolloutHash('11111111-2222-3333-4444-555555555555-v3')).toBe(-2302960726);
    expect(codePushRolloutHash('device-42-v1')).toBe(-2077044237);
    expect(codePushRolloutHash('a-v1')).toBe(2936679);
  });
  it('buckets as |h| % 100', () => {
    expect(codePushRolloutBucket('11111111-2222-3333-4444-555555555555', 'v3')).toBe(26);
    expect(codePushRolloutBucket('device-42', 'v1')).toBe(37);
    expect(codePushRolloutBucket('device-42', 'v2')).toBe(36);
    expect(codePushRolloutBucket('a', 'v1')).toBe(79);
  });
  it('selects below the rollout, everyone at 100 or without a rollout, and only grows', () => {
    expect(isSelectedForCodePushRollout('device-42', 38, 'v1')).toBe(true);
    expect(isSelectedForCodePushRollout('device-42', 37, 'v1')).toBe(false);
    expect(isSelectedForCodePushRollout('x', null, 'v1')).toBe(true);
    expect(isSelectedForCodePushRollout('x', 100, 'v1')).toBe(true);
    for (let i = 0; i < 500; i++) {
      const id = `dev-${i}`;
      let was = false;
      for (let p = 0; p <= 100; p += 5) {
        const now = isSelectedForCodePushRollout(id, p, 'v9');
        if (was) expect(now).toBe(true);
        was = now;
      }
    }
  });
});

describe('appVersion normalisation', () => {
  it('pads plain integers and missing patch versions, keeping suffixes', () => {
    expect(normalizeCodePushAppVersion('1')).toEqual({ version: '1.0.0', changed: true });
    expect(normalizeCodePushAppVersion('2.0')).toEqual({ version: '2.0.0', changed: true });
    expect(normalizeCodePushAppVersion('2.0-beta')).toEqual({ version: '2.0.0-beta', changed: true });
    expect(normalizeCodePushAppVersion('2.0+7')).toEqual({ version: '2.0.0+7', changed: true });
    expect(normalizeCodePushAppVersion('1.2.3')).toEqual({ version: '1.2.3', changed: false });
    expect(normalizeCodePushAppVersion('banana')).toEqual({ version: 'banana', changed: false });
  });
});

// A tiny exact-version matcher: enough to test the algorithm without a range library.
const exact: RangeMatcher = {
  satisfies: (v, r) => r === '*' || r === v,
  gtr: (v, r) => r !== '*' && v > r,
};
const e = (n: number, over: Partial<CodePushEntry<null>> = {}): CodePushEntry<null> => ({
  label: `v${n}`,
  packageHash: `h${n}`,
  range: '1.0.0',
  mandatory: false,
  disabled: false,
  unfinished: false,
  payload: null,
  ...over,
});
const q = (over: Partial<Parameters<typeof selectCodePushRelease>[1]> = {}) => ({
  appVersion: '1.0.0',
  label: undefined,
  packageHash: undefined,
  isCompanion: false,
  ...over,
});
const all = () => true;

describe('selectCodePushRelease', () => {
  it('offers the newest release on first install, nothing when current', () => {
    const h = [e(1), e(2)];
    const first = selectCodePushRelease(h, q(), exact, all);
    expect(first.available && first.entry.label).toBe('v2');
    expect(selectCodePushRelease(h, q({ label: 'v2', packageHash: 'h2' }), exact, all).available).toBe(false);
  });
  it('escalates to mandatory across a skipped mandatory release, not across an installed one', () => {
    const h = [e(1), e(2, { mandatory: true }), e(3)];
    const s = selectCodePushRelease(h, q({ label: 'v1', packageHash: 'h1' }), exact, all);
    expect(s.available && s.entry.label).toBe('v3');
    expect(s.available && s.mandatory).toBe(true);
    const t = selectCodePushRelease(h, q({ label: 'v2', packageHash: 'h2' }), exact, all);
    expect(t.available && t.mandatory).toBe(false);
    // First install: a mandatory release on the way is still "skipped" (the original behaviour).
    const u = selectCodePushRelease([e(1, { mandatory: true }), e(2)], q(), exact, all);
    expect(u.available && u.mandatory).toBe(false);
  });
  it('downgrades devices on a disabled release; the binary when none is left', () => {
    const h = [e(1), e(2, { disabled: true })];
    const s = selectCodePushRelease(h, q({ label: 'v2', packageHash: 'h2' }), exact, all);
    expect(s.available && s.entry.label).toBe('v1');
    const only = selectCodePushRelease([e(1, { disabled: true })], q({ label: 'v1', packageHash: 'h1' }), exact, all);
    expect(only).toMatchObject({ available: false, shouldRunBinaryVersion: true });
  });
  it('asks for a store update, or names the latest range when the binary is newer', () => {
    const h = [e(1, { range: '2.0.0' })];
    expect(selectCodePushRelease(h, q({ appVersion: '1.0.0' }), exact, all)).toMatchObject({
      available: false,
      updateAppVersion: true,
      range: '2.0.0',
    });
    expect(selectCodePushRelease(h, q({ appVersion: '3.0.0' }), exact, all)).toMatchObject({
      available: false,
      updateAppVersion: false,
      range: '2.0.0',
    });
    expect(selectCodePushRelease(h, q({ appVersion: '1.0.0', isCompanion: true }), exact, all).available).toBe(true);
  });
  it('serves unfinished releases only to devices in their rollout, and never takes one away', () => {
    const h = [e(1), e(2, { unfinished: true })];
    const out = selectCodePushRelease(h, q({ label: 'v1', packageHash: 'h1' }), exact, () => false);
    expect(out.available).toBe(false);
    const inn = selectCodePushRelease(h, q({ label: 'v1', packageHash: 'h1' }), exact, all);
    expect(inn.available && inn.entry.label).toBe('v2');
    expect(selectCodePushRelease(h, q({ label: 'v2', packageHash: 'h2' }), exact, () => false).available).toBe(false);
  });
  it('matches by hash when no label is sent, and treats empty strings as absent', () => {
    const h = [e(1), e(2)];
    expect(selectCodePushRelease(h, q({ label: '', packageHash: 'h2' }), exact, all).available).toBe(false);
    const s = selectCodePushRelease(h, q({ label: '', packageHash: '' }), exact, all);
    expect(s.available && s.entry.label).toBe('v2');
    expect(selectCodePushRelease([], q(), exact, all)).toMatchObject({ available: false });
  });
});
