import { describe, expect, it } from 'vitest';
import type { DeviceContext } from './context.js';
import {
  type CandidateRelease,
  type KnownVersion,
  type ModuleState,
  RELEASE_STAGES,
  audiencePath,
  decideModule,
} from './decide.js';
import { compileRule } from './rules.js';
import { versionKey } from './version.js';

type P = { url: string };

function release(over: Partial<CandidateRelease<P>> = {}): CandidateRelease<P> {
  const id = over.id ?? 'rel_2';
  return {
    id,
    version: '2.0.0',
    status: 'active',
    stage: 'percentage',
    percent: 10,
    whitelist: new Set(),
    crowd: new Set(),
    rule: null,
    grayId: id,
    stickiness: 'userId',
    mandatory: false,
    platform: null,
    minAppVersion: null,
    maxAppVersion: null,
    disabled: false,
    fallbackUrl: 'https://m.example.com/page',
    payload: { url: `/blobs/${id}` },
    ...over,
  };
}

function state(
  releases: CandidateRelease<P>[],
  opts: { versions?: KnownVersion<P>[]; installs?: Record<string, Record<string, string | null>> } = {},
): ModuleState<P> {
  const versions = new Map<string, KnownVersion<P>>();
  for (const r of releases) {
    versions.set(versionKey(r.version) as string, { version: r.version, disabled: r.disabled, fallbackUrl: r.fallbackUrl, payload: r.payload });
  }
  for (const v of opts.versions ?? []) versions.set(versionKey(v.version) as string, v);
  return {
    releases,
    versions,
    installedFrom: (releaseId, deviceId) => {
      const devices = opts.installs?.[releaseId];
      if (devices === undefined || !(deviceId in devices)) return undefined;
      return devices[deviceId] ?? null;
    },
  };
}

const device = (i: number, over: Partial<DeviceContext> = {}): DeviceContext => ({
  deviceId: `device-${i}`,
  platform: 'android',
  appVersion: '8.3.0',
  ...over,
});
const N = 20_000;
const devices = Array.from({ length: N }, (_, i) => device(i));

function offered(s: ModuleState<P>, current?: string, ds = devices): Set<string> {
  const out = new Set<string>();
  for (const d of ds) if (decideModule(d, current, s).action === 'update') out.add(d.deviceId);
  return out;
}

describe('decideModule — invariants', () => {
  it('gives the same answers with a precomputed membership as with the releases\' own lists', () => {
    const whitelist = new Set(['device-1', 'user-7']);
    const crowd = new Set(['device-2', 'user-8', 'device-3']);
    const rs = [
      release({ id: 'w', version: '4.0.0', stage: 'whitelist', percent: 0, whitelist }),
      release({ id: 'i', version: '3.0.0', stage: 'internal', percent: 0, crowd }),
      release({ id: 'p', version: '2.0.0', stage: 'percentage', percent: 30 }),
    ];
    const s = state(rs);
    const membershipOf = (d: DeviceContext) => {
      const ids = [d.deviceId, d.userId].filter((x): x is string => x !== undefined);
      return {
        whitelisted: new Set(ids.some((id) => whitelist.has(id)) ? ['w'] : []),
        inCrowd: new Set(ids.some((id) => crowd.has(id)) ? ['i'] : []),
      };
    };
    for (let i = 0; i < 2000; i++) {
      const d = device(i % 10, i % 3 === 0 ? { userId: `user-${i % 12}` } : {});
      const plain = decideModule(d, '1.0.0', s);
      const fast = decideModule(d, '1.0.0', s, { membership: membershipOf(d) });
      expect([fast.action, fast.release?.id, fast.via]).toEqual([plain.action, plain.release?.id, plain.via]);
    }
  });

  it('offers about the percentage, to the same devices every time (sticky)', () => {
    const s = state([release({ percent: 10 })]);
    const first = offered(s, '1.0.0');
    expect(first.size / N).toBeGreaterThan(0.09);
    expect(first.size / N).toBeLessThan(0.11);
    expect(offered(s, '1.0.0')).toEqual(first);
  });

  it('widening the stage or the percentage only ever adds devices', () => {
    const rule = compileRule({ attribute: 'deviceId', operator: 'ends_with', value: '7' });
    const crowd = new Set(Array.from({ length: 300 }, (_, i) => `device-${i * 11}`));
    const whitelist = new Set(['device-5', 'device-6']);
    const steps: Partial<CandidateRelease<P>>[] = [
      { stage: 'whitelist', percent: 0 },
      { stage: 'internal', percent: 0 },
      { stage: 'gray', percent: 5 },
      { stage: 'gray', percent: 20 },
      { stage: 'percentage', percent: 20 },
      { stage: 'percentage', percent: 50.5 },
      { stage: 'full', percent: 100 },
    ];
    let previous = new Set<string>();
    for (const step of steps) {
      const now = offered(state([release({ ...step, rule, crowd, whitelist })]), '1.0.0');
      for (const id of previous) expect(now.has(id), `${id} dropped at ${JSON.stringify(step)}`).toBe(true);
      expect(now.size).toBeGreaterThanOrEqual(previous.size);
      previous = now;
    }
    expect(previous.size).toBe(N);
  });

  it('whitelisted devices and users always get an active release, at every stage', () => {
    for (const stage of RELEASE_STAGES) {
      const r = release({ stage, percent: 0, whitelist: new Set(['device-3', 'user-9']) });
      expect(decideModule(device(3), '1.0.0', state([r])).action).toBe('update');
      expect(decideModule(device(4, { userId: 'user-9' }), '1.0.0', state([r])).action).toBe('update');
      expect(decideModule(device(3), '1.0.0', state([r])).release?.id).toBe(r.id);
    }
    const gated = release({ stage: 'gray', percent: 0, rule: compileRule({ attribute: 'channel', operator: 'eq', value: 'x' }), whitelist: new Set(['device-1']) });
    expect(audiencePath(gated, device(1))).toBe('whitelist');
  });

  it('a halted release exposes nobody new, and its installers keep it', () => {
    const r = release({ status: 'halted', percent: 100, stage: 'full', whitelist: new Set(['device-1']) });
    expect(offered(state([r]), '1.0.0').size).toBe(0);
    expect(offered(state([r]), undefined).size).toBe(0);
    expect(decideModule(device(1), '2.0.0', state([r])).action).toBe('none');
    // An older full release is not offered as a downgrade to the halted release's installers.
    const old = release({ id: 'rel_1', version: '1.5.0', stage: 'full', percent: 100 });
    expect(decideModule(device(2), '2.0.0', state([r, old])).action).toBe('none');
    expect(decideModule(device(2), '1.0.0', state([r, old])).version).toBe('1.5.0');
  });

  it('resuming reaches exactly the devices reached before the halt', () => {
    const active = release({ percent: 25 });
    const before = offered(state([active]), '1.0.0');
    expect(offered(state([{ ...active, status: 'halted' }]), '1.0.0').size).toBe(0);
    expect(offered(state([{ ...active, status: 'active' }]), '1.0.0')).toEqual(before);
  });

  it('rollback reaches only the devices that installed it, back to what they had', () => {
    const r = release({ status: 'rolled_back', percent: 100, stage: 'full' });
    const v1: KnownVersion<P> = { version: '1.0.0', disabled: false, fallbackUrl: null, payload: { url: '/blobs/v1' } };
    const s = state([r], { versions: [v1], installs: { [r.id]: { 'device-1': '1.0.0', 'device-2': null } } });
    const d1 = decideModule(device(1), '2.0.0', s);
    expect(d1).toMatchObject({ action: 'rollback', version: '1.0.0', payload: { url: '/blobs/v1' } });
    const d2 = decideModule(device(2), '2.0.0', s);
    expect(d2.action).toBe('rollback');
    expect(d2.version).toBeUndefined();
    // Same version, but never reported installing it: untouched.
    expect(decideModule(device(3), '2.0.0', s).action).toBe('none');
    // Installed it but already moved on: untouched.
    expect(decideModule(device(1), '1.0.0', s).action).toBe('none');
    // Nobody is offered a rolled-back release.
    expect(offered(s, '1.0.0').size).toBe(0);
  });

  it('a newer eligible release beats a rollback', () => {
    const bad = release({ id: 'rel_bad', status: 'rolled_back', stage: 'full', percent: 100 });
    const fix = release({ id: 'rel_fix', version: '2.0.1', stage: 'full', percent: 100 });
    const s = state([fix, bad], { installs: { rel_bad: { 'device-1': '1.0.0' } } });
    expect(decideModule(device(1), '2.0.0', s)).toMatchObject({ action: 'update', version: '2.0.1' });
  });

  it('only offers versions newer than the running one', () => {
    const s = state([release({ stage: 'full', percent: 100 })]);
    expect(decideModule(device(1), '2.0.0', s).action).toBe('none');
    expect(decideModule(device(1), '2.0', s).action).toBe('none');
    expect(decideModule(device(1), '3.0.0', s).action).toBe('none');
    expect(decideModule(device(1), '2.0.0-rc.1', s).action).toBe('update');
    expect(decideModule(device(1), undefined, s).action).toBe('update');
  });

  it('tells devices running a disabled package to fall back', () => {
    const r = release({ stage: 'full', percent: 100, disabled: true });
    const s = state([r]);
    expect(decideModule(device(1), '2.0.0', s)).toMatchObject({ action: 'disable', fallbackUrl: 'https://m.example.com/page' });
    expect(decideModule(device(1), '1.0.0', s).action).toBe('none');
    // Another spelling of the same version is the same package.
    expect(decideModule(device(1), '2.0', s).action).toBe('disable');
  });

  it('asks for a store update when the package needs a newer native app, else says nothing', () => {
    const r = release({ stage: 'full', percent: 100, minAppVersion: '9.0', maxAppVersion: '9.9' });
    const s = state([r]);
    expect(decideModule(device(1, { appVersion: '8.3' }), '1.0.0', s)).toMatchObject({ action: 'store-update', version: '9.0' });
    expect(decideModule(device(1, { appVersion: '10.0' }), '1.0.0', s).action).toBe('none');
    expect(decideModule(device(1, { appVersion: '9.5.1.2' }), '1.0.0', s).action).toBe('update');
    // A compatible older release is offered rather than a store update.
    const older = release({ id: 'rel_1', version: '1.5.0', stage: 'full', percent: 100 });
    expect(decideModule(device(1, { appVersion: '8.3' }), '1.0.0', state([r, older])).version).toBe('1.5.0');
  });

  it('respects platform', () => {
    const s = state([release({ stage: 'full', percent: 100, platform: 'ios' })]);
    expect(decideModule(device(1), '1.0.0', s).action).toBe('none');
    expect(decideModule(device(1, { platform: 'ios' }), '1.0.0', s).action).toBe('update');
  });

  it('marks the update mandatory when it, or a skipped release, is mandatory', () => {
    const v3 = release({ id: 'rel_3', version: '3.0.0', stage: 'full', percent: 100 });
    const v2 = release({ id: 'rel_2', version: '2.0.0', stage: 'full', percent: 100, mandatory: true });
    const s = state([v3, v2]);
    expect(decideModule(device(1), '1.0.0', s)).toMatchObject({ action: 'update', version: '3.0.0', mandatory: true });
    expect(decideModule(device(1), '2.0.0', s)).toMatchObject({ version: '3.0.0', mandatory: false });
    // Nothing installed yet: nothing skipped (like CodePush).
    expect(decideModule(device(1), undefined, s).mandatory).toBe(false);
    const rolledBack = state([v3, { ...v2, status: 'rolled_back' }]);
    expect(decideModule(device(1), '1.0.0', rolledBack).mandatory).toBe(false);
  });

  it('gray stage needs the rule and the percentage; internal stage adds the crowd', () => {
    const rule = compileRule({ attribute: 'channel', operator: 'in', values: ['huawei'] });
    const gray = release({ stage: 'gray', percent: 100, rule });
    expect(decideModule(device(1, { channel: 'huawei' }), '1.0.0', state([gray])).via).toBe('gray');
    expect(decideModule(device(1, { channel: 'oppo' }), '1.0.0', state([gray])).action).toBe('none');
    const internal = release({ stage: 'internal', percent: 0, crowd: new Set(['emp-1']) });
    expect(decideModule(device(1, { userId: 'emp-1' }), '1.0.0', state([internal])).via).toBe('internal');
    expect(decideModule(device(1), '1.0.0', state([{ ...internal, stage: 'whitelist' }])).action).toBe('none');
  });

  it('buckets by user id when there is one, so a user keeps the answer across devices', () => {
    const r = release({ percent: 50 });
    const s = state([r]);
    for (let u = 0; u < 200; u++) {
      const a = decideModule(device(1, { userId: `u${u}` }), '1.0.0', s).action;
      const b = decideModule(device(2, { userId: `u${u}` }), '1.0.0', s).action;
      expect(a).toBe(b);
    }
    const byDevice = { ...r, stickiness: 'deviceId' as const };
    const perDevice = new Set(
      Array.from({ length: 200 }, (_, u) => decideModule(device(u, { userId: 'same-user' }), '1.0.0', state([byDevice])).action),
    );
    expect(perDevice.size).toBe(2);
  });
});
