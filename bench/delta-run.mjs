import { createHash } from 'node:crypto';
// Halftone's delta engine as a standalone process, so `npm run bench:delta` can time it under
// `/usr/bin/time -v` exactly like bsdiff and zstd (CPU = user+sys, peak RSS). Needs `tsc -b`.
//
//   node bench/delta-run.mjs diff  OLD NEW PATCH      # packages: .zip or directory
//   node bench/delta-run.mjs apply OLD PATCH OUTDIR   # writes the new package's files into OUTDIR
//   node bench/delta-run.mjs diff-buffer  OLDFILE NEWFILE PATCH
//   node bench/delta-run.mjs apply-buffer OLDFILE PATCH OUTFILE
//
// Prints one JSON line with the in-process phases in ms (read, engine, write) and the sizes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const core = await import(`${ROOT}packages/core/dist/index.js`);
const { readPackage, writePackageDirectory } = await import(`${ROOT}packages/cli/dist/package-files.js`);

const [mode, a, b, c] = process.argv.slice(2);
if (c === undefined) {
  process.stderr.write('usage: delta-run.mjs diff|apply|diff-buffer|apply-buffer A B C\n');
  process.exit(2);
}
// As the server and the CLI do on Node: native SHA-256 (the engine's pure-JS default is for Hermes).
const nodeSha256 = (d) => createHash('sha256').update(d).digest('hex');
const ms = (t) => Math.round((performance.now() - t) * 10) / 10;
const out = {};
let t = performance.now();
try {
  if (mode === 'diff') {
    const [oldPkg, newPkg] = [await readPackage(a, 'OLD'), await readPackage(b, 'NEW')];
    out.readMs = ms(t);
    t = performance.now();
    const patch = core.createDelta(oldPkg.files, newPkg.files, { sha256: nodeSha256 });
    out.engineMs = ms(t);
    t = performance.now();
    writeFileSync(c, patch);
    out.writeMs = ms(t);
    out.bytes = patch.byteLength;
  } else if (mode === 'apply') {
    const oldPkg = await readPackage(a, 'OLD');
    const patch = readFileSync(b);
    out.readMs = ms(t);
    t = performance.now();
    mkdirSync(c, { recursive: true });
    // Streams: each file is written as the engine yields it; engine and write time together.
    const written = await writePackageDirectory(core.applyDeltaFiles(oldPkg.files, patch, { sha256: nodeSha256 }), c);
    out.engineMs = ms(t);
    out.files = written.files;
    out.bytes = written.size;
  } else if (mode === 'diff-buffer') {
    const [oldData, newData] = [readFileSync(a), readFileSync(b)];
    out.readMs = ms(t);
    t = performance.now();
    const patch = core.createBufferDelta(oldData, newData, { sha256: nodeSha256 });
    out.engineMs = ms(t);
    writeFileSync(c, patch);
    out.bytes = patch.byteLength;
  } else if (mode === 'apply-buffer') {
    const [oldData, patch] = [readFileSync(a), readFileSync(b)];
    out.readMs = ms(t);
    t = performance.now();
    const data = core.applyBufferDelta(oldData, patch, { sha256: nodeSha256 });
    out.engineMs = ms(t);
    writeFileSync(c, data);
    out.bytes = data.byteLength;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (err) {
  process.stderr.write(`${err?.code ? `${err.code}: ` : ''}${err?.stack ?? err}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
