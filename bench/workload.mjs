// The benchmark's data set, shared by the HTTP run (check.bench.mjs) and the in-process engine
// figure (engine.mjs) so that both measure the same mix of releases and devices.
//
// Everything here is deterministic: the same seed gives the same modules, releases and devices,
// so two runs (or two machines) load exactly the same work.

export const MODULES = 50;
export const VERSIONS_PER_MODULE = 20;
export const DEVICES = 100_000;
export const STAFF_CROWD = 'staff';

/** `mod-00` … `mod-49`. */
export const moduleName = (m) => `mod-${String(m).padStart(2, '0')}`;
/** `1.0.0` … `1.19.0`. */
export const versionOf = (v) => `1.${v}.0`;

/** A small, fast, seedable PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (r, list) => list[Math.floor(r() * list.length)];
/** Picks from `[[weight, value], …]`. */
function weighted(r, pairs) {
  const total = pairs.reduce((s, [w]) => s + w, 0);
  let x = r() * total;
  for (const [w, value] of pairs) {
    x -= w;
    if (x < 0) return value;
  }
  return pairs[pairs.length - 1][1];
}

// ---------------------------------------------------------------------------------------------
// Targeting rules (the gray stage). Every operator family appears at least once.
// ---------------------------------------------------------------------------------------------
export const RULES = [
  {
    all: [
      { attribute: 'channel', operator: 'in', values: ['huawei', 'xiaomi'] },
      { attribute: 'appVersion', operator: 'version_gte', value: '8.2' },
    ],
  },
  {
    any: [
      { attribute: 'region', operator: 'in', values: ['cn-east', 'cn-south'] },
      { attribute: 'attributes.vip', operator: 'eq', value: true },
    ],
  },
  {
    all: [
      { attribute: 'platform', operator: 'eq', value: 'android' },
      { attribute: 'osVersion', operator: 'version_gte', value: '12' },
      { attribute: 'channel', operator: 'not_in', values: ['googleplay'] },
    ],
  },
  {
    any: [
      { attribute: 'deviceModel', operator: 'regex', value: '^(SM-S9|Mi 1[34])' },
      { attribute: 'deviceModel', operator: 'starts_with', value: 'iPhone15' },
    ],
  },
  {
    all: [
      { attribute: 'appVersion', operator: 'version_range', values: ['8.1', '8.4.99'] },
      { attribute: 'attributes.tier', operator: 'num_gte', value: 2 },
      { any: [{ attribute: 'cpu', operator: 'contains', value: 'arm64' }, { attribute: 'userId', operator: 'ends_with', value: '7' }] },
    ],
  },
  {
    all: [
      { attribute: 'region', operator: 'neq', value: 'eu-west' },
      { attribute: 'appVersion', operator: 'version_lt', value: '9' },
      { attribute: 'attributes.tier', operator: 'num_lt', value: 3 },
    ],
  },
];

/** Ids that are in the internal crowd (`staff`): some user ids and some device ids. */
export function staffMembers() {
  const out = [];
  for (let i = 0; i < 300; i++) out.push(userIdOf(i * 331));
  for (let i = 0; i < 200; i++) out.push(deviceIdOf(i * 487 + 5));
  return out;
}

/** A few ids per whitelist release. */
function whitelistFor(m, v) {
  const out = [];
  for (let i = 0; i < 8; i++) out.push(deviceIdOf((m * 1999 + v * 97 + i * 12_347) % DEVICES));
  for (let i = 0; i < 4; i++) out.push(userIdOf((m * 3001 + v * 13 + i * 7919) % DEVICES));
  return out;
}

/**
 * What to do for release `v` of module `m`:
 * - `create`: the POST /releases body (without module/version),
 * - `then`: admin actions in order (`['advance']`, `['percent', n]`, `['halt']`, `['rollback']`),
 * - `pkg`: extra package fields (minAppVersion / maxAppVersion / fallbackUrl),
 * - `kind`: the package kind,
 * - `label`: the intended final state, for the summary.
 *
 * Shape of a module, oldest to newest: mostly `full` releases (with a halted or rolled-back one
 * here and there), then percentage rollouts (5–50%), then a gray release with a targeting rule,
 * then an internal (crowd) release, then a whitelist-only release. Devices run versions in the
 * middle of that range, so a check walks several candidate releases per module before deciding.
 */
export function releasePlan(m, v) {
  const mod = moduleName(m);
  const kind = ['h5', 'rn', 'patch', 'mini'][m % 4];
  const pkg = {};
  if (m % 3 === 0) pkg.fallbackUrl = `https://cdn.example.com/fallback/${mod}/index.html`;
  if (v >= 10 && m % 5 === 3) pkg.minAppVersion = '8.1.0';
  if (v === 16 && m % 4 === 0) pkg.minAppVersion = '9.0.0'; // → store-update for older apps
  if (v === 15 && m % 6 === 1) pkg.maxAppVersion = '8.3.99'; // newer apps skip it

  const mandatory = v === 12 && m % 5 === 2;
  const full = { create: { percent: 100, ...(mandatory ? { mandatory } : {}) }, then: [['advance']], label: 'full' };

  let plan;
  if (v <= 13) {
    if ((m + v) % 11 === 0) plan = { create: { percent: 30 }, then: [['halt']], label: 'halted' };
    else if ((m * 3 + v) % 13 === 0) plan = { create: { percent: 100 }, then: [['advance'], ['rollback']], label: 'rolled_back' };
    else if (v >= 10 && (m + v) % 3 === 0) plan = { create: { percent: 50 }, then: [['percent', 80]], label: 'percentage' };
    else plan = full;
  } else if (v <= 16) {
    const percent = [5, 10, 20, 30, 50][(m + v) % 5];
    if ((m + v) % 9 === 0) plan = { create: { percent }, then: [['halt']], label: 'halted' };
    else if ((m * 5 + v) % 17 === 0) plan = { create: { percent }, then: [['rollback']], label: 'rolled_back' };
    else plan = { create: { percent, stickiness: v === 15 ? 'deviceId' : 'userId' }, then: [], label: 'percentage' };
  } else if (v === 17) {
    const rule = RULES[m % RULES.length];
    const percent = [100, 50, 20][m % 3];
    plan = { create: { rule, percent }, then: [], label: 'gray' };
  } else if (v === 18) {
    plan =
      m % 2 === 0
        ? { create: { crowds: [STAFF_CROWD] }, then: [], label: 'internal' }
        : { create: { crowds: [STAFF_CROWD], whitelist: whitelistFor(m, v) }, then: [], label: 'internal' };
  } else {
    plan = { create: { whitelist: whitelistFor(m, v) }, then: [], label: 'whitelist' };
  }
  return { module: mod, version: versionOf(v), kind, pkg, ...plan };
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------
export const deviceIdOf = (i) => `dev-${i.toString(36).padStart(4, '0')}-${((i * 2654435761) >>> 0).toString(16)}`;
export const userIdOf = (i) => `u${100_000 + i}`;

const ANDROID_CHANNELS = [
  [30, 'huawei'],
  [25, 'xiaomi'],
  [15, 'oppo'],
  [12, 'vivo'],
  [10, 'googleplay'],
  [8, 'official'],
];
const ANDROID_MODELS = ['SM-S918B', 'SM-A546E', 'Mi 13', 'Mi 14', 'Redmi Note 12', 'HUAWEI P60', 'OPPO Reno10', 'vivo X90', 'Pixel 8'];
const IOS_MODELS = ['iPhone15,2', 'iPhone15,3', 'iPhone14,7', 'iPhone13,2', 'iPhone16,1'];
const APP_VERSIONS = [
  [5, '8.0.0'],
  [10, '8.1.2'],
  [20, '8.2.0'],
  [35, '8.3.0'],
  [20, '8.4.1'],
  [10, '9.0.0'],
];
const REGIONS = ['cn-east', 'cn-north', 'cn-south', 'cn-west', 'sg', 'eu-west'];

/**
 * Device `i` as the client sends it (without `modules`). About 70% are signed in (`userId`),
 * 70% run Android; channel, model, OS, app version, CPU, region and two custom attributes vary.
 */
export function deviceOf(i) {
  const r = rng(0x9e3779b9 ^ (i * 2246822519));
  const android = r() < 0.7;
  const d = { deviceId: deviceIdOf(i) };
  if (r() < 0.7) d.userId = userIdOf(i);
  d.platform = android ? 'android' : 'ios';
  d.appVersion = weighted(r, APP_VERSIONS);
  d.osVersion = android ? pick(r, ['10', '11', '12', '13', '14']) : pick(r, ['15.7', '16.6', '17.4', '17.5']);
  d.channel = android ? weighted(r, ANDROID_CHANNELS) : 'appstore';
  d.deviceModel = android ? pick(r, ANDROID_MODELS) : pick(r, IOS_MODELS);
  d.cpu = android ? pick(r, ['arm64-v8a', 'arm64-v8a', 'armeabi-v7a']) : 'arm64e';
  d.region = pick(r, REGIONS);
  d.attributes = { vip: r() < 0.15, tier: Math.floor(r() * 4) };
  return d;
}

/**
 * How many different "installed module versions" lists there are; device `i` uses list
 * `i % MODULE_LISTS`. Every list names all 50 modules (a device lists every module it has).
 */
export const MODULE_LISTS = 512;

/**
 * List `k`: for each module, the version the device runs. Mostly 1.6.0–1.16.0 (a few releases
 * behind the newest full one up to inside the percentage rollouts); 4% not installed yet
 * (no version → the module's bundled version).
 */
export function moduleListOf(k) {
  const r = rng(0x51ed270b ^ (k * 40503));
  const out = [];
  for (let m = 0; m < MODULES; m++) {
    if (r() < 0.04) out.push({ name: moduleName(m) });
    else out.push({ name: moduleName(m), version: versionOf(6 + Math.floor(r() * 11)) });
  }
  return out;
}
