import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageContentHash } from '@halftone/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHalftoneError } from '../../platform/errors/halftone-error.js';
import { type ArchiveLimits, inspectArchive } from './archive.js';
import {
  buildRawZip,
  buildYazlZip,
  deflatedZeros,
  type RawZipEntry,
} from './archive.test-helpers.js';

const MiB = 1024 * 1024;
const LIMITS: ArchiveLimits = { maxUncompressedBytes: 64 * MiB, maxEntries: 100, maxRatio: 100 };

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'halftone-archive-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeTemp(bytes: Buffer): Promise<string> {
  counter += 1;
  const file = join(dir, `upload-${counter}`);
  await writeFile(file, bytes);
  return file;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** File descriptors of this process that point at `file` (Linux only; `[]` elsewhere). */
async function openDescriptorsOf(file: string): Promise<string[]> {
  if (process.platform !== 'linux') return [];
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(
    fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target === file);
}

/** Inspects `bytes`, expecting a rejection; returns the error once nothing is left open. */
async function rejectionOf(bytes: Buffer, limits: ArchiveLimits = LIMITS) {
  const file = await writeTemp(bytes);
  const error = await inspectArchive(file, limits).then(
    () => expect.fail('inspectArchive accepted the archive'),
    (e: unknown) => e,
  );
  expect(await openDescriptorsOf(file)).toEqual([]);
  if (!isHalftoneError(error)) throw error;
  return error;
}

describe('inspectArchive on good uploads', () => {
  const bundle = Buffer.from('console.log("hello from the bundle");\n'.repeat(200));
  const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 4, 5]);
  const empty = Buffer.alloc(0);

  it('lists the files of a zip, keeps the top folder, skips directories, hashes content', async () => {
    const zip = await buildYazlZip(
      {
        'CodePush/index.android.bundle': bundle,
        'CodePush/assets/logo.png': image,
        'CodePush/empty.txt': empty,
      },
      ['CodePush/', 'CodePush/assets/'],
    );
    const file = await writeTemp(zip);

    const manifest = await inspectArchive(file, LIMITS);

    const expected = [
      { path: 'CodePush/index.android.bundle', size: bundle.length, sha256: sha256(bundle) },
      { path: 'CodePush/assets/logo.png', size: image.length, sha256: sha256(image) },
      { path: 'CodePush/empty.txt', size: 0, sha256: sha256(empty) },
    ];
    expect(manifest).toEqual({
      format: 'zip',
      files: expected,
      totalUncompressedBytes: bundle.length + image.length,
      contentHash: packageContentHash(expected.map(({ path, sha256 }) => ({ path, sha256 }))),
    });
    expect(await openDescriptorsOf(file)).toEqual([]);
  });

  it('gives the same contentHash for the same files whatever the compression', async () => {
    const deflated = buildRawZip([{ name: 'a/b.js', data: bundle }]);
    const stored = buildRawZip([{ name: 'a/b.js', data: bundle, method: 0 }]);
    const [one, two] = await Promise.all([
      inspectArchive(await writeTemp(deflated), LIMITS),
      inspectArchive(await writeTemp(stored), LIMITS),
    ]);
    expect(one.contentHash).toBe(two.contentHash);
    expect(one.files).toEqual([{ path: 'a/b.js', size: bundle.length, sha256: sha256(bundle) }]);
  });

  it('accepts an empty zip (end record only)', async () => {
    const zip = await buildYazlZip({});
    expect(zip.subarray(0, 4)).toEqual(Buffer.from('PK\x05\x06', 'latin1'));
    const manifest = await inspectArchive(await writeTemp(zip), LIMITS);
    expect(manifest).toEqual({
      format: 'zip',
      files: [],
      totalUncompressedBytes: 0,
      contentHash: packageContentHash([]),
    });
  });

  it('treats anything that is not a zip as raw: no files, hash of the bytes', async () => {
    const manifest = await inspectArchive(await writeTemp(bundle), LIMITS);
    expect(manifest).toEqual({
      format: 'raw',
      files: [],
      totalUncompressedBytes: bundle.length,
      contentHash: sha256(bundle),
    });
  });

  it('treats a file shorter than a signature as raw', async () => {
    const manifest = await inspectArchive(await writeTemp(Buffer.from('PK')), LIMITS);
    expect(manifest.format).toBe('raw');
    expect(manifest.contentHash).toBe(sha256('PK'));
  });

  it('accepts non-ASCII names and a zip exactly at the limits', async () => {
    const data = Buffer.alloc(1000, 7);
    const zip = buildRawZip([
      { name: 'h5/首页/index.html', data },
      { name: 'h5/README', data },
    ]);
    const manifest = await inspectArchive(await writeTemp(zip), {
      maxUncompressedBytes: 2000,
      maxEntries: 2,
      maxRatio: 1,
    });
    expect(manifest.files.map((f) => f.path)).toEqual(['h5/首页/index.html', 'h5/README']);
  });
});

describe('inspectArchive rejects unsafe entries', () => {
  const data = Buffer.from('x');

  it.each([
    ['../evil'],
    ['a/../../evil'],
    ['..'],
    ['/abs'],
    ['/'],
    ['C:\\x'],
    ['C:/x'],
    ['\\\\server\\share\\x'],
    ['a\\b'],
    ['a\0b'],
    [''],
    ['a//b'],
    ['./a'],
  ])('refuses the entry name %j', async (name) => {
    const error = await rejectionOf(
      buildRawZip([
        { name: 'ok.txt', data },
        { name, data },
      ]),
    );
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_UNSAFE_PATH');
    expect(error.status).toBe(400);
  });

  it('names the entry and the reason in the detail', async () => {
    const error = await rejectionOf(buildRawZip([{ name: 'www/../../etc/passwd', data }]));
    expect(error.detail).toBe('Entry "www/../../etc/passwd" has a ".." segment');
    expect(error.message).toBe(
      'The package archive contains an unsafe entry path: "www/../../etc/passwd"',
    );
  });

  it('refuses an unsafe directory entry', async () => {
    const error = await rejectionOf(buildRawZip([{ name: '../up/', mode: 0o040755 }]));
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_UNSAFE_PATH');
  });

  it('refuses a symbolic link entry', async () => {
    const zip = buildRawZip([
      { name: 'CodePush/link', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
    ]);
    const error = await rejectionOf(zip);
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_SYMLINK');
    expect(error.status).toBe(400);
    expect(error.detail).toBe('Entry "CodePush/link" is a symbolic link; packages hold only files');
  });
});

describe('inspectArchive rejects invalid zips', () => {
  const data = Buffer.from('some file content '.repeat(50));

  it('refuses a truncated zip', async () => {
    const zip = buildRawZip([
      { name: 'a.txt', data },
      { name: 'b.txt', data },
    ]);
    const error = await rejectionOf(zip.subarray(0, Math.floor(zip.length / 2)));
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
    expect(error.status).toBe(400);
  });

  it('refuses a zip whose deflated data is corrupt', async () => {
    const zip = buildRawZip([{ name: 'a.txt', data }]);
    const corrupt = Buffer.from(zip);
    corrupt.fill(0xff, 30 + 'a.txt'.length, 30 + 'a.txt'.length + 8);
    const error = await rejectionOf(corrupt);
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
  });

  it('refuses duplicate paths', async () => {
    const zip = buildRawZip([
      { name: 'CodePush/a.js', data },
      { name: 'CodePush/a.js', data },
    ]);
    const error = await rejectionOf(zip);
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
    expect(error.detail).toContain('more than once');
  });

  it('refuses a path that is both a file and a folder', async () => {
    const zip = buildRawZip([
      { name: 'a', data },
      { name: 'a/b', data },
    ]);
    expect((await rejectionOf(zip)).code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
  });

  it('refuses encrypted entries', async () => {
    const zip = buildRawZip([{ name: 'secret.txt', data, flags: 0x1 }]);
    const error = await rejectionOf(zip);
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
    expect(error.detail).toContain('encrypted');
  });

  it('refuses an unsupported compression method', async () => {
    const zip = buildRawZip([{ name: 'a.txt', data, method: 0 }]);
    zip.writeUInt16LE(14, 8); // LZMA in the local header…
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt16LE(14, central + 10); // …and in the central directory
    expect((await rejectionOf(zip)).code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
  });
});

describe('inspectArchive enforces size limits', () => {
  let bomb: ReturnType<typeof deflatedZeros>;
  beforeAll(() => {
    bomb = deflatedZeros(100 * MiB);
  });

  it('refuses more entries than maxEntries', async () => {
    const entries: RawZipEntry[] = Array.from({ length: 11 }, (_, i) => ({
      name: `f${i}.txt`,
      data: Buffer.from(String(i)),
    }));
    const error = await rejectionOf(buildRawZip(entries), { ...LIMITS, maxEntries: 10 });
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_TOO_MANY_ENTRIES');
    expect(error.status).toBe(413);
    expect(error.message).toContain('10');
  });

  it('refuses a 100 MiB bomb over maxUncompressedBytes', async () => {
    const zip = buildRawZip([{ name: 'zeros.bin', precompressed: bomb }]);
    expect(zip.length).toBeLessThan(200 * 1024);
    const error = await rejectionOf(zip, {
      ...LIMITS,
      maxUncompressedBytes: 10 * MiB,
      maxRatio: 1e9,
    });
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_TOO_LARGE');
    expect(error.status).toBe(413);
  });

  it('refuses an entry whose ratio exceeds maxRatio once past 1 MiB', async () => {
    const zip = buildRawZip([{ name: 'zeros.bin', precompressed: bomb }]);
    const error = await rejectionOf(zip, { ...LIMITS, maxUncompressedBytes: 1024 * MiB });
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_TOO_LARGE');
    expect(error.detail).toContain('zeros.bin');
  });

  it('lets a highly compressible entry through while it stays under 1 MiB', async () => {
    const small = deflatedZeros(MiB);
    const zip = buildRawZip([{ name: 'zeros.bin', precompressed: small }]);
    const manifest = await inspectArchive(await writeTemp(zip), LIMITS);
    expect(manifest.files[0]?.size).toBe(MiB);
  });

  it('counts the real inflated bytes across entries, not only one entry', async () => {
    const five = deflatedZeros(5 * MiB);
    const zip = buildRawZip([
      { name: 'a.bin', precompressed: five },
      { name: 'b.bin', precompressed: five },
      { name: 'c.bin', precompressed: five },
    ]);
    const error = await rejectionOf(zip, {
      ...LIMITS,
      maxUncompressedBytes: 12 * MiB,
      maxRatio: 1e9,
    });
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_TOO_LARGE');
  });

  it('stops a bomb that declares a small size as soon as it inflates past it', async () => {
    // The headers claim 1 KiB, within every limit; yauzl's entry size validation stops the
    // inflation at the first bytes beyond that (a lie, so the zip is invalid), long before
    // 100 MiB.
    const zip = buildRawZip([{ name: 'liar.bin', precompressed: bomb, declaredSize: 1024 }]);
    const started = performance.now();
    const error = await rejectionOf(zip, { ...LIMITS, maxRatio: 1e9 });
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_INVALID');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses a raw upload over maxUncompressedBytes', async () => {
    const error = await rejectionOf(Buffer.alloc(4096, 1), {
      ...LIMITS,
      maxUncompressedBytes: 4095,
    });
    expect(error.code).toBe('HT_PACKAGE_ARCHIVE_TOO_LARGE');
  });
});

describe('inspectArchive and the file system', () => {
  it('lets file system errors through unchanged (they are not the uploader’s fault)', async () => {
    const error = await inspectArchive(join(dir, 'missing'), LIMITS).catch((e: unknown) => e);
    expect(isHalftoneError(error)).toBe(false);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
