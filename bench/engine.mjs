// The in-process figure: how many `decideModule` calls per second the pure engine
// (@halftone/core) makes, with no HTTP, JSON or database around it.
//
// It builds the same 50 modules × 20 releases the HTTP benchmark loads (see workload.mjs),
// compiles their rules once (as the server's release index does) and times 1,000,000 decisions
// spread over 100,000 distinct devices, rotating through the modules. Median of N rounds.
//
// Run alone: `node bench/engine.mjs` (after `tsc -b`).
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  DEVICES,
  MODULE_LISTS,
  MODULES,
  VERSIONS_PER_MODULE,
  deviceOf,
  moduleListOf,
  releasePlan,
  staffMembers,
} from './workload.mjs';

/** Devices 0…INSTALLERS-1 reported installing every rolled-back release (as check.bench.mjs does). */
export const INSTALLERS = 50;

const CORE_DIST = new URL('../packages/core/dist/', import.meta.url);

/** Loads `decideModule` and `compileRule` from the built core package. */
export async function loadCore() {
  const core = await import(new URL('index.js', CORE_DIST).href);
  const { decideModule, compileRule, compareVersions, prepareRelease } = core;
  if (typeof decideModule !== 'function' || typeof prepareRelease !== 'function') {
    throw new Error('packages/core/dist does not export decideModule/prepareRelease — did `tsc -b` succeed?');
  }
  return { decideModule, compileRule, compareVersions, prepareRelease };
}

/**
 * The state a release ends in after the plan's admin actions, following the server's stage
 * rules (create → initial stage; advance → next stage; percent/halt/rollback).
 */
export function finalState(plan) {
  const c = plan.create;
  let stage;
  let percent = c.percent ?? 0;
  if (c.rule !== undefined) {
    stage = 'gray';
    percent = c.percent ?? 100;
  } else if (percent > 0) stage = 'percentage';
  else if ((c.crowds ?? []).length > 0) stage = 'internal';
  else stage = 'whitelist';
  let status = 'active';
  for (const [action, arg] of plan.then) {
    if (action === 'advance') {
      if (stage === 'whitelist') stage = 'internal';
      else if (stage === 'internal') {
        stage = c.rule !== undefined ? 'gray' : 'percentage';
        if (percent === 0) percent = stage === 'gray' ? 100 : 1;
      } else if (stage === 'gray') {
        stage = 'percentage';
        if (percent === 0) percent = 1;
      } else if (stage === 'percentage') {
        stage = 'full';
        percent = 100;
      }
    } else if (action === 'percent') {
      percent = arg;
      if (stage === 'whitelist' || stage === 'internal') stage = c.rule !== undefined ? 'gray' : 'percentage';
    } else if (action === 'halt') status = 'halted';
    else if (action === 'rollback') status = 'rolled_back';
  }
  return { stage, percent, status };
}

/** The gray id (bucketing seed) of a planned release, here and on the server. */
export const grayIdOf = (plan) => `${plan.module}@${plan.version}`;

/** Builds the engine's `ModuleState` for every module, as the server's release index would. */
export function buildModuleStates({ compileRule, compareVersions, prepareRelease }) {
  const staff = new Set(staffMembers());
  const states = [];
  for (let m = 0; m < MODULES; m++) {
    const releases = [];
    const versions = new Map();
    for (let v = 0; v < VERSIONS_PER_MODULE; v++) {
      const plan = releasePlan(m, v);
      const { stage, percent, status } = finalState(plan);
      const id = `rel-${plan.module}-${v}`;
      const payload = { packageId: `pkg-${plan.module}-${v}`, url: `/client/v1/blobs/${id}`, size: 300 };
      releases.push({
        id,
        version: plan.version,
        status,
        stage,
        percent,
        whitelist: new Set(plan.create.whitelist ?? []),
        crowd: (plan.create.crowds ?? []).length > 0 ? staff : new Set(),
        rule: plan.create.rule === undefined ? null : compileRule(plan.create.rule),
        // The HTTP benchmark creates its releases with this gray id too, so both bucket alike.
        grayId: grayIdOf(plan),
        stickiness: plan.create.stickiness ?? 'userId',
        mandatory: plan.create.mandatory === true,
        platform: null,
        minAppVersion: plan.pkg.minAppVersion ?? null,
        maxAppVersion: plan.pkg.maxAppVersion ?? null,
        disabled: false,
        fallbackUrl: plan.pkg.fallbackUrl ?? null,
        payload,
        // As the server's release index does: versions parsed and the gray id hashed once.
        prepared: prepareRelease({
          version: plan.version,
          minAppVersion: plan.pkg.minAppVersion ?? null,
          maxAppVersion: plan.pkg.maxAppVersion ?? null,
          grayId: grayIdOf(plan),
          stage,
          percent,
        }),
      });
      versions.set(plan.version, {
        version: plan.version,
        disabled: false,
        fallbackUrl: plan.pkg.fallbackUrl ?? null,
        payload,
      });
    }
    releases.sort((a, b) => compareVersions(b.version, a.version));
    // A few devices reported installing each rolled-back release (so `rollback` is reachable).
    const installers = new Map();
    for (const r of releases) {
      if (r.status !== 'rolled_back') continue;
      const devices = new Map();
      for (let i = 0; i < INSTALLERS; i++) devices.set(deviceOf(i).deviceId, '1.0.0');
      installers.set(r.id, devices);
    }
    states.push({
      releases,
      versions,
      installedFrom(releaseId, deviceId) {
        const devices = installers.get(releaseId);
        if (devices === undefined || !devices.has(deviceId)) return undefined;
        return devices.get(deviceId) ?? null;
      },
    });
  }
  return states;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/**
 * Times `decisions` calls of `decideModule` per round over `devices` distinct devices.
 * Returns `{ decisionsPerSec (median), rounds: [...], actions: {...} }`.
 */
export async function runEngineBench({ rounds = 5, decisions = 1_000_000, devices = DEVICES, log = () => {} } = {}) {
  const core = await loadCore();
  const states = buildModuleStates(core);
  const t0 = performance.now();
  const ctxs = new Array(devices);
  for (let i = 0; i < devices; i++) ctxs[i] = deviceOf(i);
  const lists = [];
  for (let k = 0; k < MODULE_LISTS; k++) lists.push(moduleListOf(k).map((e) => e.version));
  log(`engine: ${devices} devices, ${MODULES} modules × ${VERSIONS_PER_MODULE} releases built in ${(performance.now() - t0).toFixed(0)} ms`);

  const { decideModule } = core;
  const actions = Object.create(null);
  const run = (n, count) => {
    // Device i (mod devices) asks about module i mod 50, running the version its list says.
    // 50 and 100,000 are not coprime, so the device index advances by a prime stride instead.
    let d = 0;
    let m = 0;
    let sink = 0;
    for (let i = 0; i < n; i++) {
      const current = lists[d % MODULE_LISTS][m];
      const decision = decideModule(ctxs[d], current, states[m]);
      if (count) actions[decision.action] = (actions[decision.action] ?? 0) + 1;
      else sink += decision.action.length;
      d += 7919;
      if (d >= devices) d -= devices;
      if (++m === MODULES) m = 0;
    }
    return sink;
  };

  run(Math.min(decisions, 200_000), true); // warm-up (JIT) + the action mix
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    run(decisions, false);
    const ms = performance.now() - start;
    perRound.push((decisions / ms) * 1000);
    log(`engine round ${r + 1}/${rounds}: ${fmt(perRound[r])} decisions/s`);
  }
  return { decisionsPerSec: median(perRound), rounds: perRound, decisions, devices, actions };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const res = await runEngineBench({ log: (l) => console.log(l) });
  const total = Object.values(res.actions).reduce((s, n) => s + n, 0);
  const mix = Object.entries(res.actions)
    .map(([a, n]) => `${a} ${((n / total) * 100).toFixed(1)}%`)
    .join(', ');
  console.log(`engine: median ${fmt(res.decisionsPerSec)} decisions/s (${res.rounds.length} rounds of ${fmt(res.decisions)}); mix: ${mix}`);
  console.log(`        = ${fmt(res.decisionsPerSec / MODULES)} checks/s of ${MODULES} modules on one core, engine only`);
}

