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
  // No patch workers: with 1000 packages the devices' version pairs would keep a worker thread
  // computing patches through every round, taking CPU from the route under test
  // (BENCH_DELTA_WORKERS=1 measures with them).
  const env = {
    ...process.env,
    HALFTONE_ADMIN_TOKEN: token,
    HALFTONE_LOG_LEVEL: 'warn',
    HALFTONE_DELTA_WORKERS: process.env.BENCH_DELTA_WORKERS ?? '0',
  };
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
  return { status: res.status, json, bytes: Buffer.byteLength(text) };
}

/**
 * The two fleets (bench/fleets.mjs). Device `i` is `deviceOf(i)` in both, listing all 50 modules;
 * each body is built when autocannon asks for it, from a precomputed per-device prefix plus
 * precomputed module-list JSON, the same for the check and the no-op route.
 */
function buildFleets(core, states) {
  const t = performance.now();
  const ctxs = new Array(DEVICES);
  for (let i = 0; i < DEVICES; i++) ctxs[i] = deviceOf(i);
  const prefixes = devicePrefixes(ctxs);
  const stale = staleFleet(prefixes);
  log(`${fmt(DEVICES)} devices and their body prefixes built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const steady = steadyFleet(core, states, ctxs, prefixes);
  const { decisions, seconds, fromBase } = steady.precompute;
  log(`steady fleet precomputed: ${fmt(decisions)} engine decisions in ${seconds.toFixed(1)} s (${fmt(decisions / seconds)}/s)`);
  log(`steady fleet: device-modules ${steadyMix(steady.precompute)}`);
  log(`steady fleet: engine answers at the base versions (before taking any update): ${mixText(fromBase)}`);
  for (const fleet of [steady, stale]) {
    let bytes = 0;
    for (let k = 0; k < 1000; k++) bytes += Buffer.byteLength(fleet.bodyOf(k * (DEVICES / 1000)));
    fleet.bodyBytes = bytes / 1000;
    fleet.cursor = 0; // next device to send; every round continues where the previous stopped
  }
  return { steady, stale };
}

/** What the steady fleet's device-modules run, as shares of all 100,000 × 50. */
function steadyMix({ counts }) {
  const pc = (n) => `${((n / (DEVICES * MODULES)) * 100).toFixed(1)}%`;
  const onBase = counts.onFull + counts.onListVersion - counts.tookUpdate;
  return (
    `${pc(counts.notInstalled)} not installed, ${pc(onBase - counts.offeredNotTaken)} on the base version with nothing newer for them, ` +
    `${pc(counts.offeredNotTaken)} on the base version with an update offered but not installed, ` +
    `${pc(counts.tookUpdate)} on the newer release they were offered and installed` +
    (counts.onListVersion > 0 ? ` (${pc(counts.onListVersion)} had no compatible full release and start from the stale list version)` : '')
  );
}

const mixText = (mix) => {
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  return Object.entries(mix)
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `${k} ${((n / total) * 100).toFixed(1)}%`)
    .join(', ');
};

// ---------------------------------------------------------------------------------------------
// Sanity checks
// ---------------------------------------------------------------------------------------------
/** One check of device 0 (stale fleet: every module out of date): shape, URLs, a download; ping. */
async function sanityBasics(clientKey, bodyOf) {
  const notes = [];
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
    notes.push(`stale device 0: ${updates.length} of ${MODULES} modules to update; its first download is ${dlBytes.length} bytes`);
  }
  return notes;
}

/**
 * A sample of the fleet's devices: every answer equals the in-process engine's, no offer outside
 * a release's audience, percentage rollouts offered to about their percentage (sanity.mjs).
 * Also measures the fleet's average answer size.
 */
async function sanitySample(clientKey, fleet, core, states) {
  const answers = new Array(SAMPLE_DEVICES);
  let answerBytes = 0;
  await pool(
    Array.from({ length: SAMPLE_DEVICES }, (_, k) => Math.floor((k * DEVICES) / SAMPLE_DEVICES)),
    16,
    async (i, k) => {
      const res = await clientPost(clientKey, '/client/v1/check', fleet.bodyOf(i));
      if (res.status !== 200) fail(`POST /client/v1/check (${fleet.name} device ${i}) → ${res.status}: ${JSON.stringify(res.json).slice(0, 1000)}`);
      answers[k] = { i, modules: res.json.modules };
      answerBytes += res.bytes;
    },
  );
  const analysis = analyzeAnswers(answers, core, states, fleet);
  return { ...analysis, answerBytes: answerBytes / SAMPLE_DEVICES };
}

// ---------------------------------------------------------------------------------------------
// Load rounds
// ---------------------------------------------------------------------------------------------
function percentile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

async function round(name, urlPath, clientKey, fleet, seconds) {
  const latencies = new Float64Array(2_000_000);
  let n = 0;
  const cpuServer0 = cpuSecondsOf(server.child.pid);
  const cpuClient0 = process.cpuUsage();
  const started = performance.now();
  const { bodyOf } = fleet;
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
          req.body = bodyOf(fleet.cursor);
          fleet.cursor = fleet.cursor + 1 === DEVICES ? 0 : fleet.cursor + 1;
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
      const r = await clientPost(clientKey, urlPath, bodyOf(fleet.cursor));
      sample = `\n  a request right after: ${r.status} ${JSON.stringify(r.json).slice(0, 800)}`;
    } catch (err) {
      sample = `\n  a request right after failed: ${err.message}`;
    }
    fail(
      `${fleet.name} ${name} round: ${out.non2xx} non-2xx answers (status codes ${JSON.stringify(out.statusCodes)}), ` +
        `${out.errors} errors, ${out.timeouts} timeouts out of ${out.requests} requests${sample}\n${serverStderrTail()}`,
    );
  }
  if (server.exited !== null) fail(`server exited during the ${fleet.name} ${name} round: ${JSON.stringify(server.exited)}\n${serverStderrTail()}`);
  return out;
}

/** Warm-up, then ROUNDS alternating rounds ping/check with the fleet's bodies. */
async function measureFleet(fleet, clientKey) {
  await round('ping', '/client/v1/ping', clientKey, fleet, WARMUP_SECONDS);
  await round('check', '/client/v1/check', clientKey, fleet, WARMUP_SECONDS);
  log(`${fleet.name}: warm-up done (${WARMUP_SECONDS}s per route)`);
  const noop = [];
  const check = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, urlPath, into] of [
      ['ping', '/client/v1/ping', noop],
      ['check', '/client/v1/check', check],
    ]) {
      const profiling = PROFILE_DIR !== undefined && name === 'check';
      if (profiling) await toggleProfiler();
      const res = await round(name, urlPath, clientKey, fleet, SECONDS);
      if (profiling) await toggleProfiler();
      into.push(res);
      log(
        `${fleet.name.padEnd(6)} round ${r + 1}/${ROUNDS} ${name.padEnd(5)} ${fmt(res.reqPerSec).padStart(7)} req/s  ` +
          `p50 ${res.p50Ms.toFixed(2)} ms  p99 ${res.p99Ms.toFixed(2)} ms  max ${res.maxMs.toFixed(1)} ms  ` +
          `cpu server ${(res.serverCpu * 100).toFixed(0)}% client ${(res.clientCpu * 100).toFixed(0)}%`,
      );
    }
  }
  const spread = (xs) => (Math.max(...xs) - Math.min(...xs)) / median(xs);
  const checksPerSec = median(check.map((r) => r.reqPerSec));
  const noopPerSec = median(noop.map((r) => r.reqPerSec));
  return {
    noop,
    check,
    checksPerSec,
    noopPerSec,
    ratio: checksPerSec / noopPerSec,
    roundRatios: check.map((c, i) => c.reqPerSec / noop[i].reqPerSec),
    checkSpread: spread(check.map((r) => r.reqPerSec)),
    noopSpread: spread(noop.map((r) => r.reqPerSec)),
    p50: median(check.map((r) => r.p50Ms)),
    p99: median(check.map((r) => r.p99Ms)),
    noopP50: median(noop.map((r) => r.p50Ms)),
    noopP99: median(noop.map((r) => r.p99Ms)),
    serverCpuCheck: median(check.map((r) => r.serverCpu)),
    serverCpuNoop: median(noop.map((r) => r.serverCpu)),
    clientCpuCheck: median(check.map((r) => r.clientCpu)),
    clientCpuNoop: median(noop.map((r) => r.clientCpu)),
    // Answers per second of server CPU: less sensitive than req/s to how much of a core the
    // server got, which varies on a shared machine.
    checksPerCpuSec: median(check.map((r) => r.reqPerSec / r.serverCpu)),
    noopPerCpuSec: median(noop.map((r) => r.reqPerSec / r.serverCpu)),
  };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main() {
  log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${os.platform()} ${os.release()}`);
  log(
    `plan: engine ${ENGINE_ROUNDS}×1M decisions; HTTP per fleet (steady, then stale): warm-up, then ` +
      `${ROUNDS} rounds × (ping ${SECONDS}s + check ${SECONDS}s), ${CONNECTIONS} connections`,
  );

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

  // 4. Fleets.
  const core = await loadCore();
  const states = buildModuleStates(core);
  const fleets = buildFleets(core, states);
  const order = [fleets.steady, fleets.stale];
  for (const f of order) log(`${f.name} fleet: ${fmt(DEVICES)} distinct devices, ${MODULES} modules listed per check, body ≈ ${fmt(f.bodyBytes)} bytes`);

  // 5. Sanity.
  const clientKey = data.app.clientKey;
  const problems = [];
  for (const note of await sanityBasics(clientKey, fleets.stale.bodyOf)) log(`sanity: ${note}`);
  for (const f of order) {
    f.sanity = await sanitySample(clientKey, f, core, states);
    for (const note of f.sanity.notes) log(`sanity ${f.name}: ${note}`);
    problems.push(...f.sanity.problems.map((p) => `${f.name} fleet: ${p}`));
  }
  if (problems.length > 0) {
    for (const p of problems) log(`SANITY FAILURE: ${p}`);
    fail(`${problems.length} sanity check(s) failed; not measuring`);
  }

  // 6. Per fleet: warm up both routes, then ping, check, ping, check, …
  for (const f of order) f.figures = await measureFleet(f, clientKey);

  // 7. Figures.
  const head = fleets.steady.figures;
  const goals = {
    ratio: { target: GOALS.ratio, value: head.ratio, met: head.ratio >= GOALS.ratio },
    p99Ms: { target: GOALS.p99Ms, value: head.p99, met: head.p99 < GOALS.p99Ms },
  };
  const totalSeconds = (performance.now() - t0) / 1000;
  const met = (ok) => (ok ? 'MET' : 'MISSED');

  const fleetLines = (f, title) => {
    const x = f.figures;
    const s = f.sanity;
    const out = [
      title,
      `check          ${fmt(x.checksPerSec)} checks/s (median; rounds ${x.check.map((r) => fmt(r.reqPerSec)).join(' / ')}; spread ${(x.checkSpread * 100).toFixed(0)}%)`,
      `no-op (ping)   ${fmt(x.noopPerSec)} req/s (median; rounds ${x.noop.map((r) => fmt(r.reqPerSec)).join(' / ')}; spread ${(x.noopSpread * 100).toFixed(0)}%)`,
      `ratio          ${x.ratio.toFixed(3)} = check ÷ no-op medians (per-round ratios ${x.roundRatios.map((r) => r.toFixed(2)).join(' / ')})`,
      `check latency  p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms (medians over rounds)`,
      `no-op latency  p50 ${x.noopP50.toFixed(2)} ms, p99 ${x.noopP99.toFixed(2)} ms`,
      `server CPU     ${(x.serverCpuCheck * 100).toFixed(0)}% during check, ${(x.serverCpuNoop * 100).toFixed(0)}% during no-op (of one core); ` +
        `load generator ${(x.clientCpuCheck * 100).toFixed(0)}% / ${(x.clientCpuNoop * 100).toFixed(0)}%`,
      `per CPU        ${fmt(x.checksPerCpuSec)} checks and ${fmt(x.noopPerCpuSec)} no-ops per second of server CPU (medians over rounds)`,
      ...(f.precompute ? [`devices        ${steadyMix(f.precompute)} (base = newest full release the app can run)`] : []),
      `answers        ${mixText(s.actionMix)} (sample of ${fmt(SAMPLE_DEVICES)} devices × ${MODULES} modules)`,
      `sizes          body ≈ ${fmt(f.bodyBytes)} B, answer ≈ ${fmt(s.answerBytes)} B on average (JSON, without headers)`,
    ];
    if (x.serverCpuNoop < 0.85) {
      out.push(
        `note           the server used only ${(x.serverCpuNoop * 100).toFixed(0)}% of a core during this fleet's no-op rounds: the load generator (or other work on this machine) limited it, so the no-op figure is low and the ratio optimistic`,
      );
    }
    return out;
  };
  const st = fleets.stale.figures;
  const sanityText = (f) =>
    `${f.name} ${fmt(f.sanity.answers)} answers, ${f.sanity.percentage.releases} percentage rollouts offered to ` +
    `${(f.sanity.percentage.offeredShare * 100).toFixed(2)}% vs ${(f.sanity.percentage.expectedShare * 100).toFixed(2)}% expected (z ${f.sanity.percentage.z.toFixed(2)})`;
  const pre = fleets.steady.precompute;
  const lines = [
    '',
    '================ Halftone bench: POST /client/v1/check ================',
    `machine        ${os.cpus().length} CPUs, node ${process.version}; server in a child process (${server.mode}), load generator (autocannon) in this one`,
    `data           ${MODULES} modules × ${VERSIONS_PER_MODULE} releases: ${Object.entries(data.stateCount).map(([k, v]) => `${v} ${k}`).join(', ')}`,
    `load           ${fmt(DEVICES)} distinct devices per fleet, ${MODULES} modules per check, ${CONNECTIONS} connections, per fleet ${ROUNDS} × ${SECONDS}s rounds per route, alternating ping/check`,
    `engine         ${fmt(engine.decisionsPerSec)} decisions/s in-process (median of ${engine.rounds.length} × ${fmt(engine.decisions)}, ${fmt(engine.devices)} devices, stale versions) ≈ ${fmt(engine.decisionsPerSec / MODULES)} checks/s of ${MODULES} modules, engine alone`,
    `sanity         OK: every sampled answer equal to the in-process engine, none out of audience; ${sanityText(fleets.steady)}; ${sanityText(fleets.stale)}`,
    '',
    ...fleetLines(
      fleets.steady,
      `--- steady fleet (headline): devices run what they were last offered (${(STEADY_INSTALL_SHARE * 100).toFixed(0)}% took it; precomputed in ${pre.seconds.toFixed(1)} s) ---`,
    ),
    '',
    ...fleetLines(fleets.stale, '--- stale fleet (stress case): every device on 1.6–1.16 of every module, far behind ---'),
    '',
    `goals (steady) ratio ${head.ratio.toFixed(3)} ≥ ${GOALS.ratio}: ${met(goals.ratio.met)}; p99 ${head.p99.toFixed(2)} ms < ${GOALS.p99Ms} ms: ${met(goals.p99Ms.met)}`,
    `stress (stale) ratio ${st.ratio.toFixed(3)}, p99 ${st.p99.toFixed(2)} ms (no goal; shown for the worst case)`,
    `run            ${totalSeconds.toFixed(0)} s in total (data load ${loadSeconds.toFixed(0)} s)`,
    '=======================================================================',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const fleetJson = (f) => {
    const x = f.figures;
    const s = f.sanity;
    return {
      checksPerSec: Math.round(x.checksPerSec),
      noopPerSec: Math.round(x.noopPerSec),
      ratio: Number(x.ratio.toFixed(4)),
      roundRatios: x.roundRatios.map((r) => Number(r.toFixed(4))),
      p50Ms: Number(x.p50.toFixed(3)),
      p99Ms: Number(x.p99.toFixed(3)),
      noopP50Ms: Number(x.noopP50.toFixed(3)),
      noopP99Ms: Number(x.noopP99.toFixed(3)),
      serverCpu: { check: Number(x.serverCpuCheck.toFixed(3)), noop: Number(x.serverCpuNoop.toFixed(3)) },
      perServerCpuSec: { check: Math.round(x.checksPerCpuSec), noop: Math.round(x.noopPerCpuSec) },
      clientCpu: { check: Number(x.clientCpuCheck.toFixed(3)), noop: Number(x.clientCpuNoop.toFixed(3)) },
      bodyBytes: Math.round(f.bodyBytes),
      answerBytes: Math.round(s.answerBytes),
      actionMix: s.actionMix,
      rounds: { ping: x.noop.map(roundJson), check: x.check.map(roundJson) },
      sanity: {
        ok: true,
        answers: s.answers,
        mismatches: s.mismatches,
        outOfAudience: s.forbidden,
        percentage: {
          releases: s.percentage.releases,
          eligible: s.percentage.eligible,
          offeredShare: Number(s.percentage.offeredShare.toFixed(4)),
          expectedShare: Number(s.percentage.expectedShare.toFixed(4)),
          z: Number(s.percentage.z.toFixed(2)),
        },
      },
    };
  };
  const json = {
    bench: 'check',
    headline: 'steady',
    checksPerSec: Math.round(head.checksPerSec),
    noopPerSec: Math.round(head.noopPerSec),
    ratio: Number(head.ratio.toFixed(4)),
    p50Ms: Number(head.p50.toFixed(3)),
    p99Ms: Number(head.p99.toFixed(3)),
    engineDecisionsPerSec: Math.round(engine.decisionsPerSec),
    engineRounds: engine.rounds.map(Math.round),
    goals: { fleet: 'steady', ratioMin: GOALS.ratio, ratioMet: goals.ratio.met, p99MaxMs: GOALS.p99Ms, p99Met: goals.p99Ms.met },
    fleets: {
      steady: {
        ...fleetJson(fleets.steady),
        precompute: {
          seconds: Number(pre.seconds.toFixed(2)),
          decisions: pre.decisions,
          installShare: STEADY_INSTALL_SHARE,
          deviceModules: pre.counts,
          answersAtBase: pre.fromBase,
        },
      },
      stale: fleetJson(fleets.stale),
    },
    config: {
      modules: MODULES,
      releasesPerModule: VERSIONS_PER_MODULE,
      devices: DEVICES,
      modulesPerCheck: MODULES,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      sampleDevices: SAMPLE_DEVICES,
      server: server.mode,
    },
    data: data.stateCount,
    machine: { cpus: os.cpus().length, node: process.version },
    totalSeconds: Number(totalSeconds.toFixed(1)),
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
  if (PROFILE_DIR) {
    log(
      `server CPU profiles of the check rounds in ${PROFILE_DIR} (node bench/profile-top.mjs FILE): ` +
        `check-1…${ROUNDS} steady fleet, check-${ROUNDS + 1}…${2 * ROUNDS} stale fleet`,
    );
  }
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
