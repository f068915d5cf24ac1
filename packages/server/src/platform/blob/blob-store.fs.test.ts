import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TEMP_SUFFIX } from './blob-staging.js';
import { describeBlobStoreContract } from './blob-store.contract.js';
import { createFsBlobStore } from './blob-store.fs.js';
import { createBlobStore } from './blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'halftone-fsblob-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (data: string) => createHash('sha256').update(data).digest('hex');

let current = '';
describeBlobStoreContract(
  'fs',
  () => {
    current = mkdtempSync(join(root, 'case-'));
    return createFsBlobStore(current);
  },
  { tempFiles: async () => readdirSync(join(current, '.tmp')) },
);

describe('createFsBlobStore', () => {
  it('stores a blob at <root>/<aa>/<bb>/<sha256> and stages in <root>/.tmp', async () => {
    const dir = mkdtempSync(join(root, 'layout-'));
    const store = await createFsBlobStore(dir);
    const staged = await store.stage([Buffer.from('layout')], { maxBytes: 100 });
    expect(staged.path.startsWith(join(dir, '.tmp'))).toBe(true);
    await staged.commit();
    const id = sha('layout');
    expect(existsSync(join(dir, id.slice(0, 2), id.slice(2, 4), id))).toBe(true);
  });

  it('ignores stray files when listing', async () => {
    const dir = mkdtempSync(join(root, 'stray-'));
    const store = await createFsBlobStore(dir);
    const staged = await store.stage([Buffer.from('real')], { maxBytes: 100 });
    await staged.commit();
    writeFileSync(join(dir, 'README'), 'x');
    mkdirSync(join(dir, 'zz', 'yy'), { recursive: true });
    writeFileSync(join(dir, 'zz', 'yy', sha('misplaced')), 'misplaced');
    const listed: string[] = [];
    for await (const id of store.list()) listed.push(id);
    expect(listed).toEqual([sha('real')]);
  });

  describe('after a crash', () => {
    it('never shows a leftover temporary file, and removes it at the next start', async () => {
      const dir = mkdtempSync(join(root, 'crash-'));
      const before = await createFsBlobStore(dir);
      // An upload the process was killed in the middle of: staged, never committed or discarded.
      const interrupted = await before.stage([Buffer.from('half an upload')], { maxBytes: 100 });
      // And a temp file written by hand, as a crash mid-write would leave it.
      const partial = join(dir, '.tmp', `crashed${TEMP_SUFFIX}`);
      writeFileSync(partial, 'partial bytes');

      expect(await before.stat(interrupted.sha256)).toBeNull();
      const listed: string[] = [];
      for await (const id of before.list()) listed.push(id);
      expect(listed).toEqual([]);

      // "Restart": a new store on the same directory.
      const after = await createFsBlobStore(dir);
      expect(existsSync(interrupted.path)).toBe(false);
      expect(existsSync(partial)).toBe(false);
      expect(readdirSync(join(dir, '.tmp'))).toEqual([]);
      expect(await after.stat(interrupted.sha256)).toBeNull();
    });

    it('keeps recent temporary files when tempMaxAgeMs is set (shared directories)', async () => {
      const dir = mkdtempSync(join(root, 'shared-'));
      await createFsBlobStore(dir);
      const fresh = join(dir, '.tmp', `fresh${TEMP_SUFFIX}`);
      const stale = join(dir, '.tmp', `stale${TEMP_SUFFIX}`);
      writeFileSync(fresh, 'in flight');
      writeFileSync(stale, 'abandoned');
      const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
      utimesSync(stale, old, old);
      await createFsBlobStore(dir, { tempMaxAgeMs: 60 * 60 * 1000 });
      expect(existsSync(fresh)).toBe(true);
      expect(existsSync(stale)).toBe(false);
    });
  });

  it('is what createBlobStore("file:…") returns, for plain paths and file:// URLs', async () => {
    const dir = mkdtempSync(join(root, 'url-'));
    for (const url of [`file:${dir}`, pathToFileURL(dir).href]) {
      const store = await createBlobStore(url);
      const staged = await store.stage([Buffer.from(url)], { maxBytes: 1000 });
      await staged.commit();
      expect(await store.stat(sha(url))).toEqual({ size: Buffer.byteLength(url) });
    }
    expect(existsSync(join(dir, '.tmp'))).toBe(true);
  });
});
