/**
 * Round trips over real package pairs, skipped unless HALFTONE_DELTA_CORPUS names a directory
 * laid out as `<dir>/<pair>/old/…` and `<dir>/<pair>/new/…` (optionally `<dir>/<pair>/new.zip`,
 * the new package zipped, to report the patch as a share of it). To build one from npm:
 *
 *     mkdir -p $C/lodash && cd $C/lodash
 *     npm pack lodash@4.17.20 lodash@4.17.21
 *     mkdir old new && tar -xzf lodash-4.17.20.tgz -C old --strip-components=1 \
 *       && tar -xzf lodash-4.17.21.tgz -C new --strip-components=1
 *     (cd new && find . -type f | LC_ALL=C sort | zip -q -X -@ ../new.zip)
 *
 * Never commit such a corpus.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyDelta, createDelta, readDeltaInfo, type PackageFile } from './index.js';
import { expectSamePackage, nodeSha256 } from './delta.test-helpers.js';

const dir = process.env.HALFTONE_DELTA_CORPUS;

function readTree(root: string): PackageFile[] {
  const out: PackageFile[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ path: relative(root, p).split(sep).join('/'), data: new Uint8Array(readFileSync(p)) });
    }
  };
  walk(root);
  return out;
}

const pairs = dir ? readdirSync(dir).filter((p) => existsSync(join(dir, p, 'old')) && existsSync(join(dir, p, 'new'))) : [];

describe.skipIf(!dir)('delta on a real corpus (HALFTONE_DELTA_CORPUS)', () => {
  it.each(pairs)('%s round-trips', (pair) => {
    const oldFiles = readTree(join(dir!, pair, 'old'));
    const newFiles = readTree(join(dir!, pair, 'new'));
    const t0 = performance.now();
    const patch = createDelta(oldFiles, newFiles, { sha256: nodeSha256 });
    const t1 = performance.now();
    const out = applyDelta(oldFiles, patch, { sha256: nodeSha256 });
    const t2 = performance.now();
    expectSamePackage(out, newFiles);
    expect(readDeltaInfo(patch).fileCount).toBe(newFiles.length);
    const zip = join(dir!, pair, 'new.zip');
    const share = existsSync(zip) ? ` (${((patch.length / statSync(zip).size) * 100).toFixed(2)}% of new.zip)` : '';
    console.log(`${pair}: patch ${patch.length} B${share}, diff ${(t1 - t0).toFixed(0)} ms, apply ${(t2 - t1).toFixed(0)} ms`);
  }, 120_000);
});
