// Prints the functions with the most self time in a V8 .cpuprofile (e.g. from BENCH_PROFILE).
// Usage: node bench/profile-top.mjs FILE.cpuprofile [N=25]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-top.mjs FILE.cpuprofile [N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfTime = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  selfTime.set(id, (selfTime.get(id) ?? 0) + dt);
  total += dt;
});
const byFunction = new Map();
for (const [id, t] of selfTime) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const where = url ? `${url.replace(/^file:\/\//, '').split('/node_modules/').pop().split('/packages/').pop()}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
}
const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 25));
process.stdout.write(`${(total / 1e6).toFixed(1)} s sampled\n`);
for (const [key, t] of top) process.stdout.write(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
