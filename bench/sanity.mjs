// Checks the server's check answers for a sample of devices before anything is measured:
// - every listed module is answered, and each answer equals the in-process engine's decision
//   for the same releases (same gray ids, crowd, whitelists and install reports);
// - no device is offered a halted or rolled-back release, or a whitelist/internal release it is
//   not listed for;
// - each percentage rollout is offered to about its percentage of the devices that could take it.
//
// Works for either fleet (fleets.mjs): `fleet.installedOf(i)` is what device i runs and sends,
// `fleet.baseOf(i)` what it ran before taking any update (the same for the stale fleet).
import { finalState } from './engine.mjs';
import {
  MODULE_LISTS,
  MODULES,
  VERSIONS_PER_MODULE,
  deviceOf,
  moduleListOf,
  moduleName,
  releasePlan,
  staffMembers,
} from './workload.mjs';

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The stale fleet's versions (device i runs module list i % MODULE_LISTS). */
const staleLists = {
  installedOf: (i) => moduleListOf(i % MODULE_LISTS).map((e) => e.version),
  baseOf: (i) => moduleListOf(i % MODULE_LISTS).map((e) => e.version),
};

/**
 * `answers`: `[{ i, modules }]` — device index and the `modules` array the server answered.
 * `core`: { decideModule, compareVersions }; `states`: the engine's ModuleStates (engine.mjs);
 * `fleet`: { installedOf(i), baseOf(i) } (fleets.mjs); default: the stale module lists.
 * Returns `{ problems: string[], notes: string[], actionMix, mismatches, forbidden, answers, percentage }`.
 */
export function analyzeAnswers(answers, core, states, fleet = staleLists) {
  const problems = [];
  const notes = [];
  const plans = [];
  for (let m = 0; m < MODULES; m++) {
    const row = [];
    for (let v = 0; v < VERSIONS_PER_MODULE; v++) {
      const plan = releasePlan(m, v);
      row.push({ plan, state: finalState(plan), whitelist: new Set(plan.create.whitelist ?? []) });
    }
    plans.push(row);
  }
  const byVersion = plans.map((row) => new Map(row.map((r) => [r.plan.version, r])));
  const staff = new Set(staffMembers());
  const listed = (set, ctx) => set.has(ctx.deviceId) || (ctx.userId !== undefined && set.has(ctx.userId));

  const actionMix = {};
  let total = 0;
  let mismatches = 0;
  const mismatchExamples = [];
  let forbidden = 0;
  const forbiddenExamples = [];
  const pct = new Map(); // "module@version" → { p, eligible, offered }

  for (const { i, modules } of answers) {
    const ctx = deviceOf(i);
    const installed = fleet.installedOf(i);
    const base = fleet.baseOf(i);
    const byName = new Map(modules.map((a) => [a.name, a]));
    for (let m = 0; m < MODULES; m++) {
      const name = moduleName(m);
      const current = installed[m];
      const a = byName.get(name);
      total++;
      if (a === undefined) {
        mismatches++;
        if (mismatchExamples.length < 5) mismatchExamples.push({ device: i, module: name, server: 'missing' });
        continue;
      }
      actionMix[a.action] = (actionMix[a.action] ?? 0) + 1;

      // 1. Same decision as the engine in this process.
      const d = core.decideModule(ctx, current, states[m]);
      if (d.action !== a.action || (d.action !== 'none' && (d.version ?? null) !== (a.version ?? null))) {
        mismatches++;
        if (mismatchExamples.length < 5) {
          mismatchExamples.push({
            device: i,
            module: name,
            current: current ?? null,
            server: `${a.action} ${a.version ?? ''}`.trim(),
            engine: `${d.action} ${d.version ?? ''}`.trim(),
          });
        }
      }

      // 2. Offers only from releases whose audience holds the device.
      if (a.action === 'update') {
        const r = byVersion[m].get(a.version);
        const st = r?.state;
        const inList = r !== undefined && listed(r.whitelist, ctx);
        const inCrowd = r !== undefined && (r.plan.create.crowds ?? []).length > 0 && listed(staff, ctx);
        if (
          st === undefined ||
          st.status !== 'active' ||
          (st.stage === 'whitelist' && !inList) ||
          (st.stage === 'internal' && !inList && !inCrowd)
        ) {
          forbidden++;
          if (forbiddenExamples.length < 5) forbiddenExamples.push({ device: i, module: name, offered: a.version, state: st ?? null });
        }
      }

      // 3. Percentage rollouts. Walking the module's releases newest first, a device is
      //    "eligible" for percentage release R when it runs an older version, was not offered
      //    anything newer than R, and R's package runs on its app; it is then offered R exactly
      //    when its bucket is under R's percentage. For a device that has taken an update
      //    (steady fleet), "runs" means the version before it and "offered" the update it took.
      const before = base[m];
      const offered = a.action === 'update' ? a.version : current !== before ? current : undefined;
      for (let v = VERSIONS_PER_MODULE - 1; v >= 0; v--) {
        const { plan, state } = plans[m][v];
        if (state.status !== 'active' || state.stage !== 'percentage') continue;
        if (before !== undefined && core.compareVersions(before, plan.version) >= 0) break;
        if (offered !== undefined && core.compareVersions(offered, plan.version) > 0) break;
        if (plan.pkg.minAppVersion && core.compareVersions(ctx.appVersion, plan.pkg.minAppVersion) < 0) continue;
        if (plan.pkg.maxAppVersion && core.compareVersions(ctx.appVersion, plan.pkg.maxAppVersion) > 0) continue;
        const key = `${plan.module}@${plan.version}`;
        let s = pct.get(key);
        if (s === undefined) pct.set(key, (s = { p: state.percent, eligible: 0, offered: 0 }));
        s.eligible++;
        if (offered === plan.version) {
          s.offered++;
          break;
        }
      }
    }
  }

  notes.push(
    `${fmt(answers.length)} devices × ${MODULES} modules = ${fmt(total)} answers (` +
      Object.entries(actionMix)
        .sort((x, y) => y[1] - x[1])
        .map(([k, n]) => `${k} ${((n / total) * 100).toFixed(1)}%`)
        .join(', ') +
      ')',
  );
  if (mismatches > 0) {
    problems.push(`${mismatches} of ${total} answers differ from the in-process engine, e.g. ${JSON.stringify(mismatchExamples)}`);
  } else notes.push('every answer equals the in-process engine decision');
  if (forbidden > 0) {
    problems.push(`${forbidden} offers of halted/rolled-back/out-of-audience releases, e.g. ${JSON.stringify(forbiddenExamples)}`);
  } else notes.push('no offer of a halted, rolled-back or out-of-audience release');

  let expectedOffers = 0;
  let variance = 0;
  let offers = 0;
  let eligible = 0;
  let widest = null;
  for (const [key, s] of pct) {
    const p = s.p / 100;
    expectedOffers += p * s.eligible;
    variance += p * (1 - p) * s.eligible;
    offers += s.offered;
    eligible += s.eligible;
    if (s.eligible < 100) continue;
    const share = s.offered / s.eligible;
    const sigma = Math.sqrt((p * (1 - p)) / s.eligible);
    const z = (share - p) / sigma;
    if (widest === null || Math.abs(z) > Math.abs(widest.z)) widest = { key, share, p, z, eligible: s.eligible };
    if (Math.abs(share - p) > Math.max(5 * sigma, 0.03)) {
      problems.push(`${key} at ${s.p}% was offered to ${(share * 100).toFixed(1)}% of ${s.eligible} eligible devices`);
    }
  }
  let percentage = null;
  if (eligible === 0) problems.push('no device was eligible for any percentage release (workload bug?)');
  else {
    const z = (offers - expectedOffers) / Math.sqrt(variance);
    percentage = { releases: pct.size, eligible, offeredShare: offers / eligible, expectedShare: expectedOffers / eligible, z };
    notes.push(
      `${pct.size} percentage rollouts offered to ${((offers / eligible) * 100).toFixed(2)}% of ${fmt(eligible)} eligible ` +
        `device-modules vs ${((expectedOffers / eligible) * 100).toFixed(2)}% expected (z ${z.toFixed(2)}` +
        (widest ? `; widest ${widest.key}: ${(widest.share * 100).toFixed(1)}% vs ${(widest.p * 100).toFixed(0)}% of ${widest.eligible}` : '') +
        ')',
    );
    if (Math.abs(z) > 5) {
      problems.push(
        `percentage rollouts offered to ${((offers / eligible) * 100).toFixed(2)}% vs ${((expectedOffers / eligible) * 100).toFixed(2)}% expected (z ${z.toFixed(1)})`,
      );
    }
  }
  return { problems, notes, actionMix, mismatches, forbidden, answers: total, percentage };
}
