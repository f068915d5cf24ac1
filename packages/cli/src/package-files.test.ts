import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import {
  readPackage,
  unsafePathReason,
  writePackageDirectory,
  writePackageZip,
} from './package-files.js';
import { zipDirectory } from './zip-directory.js';
import { readZipEntries } from './zip-reader.test-helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'halftone-package-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

interface RawEntry {
  readonly name: string;
  readonly data?: string;
  /** Unix mode for the external attributes (default a regular file). */
  readonly mode?: number;
  /** Override the stored CRC-32. */
  readonly crc?: number;
}

/** A stored (uncompressed) zip with exactly these entries, names taken as given. */
function rawZip(entries: readonly RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data ?? '', 'utf8');
    const crc = e.crc ?? crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

async function usageFailure(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  expect((err as CliError).code).toBe('HT_CLI_USAGE');
  return err as CliError;
}

describe('unsafePathReason', () => {
  it('accepts plain relative paths and names every unsafe kind', () => {
    expect(unsafePathReason('dist/a.js')).toBeNull();
    expect(unsafePathReason('a/../b')).toBe('has a ".." segment');
    expect(unsafePathReason('..')).toBe('has a ".." segment');
    expect(unsafePathReason('/etc/passwd')).toBe('is an absolute path');
    expect(unsafePathReason('C:/x')).toBe('starts with a drive letter');
    expect(unsafePathReason('a\\b')).toBe('contains a backslash');
    expect(unsafePathReason('a//b')).toBe('has an empty or "." segment');
    expect(unsafePathReason('./a')).toBe('has an empty or "." segment');
    expect(unsafePathReason('')).toBe('has an empty name');
  });
});

describe('readPackage', () => {
  async function makeTree(root: string) {
    await mkdir(join(root, 'css', 'deep'), { recursive: true });
    await writeFile(join(root, 'index.html'), '<h1>hi</h1>');
    await writeFile(join(root, 'css', 'a.css'), 'body{}');
    await writeFile(join(root, 'css', 'deep', 'b.css'), 'p{}');
    await writeFile(join(root, 'B.txt'), 'upper');
  }

  it('reads a directory: sorted / paths, size = sum of file sizes', async () => {
    const root = join(dir, 'pkg');
    await makeTree(root);
    const pkg = await readPackage(root, 'OLD');
    expect(pkg.kind).toBe('directory');
    expect(pkg.files.map((f) => f.path)).toEqual([
      'B.txt',
      'css/a.css',
      'css/deep/b.css',
      'index.html',
    ]);
    expect(text(pkg.files[3]?.data ?? new Uint8Array())).toBe('<h1>hi</h1>');
    expect(pkg.size).toBe(5 + 6 + 3 + 11);
  });

  it('reads a zip to the same files; size = the zip file size', async () => {
    const root = join(dir, 'pkg');
    await makeTree(root);
    const zipPath = join(dir, 'pkg.zip');
    await zipDirectory(root, zipPath);
    const fromDir = await readPackage(root, 'OLD');
    const fromZip = await readPackage(zipPath, 'OLD');
    expect(fromZip.kind).toBe('zip');
    expect(fromZip.size).toBe((await readFile(zipPath)).length);
    expect(fromZip.files.map((f) => [f.path, text(f.data)])).toEqual(
      fromDir.files.map((f) => [f.path, text(f.data)]),
    );
  });

  it('skips directory entries of a zip and sorts its files', async () => {
    const zipPath = join(dir, 'p.zip');
    await writeFile(
      zipPath,
      rawZip([
        { name: 'www/' },
        { name: 'www/z.js', data: 'z' },
        { name: 'www/a/', mode: 0o040755 },
        { name: 'www/a/b.js', data: 'b' },
      ]),
    );
    const pkg = await readPackage(zipPath, 'NEW');
    expect(pkg.files.map((f) => [f.path, text(f.data)])).toEqual([
      ['www/a/b.js', 'b'],
      ['www/z.js', 'z'],
    ]);
  });

  it.each([
    ['../evil.js', '".." segment'],
    ['a/../../evil.js', '".." segment'],
    ['/etc/evil', 'absolute path'],
    ['C:/evil', 'drive letter'],
    ['a\\evil', 'backslash'],
  ])('refuses a zip entry %j with HT_CLI_USAGE', async (name, reason) => {
    const zipPath = join(dir, 'bad.zip');
    await writeFile(zipPath, rawZip([{ name: 'ok.js', data: 'x' }, { name, data: 'y' }]));
    const err = await usageFailure(readPackage(zipPath, 'OLD'));
    expect(err.message).toContain('OLD');
    expect(err.message).toContain(reason);
  });

  it('refuses symbolic links, duplicates and bad CRCs in a zip', async () => {
    const link = join(dir, 'link.zip');
    await writeFile(link, rawZip([{ name: 'l', data: '/etc/passwd', mode: 0o120777 }]));
    expect((await usageFailure(readPackage(link, 'OLD'))).message).toContain('symbolic link');
    const dup = join(dir, 'dup.zip');
    await writeFile(dup, rawZip([{ name: 'a', data: '1' }, { name: 'a', data: '2' }]));
    expect((await usageFailure(readPackage(dup, 'OLD'))).message).toContain('more than once');
    const crc = join(dir, 'crc.zip');
    await writeFile(crc, rawZip([{ name: 'a', data: 'abc', crc: 1 }]));
    expect((await usageFailure(readPackage(crc, 'OLD'))).message).toContain('CRC-32');
  });

  it('refuses a file that is not a zip, a missing path and a directory holding a link', async () => {
    await writeFile(join(dir, 'plain.txt'), 'not a zip at all');
    expect((await usageFailure(readPackage(join(dir, 'plain.txt'), 'NEW'))).message).toMatch(
      /^NEW .*plain\.txt is not a readable zip/,
    );
    expect((await usageFailure(readPackage(join(dir, 'nope'), 'OLD'))).message).toContain(
      'no such file or directory',
    );
    const root = join(dir, 'linked');
    await mkdir(root);
    await writeFile(join(root, 'a.js'), 'a');
    await symlink('/etc/passwd', join(root, 'passwd'));
    expect((await usageFailure(readPackage(root, 'OLD'))).message).toContain('symbolic link');
  });
});

describe('writePackageZip / writePackageDirectory', () => {
  const files = [
    { path: 'z/last.js', data: Buffer.from('last') },
    { path: 'index.html', data: new TextEncoder().encode('<p>') },
    { path: 'a/b/c.css', data: Buffer.from('c{}') },
  ];

  it('writes a deterministic zip: sorted entries, fixed timestamp and mode', async () => {
    const one = await writePackageZip(files, join(dir, 'one.zip'));
    const two = await writePackageZip([...files].reverse(), join(dir, 'two.zip'));
    const bytes = await readFile(join(dir, 'one.zip'));
    expect(bytes.equals(await readFile(join(dir, 'two.zip')))).toBe(true);
    expect(one).toEqual(two);
    expect(one.files).toBe(3);
    expect(one.size).toBe(bytes.length);
    expect(one.sha256.get('index.html')).toBe(sha256('<p>'));
    const entries = readZipEntries(bytes);
    expect(entries.map((e) => e.name)).toEqual(['a/b/c.css', 'index.html', 'z/last.js']);
    expect(entries.map((e) => e.data.toString())).toEqual(['c{}', '<p>', 'last']);
    for (const e of entries) {
      expect(e.dosDate).toBe((0 << 9) | (1 << 5) | 1); // 1980-01-01
      expect(e.dosTime).toBe(0);
      expect(e.unixMode).toBe(0o100644);
    }
  });

  it('writes a directory, making the folders, and reports what it wrote', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    const written = await writePackageDirectory(files, out);
    expect(written.files).toBe(3);
    expect(written.size).toBe(4 + 3 + 3);
    expect(await readFile(join(out, 'a', 'b', 'c.css'), 'utf8')).toBe('c{}');
    const back = await readPackage(out, 'OUT');
    expect(back.files.map((f) => f.path)).toEqual(['a/b/c.css', 'index.html', 'z/last.js']);
  });

  it('refuses unsafe paths instead of writing outside the target', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    await usageFailure(
      writePackageDirectory([{ path: '../escape.js', data: Buffer.from('x') }], out),
    );
    await usageFailure(writePackageZip([{ path: '/abs', data: Buffer.from('x') }], join(dir, 'x.zip')));
  });
});
