import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { listDirectoryFiles, zipDirectory } from './zip-directory.js';
import { readZipEntries } from './zip-reader.test-helpers.js';

let dir: string;
let out: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'halftone-zipdir-'));
  out = await mkdtemp(join(tmpdir(), 'halftone-zipout-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('listDirectoryFiles', () => {
  it('lists regular files with / paths in code-unit order, without directories', async () => {
    await tree({ 'b.txt': 'b', 'a/z.txt': 'z', 'a-b/c.txt': 'c', 'A.txt': 'A', 'a/é.txt': 'e' });
    await mkdir(join(dir, 'empty'));
    expect(await listDirectoryFiles(dir)).toEqual([
      'A.txt',
      'a-b/c.txt',
      'a/z.txt',
      'a/é.txt',
      'b.txt',
    ]);
  });

  it('refuses a symbolic link anywhere in the tree', async () => {
    await tree({ 'www/index.html': '<html>' });
    await symlink('/etc/hostname', join(dir, 'www', 'link'));
    const error = await listDirectoryFiles(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'HT_CLI_USAGE', exitCode: 2 });
    expect((error as Error).message).toContain('is a symbolic link');
  });

  it('refuses a symbolic link to a directory', async () => {
    await tree({ 'www/index.html': '<html>' });
    await symlink(join(dir, 'www'), join(dir, 'alias'));
    await expect(listDirectoryFiles(dir)).rejects.toMatchObject({ code: 'HT_CLI_USAGE' });
  });
});

describe('zipDirectory', () => {
  const files = {
    'CodePush/index.android.bundle': 'console.log(1);\n'.repeat(100),
    'CodePush/assets/img/logo.png': '\x89PNG fake',
    'CodePush/assets/首页.json': '{"a":1}',
    '.hidden': 'kept',
  };

  it('zips every file under its relative path, sorted, with fixed metadata', async () => {
    await tree(files);
    const count = await zipDirectory(dir, join(out, 'p.zip'));
    expect(count).toBe(4);
    const entries = readZipEntries(await readFile(join(out, 'p.zip')));
    expect(entries.map((e) => e.name)).toEqual([
      '.hidden',
      'CodePush/assets/img/logo.png',
      'CodePush/assets/首页.json',
      'CodePush/index.android.bundle',
    ]);
    for (const entry of entries) {
      expect(entry.data.toString()).toBe(files[entry.name as keyof typeof files]);
      expect(entry.dosDate).toBe((0 << 9) | (1 << 5) | 1); // 1980-01-01
      expect(entry.dosTime).toBe(0);
      expect(entry.unixMode).toBe(0o100644);
      expect(entry.extraLength).toBe(0); // no Info-ZIP timestamp that would carry the real mtime
    }
  });

  it('gives byte-identical zips for the same content, whatever the mtimes and modes', async () => {
    await tree(files);
    await zipDirectory(dir, join(out, 'one.zip'));
    await utimes(
      join(dir, 'CodePush/index.android.bundle'),
      new Date(2001, 1, 1),
      new Date(2001, 1, 1),
    );
    await chmod(join(dir, '.hidden'), 0o755);
    await zipDirectory(dir, join(out, 'two.zip'));
    const [one, two] = await Promise.all([
      readFile(join(out, 'one.zip')),
      readFile(join(out, 'two.zip')),
    ]);
    expect(sha256(one)).toBe(sha256(two));
  });

  it('refuses an empty directory', async () => {
    await mkdir(join(dir, 'nothing'));
    await expect(zipDirectory(dir, join(out, 'p.zip'))).rejects.toMatchObject({
      code: 'HT_CLI_USAGE',
      message: expect.stringContaining('contains no files'),
    });
  });
});
