// `npm run bench:ingest` — sustained ingestion of client event batches (50 items each) over HTTP
// keep-alive into the SQLite default, then the health query of one release over 24 h with
// millions of raw events stored. See bench/INGEST.md for the protocol and measured figures.
//
// 1. starts the real server (`halftone serve --data <tmp>`) on 127.0.0.1, creates an app, publishes
//    `home@2.0.0` and releases it (devices on 1.0.0 are the baseline);
// 2. warm-up, then BENCH_ROUNDS rounds of BENCH_SECONDS seconds: BENCH_SENDERS concurrent senders,
//    each on its own keep-alive connection (undici Pool), send one batch at a time (a device's
//    50 items: sessions, page views, custom events, sometimes a crash, an ANR or an install) and
//    check each answer (200, 50 accepted); events/s per round, latency of every request;
// 3. fills the database to BENCH_FILL raw events (default 5,000,000) through the events store
//    itself (the server's own SQL, rollups and sketches included) from this process, with batches
//    of 250 events per device clustered in a few minutes and spread over the last 24 h;
// 4. times GET /admin/v1/apps/bench/health?release=…&from=now−24h&to=now BENCH_QUERY_REPEATS times
//    (median), and the same query in-process on the store;
// 5. prints a summary and a `BENCH_JSON {…}` line. Exit 1 on any failed request.
//
// Knobs (environment): BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_SENDERS (4), BENCH_FILL
// (5000000; 0 skips the fill), BENCH_QUERY_REPEATS (21), BENCH_STRICT=1 (exit 1 when a goal is
// missed), BENCH_PROFILE=DIR (server child runs with --cpu-prof into DIR).
import { spawn } from 'node:child_process';
import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { buildZip } from './zip.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
};
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const SECONDS = envInt('BENCH_SECONDS', 5);
const SENDERS = envInt('BENCH_SENDERS', 4);
const FILL = envInt('BENCH_FILL', 5_000_000);
const REPEATS = envInt('BENCH_QUERY_REPEATS', 21);
const STRICT = process.env.BENCH_STRICT === '1';
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const BATCH = 50;
const DEVICES = 20_000;
const MODELS = ['Pixel 8', 'Pixel 7a', 'Galaxy S24', 'Galaxy A15', 'Redmi Note 13', 'iPhone 15', 'iPhone 13', 'Mate 60'];
const GOALS = { eventsPerSecond: 20_000, p99Ms: 50, queryMs: 20 };

const t0 = performance.now();
const log = (line) => process.stdout.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : String(n));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const percentile = (sorted, p) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const fail = (msg) => {
  throw new Error(msg);
};

// --- server child ------------------------------------------------------------------------------
let server;
async function startServer(token, dataDir) {
  const args = [path.join(ROOT, 'packages/cli/dist/main.js'), 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1'];
  if (PROFILE_DIR) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    args.unshift('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, HALFTONE_ADMIN_TOKEN: token, HALFTONE_LOG_LEVEL: 'warn', HALFTONE_DELTA_WORKERS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => {
    out += c;
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start\n${out}`)), 30_000);
    child.stdout.on('data', (c) => {
      out += c;
      const m = /admin API\s+(https?:\/\/\S+)\/admin\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code})\n${out}`));
    });
  });
  server = { child, url, output: () => out };
  return server;
}
async function stopServer() {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function admin(token, method, urlPath, body) {
  const init = { method, headers: { authorization: `Bearer ${token}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  // After the long fill the server may have closed fetch's idle keep-alive socket: retry once.
  const res = await fetch(server.url + urlPath, init).catch(() => fetch(server.url + urlPath, init));
  const text = await res.text();
  if (!res.ok) fail(`admin ${method} ${urlPath} → ${res.status}: ${text.slice(0, 500)}`);
  return text === '' ? undefined : JSON.parse(text);
}

// --- workload ----------------------------------------------------------------------------------
/**
 * A UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, then random bits. What SDKs should send: ids
 * that grow with time land at the right edge of the dedup index instead of random pages.
 */
const rnd = Buffer.alloc(16 * 4096);
let rndAt = rnd.length;
function uuidv7(ms = Date.now()) {
  if (rndAt + 10 > rnd.length) {
    randomFillSync(rnd);
    rndAt = 0;
  }
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(ms, 0, 6);
  rnd.copy(b, 6, rndAt, rndAt + 10);
  rndAt += 10;
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
const UUID = process.env.BENCH_UUID === 'v4' ? () => randomUUID() : () => uuidv7();
const deviceId = (i) => `bench-device-${i}`;
/** 30% of devices run the release (home 2.0.0), the rest the baseline 1.0.0. */
const versionOf = (i) => (i % 10 < 3 ? '2.0.0' : '1.0.0');

/** One device's batch of 50 items, as a JSON body. */
function batchBody(i, now) {
  const d = i % DEVICES;
  const items = [];
  const sid = UUID();
  items.push({ id: UUID(), type: 'session', ts: now - 30_000, sid, phase: 'start', status: 'ok' });
  for (let k = 0; k < 40; k++) {
    items.push({ id: UUID(), type: 'page_view', ts: now - 29_000 + k * 500, page: `/home/tab-${k % 7}`, duration: 350 });
  }
  for (let k = 0; k < 6; k++) {
    items.push({ id: UUID(), type: 'custom', ts: now - 9_000 + k, name: 'tap', attributes: { button: `b${k}`, n: k } });
  }
  items.push({ id: UUID(), type: 'install', ts: now - 2_000, module: 'home', version: versionOf(d), ok: i % 50 !== 0 });
  if (i % 20 === 0) {
    items.push({
      id: UUID(),
      type: 'crash',
      ts: now - 1_000,
      exceptionType: 'TypeError',
      message: `Cannot read properties of undefined (reading 'x${i % 3}')`,
      stack: `TypeError: boom\n    at render (https://cdn.example.com/home.${(i % 5).toString(16).repeat(8)}.js:1:${1000 + (i % 97)})\n    at commit (https://cdn.example.com/vendor.js:2:${i % 50})`,
    });
    items.push({ id: UUID(), type: 'session', ts: now - 900, sid, phase: 'end', status: 'crashed', duration: 29_100 });
  } else if (i % 33 === 0) {
    items.push({ id: UUID(), type: 'anr', ts: now - 1_000, message: 'Input dispatching timed out', duration: 5200 });
    items.push({ id: UUID(), type: 'session', ts: now - 900, sid, phase: 'end', status: 'abnormal', duration: 29_100 });
  } else {
    items.push({ id: UUID(), type: 'page_view', ts: now - 1_000, page: '/home/end' });
    items.push({ id: UUID(), type: 'session', ts: now - 900, sid, phase: 'end', status: 'exited', duration: 29_100 });
  }
  const header = {
    deviceId: deviceId(d),
    app: 'bench',
    platform: 'android',
    appVersion: '8.3.0',
    sent_at: now,
    modules: { home: versionOf(d) },
    deviceModel: MODELS[d % MODELS.length],
    osVersion: '14',
  };
  return JSON.stringify({ header, items });
}

async function sendRounds(clientKey) {
  const pools = Array.from({ length: SENDERS }, () => new Pool(server.url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 }));
  let seq = 0;
  const latencies = [];
  const headers = { 'content-type': 'application/json', 'x-halftone-key': clientKey };
  const runFor = async (ms, record) => {
    const until = performance.now() + ms;
    let events = 0;
    await Promise.all(
      pools.map(async (pool) => {
        while (performance.now() < until) {
          const body = batchBody(seq++, Date.now());
          const start = performance.now();
          const res = await pool.request({ path: '/client/v1/events', method: 'POST', headers, body });
          const text = await res.body.text();
          const elapsed = performance.now() - start;
          if (res.statusCode !== 200) fail(`POST /client/v1/events → ${res.statusCode}: ${text.slice(0, 500)}`);
          const answer = JSON.parse(text);
          if (answer.accepted !== BATCH || answer.rejected.length !== 0) fail(`batch not fully accepted: ${text.slice(0, 500)}`);
          events += answer.accepted;
          if (record) latencies.push(elapsed);
        }
      }),
    );
    return events;
  };
  log(`warm-up 2 s (${SENDERS} senders, batches of ${BATCH})`);
  await runFor(2000, false);
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    const events = await runFor(SECONDS * 1000, true);
    const rate = events / ((performance.now() - start) / 1000);
    rates.push(rate);
    log(`round ${r + 1}/${ROUNDS}: ${fmt(rate)} events/s`);
  }
  await Promise.all(pools.map((p) => p.close()));
  latencies.sort((a, b) => a - b);
  return { rates, latencies, batches: seq };
}

// --- fill ----------------------------------------------------------------------------------------
async function fill(dataDir, total, releaseId, now) {
  const dist = pathToFileURL(path.join(ROOT, 'packages/server/dist/')).href;
  const { createSqlDatabase } = await import(`${dist}platform/sql/sql-database.js`);
  const { createSqlEventsStore } = await import(`${dist}slices/events/events-store.sql.js`);
  const { crashFingerprint } = await import(`${dist}slices/events/crash-fingerprint.js`);
  const sql = await createSqlDatabase(`sqlite:${path.join(dataDir, 'halftone.db')}`);
  const store = createSqlEventsStore(sql.db, sql.dialect);
  const crashes = [0, 1, 2, 3, 4].map((k) =>
    crashFingerprint({ exceptionType: 'TypeError', stack: `at render${k} (home.js:1:2)\nat commit (vendor.js:3:4)` }),
  );
  const PER_BATCH = 250;
  const FILL_DEVICES = 100_000;
  const dayMs = 24 * 3_600_000;
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  let b = 0;
  const start = performance.now();
  let lastLog = start;
  while (n < total) {
    const d = (b * 7919) % FILL_DEVICES;
    const version = versionOf(d);
    const onRelease = version === '2.0.0';
    const cohorts = [{ module: 'home', moduleVersion: version, releaseId: onRelease ? releaseId : '', stage: onRelease ? 'whitelist' : '' }];
    const base = now - dayMs + Math.floor(((b * 104_729) % 1_000_000) / 1_000_000 * (dayMs - 600_000));
    const events = [];
    const count = Math.min(PER_BATCH, total - n);
    for (let k = 0; k < count; k++) {
      const ts = base + k * 2_000;
      const kind = k % 50;
      let type = 'page_view';
      let counters = { pageViews: 1 };
      let crash;
      if (kind === 0) [type, counters] = ['session', { sessionsStarted: 1 }];
      else if (kind === 49) [type, counters] = ['session', { sessionsExited: 1 }];
      else if (kind === 25 && (b + k) % 97 === 0) {
        const fp = crashes[(b + k) % crashes.length];
        [type, counters] = ['crash', { crashes: 1 }];
        crash = { fingerprint: fp.fingerprint, exceptionType: fp.exceptionType, title: 'boom', frames: fp.frames };
      }
      const id = `${prefix}${String(b).padStart(8, '0').slice(0, 4)}-${String(b).padStart(8, '0').slice(4)}-4000-8000-${String(k).padStart(12, '0')}`;
      events.push({
        id,
        type,
        ts,
        releaseId: cohorts[0].releaseId,
        data: `{"type":"${type}","page":"/home/tab-${k % 7}","context":{"platform":"android","appVersion":"8.3.0"}}`,
        cohorts,
        counters,
        ...(crash ? { crash } : {}),
      });
    }
    await store.ingest({ appId: 'bench', deviceId: `fill-device-${d}`, deviceModel: MODELS[d % MODELS.length], receivedAt: now - 1000, events });
    n += count;
    b++;
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`fill: ${fmt(n)} / ${fmt(total)} events (${fmt(n / ((lastLog - start) / 1000))} events/s)`);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const raw = await store.countRaw('bench');
  return { sql, store, seconds, raw };
}

// --- main ----------------------------------------------------------------------------------------
const tmp = mkdtempSync(path.join(os.tmpdir(), 'halftone-ingest-bench-'));
const dataDir = path.join(tmp, 'data');
const token = `hat_bench_${randomBytes(12).toString('hex')}`;
let exitCode = 0;
try {
  await startServer(token, dataDir);
  log(`server at ${server.url} (data ${dataDir})`);
  const app = await admin(token, 'POST', '/admin/v1/apps', { id: 'bench', name: 'Bench', platforms: ['android'] });
  const clientKey = app.clientKey;
  const form = new FormData();
  form.append('module', 'home');
  form.append('version', '2.0.0');
  form.append('kind', 'h5');
  form.append('file', new Blob([buildZip([{ path: 'home/index.html', data: '<h1>home 2.0.0</h1>' }])], { type: 'application/zip' }), 'home.zip');
  await admin(token, 'POST', '/admin/v1/apps/bench/packages', form);
  const release = await admin(token, 'POST', '/admin/v1/apps/bench/releases', { module: 'home', version: '2.0.0', whitelist: ['bench-device-0'] });
  log(`release ${release.id} (home 2.0.0, stage ${release.stage}); devices on 1.0.0 are the baseline`);

  const { rates, latencies, batches } = await sendRounds(clientKey);
  const ingest = {
    eventsPerSecond: median(rates),
    rounds: rates.map((r) => Math.round(r)),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    requests: latencies.length,
    batches,
  };
  log(`ingest: median ${fmt(ingest.eventsPerSecond)} events/s, ack p50 ${fmt(ingest.p50Ms, 2)} ms, p99 ${fmt(ingest.p99Ms, 2)} ms`);

  let query;
  if (FILL > 0) {
    const now = Date.now();
    const sent = batches * BATCH;
    const toFill = Math.max(0, FILL - sent);
    log(`filling ${fmt(toFill)} more raw events through the events store (SQL of the server)…`);
    const filled = await fill(dataDir, toFill, release.id, now);
    log(`fill: ${fmt(toFill)} events in ${fmt(filled.seconds, 1)} s (${fmt(toFill / filled.seconds)} events/s); ${fmt(filled.raw)} raw events stored`);
    const from = new Date(now - 24 * 3_600_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const url = `/admin/v1/apps/bench/health?release=${release.id}&from=${from}&to=${to}`;
    const http = [];
    let last;
    for (let r = 0; r < REPEATS; r++) {
      const s = performance.now();
      last = await admin(token, 'GET', url);
      http.push(performance.now() - s);
    }
    const inproc = [];
    for (let r = 0; r < REPEATS; r++) {
      const s = performance.now();
      const q = { appId: 'bench', module: 'home', moduleVersion: '2.0.0', releaseId: release.id, from: now - 24 * 3_600_000, to: now + 60_000 };
      await Promise.all([filled.store.rollups(q), filled.store.distinctDevices(q), filled.store.topCrashGroups(q, 10)]);
      inproc.push(performance.now() - s);
    }
    await filled.sql.close();
    query = {
      rawEvents: filled.raw,
      fillSeconds: filled.seconds,
      httpMedianMs: median(http),
      storeMedianMs: median(inproc),
      sessions: last.sessions,
      crashRate: last.crashRate,
      distinctDevices: last.distinctDevices,
      byDeviceModel: last.byDeviceModel.length,
      topCrashGroups: last.topCrashGroups.length,
    };
    log(
      `health query (release, 24 h, ${fmt(filled.raw)} raw events): HTTP median ${fmt(query.httpMedianMs, 2)} ms, store median ${fmt(query.storeMedianMs, 2)} ms ` +
        `(${fmt(last.sessions)} sessions, ${fmt(last.distinctDevices)} devices, crash rate ${last.crashRate})`,
    );
  }

  const goals = {
    eventsPerSecond: ingest.eventsPerSecond >= GOALS.eventsPerSecond,
    p99: ingest.p99Ms < GOALS.p99Ms,
    query: query === undefined ? null : query.httpMedianMs < GOALS.queryMs,
  };
  process.stdout.write(
    [
      '',
      '── ingest benchmark ─────────────────────────────────────────────',
      `  ingestion       ${fmt(ingest.eventsPerSecond)} events/s (median of ${ROUNDS} × ${SECONDS} s, ${SENDERS} senders, ${BATCH}/batch)   goal ≥ ${fmt(GOALS.eventsPerSecond)}  ${goals.eventsPerSecond ? 'met' : 'MISSED'}`,
      `  ack latency     p50 ${fmt(ingest.p50Ms, 2)} ms   p99 ${fmt(ingest.p99Ms, 2)} ms   goal p99 < ${GOALS.p99Ms} ms  ${goals.p99 ? 'met' : 'MISSED'}`,
      query === undefined
        ? '  health query    (skipped: BENCH_FILL=0)'
        : `  health query    ${fmt(query.httpMedianMs, 2)} ms over HTTP (store ${fmt(query.storeMedianMs, 2)} ms), median of ${REPEATS}, ${fmt(query.rawEvents)} raw events   goal < ${GOALS.queryMs} ms  ${goals.query ? 'met' : 'MISSED'}`,
      '',
    ].join('\n'),
  );
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: 'ingest', node: process.version, cpus: os.cpus().length, ingest, query: query ?? null, goals })}\n`);
  if (STRICT && Object.values(goals).some((g) => g === false)) exitCode = 1;
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  if (server) process.stderr.write(`--- server output (tail) ---\n${server.output().slice(-3000)}\n`);
  exitCode = 1;
} finally {
  await stopServer();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
