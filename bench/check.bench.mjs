// `npm run bench:check` — throughput and latency of POST /client/v1/check against a no-op route
// on the same server, plus the decision engine's in-process rate. See bench/README.md.
//
// 1. engine figure: decideModule in this process (bench/engine.mjs), median of 5 rounds;
// 2. starts the real server in a child process on 127.0.0.1 with a fresh data directory;
// 3. loads 50 modules × 20 releases (1000 packages, 1000 releases in mixed states) through the
//    admin API, plus install reports for the rolled-back releases;
// 4. builds two fleets of 100,000 distinct devices (bench/fleets.mjs): `steady` (the headline:
//    devices run what they were last offered, precomputed with the in-process engine) and
//    `stale` (the stress case: every module far behind);
// 5. sanity checks (shape, percentage rollouts, halted/whitelist releases, agreement with the
//    in-process engine, on a sample of both fleets) — any failure ends the run with exit code 1;
// 6. per fleet: warm-up, then alternating autocannon rounds (ping, check, ping, check, …);
// 7. prints a summary block and a `BENCH_JSON {…}` line; exit 1 on any non-2xx answer.
//
// Knobs (environment): BENCH_ROUNDS (4), BENCH_SECONDS (4), BENCH_CONNECTIONS (10),
// BENCH_ENGINE_ROUNDS (5), BENCH_STRICT=1 (exit 1 when a goal is missed too),
// BENCH_SERVER=cli|module (how the child starts the server; default cli when it is built),
// BENCH_PROFILE=DIR (CPU profile of the server child during the check rounds).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { INSTALLERS, buildModuleStates, finalState, loadCore, runEngineBench } from './engine.mjs';
import { STEADY_INSTALL_SHARE, devicePrefixes, staleFleet, steadyFleet } from './fleets.mjs';
import { DEVICES, MODULES, STAFF_CROWD, VERSIONS_PER_MODULE, deviceOf, releasePlan, staffMembers } from './workload.mjs';
import { analyzeAnswers } from './sanity.mjs';
import { buildZip } from './zip.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
};
const ROUNDS = envInt('BENCH_ROUNDS', 4);
const SECONDS = envInt('BENCH_SECONDS', 4);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 10);
const ENGINE_ROUNDS = envInt('BENCH_ENGINE_ROUNDS', 5);
const STRICT = process.env.BENCH_STRICT === '1';
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const WARMUP_SECONDS = 2;
const SAMPLE_DEVICES = 3000;
const ADMIN_CONCURRENCY = 8;
/** The whole run must end well within 3 minutes; past this the run is aborted. */
const DEADLINE_MS = 175_000;
const GOALS = { ratio: 0.8, p99Ms: 10 };

const t0 = performance.now();
const log = (line) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
const fmt = (n, d = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : String(n);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

class BenchFailure extends Error {}
const fail = (msg) => {
  throw new BenchFailure(msg);
};

// ---------------------------------------------------------------------------------------------
// Server child process
// ---------------------------------------------------------------------------------------------
let server; // { child, url, dataDir, stderr: string[] }
let tmpRoot;

function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
const CLK_TCK = clockTicks();

/** CPU seconds (user + system) the process `pid` has used, or NaN where /proc is unavailable. */
function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

async function startServer(token) {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'halftone-bench-'));
  const dataDir = path.join(tmpRoot, 'data');
  const cliMain = path.join(ROOT, 'packages/cli/dist/main.js');
  const mode = process.env.BENCH_SERVER ?? (existsSync(cliMain) ? 'cli' : 'module');
  const args =
    mode === 'cli'
      ? [cliMain, 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1']
      : [path.join(ROOT, 'bench/server-child.mjs'), dataDir];
  // BENCH_PROFILE=DIR: the server child profiles its CPU during the check rounds only and writes
  // DIR/check-N.cpuprofile (see profile-hook.mjs; summarise with bench/profile-top.mjs).
  const env = { ...process.env, HALFTONE_ADMIN_TOKEN: token, HALFTONE_LOG_LEVEL: 'warn' };
  if (PROFILE_DIR) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    args.unshift('--import', pathToFileURL(path.join(ROOT, 'bench/profile-hook.mjs')).href);
    env.BENCH_PROFILE_DIR = PROFILE_DIR;
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  const stdout = [];
  server = { child, url: undefined, dataDir, stderr, mode, exited: null };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
  });
  child.on('exit', (code, signal) => {
    server.exited = { code, signal };
  });
  server.url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new BenchFailure(`server did not print its banner within 30 s\n${tail()}`)), 30_000);
    const tail = () =>
      `--- server stdout ---\n${stdout.join('').slice(-2000)}\n--- server stderr ---\n${stderr.join('').slice(-4000)}`;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout.push(chunk);
      buf += chunk;
      const m = /admin API\s+(https?:\/\/\S+)\/admin\/v1/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new BenchFailure(`server exited before listening (code ${code}, signal ${signal})\n${tail()}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.on('data', () => {});
  const u = new URL(server.url);
  if (u.hostname !== '127.0.0.1') fail(`server listens on ${server.url}, expected 127.0.0.1`);
  return server;
}

async function stopServer() {
  if (server?.child && server.exited === null) {
    const { child } = server;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (server.exited === null) child.kill('SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
  if (tmpRoot) {
    try {
      rmSync(tmpRoot, { recursive: true, force: true });
    } catch {}
    tmpRoot = undefined;
  }
}

/** Starts or stops the server child's CPU profiler (profile-hook.mjs). */
async function toggleProfiler() {
  server.child.kill('SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function serverStderrTail() {
  const text = server?.stderr.join('') ?? '';
  return text ? `--- server stderr (tail) ---\n${text.slice(-4000)}` : '(server wrote nothing to stderr)';
}

// ---------------------------------------------------------------------------------------------
// Admin API
// ---------------------------------------------------------------------------------------------
async function admin(token, method, urlPath, body) {
  const init = { method, headers: { authorization: `Bearer ${token}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(server.url + urlPath, init);
  const text = await res.text();
  if (!res.ok) {
    const shown = body instanceof FormData ? '(multipart)' : JSON.stringify(body ?? null).slice(0, 500);
    fail(`admin ${method} ${urlPath} ${shown} → ${res.status}: ${text.slice(0, 1000)}`);
  }
  return text === '' ? undefined : JSON.parse(text);
}

/** Runs `fn` over `items` with at most `n` in flight; stops at the first failure. */
async function pool(items, n, fn) {
  let next = 0;
  let failed;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** Publishes 50 × 20 packages and releases them into mixed states. Returns the app and plans. */
async function loadData(token) {
  const app = await admin(token, 'POST', '/admin/v1/apps', { id: 'bench', name: 'Bench', platforms: ['android', 'ios'] });
  if (typeof app?.clientKey !== 'string') fail(`POST /admin/v1/apps answered no clientKey: ${JSON.stringify(app)}`);
  await admin(token, 'PUT', `/admin/v1/apps/bench/crowds/${STAFF_CROWD}`, { members: staffMembers() });

  const plans = [];
  for (let m = 0; m < MODULES; m++) for (let v = 0; v < VERSIONS_PER_MODULE; v++) plans.push(releasePlan(m, v));

  let t = performance.now();
  await pool(plans, ADMIN_CONCURRENCY, async (p) => {
    const zip = buildZip([
      { path: `${p.module}/index.html`, data: `<!doctype html><title>${p.module} ${p.version}</title><script src="app.js"></script>` },
      { path: `${p.module}/app.js`, data: `console.log(${JSON.stringify(`${p.module}@${p.version}`)});\n` },
    ]);
    const form = new FormData();
    form.append('module', p.module);
    form.append('version', p.version);
    form.append('kind', p.kind);
    for (const [k, val] of Object.entries(p.pkg)) form.append(k, val);
    form.append('file', new Blob([zip], { type: 'application/zip' }), `${p.module}-${p.version}.zip`);
    await admin(token, 'POST', '/admin/v1/apps/bench/packages', form);
  });
  log(`published ${plans.length} packages in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const releaseIds = new Map();
  await pool(plans, ADMIN_CONCURRENCY, async (p) => {
    const rel = await admin(token, 'POST', '/admin/v1/apps/bench/releases', {
      module: p.module,
      version: p.version,
      // Fixed gray ids: the same bucketing as the in-process model in bench/engine.mjs.
      grayId: `${p.module}@${p.version}`,
      ...p.create,
    });
    let last = rel;
    for (const [action, arg] of p.then) {
      last = await admin(
        token,
        'POST',
        `/admin/v1/releases/${rel.id}/${action}`,
        // `{}`: the verbs answer 400 "/body must be object" to a POST without a body.
        action === 'percent' ? { percent: arg } : {},
      );
    }
    const want = finalState(p);
    if (last.stage !== want.stage || last.status !== want.status || last.percent !== want.percent) {
      fail(
        `release ${p.module}@${p.version} ended ${last.stage}/${last.status}/${last.percent}%, ` +
          `expected ${want.stage}/${want.status}/${want.percent}% (plan ${JSON.stringify(p)})`,
      );
    }
    releaseIds.set(`${p.module}@${p.version}`, rel.id);
  });
  log(`created ${plans.length} releases in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Devices 0–49 report installing every rolled-back release (from 1.0.0), so the rollback
  // branch of the engine is reachable in the check path, as it is in bench/engine.mjs.
  const rolledBack = plans.filter((p) => finalState(p).status === 'rolled_back');
  const events = rolledBack.map((p) => ({
    type: 'install',
    releaseId: releaseIds.get(`${p.module}@${p.version}`),
    ok: true,
    fromVersion: '1.0.0',
  }));
  // (Each such report rebuilds the server's release index, so keep them few.)
  const devices = Array.from({ length: INSTALLERS }, (_, i) => deviceOf(i));
  await pool(devices, ADMIN_CONCURRENCY, async (d) => {
    for (let i = 0; i < events.length; i += 100) {
      const res = await clientPost(app.clientKey, '/client/v1/report', {
        deviceId: d.deviceId,
        ...(d.userId ? { userId: d.userId } : {}),
        events: events.slice(i, i + 100),
      });
      if (res.status !== 200 || res.json.accepted !== Math.min(100, events.length - i)) {
        fail(`POST /client/v1/report → ${res.status}: ${JSON.stringify(res.json).slice(0, 500)}`);
      }
    }
  });
  const stateCount = {};
  for (const p of plans) {
    const s = finalState(p);
    const key = s.status === 'active' ? s.stage : s.status;
    stateCount[key] = (stateCount[key] ?? 0) + 1;
  }
  return { app, plans, releaseIds, stateCount, rolledBack: rolledBack.length };
}

// ---------------------------------------------------------------------------------------------
// Client requests
// ---------------------------------------------------------------------------------------------
async function clientPost(clientKey, urlPath, body) {
  const res = await fetch(server.url + urlPath, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/**
 * The request bodies: device `i` is `deviceOf(i)` with the module list `i % 512` (all 50
 * modules, each with the version the device runs). Prefixes are precomputed so that building a
 * body costs one string concatenation, the same for the check and the no-op route.
 */
function buildBodies() {
  const prefixes = new Array(DEVICES);
  for (let i = 0; i < DEVICES; i++) {
    const json = JSON.stringify(deviceOf(i));
    prefixes[i] = `${json.slice(0, -1)},"modules":`;
  }
  const lists = [];
  for (let k = 0; k < MODULE_LISTS; k++) lists.push(`${JSON.stringify(moduleListOf(k))}}`);
  const bodyOf = (i) => prefixes[i] + lists[i % MODULE_LISTS];
  let bytes = 0;
  for (let i = 0; i < 1000; i++) bytes += Buffer.byteLength(bodyOf(i));
  return { bodyOf, avgBytes: bytes / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Sanity checks
// ---------------------------------------------------------------------------------------------
async function sanity(clientKey, bodyOf) {
  const problems = [];
  const notes = [];

  // 1. One check: 200, one answer per module, some updates with a download URL.
  const first = await clientPost(clientKey, '/client/v1/check', bodyOf(0));
  if (first.status !== 200) fail(`POST /client/v1/check (device 0) → ${first.status}: ${JSON.stringify(first.json).slice(0, 1000)}`);
  const mods = first.json?.modules;
  if (!Array.isArray(mods) || mods.length !== MODULES) {
    fail(`POST /client/v1/check answered ${Array.isArray(mods) ? mods.length : 'no'} module entries, expected ${MODULES}: ${JSON.stringify(first.json).slice(0, 500)}`);
  }
  const updates = mods.filter((a) => a.action === 'update');
  if (updates.length === 0) fail(`POST /client/v1/check (device 0) offered no update at all: ${JSON.stringify(mods).slice(0, 800)}`);
  const noUrl = updates.find((a) => typeof a.url !== 'string' || !a.url.startsWith('http'));
  if (noUrl) fail(`an update has no absolute download URL: ${JSON.stringify(noUrl)}`);
  const ping = await clientPost(clientKey, '/client/v1/ping', bodyOf(0));
  if (ping.status !== 200 || ping.json?.ok !== true) fail(`POST /client/v1/ping → ${ping.status}: ${JSON.stringify(ping.json).slice(0, 500)}`);
  // One download, only if it is on this server (a configured public URL would point elsewhere).
  if (updates[0].url.startsWith(`${server.url}/`)) {
    const dl = await fetch(updates[0].url);
    const dlBytes = Buffer.from(await dl.arrayBuffer());
    if (dl.status !== 200 || (updates[0].size !== undefined && dlBytes.length !== updates[0].size)) {
      fail(`GET ${updates[0].url} → ${dl.status}, ${dlBytes.length} bytes (answer said ${updates[0].size})`);
    }
    notes.push(`device 0: ${updates.length} of ${MODULES} modules to update; its first download is ${dlBytes.length} bytes`);
  }

  // 2. A sample of devices: percentage rollouts, halted/rolled-back/whitelist releases, and the
  //    in-process engine's answer for every module.
  const core = await loadCore();
  const states = buildModuleStates(core);
  const answers = new Array(SAMPLE_DEVICES);
  await pool(
    Array.from({ length: SAMPLE_DEVICES }, (_, k) => Math.floor((k * DEVICES) / SAMPLE_DEVICES)),
    16,
    async (i, k) => {
      const res = await clientPost(clientKey, '/client/v1/check', bodyOf(i));
      if (res.status !== 200) fail(`POST /client/v1/check (device ${i}) → ${res.status}: ${JSON.stringify(res.json).slice(0, 1000)}`);
      answers[k] = { i, modules: res.json.modules };
    },
  );

  const analysis = analyzeAnswers(answers, core, states);
  return { ...analysis, problems: [...problems, ...analysis.problems], notes: [...notes, ...analysis.notes] };
}

// ---------------------------------------------------------------------------------------------
// Load rounds
// ---------------------------------------------------------------------------------------------
function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

let nextDevice = 0;
async function round(name, urlPath, clientKey, bodyOf, seconds) {
  const latencies = new Float64Array(2_000_000);
  let n = 0;
  const cpuServer0 = cpuSecondsOf(server.child.pid);
  const cpuClient0 = process.cpuUsage();
  const started = performance.now();
  const instance = autocannon({
    // autocannon takes the path from the URL (a top-level `path` option is ignored).
    url: server.url + urlPath,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: urlPath,
        setupRequest(req) {
          req.body = bodyOf(nextDevice);
          nextDevice = nextDevice + 1 === DEVICES ? 0 : nextDevice + 1;
          return req;
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300 && n < latencies.length) latencies[n++] = responseTime;
  });
  const result = await instance;
  const elapsed = (performance.now() - started) / 1000;
  const cpuServer = cpuSecondsOf(server.child.pid) - cpuServer0;
  const cpuClientUsage = process.cpuUsage(cpuClient0);
  const cpuClient = (cpuClientUsage.user + cpuClientUsage.system) / 1e6;
  const sorted = latencies.subarray(0, n).sort();
  const ok = result['2xx'];
  const out = {
    route: name,
    reqPerSec: ok / result.duration,
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    maxMs: n > 0 ? sorted[n - 1] : Number.NaN,
    autocannonP99Ms: result.latency.p99,
    serverCpu: cpuServer / elapsed,
    clientCpu: cpuClient / elapsed,
    bytesPerSec: result.throughput.average,
  };
  if (out.non2xx > 0 || out.errors > 0 || out.timeouts > 0) {
    let sample = '';
    try {
      const r = await clientPost(clientKey, urlPath, bodyOf(nextDevice));
      sample = `\n  a request right after: ${r.status} ${JSON.stringify(r.json).slice(0, 800)}`;
    } catch (err) {
      sample = `\n  a request right after failed: ${err.message}`;
    }
    fail(
      `${name} round: ${out.non2xx} non-2xx answers (status codes ${JSON.stringify(out.statusCodes)}), ` +
        `${out.errors} errors, ${out.timeouts} timeouts out of ${out.requests} requests${sample}\n${serverStderrTail()}`,
    );
  }
  if (server.exited !== null) fail(`server exited during the ${name} round: ${JSON.stringify(server.exited)}\n${serverStderrTail()}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main() {
  log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}`);
  log(`plan: engine ${ENGINE_ROUNDS}×1M decisions; HTTP ${ROUNDS} rounds × (ping ${SECONDS}s + check ${SECONDS}s), ${CONNECTIONS} connections`);

  // 1. In-process engine (before the server exists, so nothing else competes for the CPU).
  const engine = await runEngineBench({ rounds: ENGINE_ROUNDS, log });

  // 2. Server.
  const token = randomBytes(24).toString('hex');
  const t = performance.now();
  await startServer(token);
  log(`server (${server.mode}) pid ${server.child.pid} at ${server.url}, up in ${((performance.now() - t) / 1000).toFixed(1)} s, data in ${server.dataDir}`);

  // 3. Data.
  const tLoad = performance.now();
  const data = await loadData(token);
  const loadSeconds = (performance.now() - tLoad) / 1000;
  log(`loaded ${MODULES} modules × ${VERSIONS_PER_MODULE} releases in ${loadSeconds.toFixed(1)} s: ${JSON.stringify(data.stateCount)}`);

  const { bodyOf, avgBytes } = buildBodies();
  log(`${fmt(DEVICES)} distinct devices, ${MODULES} modules listed per check, body ≈ ${fmt(avgBytes)} bytes`);

  // 4. Sanity.
  const sane = await sanity(data.app.clientKey, bodyOf);
  for (const note of sane.notes) log(`sanity: ${note}`);
  if (sane.problems.length > 0) {
    for (const p of sane.problems) log(`SANITY FAILURE: ${p}`);
    fail(`${sane.problems.length} sanity check(s) failed; not measuring`);
  }

  // 5. Rounds: warm both routes up, then ping, check, ping, check, …
  await round('ping', '/client/v1/ping', data.app.clientKey, bodyOf, WARMUP_SECONDS);
  await round('check', '/client/v1/check', data.app.clientKey, bodyOf, WARMUP_SECONDS);
  log(`warm-up done (${WARMUP_SECONDS}s per route)`);
  const noop = [];
  const check = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, urlPath, into] of [
      ['ping', '/client/v1/ping', noop],
      ['check', '/client/v1/check', check],
    ]) {
      const profiling = PROFILE_DIR !== undefined && name === 'check';
      if (profiling) await toggleProfiler();
      const res = await round(name, urlPath, data.app.clientKey, bodyOf, SECONDS);
      if (profiling) await toggleProfiler();
      into.push(res);
      log(
        `round ${r + 1}/${ROUNDS} ${name.padEnd(5)} ${fmt(res.reqPerSec).padStart(7)} req/s  ` +
          `p50 ${res.p50Ms.toFixed(2)} ms  p99 ${res.p99Ms.toFixed(2)} ms  max ${res.maxMs.toFixed(1)} ms  ` +
          `cpu server ${(res.serverCpu * 100).toFixed(0)}% client ${(res.clientCpu * 100).toFixed(0)}%`,
      );
    }
  }

  // 6. Figures.
  const checksPerSec = median(check.map((r) => r.reqPerSec));
  const noopPerSec = median(noop.map((r) => r.reqPerSec));
  const ratio = checksPerSec / noopPerSec;
  const roundRatios = check.map((c, i) => c.reqPerSec / noop[i].reqPerSec);
  const p50 = median(check.map((r) => r.p50Ms));
  const p99 = median(check.map((r) => r.p99Ms));
  const noopP50 = median(noop.map((r) => r.p50Ms));
  const noopP99 = median(noop.map((r) => r.p99Ms));
  const serverCpuCheck = median(check.map((r) => r.serverCpu));
  const serverCpuNoop = median(noop.map((r) => r.serverCpu));
  const clientCpuNoop = median(noop.map((r) => r.clientCpu));
  const spread = (xs) => (Math.max(...xs) - Math.min(...xs)) / median(xs);
  const goals = {
    ratio: { target: GOALS.ratio, value: ratio, met: ratio >= GOALS.ratio },
    p99Ms: { target: GOALS.p99Ms, value: p99, met: p99 < GOALS.p99Ms },
  };
  const totalSeconds = (performance.now() - t0) / 1000;

  const lines = [
    '',
    '================ Halftone bench: POST /client/v1/check ================',
    `machine        ${os.cpus().length} CPUs, node ${process.version}; server in a child process (${server.mode}), load generator (autocannon) in this one`,
    `data           ${MODULES} modules × ${VERSIONS_PER_MODULE} releases: ${Object.entries(data.stateCount).map(([k, v]) => `${v} ${k}`).join(', ')}`,
    `load           ${fmt(DEVICES)} distinct devices, ${MODULES} modules per check (≈${fmt(avgBytes)} B body), ${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS}s rounds per route, alternating`,
    `check          ${fmt(checksPerSec)} checks/s (median; rounds ${check.map((r) => fmt(r.reqPerSec)).join(' / ')}; spread ${(spread(check.map((r) => r.reqPerSec)) * 100).toFixed(0)}%)`,
    `no-op (ping)   ${fmt(noopPerSec)} req/s (median; rounds ${noop.map((r) => fmt(r.reqPerSec)).join(' / ')}; spread ${(spread(noop.map((r) => r.reqPerSec)) * 100).toFixed(0)}%)`,
    `ratio          ${ratio.toFixed(3)} = check ÷ no-op medians (per-round ratios ${roundRatios.map((x) => x.toFixed(2)).join(' / ')})   goal ≥ ${GOALS.ratio}: ${goals.ratio.met ? 'MET' : 'MISSED'}`,
    `check latency  p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (medians over rounds)   goal p99 < ${GOALS.p99Ms} ms: ${goals.p99Ms.met ? 'MET' : 'MISSED'}`,
    `no-op latency  p50 ${noopP50.toFixed(2)} ms, p99 ${noopP99.toFixed(2)} ms`,
    `server CPU     ${(serverCpuCheck * 100).toFixed(0)}% during check, ${(serverCpuNoop * 100).toFixed(0)}% during no-op (of one core; load generator ${(clientCpuNoop * 100).toFixed(0)}% during no-op)`,
    `engine         ${fmt(engine.decisionsPerSec)} decisions/s in-process (median of ${engine.rounds.length} × ${fmt(engine.decisions)}, ${fmt(engine.devices)} devices) ≈ ${fmt(engine.decisionsPerSec / MODULES)} checks/s of ${MODULES} modules, engine alone`,
    `sanity         OK: ${fmt(sane.answers)} answers (${fmt(sane.answers / MODULES)} devices) all equal to the in-process engine, none out of audience; ` +
      `${sane.percentage.releases} percentage rollouts offered to ${(sane.percentage.offeredShare * 100).toFixed(2)}% vs ${(sane.percentage.expectedShare * 100).toFixed(2)}% expected (z ${sane.percentage.z.toFixed(2)})`,
    `answers        ${Object.entries(sane.actionMix).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${((n / sane.answers) * 100).toFixed(1)}%`).join(', ')}`,
    `run            ${totalSeconds.toFixed(0)} s in total (data load ${loadSeconds.toFixed(0)} s)`,
    '=======================================================================',
  ];
  if (serverCpuNoop < 0.85) {
    lines.splice(
      -1,
      0,
      `note           the server used only ${(serverCpuNoop * 100).toFixed(0)}% of a core during the no-op rounds: the load generator (or other work on this machine) limited it, so the no-op figure is low and the ratio optimistic`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  const json = {
    bench: 'check',
    checksPerSec: Math.round(checksPerSec),
    noopPerSec: Math.round(noopPerSec),
    ratio: Number(ratio.toFixed(4)),
    roundRatios: roundRatios.map((x) => Number(x.toFixed(4))),
    p50Ms: Number(p50.toFixed(3)),
    p99Ms: Number(p99.toFixed(3)),
    noopP50Ms: Number(noopP50.toFixed(3)),
    noopP99Ms: Number(noopP99.toFixed(3)),
    engineDecisionsPerSec: Math.round(engine.decisionsPerSec),
    engineRounds: engine.rounds.map(Math.round),
    goals: { ratioMin: GOALS.ratio, ratioMet: goals.ratio.met, p99MaxMs: GOALS.p99Ms, p99Met: goals.p99Ms.met },
    serverCpu: { check: Number(serverCpuCheck.toFixed(3)), noop: Number(serverCpuNoop.toFixed(3)) },
    rounds: { ping: noop.map(roundJson), check: check.map(roundJson) },
    config: {
      modules: MODULES,
      releasesPerModule: VERSIONS_PER_MODULE,
      devices: DEVICES,
      modulesPerCheck: MODULES,
      bodyBytes: Math.round(avgBytes),
      connections: CONNECTIONS,
      rounds: ROUNDS,
      seconds: SECONDS,
      server: server.mode,
    },
    data: data.stateCount,
    sanity: {
      ok: true,
      answers: sane.answers,
      mismatches: sane.mismatches,
      outOfAudience: sane.forbidden,
      actionMix: sane.actionMix,
      percentage: {
        releases: sane.percentage.releases,
        eligible: sane.percentage.eligible,
        offeredShare: Number(sane.percentage.offeredShare.toFixed(4)),
        expectedShare: Number(sane.percentage.expectedShare.toFixed(4)),
        z: Number(sane.percentage.z.toFixed(2)),
      },
    },
    machine: { cpus: os.cpus().length, node: process.version },
    totalSeconds: Number(totalSeconds.toFixed(1)),
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
  if (PROFILE_DIR) log(`server CPU profiles of the check rounds in ${PROFILE_DIR} (node bench/profile-top.mjs FILE)`);
  return STRICT && !(goals.ratio.met && goals.p99Ms.met) ? 1 : 0;
}

function roundJson(r) {
  return {
    reqPerSec: Math.round(r.reqPerSec),
    p50Ms: Number(r.p50Ms.toFixed(3)),
    p99Ms: Number(r.p99Ms.toFixed(3)),
    maxMs: Number(r.maxMs.toFixed(2)),
    serverCpu: Number(r.serverCpu.toFixed(3)),
    clientCpu: Number(r.clientCpu.toFixed(3)),
  };
}

const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench: FAILED — still running after ${DEADLINE_MS / 1000} s; aborting\n`);
  void stopServer().finally(() => process.exit(1));
}, DEADLINE_MS);
watchdog.unref();

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`\nbench: FAILED — ${err instanceof BenchFailure ? err.message : (err?.stack ?? err)}\n`);
  if (!(err instanceof BenchFailure) && server) process.stderr.write(`${serverStderrTail()}\n`);
  code = 1;
} finally {
  await stopServer();
  clearTimeout(watchdog);
}
process.exit(code);
