// The corpus of `npm run bench:delta` (bench/DELTA.md): real npm release pairs fetched with
// `npm pack`, unpacked, and packaged exactly as the reference note's appendix does it
// (/work/shared/reference/delta.md): an H5-style zip of the sorted file list (`zip -q -X -@`,
// default deflate level) and an uncompressed sorted tar (`tar --owner=0 --group=0 --mtime=@0`).
// Everything lives in a cache directory under the OS temp dir, never in the repository.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './delta-tools.mjs';

/** Where the corpus is cached between runs (BENCH_CORPUS overrides). */
export const CORPUS_DIR = process.env.BENCH_CORPUS
  ? path.resolve(process.env.BENCH_CORPUS)
  : path.join(os.tmpdir(), 'halftone-delta-corpus');

/**
 * The package pairs, in the reference's order. `hdpDir` is HDiffPatch's directory-mode patch
 * (`hdiffz -m-6 -SD -c-zstd-21-24 oldDir newDir`) in bytes, reference §3.1; `refZip` the new
 * zip's size in the reference (§2), to check that the corpus is the same; `refPerFilePct` the
 * reference's per-file bsdiff (Ctrip-style) patch, % of the new zip (§3.1).
 */
export const PAIRS = [
  { key: 'lodash', name: 'lodash', from: '4.17.20', to: '4.17.21', hdpDir: 16_938, refZip: 576_377, refPerFilePct: 3.11 },
  { key: 'babel', name: '@babel/core', from: '7.23.9', to: '7.24.0', hdpDir: 3_015, refZip: 243_730, refPerFilePct: 2.94 },
  { key: 'vue', name: 'vue', from: '3.4.21', to: '3.4.27', hdpDir: 22_590, refZip: 581_861, refPerFilePct: 5.66 },
  { key: 'react-dom', name: 'react-dom', from: '18.2.0', to: '18.3.1', hdpDir: 16_269, refZip: 1_121_255, refPerFilePct: 2.19 },
  { key: 'three', name: 'three', from: '0.160.0', to: '0.161.0', hdpDir: 45_229, refZip: 9_351_346, refPerFilePct: 1.08 },
  { key: 'echarts', name: 'echarts', from: '5.5.0', to: '5.5.1', hdpDir: 45_765, refZip: 11_276_174, refPerFilePct: 0.75 },
];

/**
 * Single-file bundle pairs (reference §3.5): a file of a pair's old and new package. `ref` holds
 * the reference's bytes: the new file under gzip -9, bsdiff, zstd -19 --patch-from and
 * hdiffz -SD zstd patches.
 */
export const BUNDLES = [
  { key: 'react-dom.min', pair: 'react-dom', file: 'umd/react-dom.production.min.js', ref: { gz: 42_872, bsdiff: 3_135, zstd: 3_130, hdiffz: 3_041 } },
  { key: 'vue.global.prod', pair: 'vue', file: 'dist/vue.global.prod.js', ref: { gz: 53_570, bsdiff: 6_310, zstd: 5_317, hdiffz: 6_210 } },
  { key: 'three.module.min', pair: 'three', file: 'build/three.module.min.js', ref: { gz: 167_309, bsdiff: 12_795, zstd: 11_668, hdiffz: 12_716 } },
  { key: 'echarts.min', pair: 'echarts', file: 'dist/echarts.min.js', ref: { gz: 333_520, bsdiff: 10_491, zstd: 9_436, hdiffz: 11_144 } },
  { key: 'echarts.js', pair: 'echarts', file: 'dist/echarts.js', ref: { gz: 720_215, bsdiff: 2_386, zstd: 1_564, hdiffz: 1_849 } },
];

/** The directory-safe id of a release: `@babel/core@7.24.0` → `babel-core-7.24.0` (npm pack's name). */
export const releaseId = (name, version) => `${name.replace(/^@/, '').replace('/', '-')}-${version}`;

/** Paths of one release in the corpus. */
export function releasePaths(name, version) {
  const id = releaseId(name, version);
  return {
    id,
    tgz: path.join(CORPUS_DIR, 'tgz', `${id}.tgz`),
    src: path.join(CORPUS_DIR, 'src', id),
    list: path.join(CORPUS_DIR, 'list', `${id}.list`),
    zip: path.join(CORPUS_DIR, 'pkg', `${id}.zip`),
    tar: path.join(CORPUS_DIR, 'pkg', `${id}.tar`),
    done: path.join(CORPUS_DIR, 'pkg', `${id}.done`),
  };
}

/**
 * Fetches and packages one release unless the cache already has it (a `.done` marker is written
 * last, so an interrupted build is redone). Returns its paths.
 */
export function ensureRelease(name, version, tools, log) {
  const p = releasePaths(name, version);
  if (existsSync(p.done)) return p;
  for (const dir of ['tgz', 'src', 'list', 'pkg']) mkdirSync(path.join(CORPUS_DIR, dir), { recursive: true });
  if (!existsSync(p.tgz)) {
    log(`npm pack ${name}@${version}`);
    const tmp = path.join(CORPUS_DIR, 'tgz', `.${p.id}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    run('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', tmp], { cwd: tmp });
    const packed = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    if (packed.length !== 1) throw new Error(`npm pack ${name}@${version} gave ${packed.join(', ') || 'nothing'}`);
    renameSync(path.join(tmp, packed[0]), p.tgz);
    rmSync(tmp, { recursive: true, force: true });
  }
  rmSync(p.src, { recursive: true, force: true });
  mkdirSync(p.src, { recursive: true });
  run(tools.tar, ['-xzf', p.tgz, '-C', p.src, '--strip-components=1', '--no-same-owner']);
  // find . -type f | LC_ALL=C sort  (byte order, as the reference)
  const files = listFiles(p.src).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  writeFileSync(p.list, files.map((f) => `./${f}\n`).join(''));
  rmSync(p.zip, { force: true });
  rmSync(p.tar, { force: true });
  run(tools.zip, ['-q', '-X', '-@', p.zip], { cwd: p.src, input: readFileSync(p.list), stdio: ['pipe', 'pipe', 'pipe'] });
  run(tools.tar, ['-cf', p.tar, '--owner=0', '--group=0', '--mtime=@0', '-T', p.list], { cwd: p.src });
  writeFileSync(p.done, `${new Date().toISOString()}\n`);
  return p;
}

/** Regular files below `root`, `/`-separated, relative. */
function listFiles(root, rel = '') {
  const out = [];
  for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const p = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(root, p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** The files of a release as the new package holds them: path → { size, sha256 }. */
export function releaseManifest(p) {
  const manifest = new Map();
  for (const line of readFileSync(p.list, 'utf8').split('\n')) {
    if (line === '') continue;
    const rel = line.replace(/^\.\//, '');
    const data = readFileSync(path.join(p.src, rel));
    manifest.set(rel, { size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  return manifest;
}

export const fileSize = (file) => statSync(file).size;
