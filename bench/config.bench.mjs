// Config evaluator benchmark (`npm run bench:config`), in-process part:
// 1. rule evaluations/s of one compiled 5-condition targeting rule (goal ≥ 1,000,000/s);
// 2. CPU time of `evaluateAll` over 500 items for one device (goal ≤ 1 ms).
// Each figure is the median of several runs after a warm-up. Prints a summary and a
// `BENCH_JSON {…}` line. The server part (/client/v1/config throughput) is added by the server
// slice.
import { performance } from 'node:perf_hooks';
import { compileConfigSet, compileRule } from '../packages/core/dist/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const say = (s) => process.stdout.write(`${s}\n`);

// --- 1. one 5-condition rule --------------------------------------------------------------
const rule = {
  all: [
    { attribute: 'platform', operator: 'eq', value: 'android' },
    { attribute: 'appVersion', operator: 'version_gte', value: '8.0' },
    { attribute: 'channel', operator: 'in', values: ['huawei', 'xiaomi', 'oppo', 'vivo'] },
    { attribute: 'region', operator: 'not_in', values: ['US', 'EU'] },
    { attribute: 'attributes.tier', operator: 'num_gte', value: 2 },
  ],
};
const matches = compileRule(rule);
const devices = Array.from({ length: 1024 }, (_, i) => ({
  deviceId: `device-${i}`,
  platform: i % 3 === 0 ? 'ios' : 'android',
  appVersion: `8.${i % 5}.${i % 7}`,
  channel: ['huawei', 'xiaomi', 'oppo', 'vivo', 'store'][i % 5],
  region: ['CN', 'SG', 'US'][i % 3],
  attributes: { tier: i % 4 },
}));
const ruleRun = () => {
  const n = 2_000_000;
  let hits = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (matches(devices[i & 1023])) hits++;
  const ms = performance.now() - t0;
  return { perSec: (n / ms) * 1000, hits };
};
ruleRun();
const ruleRuns = Array.from({ length: RUNS }, ruleRun);
const rulePerSec = median(ruleRuns.map((r) => r.perSec));

// --- 2. evaluateAll over 500 items --------------------------------------------------------
const items = Array.from({ length: 500 }, (_, i) => {
  const kind = i % 5;
  const base = { key: `item.${i}`, enabled: i % 50 !== 7 };
  if (kind === 0) {
    return { ...base, type: 'boolean', kind: 'switch', defaultValue: true, rules: [] };
  }
  if (kind === 1) {
    return {
      ...base,
      type: 'string',
      kind: 'config',
      defaultValue: 'default',
      rules: [
        { id: 'huawei', when: { attribute: 'channel', operator: 'eq', value: 'huawei' }, value: 'dedicated' },
        { id: 'g8', fromVersion: '8.0', value: 'generic-8' },
        { id: 'g83', fromVersion: '8.3', value: 'generic-8.3' },
      ],
    };
  }
  if (kind === 2) {
    return {
      ...base,
      type: 'json',
      kind: 'config',
      defaultValue: { color: 'red' },
      rules: [{ id: 'r', when: rule, value: { color: 'blue' } }],
    };
  }
  if (kind === 3) {
    return {
      ...base,
      type: 'string',
      kind: 'config',
      defaultValue: 'control',
      rules: [
        {
          id: 'ab',
          when: { attribute: 'platform', operator: 'in', values: ['android', 'ios'] },
          rollout: { percent: 30 },
          split: { variants: [{ name: 'a', value: 'A', weight: 50 }, { name: 'b', value: 'B', weight: 50 }] },
        },
      ],
    };
  }
  return {
    ...base,
    type: 'boolean',
    kind: 'switch',
    defaultValue: true,
    rules: [],
    dependsOn: [{ key: `item.${i - 4}` }],
  };
});
const set = compileConfigSet(items);
const device = { deviceId: 'device-42', platform: 'android', appVersion: '8.3.1', channel: 'xiaomi', region: 'CN', attributes: { tier: 3 } };
const bulkRun = () => {
  const n = 2000;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let len = 0;
  for (let i = 0; i < n; i++) len += set.evaluateAll(device).length;
  const wallMs = (performance.now() - t0) / n;
  const cpu = process.cpuUsage(c0);
  return { cpuMs: (cpu.user + cpu.system) / 1000 / n, wallMs, len };
};
bulkRun();
const bulkRuns = Array.from({ length: RUNS }, bulkRun);
const bulkCpuMs = median(bulkRuns.map((r) => r.cpuMs));
const bulkWallMs = median(bulkRuns.map((r) => r.wallMs));

say('config evaluator (in-process)');
say(`  5-condition rule:        ${Math.round(rulePerSec).toLocaleString('en-US')} evaluations/s (goal >= 1,000,000/s; median of ${RUNS})`);
say(`  evaluateAll, 500 items:  ${bulkCpuMs.toFixed(4)} ms CPU, ${bulkWallMs.toFixed(4)} ms wall per device (goal <= 1 ms; median of ${RUNS})`);
const json = {
  bench: 'config',
  node: process.version,
  runs: RUNS,
  ruleEvaluationsPerSec: Math.round(rulePerSec),
  ruleGoalPerSec: 1_000_000,
  evaluateAll500CpuMs: Number(bulkCpuMs.toFixed(4)),
  evaluateAll500WallMs: Number(bulkWallMs.toFixed(4)),
  evaluateAllGoalMs: 1,
  ok: rulePerSec >= 1_000_000 && bulkCpuMs <= 1,
};
say(`BENCH_JSON ${JSON.stringify(json)}`);
