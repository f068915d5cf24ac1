// Gray-gateway throughput benchmark (issue #4, "Speed"): Debian's nginx proxy_pass versus
// Halftone's gateway with a 4-level policy group versus the gateway with no policy (and, for
// reference, a naive node:http proxy), all in front of the same nginx upstream answering 1 KB,
// driven by wrk. See bench/GATEWAY.md.
//
// Usage: npm run bench:gateway   (env: BENCH_SECONDS=15, BENCH_ROUNDS=3, BENCH_CONNECTIONS=64,
//        BENCH_WARMUP=3, BENCH_PROFILE=DIR → run the gateway under node --cpu-prof into DIR)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECONDS = Math.max(1, Number(process.env.BENCH_SECONDS ?? 15));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CONNS = Math.max(1, Number(process.env.BENCH_CONNECTIONS ?? 64));
const WARMUP = Math.max(0, Number(process.env.BENCH_WARMUP ?? 3));
const PROFILE_DIR = process.env.BENCH_PROFILE;
const TOKEN = 'bench-gateway-admin-token-0123456789';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const UID = '31';
const POLICY_HOST = 'ab.bench.local';
const PLAIN_HOST = 'plain.bench.local';

const ncpu = cpus().length;
const pinLoad = ncpu >= 2 ? ['-c', '0'] : null;
const pinSut = ncpu >= 2 ? ['-c', '1'] : null;
const pinned = (pin, cmd, args) => (pin === null ? [cmd, args] : ['taskset', [...pin, cmd, ...args]]);

function need(cmd) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    process.stderr.write(`bench:gateway needs ${cmd} (as root: apt-get update -qq && apt-get install -y -qq nginx wrk)\n`);
    process.exit(2);
  }
}
need('nginx');
need('wrk');
if (pinLoad === null) process.stderr.write('warning: fewer than 2 CPUs, running unpinned\n');
else need('taskset');

const children = new Set();
const tmp = mkdtempSync(join(tmpdir(), 'halftone-gw-bench-'));
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
process.on('exit', () => {
  cleanup();
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
// Hard stop: never outlive the planned runs by much.
const budgetMs = (ROUNDS * 4 * (SECONDS + 3) + 4 * (WARMUP + 3) + 90) * 1000;
setTimeout(() => {
  process.stderr.write('bench:gateway exceeded its time budget, stopping\n');
  process.exit(3);
}, budgetMs).unref();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(pin, cmd, args, opts = {}) {
  const [c, a] = pinned(pin, cmd, args);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.output = () => out;
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}

/** GET through node:http (fetch cannot set Host); resolves { status, headers, body }. */
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(url, headers = {}, tries = 200) {
  for (let i = 0; i < tries; i++) {
    try {
      return await get(url, headers);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not come up`);
}

function nginxConf(dir, body) {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
${body}
}
`;
}

async function startNginx(name, pin, body) {
  const dir = join(tmp, name);
  spawnSync('mkdir', ['-p', dir]);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, body));
  const child = start(pin, 'nginx', ['-c', conf, '-p', dir, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  return child;
}

function cpuTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    out[m[1]] = { idle, total };
  }
  return out;
}

function busy(a, b) {
  const r = {};
  for (const k of Object.keys(b)) {
    const dt = b[k].total - a[k].total;
    r[k] = dt <= 0 ? 0 : 1 - (b[k].idle - a[k].idle) / dt;
  }
  return r;
}

const UNIT = { us: 0.001, ms: 1, s: 1000 };
function ms(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

/** CPU time of a process so far, user and system, in µs (from /proc; undefined when unreadable). */
function procCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 1e6 / CLK_TCK;
    return { user: Number(f[11]) * tick, sys: Number(f[12]) * tick };
  } catch {
    return undefined;
  }
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The process that does a SUT's work: nginx's single worker (the master's child), else itself. */
function workerPid(child) {
  const kids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  return kids.length === 1 && readFileSync(`/proc/${kids[0]}/comm`, 'utf8').trim() === 'nginx' ? Number(kids[0]) : child.pid;
}

function wrk(port, host, seconds, pid) {
  const args = ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', '-H', `Host: ${host}`, '-H', `X-Uid: ${UID}`, `http://127.0.0.1:${port}/`];
  const [c, a] = pinned(pinLoad, 'wrk', args);
  return new Promise((resolve, reject) => {
    const before = cpuTimes();
    const cpuBefore = pid === undefined ? undefined : procCpu(pid);
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(t);
      children.delete(child);
      const cpu = busy(before, cpuTimes());
      const cpuAfter = pid === undefined ? undefined : procCpu(pid);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p50 = ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
      const p99 = ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const errors = /Socket errors:.*/.exec(out)?.[0];
      if (code !== 0 || !Number.isFinite(rps)) reject(new Error(`wrk failed (${code}):\n${out}`));
      else {
        // The SUT's own CPU per request (user, system): steadier than req/s on a shared box.
        const per = (k) => (cpuBefore && cpuAfter && requests > 0 ? (cpuAfter[k] - cpuBefore[k]) / requests : undefined);
        resolve({ rps, p50, p99, non2xx, errors, cpu0: cpu['0'], cpu1: cpu['1'], userUs: per('user'), sysUs: per('sys') });
      }
    });
  });
}

async function admin(base, method, path, body) {
  const res = await fetch(`${base}/admin/v1/gateway${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// ---- upstream: nginx, one worker on CPU0, a fixed 1 KB body
const upPort = await freePort();
const BODY = 'x'.repeat(1023) + '\n';
const upstream = await startNginx(
  'upstream',
  pinLoad,
  `  server {
    listen 127.0.0.1:${upPort} reuseport;
    location / { default_type text/plain; return 200 '${BODY}'; }
  }`,
);
const upURL = `http://127.0.0.1:${upPort}`;
const probe = await waitFor(`${upURL}/`);
if (probe.status !== 200) throw new Error(`upstream answered ${probe.status}`);

// ---- SUT A: nginx proxy_pass with upstream keep-alive, one worker on CPU1
const nginxPort = await freePort();
const nginx = await startNginx(
  'proxy',
  pinSut,
  `  upstream stable { server 127.0.0.1:${upPort}; keepalive ${CONNS}; }
  server {
    listen 127.0.0.1:${nginxPort} reuseport;
    location / {
      proxy_pass http://stable;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`,
);

// ---- SUT B/C: Halftone's gateway (one process on CPU1); B = policy-bound Host, C = unbound Host
const gwPort = await freePort();
const dataDir = join(tmp, 'halftone');
const nodeArgs = [];
if (PROFILE_DIR) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
const gateway = start(
  pinSut,
  process.execPath,
  [...nodeArgs, CLI, 'serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--gateway-port', String(gwPort),
    '--upstream', `stable=${upURL}`, '--upstream', `gray=${upURL}`, '--default-upstream', 'stable'],
  { env: { ...process.env, NODE_ENV: 'production', HALFTONE_ADMIN_TOKEN: TOKEN, HALFTONE_LOG_LEVEL: 'warn' } },
);
let adminBase;
for (let i = 0; i < 400 && adminBase === undefined; i++) {
  adminBase = /admin API\s+(http:\/\/\S+)\/admin\/v1/.exec(gateway.output())?.[1];
  if (adminBase === undefined) {
    if (gateway.exitCode !== null) throw new Error(`gateway exited:\n${gateway.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
if (adminBase === undefined) throw new Error(`gateway banner not seen:\n${gateway.output()}`);

// Four levels; with X-Uid 31 from 127.0.0.1 the first three miss and the fourth maps to "gray",
// so every request traverses all four.
const policy = await admin(adminBase, 'POST', '/policies', {
  levels: [
    { divtype: 'uidappoint', divdata: [{ uidset: ['1001', '1002', '1003'], upstream: 'stable' }] },
    { divtype: 'uidsuffix', divdata: [{ suffix: '5', upstream: 'stable' }, { suffix: '9', upstream: 'stable' }] },
    { divtype: 'iprange', divdata: [{ range: { start: 167772160, end: 184549375 }, upstream: 'stable' }] },
    { divtype: 'uidrange', divdata: [{ range: { start: 1, end: 1000 }, upstream: 'gray' }] },
  ],
});
await admin(adminBase, 'PUT', `/hosts/${POLICY_HOST}`, { policyId: policy.id });

// ---- reference: a naive node:http proxy (the "20-line Node proxy"), one process on CPU1
const naivePort = await freePort();
const naive = start(pinSut, process.execPath, [join(ROOT, 'bench/naive-proxy.mjs'), String(naivePort), upURL]);

const gwURL = `http://127.0.0.1:${gwPort}/`;
const pol = await waitFor(gwURL, { host: POLICY_HOST, 'x-uid': UID });
const pla = await waitFor(gwURL, { host: PLAIN_HOST, 'x-uid': UID });
const ngx = await waitFor(`http://127.0.0.1:${nginxPort}/`, { host: PLAIN_HOST });
const nai = await waitFor(`http://127.0.0.1:${naivePort}/`, { host: PLAIN_HOST });
if (nai.status !== 200 || nai.body.length !== 1024) throw new Error(`naive proxy answered ${nai.status}`);
const lens = [pol, pla, ngx].map((r) => r.headers['content-length']);
if (pol.headers['x-halftone-upstream'] !== 'gray') throw new Error(`policy host routed to ${pol.headers['x-halftone-upstream']}, expected gray (level 4)`);
if (pla.headers['x-halftone-upstream'] !== 'stable') throw new Error(`plain host routed to ${pla.headers['x-halftone-upstream']}`);
if (lens.some((l) => l !== '1024') || [pol, pla, ngx].some((r) => r.status !== 200)) throw new Error(`unexpected probe answers: ${lens}`);

const suts = [
  { name: 'nginx', port: nginxPort, host: PLAIN_HOST, pid: workerPid(nginx) },
  { name: 'policy', port: gwPort, host: POLICY_HOST, pid: gateway.pid },
  { name: 'plain', port: gwPort, host: PLAIN_HOST, pid: gateway.pid },
  { name: 'naive', port: naivePort, host: PLAIN_HOST, pid: naive.pid },
];
const nodeV = process.version;
const nginxV = spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim();
console.log(`bench:gateway  ${nodeV}, ${nginxV}, ${ncpu} CPUs (${cpus()[0]?.model ?? '?'})`);
console.log(`  wrk -t1 -c${CONNS} -d${SECONDS}s --latency; ${ROUNDS} interleaved rounds; upstream+wrk on CPU0, proxy on CPU1; 1 KB body`);

if (WARMUP > 0) for (const s of suts) await wrk(s.port, s.host, WARMUP);

const results = Object.fromEntries(suts.map((s) => [s.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round, so no proxy always runs right after the same other one (the
  // run after nginx measured consistently lower, whichever proxy it was).
  const order = suts.map((_, i) => suts[(i + r) % suts.length]);
  for (const s of order) {
    const res = await wrk(s.port, s.host, SECONDS, s.pid);
    results[s.name].push(res);
    const pct = (x) => (x === undefined ? '?' : `${Math.round(x * 100)}%`);
    const us = (x) => (x === undefined ? '?' : x.toFixed(2));
    console.log(
      `  round ${r + 1} ${s.name.padEnd(6)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms  cpu0 ${pct(res.cpu0)} cpu1 ${pct(res.cpu1)}  µs/req user ${us(res.userUs)} sys ${us(res.sysUs)}` +
        (res.non2xx ? `  NON-2XX ${res.non2xx}` : '') + (res.errors ? `  ${res.errors}` : ''),
    );
  }
}

const summary = {};
for (const s of suts) {
  const rs = results[s.name];
  summary[s.name] = {
    rps: Math.round(median(rs.map((x) => x.rps))),
    rpsMin: Math.round(Math.min(...rs.map((x) => x.rps))),
    rpsMax: Math.round(Math.max(...rs.map((x) => x.rps))),
    p50ms: +median(rs.map((x) => x.p50)).toFixed(3),
    p99ms: +median(rs.map((x) => x.p99)).toFixed(3),
    cpu0: +median(rs.map((x) => x.cpu0 ?? 0)).toFixed(3),
    cpu1: +median(rs.map((x) => x.cpu1 ?? 0)).toFixed(3),
    non2xx: rs.reduce((a, x) => a + x.non2xx, 0),
    userUs: rs.every((x) => x.userUs !== undefined) ? +median(rs.map((x) => x.userUs)).toFixed(2) : null,
    sysUs: rs.every((x) => x.sysUs !== undefined) ? +median(rs.map((x) => x.sysUs)).toFixed(2) : null,
  };
}
const ratioPolicy = summary.policy.rps / summary.nginx.rps;
const ratioPlain = summary.plain.rps / summary.nginx.rps;
const diversionCost = 1 - summary.policy.rps / summary.plain.rps;
const ratioNaive = summary.naive.rps / summary.nginx.rps;
console.log('  medians:');
for (const s of suts) {
  const m = summary[s.name];
  console.log(`    ${s.name.padEnd(6)} ${String(m.rps).padStart(7)} req/s (${m.rpsMin}–${m.rpsMax})  p50 ${m.p50ms} ms  p99 ${m.p99ms} ms  CPU µs/req user ${m.userUs ?? '?'} sys ${m.sysUs ?? '?'}`);
}
console.log(`  gateway+policy ÷ nginx = ${ratioPolicy.toFixed(3)}   gateway plain ÷ nginx = ${ratioPlain.toFixed(3)}   diversion cost ${(diversionCost * 100).toFixed(1)}%`);
console.log(`  reference: naive node:http proxy ÷ nginx = ${ratioNaive.toFixed(3)}`);
// The same comparison from CPU time per request (what one saturated core buys): nginx's CPU per
// request over the gateway's. Less sensitive to the box's noise than req/s.
const cpuPer = (m) => (m.userUs === null || m.sysUs === null ? undefined : m.userUs + m.sysUs);
const cpuRatio = (name) => {
  const a = cpuPer(summary.nginx);
  const b = cpuPer(summary[name]);
  return a === undefined || b === undefined ? undefined : a / b;
};
const cpuRatioPolicy = cpuRatio('policy');
const cpuRatioPlain = cpuRatio('plain');
if (cpuRatioPolicy !== undefined && cpuRatioPlain !== undefined) {
  console.log(`  by CPU per request: nginx ÷ gateway+policy = ${cpuRatioPolicy.toFixed(3)}   nginx ÷ gateway plain = ${cpuRatioPlain.toFixed(3)}`);
}
console.log(`  goal ≥ 0.80× (minimum 0.60×): ${ratioPolicy >= 0.8 ? 'met' : ratioPolicy >= 0.6 ? 'minimum met, goal not met' : 'NOT met'}`);
console.log(
  'BENCH_JSON ' +
    JSON.stringify({ bench: 'gateway', node: nodeV, nginx: nginxV, seconds: SECONDS, rounds: ROUNDS, connections: CONNS, summary, ratioPolicy: +ratioPolicy.toFixed(4), ratioPlain: +ratioPlain.toFixed(4), ratioNaive: +ratioNaive.toFixed(4), diversionCost: +diversionCost.toFixed(4), cpuRatioPolicy: cpuRatioPolicy === undefined ? null : +cpuRatioPolicy.toFixed(4), cpuRatioPlain: cpuRatioPlain === undefined ? null : +cpuRatioPlain.toFixed(4) }),
);

if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, gateway.output());
await stop(gateway);
await stop(naive);
await stop(nginx);
await stop(upstream);
process.exit(0);
