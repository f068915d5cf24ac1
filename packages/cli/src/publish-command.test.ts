import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RecordedRequest, useCliHarness } from './stub-server.test-helpers.js';
import { readZipEntries } from './zip-reader.test-helpers.js';

const h = useCliHarness();

const published = {
  id: 'pkg_1',
  appId: 'shop',
  module: 'home',
  version: '1.4.0',
  kind: 'h5',
  hash: 'a'.repeat(64),
  contentHash: 'b'.repeat(64),
  size: 1536,
  fileCount: 2,
  url: 'http://127.0.0.1:8080/blobs/aaaa',
};

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function answerPublish() {
  h.stub.on('POST', '/admin/v1/apps/shop/packages', { status: 201, body: published });
}

function filePart(req: RecordedRequest | undefined) {
  const part = req?.parts?.find((p) => p.name === 'file');
  if (part?.bytes === undefined) throw new Error('no file part');
  return { ...part, bytes: part.bytes };
}

async function publishTempDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('halftone-publish-'));
}

const base = ['publish', '--app', 'shop', '--module', 'home', '--version', '1.4.0'];

describe('halftone publish a file', () => {
  it('sends the given fields in order, then the file part last', async () => {
    const bundle = randomBytes(70_000);
    await writeFile(join(h.cwd, 'index.android.bundle'), bundle);
    answerPublish();
    const { code, stdout, stderr } = await h.cli([
      ...base,
      'index.android.bundle',
      '--kind',
      'rn',
      '--platform',
      'android',
      '--min-app-version',
      '8.0.0',
      '--max-app-version',
      '9.0.0',
      '--fallback-url',
      'https://m.example.com/home',
      '--description',
      'New home ✓',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const req = h.stub.requests[0];
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/admin/v1/apps/shop/packages');
    expect(req?.headers.authorization).toBe('Bearer tok-1');
    expect(String(req?.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(req?.parts?.map((p) => [p.name, p.value])).toEqual([
      ['module', 'home'],
      ['version', '1.4.0'],
      ['kind', 'rn'],
      ['platform', 'android'],
      ['minAppVersion', '8.0.0'],
      ['maxAppVersion', '9.0.0'],
      ['fallbackUrl', 'https://m.example.com/home'],
      ['description', 'New home ✓'],
      ['file', undefined],
    ]);
    const file = filePart(req);
    expect(file.filename).toBe('index.android.bundle');
    expect(file.contentType).toBe('application/octet-stream');
    expect(sha256(file.bytes)).toBe(sha256(bundle));
    expect(stdout).toContain('Published home@1.4.0 (h5) to app shop');
    expect(stdout).toContain('size:         1.5 KiB');
  });

  it('sends only the required fields when nothing else is given, and a .zip as application/zip', async () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(100)]);
    await writeFile(join(h.cwd, 'home.zip'), zip);
    answerPublish();
    const { code, stdout } = await h.cli([...base, 'home.zip', '--kind', 'h5', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(published);
    const req = h.stub.requests[0];
    expect(req?.parts?.map((p) => p.name)).toEqual(['module', 'version', 'kind', 'file']);
    expect(filePart(req).contentType).toBe('application/zip');
    expect(filePart(req).bytes.equals(zip)).toBe(true);
  });

  it('streams a large file with an exact Content-Length', async () => {
    const big = randomBytes(24 * 1024 * 1024);
    await writeFile(join(h.cwd, 'big.bundle'), big);
    answerPublish();
    const { code } = await h.cli([...base, 'big.bundle', '--kind', 'rn']);
    expect(code).toBe(0);
    const req = h.stub.requests[0];
    expect(sha256(filePart(req).bytes)).toBe(sha256(big));
    expect(Number(req?.headers['content-length'])).toBeGreaterThan(big.length);
  });

  it('draws a progress bar on stderr only on a terminal and never with --json', async () => {
    await writeFile(join(h.cwd, 'a.bundle'), randomBytes(1000));
    answerPublish();
    const tty = await h.cli([...base, 'a.bundle', '--kind', 'rn'], { tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('Uploading');
    expect(tty.stdout).toContain('Published home@1.4.0');
    const json = await h.cli([...base, 'a.bundle', '--kind', 'rn', '--json'], { tty: true });
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual(published);
  });

  it('reports an answer the server sends before reading the upload (a bad token)', async () => {
    await writeFile(join(h.cwd, 'big.bundle'), randomBytes(32 * 1024 * 1024));
    h.stub.on('POST', '/admin/v1/apps/shop/packages', {
      status: 401,
      early: true,
      body: {
        title: 'Unauthorized',
        status: 401,
        code: 'HT_AUTH_TOKEN_MISSING',
        detail: 'No token',
      },
    });
    const { code, stderr } = await h.cli([...base, 'big.bundle', '--kind', 'rn']);
    expect(code).toBe(3);
    expect(stderr).toBe('HT_AUTH_TOKEN_MISSING: No token\n');
  });

  it('refuses a path that does not exist', async () => {
    const { code, stderr } = await h.cli([...base, 'missing.zip', '--kind', 'h5']);
    expect(code).toBe(2);
    expect(stderr).toBe('HT_CLI_USAGE: cannot read missing.zip: no such file or directory\n');
    expect(h.stub.requests).toEqual([]);
  });

  it('maps an upload the server refuses to its exit code', async () => {
    await writeFile(join(h.cwd, 'bomb.zip'), 'PK\x03\x04…');
    h.stub.on('POST', '/admin/v1/apps/shop/packages', {
      status: 413,
      body: {
        title: 'Too large',
        status: 413,
        code: 'HT_PACKAGE_ARCHIVE_TOO_LARGE',
        detail: 'The files inflate to more than 10 bytes',
      },
    });
    const { code, stderr } = await h.cli([...base, 'bomb.zip', '--kind', 'h5']);
    expect(code).toBe(6);
    expect(stderr).toBe('HT_PACKAGE_ARCHIVE_TOO_LARGE: The files inflate to more than 10 bytes\n');
  });
});

describe('halftone publish a directory', () => {
  async function makeSite(root: string) {
    await mkdir(join(root, 'www', 'css'), { recursive: true });
    await mkdir(join(root, 'www', 'empty'), { recursive: true });
    await writeFile(join(root, 'www', 'index.html'), '<html>home</html>');
    await writeFile(join(root, 'www', 'css', 'app.css'), 'body{}');
    await writeFile(join(root, 'www', 'app.js'), 'start()');
  }

  it('zips it deterministically (same directory twice → identical bytes) and cleans up', async () => {
    await makeSite(h.cwd);
    answerPublish();
    const before = await publishTempDirs();
    expect((await h.cli([...base, 'www', '--kind', 'h5'])).code).toBe(0);
    await utimes(join(h.cwd, 'www', 'app.js'), new Date(2010, 0, 1), new Date(2010, 0, 1));
    expect((await h.cli([...base, 'www', '--kind', 'h5'])).code).toBe(0);

    const [one, two] = h.stub.requests.map(filePart);
    if (one === undefined || two === undefined) throw new Error('expected two uploads');
    expect(sha256(one.bytes)).toBe(sha256(two.bytes));
    expect(one.filename).toBe('www.zip');
    expect(one.contentType).toBe('application/zip');
    expect(readZipEntries(one.bytes).map((e) => [e.name, e.data.toString()])).toEqual([
      ['app.js', 'start()'],
      ['css/app.css', 'body{}'],
      ['index.html', '<html>home</html>'],
    ]);
    expect(await publishTempDirs()).toEqual(before);
  });

  it('refuses a directory containing a symbolic link, without a request or leftovers', async () => {
    await makeSite(h.cwd);
    await symlink(join(h.cwd, 'www', 'index.html'), join(h.cwd, 'www', 'css', 'link.html'));
    const before = await publishTempDirs();
    const { code, stderr, stdout } = await h.cli([...base, 'www', '--kind', 'h5', '--json']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^HT_CLI_USAGE: .*link\.html is a symbolic link/);
    expect(JSON.parse(stdout)).toMatchObject({ code: 'HT_CLI_USAGE' });
    expect(h.stub.requests).toEqual([]);
    expect(await publishTempDirs()).toEqual(before);
  });
});

describe('halftone publish --kind installer', () => {
  it('posts JSON with the URL instead of uploading', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/packages', {
      status: 201,
      body: { ...published, kind: 'installer' },
    });
    const url = 'https://dl.example.com/shop-8.3.1.apk';
    const { code } = await h.cli([
      ...base,
      url,
      '--kind',
      'installer',
      '--platform',
      'android',
      '--min-app-version',
      '8.0.0',
    ]);
    expect(code).toBe(0);
    const req = h.stub.requests[0];
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.body).toEqual({
      module: 'home',
      version: '1.4.0',
      kind: 'installer',
      url,
      platform: 'android',
      minAppVersion: '8.0.0',
    });
  });

  it('refuses a non-URL for an installer and a URL for other kinds', async () => {
    const installer = await h.cli([...base, './app.apk', '--kind', 'installer']);
    expect(installer.code).toBe(2);
    expect(installer.stderr).toMatch(
      /^HT_CLI_USAGE: with --kind installer, PATH must be an http\(s\) URL/,
    );
    const h5 = await h.cli([...base, 'https://x.example.com/a.zip', '--kind', 'h5']);
    expect(h5.code).toBe(2);
    expect(h.stub.requests).toEqual([]);
  });

  it('refuses an unknown --kind', async () => {
    const { code, stderr } = await h.cli([...base, 'x', '--kind', 'apk']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^HT_CLI_USAGE: option '--kind <kind>' argument 'apk' is invalid/);
  });
});
