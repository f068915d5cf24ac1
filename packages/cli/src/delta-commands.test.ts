import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageContentHash } from '@halftone/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from './run.js';
import { testIo } from './stub-server.test-helpers.js';
import { zipDirectory } from './zip-directory.js';
import { readZipEntries } from './zip-reader.test-helpers.js';

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'halftone-delta-cli-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Runs the CLI in `cwd`, with a server URL nothing listens on: delta commands need none. */
async function cli(args: readonly string[]) {
  const io = testIo({ cwd, env: { HALFTONE_URL: 'http://127.0.0.1:9' } });
  const code = await run(args, io);
  return { code, stdout: io.stdout.text(), stderr: io.stderr.text() };
}

type Tree = Record<string, Buffer>;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const contentHashOf = (tree: Tree) =>
  packageContentHash(Object.entries(tree).map(([path, data]) => ({ path, sha256: sha256(data) })));

/** A small H5-like package and its next version: changed, added, removed and renamed files. */
function makeVersions(): { oldTree: Tree; newTree: Tree } {
  const lib = Buffer.from(
    Array.from({ length: 400 }, (_, i) => `export function f${i}(x) { return x * ${i} + 1; }\n`).join(''),
  );
  const logo = randomBytes(8_000);
  const oldTree: Tree = {
    'index.html': Buffer.from('<!doctype html><script src="js/app.js"></script>'),
    'js/app.js': Buffer.concat([lib, Buffer.from('console.log("v1");\n')]),
    'js/vendor/lib.js': lib,
    'css/site.css': Buffer.from('body { color: red; }\n'.repeat(50)),
    'img/logo.png': logo,
    'old-only.txt': Buffer.from('going away'),
  };
  const newTree: Tree = {
    'index.html': oldTree['index.html'] as Buffer,
    'js/app.js': Buffer.concat([lib, Buffer.from('console.log("v2, with a fix");\n')]),
    'js/vendor/lib-renamed.js': lib,
    'css/site.css': Buffer.from('body { color: blue; }\n'.repeat(50)),
    'img/logo.png': logo,
    'img/new.bin': randomBytes(3_000),
  };
  return { oldTree, newTree };
}

async function writeTree(dir: string, tree: Tree): Promise<void> {
  for (const [path, data] of Object.entries(tree)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data);
  }
}

async function readTree(dir: string, rel = ''): Promise<Tree> {
  const tree: Tree = {};
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) Object.assign(tree, await readTree(dir, path));
    else tree[path] = await readFile(join(dir, path));
  }
  return tree;
}

const sortedTree = (tree: Tree) =>
  Object.fromEntries(Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Old and new as directories `old/`, `new/` and as zips `old.zip`, `new.zip` in `cwd`. */
async function makePackages() {
  const { oldTree, newTree } = makeVersions();
  await writeTree(join(cwd, 'old'), oldTree);
  await writeTree(join(cwd, 'new'), newTree);
  await zipDirectory(join(cwd, 'old'), join(cwd, 'old.zip'));
  await zipDirectory(join(cwd, 'new'), join(cwd, 'new.zip'));
  return { oldTree, newTree };
}

const dirSize = (tree: Tree) => Object.values(tree).reduce((sum, data) => sum + data.length, 0);

describe('halftone delta diff + apply', () => {
  it('round-trips zip → directory, with the --json shapes', async () => {
    const { newTree } = await makePackages();
    const diff = await cli(['delta', 'diff', 'old.zip', 'new.zip', 'out/1-2.patch', '--json']);
    expect(diff.stderr).toMatch(/^HT_CLI_USAGE: PATCH .*1-2\.patch: folder .* does not exist/);
    expect(diff.code).toBe(2);

    const ok = await cli(['delta', 'diff', 'old.zip', 'new.zip', '1-2.patch', '--json']);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(ok.stdout) as Record<string, number>;
    expect(Object.keys(result)).toEqual(['size', 'newSize', 'ratio', 'ms']);
    const patch = await readFile(join(cwd, '1-2.patch'));
    expect(result.size).toBe(patch.length);
    expect(result.newSize).toBe((await stat(join(cwd, 'new.zip'))).size);
    expect(result.ratio).toBeCloseTo(patch.length / (result.newSize ?? 1), 12);
    expect(result.ms).toBeGreaterThanOrEqual(0);
    // Unchanged and renamed files cost (almost) nothing: far smaller than the new zip.
    expect(result.ratio).toBeLessThan(0.5);

    const applied = await cli(['delta', 'apply', 'old.zip', '1-2.patch', 'v2', '--json']);
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    const body = JSON.parse(applied.stdout) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['files', 'size', 'contentHash', 'ms']);
    expect(body).toMatchObject({
      files: Object.keys(newTree).length,
      size: dirSize(newTree),
      contentHash: contentHashOf(newTree),
    });
    expect(sortedTree(await readTree(join(cwd, 'v2')))).toEqual(sortedTree(newTree));
    // Nothing left behind next to OUT.
    expect((await readdir(cwd)).sort()).toEqual(['1-2.patch', 'new', 'new.zip', 'old', 'old.zip', 'v2']);
  });

  it('round-trips directory → zip; the zip is deterministic (sorted, fixed timestamps)', async () => {
    const { newTree } = await makePackages();
    const diff = await cli(['delta', 'diff', 'old', 'new', 'p.patch', '--json']);
    expect(diff.code).toBe(0);
    expect(JSON.parse(diff.stdout)).toMatchObject({ newSize: dirSize(newTree) });

    const first = await cli(['delta', 'apply', 'old', 'p.patch', 'v2.zip', '--json']);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const zip = await readFile(join(cwd, 'v2.zip'));
    expect(JSON.parse(first.stdout)).toMatchObject({
      files: Object.keys(newTree).length,
      size: zip.length,
      contentHash: contentHashOf(newTree),
    });
    const entries = readZipEntries(zip);
    expect(entries.map((e) => e.name)).toEqual(Object.keys(newTree).sort());
    for (const e of entries) {
      expect(e.data.equals(newTree[e.name] as Buffer)).toBe(true);
      expect([e.dosDate, e.dosTime]).toEqual([(0 << 9) | (1 << 5) | 1, 0]);
    }
    // Applying again replaces the zip with identical bytes; the same as zipping the new tree.
    expect((await cli(['delta', 'apply', 'old', 'p.patch', 'v2.zip'])).code).toBe(0);
    expect((await readFile(join(cwd, 'v2.zip'))).equals(zip)).toBe(true);
  });

  it('mixes forms: a zip patch applies to the same package given as a directory', async () => {
    const { newTree } = await makePackages();
    expect((await cli(['delta', 'diff', 'old.zip', 'new', 'p.patch'])).code).toBe(0);
    expect((await cli(['delta', 'apply', 'old', 'p.patch', 'v2'])).code).toBe(0);
    expect(sortedTree(await readTree(join(cwd, 'v2')))).toEqual(sortedTree(newTree));
  });

  it('prints one human line for each command', async () => {
    await makePackages();
    const diff = await cli(['delta', 'diff', 'old.zip', 'new.zip', 'p.patch']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/^Wrote p\.patch: .+% of NEW .+ in [\d.]+ ms\n$/);
    const apply = await cli(['delta', 'apply', 'old.zip', 'p.patch', 'v2']);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^Wrote v2: 6 files, .+, content hash [0-9a-f]{64}, in [\d.]+ ms\n$/);
  });

  it('replaces an existing PATCH atomically', async () => {
    await makePackages();
    await writeFile(join(cwd, 'p.patch'), 'stale');
    expect((await cli(['delta', 'diff', 'old', 'new', 'p.patch'])).code).toBe(0);
    expect((await readFile(join(cwd, 'p.patch'))).toString()).not.toBe('stale');
    expect((await readdir(cwd)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('halftone delta apply failures leave nothing at OUT', () => {
  async function corruptions(): Promise<Record<string, Buffer>> {
    await makePackages();
    expect((await cli(['delta', 'diff', 'old.zip', 'new.zip', 'p.patch'])).code).toBe(0);
    const patch = await readFile(join(cwd, 'p.patch'));
    const flipped = Buffer.from(patch);
    const middle = Math.floor(patch.length / 2);
    flipped[middle] = (flipped[middle] ?? 0) ^ 0xff;
    const lastByte = Buffer.from(patch);
    lastByte[patch.length - 1] = (lastByte[patch.length - 1] ?? 0) ^ 0x01;
    return {
      flipped,
      lastByte,
      truncated: patch.subarray(0, Math.floor(patch.length * 0.7)),
      garbage: randomBytes(200),
      empty: Buffer.alloc(0),
    };
  }

  it.each(['v2', 'v2.zip'])('a corrupted patch → HT_DELTA_… on stderr, exit 6, no %s', async (out) => {
    const patches = await corruptions();
    for (const [name, bytes] of Object.entries(patches)) {
      await writeFile(join(cwd, `${name}.patch`), bytes);
      const res = await cli(['delta', 'apply', 'old.zip', `${name}.patch`, out]);
      expect({ name, code: res.code, stdout: res.stdout }).toEqual({ name, code: 6, stdout: '' });
      expect(res.stderr).toMatch(/^HT_DELTA_(CORRUPT|HASH_MISMATCH|BASE_MISMATCH): \S/);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      const left = (await readdir(cwd)).filter((n) => n.startsWith('v2') || n.startsWith('.'));
      expect({ name, left }).toEqual({ name, left: [] });
    }
  });

  it('the wrong base package → HT_DELTA_BASE_MISMATCH, exit 6; --json prints the problem', async () => {
    await makePackages();
    expect((await cli(['delta', 'diff', 'old.zip', 'new.zip', 'p.patch'])).code).toBe(0);
    const res = await cli(['delta', 'apply', 'new.zip', 'p.patch', 'v2', '--json']);
    expect(res.code).toBe(6);
    expect(res.stderr).toMatch(/^HT_DELTA_BASE_MISMATCH: /);
    expect(JSON.parse(res.stdout)).toMatchObject({ code: 'HT_DELTA_BASE_MISMATCH' });
    expect((await readdir(cwd)).filter((n) => n.startsWith('v2') || n.startsWith('.'))).toEqual([]);
  });

  it('keeps an existing zip at OUT untouched when the patch is bad', async () => {
    await makePackages();
    await writeFile(join(cwd, 'v2.zip'), 'previous');
    await writeFile(join(cwd, 'bad.patch'), randomBytes(100));
    expect((await cli(['delta', 'apply', 'old.zip', 'bad.patch', 'v2.zip'])).code).toBe(6);
    expect(await readFile(join(cwd, 'v2.zip'), 'utf8')).toBe('previous');
  });
});

describe('halftone delta usage errors (exit 2)', () => {
  it('refuses a missing OLD, a non-empty OUT directory and a package with a .. entry', async () => {
    await makePackages();
    const missing = await cli(['delta', 'diff', 'nope.zip', 'new.zip', 'p.patch']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^HT_CLI_USAGE: OLD .*nope\.zip: no such file or directory/);

    expect((await cli(['delta', 'diff', 'old.zip', 'new.zip', 'p.patch'])).code).toBe(0);
    await mkdir(join(cwd, 'busy'));
    await writeFile(join(cwd, 'busy', 'keep.txt'), 'mine');
    const busy = await cli(['delta', 'apply', 'old.zip', 'p.patch', 'busy']);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/^HT_CLI_USAGE: OUT .*busy exists and is not empty/);
    expect(await readFile(join(cwd, 'busy', 'keep.txt'), 'utf8')).toBe('mine');

    const noPatch = await cli(['delta', 'apply', 'old.zip', 'missing.patch', 'v2']);
    expect(noPatch.code).toBe(2);
    expect(noPatch.stderr).toMatch(/^HT_CLI_USAGE: PATCH .*missing\.patch: no such file/);

    const missingArg = await cli(['delta', 'diff', 'old.zip', 'new.zip']);
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toMatch(/^HT_CLI_USAGE: /);
  });

  it('an empty OUT directory is fine: it is replaced by the result', async () => {
    const { newTree } = await makePackages();
    expect((await cli(['delta', 'diff', 'old.zip', 'new.zip', 'p.patch'])).code).toBe(0);
    await mkdir(join(cwd, 'v2'));
    expect((await cli(['delta', 'apply', 'old.zip', 'p.patch', 'v2'])).code).toBe(0);
    expect(sortedTree(await readTree(join(cwd, 'v2')))).toEqual(sortedTree(newTree));
  });
});
