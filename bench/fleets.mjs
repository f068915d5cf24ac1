// The two fleets the HTTP benchmark sends checks for. Same 100,000 devices (workload.mjs
// `deviceOf`), same 50 modules per check; they differ in the versions the devices run.
//
// - stale (stress case): device i runs module list i % 512 (`moduleListOf`), versions
//   1.6.0–1.16.0 of every module, i.e. far behind: most answers are `update`.
// - steady (headline): a fleet that has been taking its updates. Per device and module: not
//   installed where the stale list has no version (4%); otherwise the newest `full`, active
//   release whose package runs on the device's app version (the stale version if there is none);
//   if the engine would offer that device an `update` to v from there, it has installed v with
//   probability 0.8 (seeded per device and module), else it still runs the full version. Most
//   answers are `none`; devices inside in-flight rollouts that have not installed yet get `update`.
//
// Both fleets build each body on the fly from a per-device prefix, so the load generator only
// concatenates strings: stale = prefix + one of 512 precomputed lists; steady = prefix + 50
// precomputed per-(module, version) fragments picked from a Uint8Array of version indices.
import { performance } from 'node:perf_hooks';
import { finalState } from './engine.mjs';
import {
  DEVICES,
  MODULE_LISTS,
  MODULES,
  VERSIONS_PER_MODULE,
  moduleListOf,
  moduleName,
  releasePlan,
  rng,
  versionOf,
} from './workload.mjs';

/** Version index meaning "module not installed" (no `version` in the body). */
export const NOT_INSTALLED = 255;
/** Share of the devices offered an update (from the full version) that have installed it. */
export const STEADY_INSTALL_SHARE = 0.8;

const VERSION_STRINGS = Array.from({ length: VERSIONS_PER_MODULE }, (_, v) => versionOf(v));
const versionIndexOf = (s) => {
  const v = VERSION_STRINGS.indexOf(s);
  if (v < 0) throw new Error(`unknown version ${s}`);
  return v;
};

/** `prefix(i)`: device i's JSON without the closing brace, followed by `,"modules":`. */
export function devicePrefixes(ctxs) {
  const prefixes = new Array(ctxs.length);
  for (let i = 0; i < ctxs.length; i++) prefixes[i] = `${JSON.stringify(ctxs[i]).slice(0, -1)},"modules":`;
  return prefixes;
}

/** The 512 stale module lists as version indices (MODULE_LISTS × MODULES, NOT_INSTALLED = none). */
function staleLists() {
  const out = new Uint8Array(MODULE_LISTS * MODULES);
  for (let k = 0; k < MODULE_LISTS; k++) {
    const list = moduleListOf(k);
    for (let m = 0; m < MODULES; m++) {
      out[k * MODULES + m] = list[m].version === undefined ? NOT_INSTALLED : versionIndexOf(list[m].version);
    }
  }
  return out;
}

const toVersions = (row) => Array.from(row, (v) => (v === NOT_INSTALLED ? undefined : VERSION_STRINGS[v]));

/** The stale fleet, exactly as the benchmark always sent it. */
export function staleFleet(prefixes) {
  const lists = [];
  for (let k = 0; k < MODULE_LISTS; k++) lists.push(`${JSON.stringify(moduleListOf(k))}}`);
  const indices = staleLists();
  const row = (i) => indices.subarray((i % MODULE_LISTS) * MODULES, (i % MODULE_LISTS + 1) * MODULES);
  return {
    name: 'stale',
    bodyOf: (i) => prefixes[i] + lists[i % MODULE_LISTS],
    /** Versions device i runs (undefined = not installed), in module order. */
    installedOf: (i) => toVersions(row(i)),
    /** The versions before any update was taken: here the same. */
    baseOf: (i) => toVersions(row(i)),
  };
}

/**
 * The steady fleet. `core`: { decideModule, compareVersions }; `states`: the engine's module
 * states (engine.mjs `buildModuleStates`); `ctxs[i]` = deviceOf(i). Runs DEVICES × MODULES
 * engine decisions once.
 */
export function steadyFleet(core, states, ctxs, prefixes) {
  const { decideModule, compareVersions } = core;
  const started = performance.now();

  // Per module, the full & active releases, newest first, with their app-version bounds.
  const fulls = [];
  for (let m = 0; m < MODULES; m++) {
    const row = [];
    for (let v = VERSIONS_PER_MODULE - 1; v >= 0; v--) {
      const plan = releasePlan(m, v);
      const st = finalState(plan);
      if (st.status === 'active' && st.stage === 'full') {
        row.push({ v, min: plan.pkg.minAppVersion ?? null, max: plan.pkg.maxAppVersion ?? null });
      }
    }
    fulls.push(row);
  }
  // Newest compatible full release per (app version, module); -1 = none runs on that app.
  const baseByApp = new Map();
  const baseFor = (appVersion) => {
    let row = baseByApp.get(appVersion);
    if (row === undefined) {
      row = new Int8Array(MODULES).fill(-1);
      for (let m = 0; m < MODULES; m++) {
        const hit = fulls[m].find(
          (f) =>
            (f.min === null || compareVersions(appVersion, f.min) >= 0) &&
            (f.max === null || compareVersions(appVersion, f.max) <= 0),
        );
        if (hit !== undefined) row[m] = hit.v;
      }
      baseByApp.set(appVersion, row);
    }
    return row;
  };

  const lists = staleLists();
  const base = new Uint8Array(DEVICES * MODULES);
  const installed = new Uint8Array(DEVICES * MODULES);
  const counts = { notInstalled: 0, onFull: 0, onListVersion: 0, tookUpdate: 0, offeredNotTaken: 0 };
  const fromBase = Object.create(null); // engine answers at the base version
  for (let i = 0; i < DEVICES; i++) {
    const ctx = ctxs[i];
    const fullRow = baseFor(ctx.appVersion);
    const listRow = (i % MODULE_LISTS) * MODULES;
    const row = i * MODULES;
    for (let m = 0; m < MODULES; m++) {
      const listed = lists[listRow + m];
      if (listed === NOT_INSTALLED) {
        base[row + m] = installed[row + m] = NOT_INSTALLED;
        counts.notInstalled++;
        continue;
      }
      const b = fullRow[m] >= 0 ? fullRow[m] : listed;
      if (fullRow[m] >= 0) counts.onFull++;
      else counts.onListVersion++;
      base[row + m] = b;
      const d = decideModule(ctx, VERSION_STRINGS[b], states[m]);
      fromBase[d.action] = (fromBase[d.action] ?? 0) + 1;
      let now = b;
      if (d.action === 'update') {
        // Seeded per device and module: the same devices have installed it at every run.
        const r = rng(0x2545f491 ^ Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(m + 1, 0x85ebca77));
        if (r() < STEADY_INSTALL_SHARE) {
          now = versionIndexOf(d.version);
          counts.tookUpdate++;
        } else counts.offeredNotTaken++;
      }
      installed[row + m] = now;
    }
  }
  const seconds = (performance.now() - started) / 1000;

  // Body fragments per (module, version index); index VERSIONS_PER_MODULE = not installed.
  const W = VERSIONS_PER_MODULE + 1;
  const frags = new Array(MODULES * W);
  for (let m = 0; m < MODULES; m++) {
    const sep = m === 0 ? '[' : ',';
    for (let v = 0; v < VERSIONS_PER_MODULE; v++) {
      frags[m * W + v] = sep + JSON.stringify({ name: moduleName(m), version: VERSION_STRINGS[v] });
    }
    frags[m * W + VERSIONS_PER_MODULE] = sep + JSON.stringify({ name: moduleName(m) });
  }
  const bodyOf = (i) => {
    let s = prefixes[i];
    const row = i * MODULES;
    for (let m = 0; m < MODULES; m++) {
      const v = installed[row + m];
      s += frags[m * W + (v === NOT_INSTALLED ? VERSIONS_PER_MODULE : v)];
    }
    return `${s}]}`;
  };
  return {
    name: 'steady',
    bodyOf,
    installedOf: (i) => toVersions(installed.subarray(i * MODULES, (i + 1) * MODULES)),
    baseOf: (i) => toVersions(base.subarray(i * MODULES, (i + 1) * MODULES)),
    precompute: { seconds, decisions: DEVICES * MODULES - counts.notInstalled, counts, fromBase },
  };
}
