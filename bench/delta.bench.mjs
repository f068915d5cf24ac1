// `npm run bench:delta` — Halftone's delta engine side by side with Debian's bsdiff and
// `zstd -19 --patch-from` on real npm release pairs, plus single-file bundles and the in-process
// JS apply time. What it measures and how to read it: bench/DELTA.md. Anchors:
// /work/shared/reference/delta.md (§3.1, §3.5, §5).
//
// Knobs (environment):
//   BENCH_PAIRS=lodash,vue   only these pairs (keys: lodash babel vue react-dom three echarts);
//                            bundles follow their package (react-dom, vue, three, echarts)
//   BENCH_PERFILE=0          skip the per-file bsdiff (Ctrip-style) row
//   BENCH_BUNDLES=0          skip the single-file bundle table
//   BENCH_CORPUS=DIR         corpus cache (default: $TMPDIR/halftone-delta-corpus)
//   BENCH_KEEP=1             keep the work directory (patches, applied outputs)
//   BENCH_STRICT=1           exit 1 when a goal is missed (round-trip failures always exit 1)
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import { BUNDLES, CORPUS_DIR, PAIRS, ensureRelease, fileSize, releaseManifest } from './delta-corpus.mjs';
import { ensureTools, run, timed } from './delta-tools.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DELTA_RUN = path.join(ROOT, 'bench', 'delta-run.mjs');
const GOALS = {
  geomeanPct: 1.2, // package patch ≤ 1.20% of the new zip, geomean of the 6 pairs
  perPairVsHdpDir: 1.15, // ≤ 1.15× HDiffPatch directory mode on every pair
  bundleGeomeanPct: 3.6, // bundle patch ≤ 3.6% of the gzipped new file, geomean
  applyMsPer50MB: 300, // JS apply, in process, median of 5, per 50 MB of new package
  bundleApplyMs: 10, // JS apply of a ~1 MB bundle
  echartsDiffCpuS: 3, // reference §5: diff CPU of the 50 MB package, typical
  echartsDiffRssMiB: 160, // reference §5: diff peak memory, typical
};
const STRICT = process.env.BENCH_STRICT === '1';
const PERFILE = process.env.BENCH_PERFILE !== '0';
const WITH_BUNDLES = process.env.BENCH_BUNDLES !== '0';
const APPLY_RUNS = 5;

const t0 = performance.now();
const log = (line) => process.stdout.write(`[delta ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
const say = (text = '') => process.stdout.write(`${text}\n`);
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fix = (n, d) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '-');
const pct = (n) => (typeof n === 'number' && Number.isFinite(n) ? `${n.toFixed(2)}%` : '-');
const times = (n) => (typeof n === 'number' && Number.isFinite(n) ? `${n.toFixed(2)}×` : '-');
const geomean = (xs) => (xs.length === 0 || xs.some((x) => !(x > 0)) ? NaN : Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const sha256File = (file) => sha256(readFileSync(file));

/** Plain-text table: first column left-aligned, the rest right-aligned unless `align` says ('l'/'r' per column). */
function table(headers, rows, align = '') {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const left = (i) => (align[i] ?? (i === 0 ? 'l' : 'r')) === 'l';
  const line = (cells) => cells.map((c, i) => (left(i) ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- setup

const requested = (process.env.BENCH_PAIRS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const unknown = requested.filter((k) => !PAIRS.some((p) => p.key === k));
if (unknown.length > 0) {
  process.stderr.write(`BENCH_PAIRS: unknown pair(s) ${unknown.join(', ')}; known: ${PAIRS.map((p) => p.key).join(', ')}\n`);
  process.exit(2);
}
const pairs = requested.length === 0 ? PAIRS : PAIRS.filter((p) => requested.includes(p.key));
const allPairs = pairs.length === PAIRS.length;
const bundles = WITH_BUNDLES ? BUNDLES.filter((b) => pairs.some((p) => p.key === b.pair)) : [];

log(`pairs: ${pairs.map((p) => p.key).join(', ')}${allPairs ? '' : ' (subset: geomeans are not comparable to the targets)'}`);
const loadStart = os.loadavg()[0];
log(`node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, load average ${loadStart.toFixed(2)}, corpus cache ${CORPUS_DIR}`);
if (loadStart > os.cpus().length / 2) {
  log(`WARNING: the machine is busy (load ${loadStart.toFixed(2)} on ${os.cpus().length} CPUs): sizes are exact, times and CPU seconds are inflated`);
}
const tools = ensureTools(log);
for (const needed of ['zip', 'tar']) {
  if (tools[needed] === null) {
    process.stderr.write(`cannot build the corpus without ${needed}\n`);
    process.exit(1);
  }
}
if (tools.time === null) log('without /usr/bin/time the CPU and RSS columns are empty; wall times are still measured');
const hasBsdiff = tools.bsdiff !== null && tools.bspatch !== null;
const hasZstd = tools.zstd !== null;

/** Halftone's engine from packages/core/dist (needs `tsc -b`), or null with the reason printed. */
async function loadEngine() {
  const deltaIndex = path.join(ROOT, 'packages', 'core', 'dist', 'delta', 'index.js');
  const cliFiles = path.join(ROOT, 'packages', 'cli', 'dist', 'package-files.js');
  if (!existsSync(deltaIndex)) {
    log(`HALFTONE ENGINE NOT FOUND: ${deltaIndex} does not exist (run tsc -b); its column is skipped`);
    return null;
  }
  if (!existsSync(cliFiles)) {
    log(`HALFTONE CLI NOT BUILT: ${cliFiles} does not exist (run tsc -b); the Halftone column is skipped`);
    return null;
  }
  const core = await import(pathToFileURL(path.join(ROOT, 'packages', 'core', 'dist', 'index.js')).href);
  const missing = ['createDelta', 'applyDelta', 'applyDeltaFiles', 'createBufferDelta', 'applyBufferDelta'].filter((n) => typeof core[n] !== 'function');
  if (missing.length > 0) {
    log(`HALFTONE ENGINE INCOMPLETE: @halftone/core does not export ${missing.join(', ')}; its column is skipped`);
    return null;
  }
  const files = await import(pathToFileURL(cliFiles).href);
  return { core, readPackage: files.readPackage };
}
const engine = await loadEngine();

const work = mkdtempSync(path.join(os.tmpdir(), 'halftone-delta-bench-'));
const failures = [];
const fail = (what, err) => {
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`.split('\n').slice(0, 6).join('\n');
  failures.push(message);
  log(`FAILED ${message}`);
  return message;
};

// ---------------------------------------------------------------- corpus

const releases = new Map();
for (const pair of pairs) {
  for (const version of [pair.from, pair.to]) {
    releases.set(`${pair.key}@${version}`, ensureRelease(pair.name, version, tools, log));
  }
}
log(`corpus ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

// ---------------------------------------------------------------- verification helpers

/** Files below `dir` → sha256, `/` paths. */
function hashTree(dir, rel = '', out = new Map()) {
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) hashTree(dir, p, out);
    else out.set(p, sha256File(path.join(dir, p)));
  }
  return out;
}

/** null when `dir` holds exactly the files of `manifest`, byte for byte; else what differs. */
function compareTree(dir, manifest) {
  const got = hashTree(dir);
  const problems = [];
  for (const [p, { sha256: want }] of manifest) {
    if (!got.has(p)) problems.push(`missing ${p}`);
    else if (got.get(p) !== want) problems.push(`differs ${p}`);
  }
  for (const p of got.keys()) if (!manifest.has(p)) problems.push(`extra ${p}`);
  return problems.length === 0 ? null : `${problems.length} file(s) wrong: ${problems.slice(0, 5).join(', ')}`;
}

const check = (ok, what) => {
  if (!ok) throw new Error(`round trip failed: ${what}`);
  return 'ok';
};

// ---------------------------------------------------------------- methods

/** Halftone: directory-aware diff of the zips (files inside), timed as a process. */
function halftonePair(pair, oldP, newP, manifest, dir) {
  const patch = path.join(dir, 'halftone.patch');
  const out = path.join(dir, 'halftone.out');
  const diff = timed(tools.time, process.execPath, [DELTA_RUN, 'diff', oldP.zip, newP.zip, patch]);
  const diffInfo = JSON.parse(diff.stdout);
  const apply = timed(tools.time, process.execPath, [DELTA_RUN, 'apply', oldP.zip, patch, out]);
  const applyInfo = JSON.parse(apply.stdout);
  const problem = compareTree(out, manifest);
  rmSync(out, { recursive: true, force: true });
  return {
    method: 'halftone (zip→zip, files inside)',
    id: 'halftone',
    bytes: fileSize(patch),
    diff,
    apply,
    engine: { diffMs: diffInfo.engineMs, readMs: diffInfo.readMs, applyMs: applyInfo.engineMs, applyReadMs: applyInfo.readMs },
    roundTrip: check(problem === null, `halftone ${pair.key}: ${problem}`),
    patchPath: patch,
  };
}

function bsdiffTar(pair, oldP, newP, dir) {
  const patch = path.join(dir, 'tar.bsdiff');
  const out = path.join(dir, 'bsdiff.out.tar');
  const diff = timed(tools.time, tools.bsdiff, [oldP.tar, newP.tar, patch]);
  const apply = timed(tools.time, tools.bspatch, [oldP.tar, out, patch]);
  const ok = sha256File(out) === sha256File(newP.tar);
  rmSync(out, { force: true });
  return { method: 'bsdiff (tar)', id: 'bsdiff', bytes: fileSize(patch), diff, apply, roundTrip: check(ok, `bspatch ${pair.key}`) };
}

function zstdTar(pair, oldP, newP, dir) {
  const patch = path.join(dir, 'tar.zst-patch');
  const out = path.join(dir, 'zstd.out.tar');
  const diff = timed(tools.time, tools.zstd, ['-q', '-f', '-19', `--patch-from=${oldP.tar}`, newP.tar, '-o', patch]);
  const apply = timed(tools.time, tools.zstd, ['-q', '-f', '-d', '--memory=2047MB', `--patch-from=${oldP.tar}`, patch, '-o', out]);
  const ok = sha256File(out) === sha256File(newP.tar);
  rmSync(out, { force: true });
  return { method: 'zstd -19 --patch-from (tar)', id: 'zstd', bytes: fileSize(patch), diff, apply, roundTrip: check(ok, `zstd -d ${pair.key}`) };
}

/**
 * Per-file bsdiff, the reference's Ctrip-style harness: an unchanged path costs nothing (kept
 * from the old package); a changed path is bsdiffed against the old same-path file (whole file
 * when the patch is not smaller than its zlib-9 size); an added path ships whole; a removed path
 * is a `delete` entry; all of it plus `manifest.json` (path, op, sha256 of the result) zipped
 * with `zip -9`. Diff cost = sum over the bsdiff processes, as the reference; apply wall = sum
 * over the bspatch processes.
 */
function perFileBsdiff(pair, oldP, newP, oldManifest, manifest, dir) {
  const root = path.join(dir, 'perfile');
  mkdirSync(root, { recursive: true });
  const entries = [];
  let cpuS = 0;
  let wallS = 0;
  let rssMiB = 0;
  for (const [rel, { sha256: hash }] of manifest) {
    const old = oldManifest.get(rel);
    if (old !== undefined && old.sha256 === hash) continue;
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    if (old !== undefined) {
      const patch = path.join(root, `${rel}.bsdiff`);
      const r = timed(tools.time, tools.bsdiff, [path.join(oldP.src, rel), path.join(newP.src, rel), patch]);
      cpuS += r.cpuS ?? 0;
      wallS += r.wallS;
      rssMiB = Math.max(rssMiB, r.rssMiB ?? 0);
      const whole = deflateSync(readFileSync(path.join(newP.src, rel)), { level: 9 }).length;
      if (fileSize(patch) < whole) {
        entries.push({ path: rel, op: 'bsdiff', sha256: hash });
        continue;
      }
      rmSync(patch);
    }
    copyFileSync(path.join(newP.src, rel), path.join(root, rel));
    entries.push({ path: rel, op: old === undefined ? 'add' : 'whole', sha256: hash });
  }
  for (const rel of oldManifest.keys()) if (!manifest.has(rel)) entries.push({ path: rel, op: 'delete' });
  writeFileSync(path.join(root, 'manifest.json'), JSON.stringify(entries));
  const zip = path.join(dir, 'perfile.zip');
  run(tools.zip, ['-q', '-X', '-D', '-9', '-r', zip, '.'], { cwd: root });
  // Apply: unzip, then rebuild the new package from the old one.
  const unz = path.join(dir, 'perfile.unz');
  const out = path.join(dir, 'perfile.out');
  mkdirSync(unz, { recursive: true });
  run('unzip', ['-q', zip, '-d', unz]);
  let applyWallS = 0;
  let applyRssMiB = 0;
  const ops = JSON.parse(readFileSync(path.join(unz, 'manifest.json'), 'utf8'));
  const touched = new Set(ops.map((e) => e.path));
  for (const rel of oldManifest.keys()) {
    if (touched.has(rel)) continue; // unchanged: kept from the old package
    mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    copyFileSync(path.join(oldP.src, rel), path.join(out, rel));
  }
  for (const e of ops) {
    if (e.op === 'delete') continue;
    const target = path.join(out, e.path);
    mkdirSync(path.dirname(target), { recursive: true });
    if (e.op === 'bsdiff') {
      const r = timed(tools.time, tools.bspatch, [path.join(oldP.src, e.path), target, path.join(unz, `${e.path}.bsdiff`)]);
      applyWallS += r.wallS;
      applyRssMiB = Math.max(applyRssMiB, r.rssMiB ?? 0);
    } else copyFileSync(path.join(unz, e.path), target);
  }
  const problem = compareTree(out, manifest);
  for (const d of [root, unz, out]) rmSync(d, { recursive: true, force: true });
  const counts = entries.reduce((m, e) => ({ ...m, [e.op]: (m[e.op] ?? 0) + 1 }), {});
  return {
    method: 'per-file bsdiff (Ctrip, zip -9)',
    id: 'perfile',
    bytes: fileSize(zip),
    diff: { cpuS: tools.time === null ? null : cpuS, rssMiB: tools.time === null ? null : rssMiB, wallS },
    apply: { wallS: applyWallS, rssMiB: applyRssMiB },
    counts,
    roundTrip: check(problem === null, `per-file bsdiff ${pair.key}: ${problem}`),
  };
}

// ---------------------------------------------------------------- package pairs

const pairResults = [];
for (const pair of pairs) {
  const oldP = releases.get(`${pair.key}@${pair.from}`);
  const newP = releases.get(`${pair.key}@${pair.to}`);
  const dir = path.join(work, pair.key);
  mkdirSync(dir, { recursive: true });
  const manifest = releaseManifest(newP);
  const oldManifest = releaseManifest(oldP);
  let changed = 0;
  let added = 0;
  for (const [p, f] of manifest) {
    const o = oldManifest.get(p);
    if (o === undefined) added++;
    else if (o.sha256 !== f.sha256) changed++;
  }
  const removed = [...oldManifest.keys()].filter((p) => !manifest.has(p)).length;
  const newZip = fileSize(newP.zip);
  const info = {
    key: pair.key,
    title: `${pair.name} ${pair.from}→${pair.to}`,
    filesOld: oldManifest.size,
    filesNew: manifest.size,
    changed,
    added,
    removed,
    newRaw: [...manifest.values()].reduce((s, f) => s + f.size, 0),
    newZip,
    refZip: pair.refZip,
    newTar: fileSize(newP.tar),
    oldTar: fileSize(oldP.tar),
    hdpDir: pair.hdpDir,
    rows: [],
  };
  log(`${info.title}: measuring (${info.filesOld}→${info.filesNew} files, new zip ${int(newZip)} B)`);
  const attempt = (label, fn) => {
    try {
      const row = fn();
      info.rows.push(row);
      log(`  ${label}: ${int(row.bytes)} B, diff ${fix(row.diff.cpuS ?? row.diff.wallS, 2)} s, apply ${fix(row.apply.wallS, 2)} s, round trip ${row.roundTrip}`);
    } catch (err) {
      info.rows.push({ method: label, id: label, error: fail(`${pair.key} ${label}`, err) });
    }
  };
  if (engine !== null) attempt('halftone', () => halftonePair(pair, oldP, newP, manifest, dir));
  if (hasBsdiff) attempt('bsdiff', () => bsdiffTar(pair, oldP, newP, dir));
  if (hasZstd) attempt('zstd', () => zstdTar(pair, oldP, newP, dir));
  if (hasBsdiff && PERFILE) attempt('perfile', () => perFileBsdiff(pair, oldP, newP, oldManifest, manifest, dir));
  pairResults.push(info);
  printPair(info);
}

function rowOf(info, id) {
  const r = info.rows.find((x) => x.id === id);
  return r !== undefined && r.error === undefined ? r : undefined;
}

function printPair(info) {
  const bsdiff = rowOf(info, 'bsdiff');
  const corpusNote = info.newZip === info.refZip ? 'same as the reference' : `reference ${int(info.refZip)} B — corpus differs!`;
  say();
  say(`== ${info.title}: ${info.filesOld}→${info.filesNew} files (${info.changed} changed, ${info.added} added, ${info.removed} removed), ` +
    `new raw ${int(info.newRaw)} B, new tar ${int(info.newTar)} B, new zip ${int(info.newZip)} B (${corpusNote})`);
  const rows = info.rows.map((r) =>
    r.error !== undefined
      ? [r.method, 'FAILED', '', '', '', '', '', '', r.error.slice(0, 60)]
      : [
          r.method,
          int(r.bytes),
          pct((100 * r.bytes) / info.newZip),
          fix(r.diff.cpuS, 2),
          fix(r.diff.rssMiB, 0),
          fix(r.apply.wallS, 3),
          times(r.bytes / info.hdpDir),
          bsdiff === undefined ? '-' : times(r.bytes / bsdiff.bytes),
          r.roundTrip,
        ],
  );
  rows.push(['HDiffPatch dir mode (reference §3.1)', int(info.hdpDir), pct((100 * info.hdpDir) / info.newZip), '', '', '', times(1), bsdiff === undefined ? '-' : times(info.hdpDir / bsdiff.bytes), '']);
  say(table(['method', 'patch B', '% new zip', 'diff CPU s', 'diff RSS MiB', 'apply wall s', '× HDP dir', '× bsdiff', 'round trip'], rows));
  const h = rowOf(info, 'halftone');
  if (h !== undefined) {
    say(`   halftone in-process phases: diff = read zips ${fix(h.engine.readMs, 0)} ms + createDelta ${fix(h.engine.diffMs, 0)} ms; ` +
      `apply = read old zip + patch ${fix(h.engine.applyReadMs, 0)} ms + applyDeltaFiles with writing ${info.filesNew} files ${fix(h.engine.applyMs, 0)} ms`);
  }
  const pf = rowOf(info, 'perfile');
  if (pf !== undefined) say(`   per-file entries: ${Object.entries(pf.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

// ---------------------------------------------------------------- bundles

const bundleResults = [];
for (const b of bundles) {
  const pair = PAIRS.find((p) => p.key === b.pair);
  const oldFile = path.join(releases.get(`${pair.key}@${pair.from}`).src, b.file);
  const newFile = path.join(releases.get(`${pair.key}@${pair.to}`).src, b.file);
  const dir = path.join(work, `bundle-${b.key}`);
  mkdirSync(dir, { recursive: true });
  const newData = readFileSync(newFile);
  const want = sha256(newData);
  const gz = tools.gzip === null ? null : run(tools.gzip, ['-9', '-n', '-c', newFile]).length;
  const res = { key: b.key, file: `${pair.name}/${b.file}`, size: newData.length, gz: gz ?? b.ref.gz, gzMeasured: gz !== null, ref: b.ref, rows: {} };
  log(`bundle ${b.key}: ${int(newData.length)} B, gzip -9 ${int(res.gz)} B`);
  const attempt = (id, fn) => {
    try {
      res.rows[id] = fn();
    } catch (err) {
      res.rows[id] = { error: fail(`bundle ${b.key} ${id}`, err) };
    }
  };
  const out = path.join(dir, 'out');
  if (engine !== null) {
    attempt('halftone', () => {
      const patch = path.join(dir, 'halftone.patch');
      const diff = timed(tools.time, process.execPath, [DELTA_RUN, 'diff-buffer', oldFile, newFile, patch]);
      const apply = timed(tools.time, process.execPath, [DELTA_RUN, 'apply-buffer', oldFile, patch, out]);
      return { bytes: fileSize(patch), diff, apply, engineMs: JSON.parse(diff.stdout).engineMs, patchPath: patch, oldFile, roundTrip: check(sha256File(out) === want, `halftone ${b.key}`) };
    });
  }
  if (hasBsdiff) {
    attempt('bsdiff', () => {
      const patch = path.join(dir, 'bsdiff');
      const diff = timed(tools.time, tools.bsdiff, [oldFile, newFile, patch]);
      const apply = timed(tools.time, tools.bspatch, [oldFile, out, patch]);
      return { bytes: fileSize(patch), diff, apply, roundTrip: check(sha256File(out) === want, `bspatch ${b.key}`) };
    });
  }
  if (hasZstd) {
    attempt('zstd', () => {
      const patch = path.join(dir, 'zst');
      const diff = timed(tools.time, tools.zstd, ['-q', '-f', '-19', `--patch-from=${oldFile}`, newFile, '-o', patch]);
      const apply = timed(tools.time, tools.zstd, ['-q', '-f', '-d', '--memory=2047MB', `--patch-from=${oldFile}`, patch, '-o', out]);
      return { bytes: fileSize(patch), diff, apply, roundTrip: check(sha256File(out) === want, `zstd -d ${b.key}`) };
    });
  }
  bundleResults.push(res);
}

// ---------------------------------------------------------------- JS apply, in process

// On Node the server, the CLI and an SDK pass native SHA-256 (`sha256` above); the pure-JS
// default is for Hermes.
const jsApply = {};
if (engine !== null) {
  const big = [...pairResults].filter((i) => rowOf(i, 'halftone') !== undefined).sort((a, b) => b.newRaw - a.newRaw)[0];
  if (big !== undefined) {
    try {
      const pair = PAIRS.find((p) => p.key === big.key);
      const oldPkg = await engine.readPackage(releases.get(`${pair.key}@${pair.from}`).zip, 'OLD');
      const patch = readFileSync(rowOf(big, 'halftone').patchPath);
      const samples = [];
      let files;
      for (let i = 0; i <= APPLY_RUNS; i++) {
        const t = performance.now();
        files = engine.core.applyDelta(oldPkg.files, patch, { sha256 });
        if (i > 0) samples.push(performance.now() - t); // the first run is the warm-up
      }
      // The same with the engine's pure-JS SHA-256 (what Hermes has), for the record.
      const pureSamples = [];
      for (let i = 0; i <= 2; i++) {
        const t = performance.now();
        engine.core.applyDelta(oldPkg.files, patch);
        if (i > 0) pureSamples.push(performance.now() - t);
      }
      const got = new Map(files.map((f) => [f.path, sha256(f.data)]));
      const manifest = releaseManifest(releases.get(`${pair.key}@${pair.to}`));
      const ok = got.size === manifest.size && [...manifest].every(([p, f]) => got.get(p) === f.sha256);
      const ms = median(samples);
      jsApply.package = { pair: big.key, newRaw: big.newRaw, ms, min: Math.min(...samples), msPer50MB: (ms * 50e6) / big.newRaw, samples, pureJsMs: median(pureSamples), roundTrip: check(ok, `applyDelta in process ${big.key}`) };
    } catch (err) {
      jsApply.package = { error: fail('JS apply (package)', err) };
    }
  }
  const oneMb = bundleResults.filter((r) => r.rows.halftone?.patchPath !== undefined).sort((a, b) => Math.abs(a.size - 1e6) - Math.abs(b.size - 1e6))[0];
  if (oneMb !== undefined) {
    try {
      const oldData = readFileSync(oneMb.rows.halftone.oldFile);
      const patch = readFileSync(oneMb.rows.halftone.patchPath);
      const samples = [];
      let data;
      for (let i = 0; i <= APPLY_RUNS; i++) {
        const t = performance.now();
        data = engine.core.applyBufferDelta(oldData, patch, { sha256 });
        if (i > 0) samples.push(performance.now() - t);
      }
      const pureSamples = [];
      for (let i = 0; i <= APPLY_RUNS; i++) {
        const t = performance.now();
        engine.core.applyBufferDelta(oldData, patch);
        if (i > 0) pureSamples.push(performance.now() - t);
      }
      const bundle = BUNDLES.find((b) => b.key === oneMb.key);
      const pair = PAIRS.find((p) => p.key === bundle.pair);
      const ok = sha256(data) === sha256File(path.join(releases.get(`${pair.key}@${pair.to}`).src, bundle.file));
      jsApply.bundle = { bundle: oneMb.key, size: oneMb.size, ms: median(samples), min: Math.min(...samples), samples, pureJsMs: median(pureSamples), roundTrip: check(ok, `applyBufferDelta in process ${oneMb.key}`) };
    } catch (err) {
      jsApply.bundle = { error: fail('JS apply (bundle)', err) };
    }
  }
}

// ---------------------------------------------------------------- summary

const METHODS = [
  ['halftone', 'halftone (zip→zip, files inside)'],
  ['bsdiff', 'bsdiff (tar)'],
  ['zstd', 'zstd -19 --patch-from (tar)'],
  ['perfile', 'per-file bsdiff (Ctrip, zip -9)'],
];
const pctOf = (info, id) => {
  const r = rowOf(info, id);
  return r === undefined ? NaN : (100 * r.bytes) / info.newZip;
};
say();
say(`== Package patch, % of the new zip (geomean over ${pairResults.length} pair(s)${allPairs ? '' : ' — a subset, not comparable to the targets'})`);
const geo = {};
const summaryRows = [];
for (const [id, label] of METHODS) {
  const values = pairResults.map((i) => pctOf(i, id));
  if (values.every((v) => Number.isNaN(v))) continue;
  geo[id] = geomean(values);
  summaryRows.push([label, ...values.map(pct), pct(geo[id])]);
}
const refPerFile = pairResults.map((i) => PAIRS.find((p) => p.key === i.key).refPerFilePct);
summaryRows.push(['per-file bsdiff (reference §3.1)', ...refPerFile.map(pct), pct(geomean(refPerFile))]);
const hdpValues = pairResults.map((i) => (100 * i.hdpDir) / i.newZip);
geo.hdpDir = geomean(hdpValues);
summaryRows.push(['HDiffPatch dir mode (reference)', ...hdpValues.map(pct), pct(geo.hdpDir)]);
const vsHdp = pairResults.map((i) => (rowOf(i, 'halftone')?.bytes ?? NaN) / i.hdpDir);
const vsBsdiff = pairResults.map((i) => (rowOf(i, 'halftone')?.bytes ?? NaN) / (rowOf(i, 'bsdiff')?.bytes ?? NaN));
const vsPerFile = pairResults.map((i) => (rowOf(i, 'halftone')?.bytes ?? NaN) / (rowOf(i, 'perfile')?.bytes ?? NaN));
if (engine !== null) {
  summaryRows.push(['halftone × HDP dir', ...vsHdp.map(times), times(geomean(vsHdp))]);
  summaryRows.push(['halftone × bsdiff (tar)', ...vsBsdiff.map(times), times(geomean(vsBsdiff))]);
  if (vsPerFile.some((x) => Number.isFinite(x))) summaryRows.push(['halftone × per-file bsdiff', ...vsPerFile.map(times), times(geomean(vsPerFile))]);
}
say(table(['method', ...pairResults.map((i) => i.key), 'geomean'], summaryRows));

let bundleGeo = {};
if (bundleResults.length > 0) {
  say();
  say(`== Single-file bundles: patch bytes (% of the new file under gzip -9${bundleResults.every((r) => r.gzMeasured) ? '' : '; reference gz sizes where gzip is missing'})`);
  const ids = ['halftone', 'bsdiff', 'zstd'].filter((id) => bundleResults.some((r) => r.rows[id] !== undefined));
  const cellOf = (r, id) => {
    const x = r.rows[id];
    if (x === undefined) return '-';
    if (x.error !== undefined) return 'FAILED';
    return `${int(x.bytes)} (${pct((100 * x.bytes) / r.gz)})`;
  };
  const rows = bundleResults.map((r) => [
    r.key,
    int(r.size),
    int(r.gz),
    ...ids.map((id) => cellOf(r, id)),
    `${int(r.ref.hdiffz)} (${pct((100 * r.ref.hdiffz) / r.gz)})`,
    r.rows.halftone?.bytes && r.rows.bsdiff?.bytes ? times(r.rows.halftone.bytes / r.rows.bsdiff.bytes) : '-',
    fix(r.rows.halftone?.diff?.cpuS, 2),
    fix(r.rows.halftone?.engineMs, 0),
    fix(r.rows.bsdiff?.diff?.cpuS, 2),
    fix(r.rows.zstd?.diff?.cpuS, 2),
    ids.every((id) => r.rows[id]?.roundTrip === 'ok') ? 'ok' : 'FAILED',
  ]);
  const g = (id) => geomean(bundleResults.map((r) => (r.rows[id]?.bytes ?? NaN) / r.gz) .map((x) => 100 * x));
  bundleGeo = Object.fromEntries(ids.map((id) => [id, g(id)]));
  bundleGeo.hdiffzRef = geomean(bundleResults.map((r) => (100 * r.ref.hdiffz) / r.gz));
  rows.push(['geomean', '', '', ...ids.map((id) => pct(bundleGeo[id])), pct(bundleGeo.hdiffzRef), times(geomean(bundleResults.map((r) => r.rows.halftone?.bytes / r.rows.bsdiff?.bytes))), '', '', '', '', '']);
  say(table(['bundle', 'new B', 'gzip -9 B', ...ids.map((id) => (id === 'zstd' ? 'zstd -19' : id)), 'hdiffz ref', 'H × bsdiff', 'H CPU s', 'H engine ms', 'bsdiff CPU s', 'zstd CPU s', 'round trip'], rows));
}

if (jsApply.package !== undefined || jsApply.bundle !== undefined) {
  say();
  say(`== JS apply in process (Node ${process.version}, median of ${APPLY_RUNS} after a warm-up)`);
  const p = jsApply.package;
  if (p?.error === undefined && p !== undefined) {
    say(`   package ${p.pair} (${int(p.newRaw)} B new): applyDelta median ${fix(p.ms, 1)} ms (min ${fix(p.min, 1)}) = ${fix(p.msPer50MB, 1)} ms per 50 MB with Node's SHA-256; ${fix(p.pureJsMs, 1)} ms with the pure-JS default (Hermes); round trip ${p.roundTrip}`);
  }
  const b = jsApply.bundle;
  if (b?.error === undefined && b !== undefined) {
    say(`   bundle ${b.bundle} (${int(b.size)} B): applyBufferDelta median ${fix(b.ms, 2)} ms (min ${fix(b.min, 2)}) with Node's SHA-256; ${fix(b.pureJsMs, 2)} ms pure-JS; round trip ${b.roundTrip}`);
  }
}

// Goals.
const goals = [];
const goal = (name, value, target, ok, note = '') => goals.push({ name, value, target, ok, note });
if (engine !== null && pairResults.length > 0) {
  goal('package geomean, % of new zip', pct(geo.halftone), `≤ ${GOALS.geomeanPct.toFixed(2)}%`, geo.halftone <= GOALS.geomeanPct, allPairs ? '' : 'subset of pairs');
  const worst = Math.max(...vsHdp);
  goal('every pair ≤ 1.15× HDiffPatch dir', `worst ${times(worst)} (${pairResults[vsHdp.indexOf(worst)]?.key})`, `≤ ${GOALS.perPairVsHdpDir}×`, worst <= GOALS.perPairVsHdpDir);
  if (vsPerFile.some((x) => Number.isFinite(x))) {
    const w = Math.max(...vsPerFile.filter(Number.isFinite));
    goal('every pair < per-file bsdiff', `worst ${times(w)}`, '< 1.00×', w < 1);
  }
  const ech = pairResults.find((i) => i.key === 'echarts');
  const eh = ech === undefined ? undefined : rowOf(ech, 'halftone');
  if (eh !== undefined && eh.diff.cpuS !== null) {
    goal('echarts diff CPU (process: read zips + diff)', `${fix(eh.diff.cpuS, 2)} s`, `≤ ${GOALS.echartsDiffCpuS} s`, eh.diff.cpuS <= GOALS.echartsDiffCpuS, `createDelta alone ${fix(eh.engine.diffMs / 1000, 2)} s wall`);
    goal('echarts diff peak RSS (node process)', `${fix(eh.diff.rssMiB, 0)} MiB`, `≤ ${GOALS.echartsDiffRssMiB} MiB (ref §5 typical)`, eh.diff.rssMiB <= GOALS.echartsDiffRssMiB, 'includes node + both packages in memory');
  }
}
if (bundleGeo.halftone !== undefined) {
  goal('bundle geomean, % of gzip', pct(bundleGeo.halftone), `≤ ${GOALS.bundleGeomeanPct}%`, bundleGeo.halftone <= GOALS.bundleGeomeanPct, bundleResults.length === BUNDLES.length ? '' : 'subset of bundles');
  const worse = bundleResults.filter((r) => r.rows.halftone?.bytes > r.rows.bsdiff?.bytes).map((r) => r.key);
  if (bundleResults.some((r) => r.rows.bsdiff?.bytes)) goal('no bundle worse than bsdiff', worse.length === 0 ? 'none worse' : worse.join(', '), 'none', worse.length === 0);
}
if (jsApply.package?.ms !== undefined) {
  goal(`JS apply ${jsApply.package.pair} per 50 MB`, `${fix(jsApply.package.msPer50MB, 1)} ms`, `≤ ${GOALS.applyMsPer50MB} ms`, jsApply.package.msPer50MB <= GOALS.applyMsPer50MB, jsApply.package.pair === 'echarts' ? `${fix(jsApply.package.ms, 1)} ms for ${int(jsApply.package.newRaw)} B` : 'not echarts: scaled');
}
if (jsApply.bundle?.ms !== undefined) {
  // The target is for a ~1 MB bundle; a much smaller one (a BENCH_PAIRS subset) says little.
  const sized = jsApply.bundle.size >= 5e5 && jsApply.bundle.size <= 2e6;
  goal(`JS apply ${jsApply.bundle.bundle} (${fix(jsApply.bundle.size / 1e6, 2)} MB)`, `${fix(jsApply.bundle.ms, 2)} ms`, `≤ ${GOALS.bundleApplyMs} ms`, sized ? jsApply.bundle.ms <= GOALS.bundleApplyMs : null, sized ? '' : 'not a ~1 MB bundle: not judged');
}
if (goals.length > 0) {
  say();
  say('== Goals');
  say(table(['goal', 'measured', 'target', 'result', 'note'], goals.map((g) => [g.name, g.value, g.target, g.ok === null ? 'n/a' : g.ok ? 'PASS' : 'MISS', g.note]), 'lllll'));
}

say();
const elapsed = (performance.now() - t0) / 1000;
const loadEnd = os.loadavg()[0];
log(`done in ${elapsed.toFixed(1)} s; load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end; ${failures.length === 0 ? 'every round trip verified' : `${failures.length} FAILURE(S)`}`);
const strip = (r) => r === undefined ? undefined : r.error !== undefined ? { error: r.error } : {
  bytes: r.bytes,
  diffCpuS: r.diff?.cpuS ?? null,
  diffRssMiB: r.diff?.rssMiB ?? null,
  diffWallS: r.diff?.wallS ?? null,
  applyWallS: r.apply?.wallS ?? null,
  applyRssMiB: r.apply?.rssMiB ?? null,
  ...(r.engine ? { engine: r.engine } : {}),
  ...(r.engineMs !== undefined ? { engineMs: r.engineMs } : {}),
  roundTrip: r.roundTrip,
};
const benchJson = {
  node: process.version,
  cpus: os.cpus().length,
  elapsedS: Math.round(elapsed * 10) / 10,
  loadAverage: [loadStart, loadEnd].map((x) => Math.round(x * 100) / 100),
  pairs: Object.fromEntries(pairResults.map((i) => [i.key, {
    newZip: i.newZip, newRaw: i.newRaw, newTar: i.newTar, files: [i.filesOld, i.filesNew], hdpDir: i.hdpDir,
    methods: Object.fromEntries(i.rows.map((r) => [r.id, strip(r)])),
  }])),
  geomeanPctOfZip: geo,
  bundles: Object.fromEntries(bundleResults.map((r) => [r.key, { size: r.size, gz: r.gz, methods: Object.fromEntries(Object.entries(r.rows).map(([k, v]) => [k, strip(v)])) }])),
  bundleGeomeanPctOfGz: bundleGeo,
  jsApply: Object.fromEntries(Object.entries(jsApply).map(([k, v]) => [k, v.error ? v : { ...v, samples: v.samples.map((s) => Math.round(s * 100) / 100) }])),
  goals: goals.map(({ name, value, target, ok }) => ({ name, value, target, ok })),
  failures,
};
say(`BENCH_JSON ${JSON.stringify(benchJson)}`);
if (process.env.BENCH_KEEP === '1') log(`work directory kept: ${work}`);
else rmSync(work, { recursive: true, force: true });
process.exitCode = failures.length > 0 || (STRICT && goals.some((g) => g.ok === false)) ? 1 : 0;
