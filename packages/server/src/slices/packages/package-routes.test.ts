import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, multipart, type TestApp } from '../../test-app.test-helpers.js';
import { buildRawZip, buildYazlZip, deflatedZeros } from './archive.test-helpers.js';

describe('publishing packages over the admin API', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ HALFTONE_LIMITS_UPLOAD_MAX_BYTES: String(2 * 1024 * 1024) });
    await t.createApp('demo', ['android', 'ios']);
  });
  afterEach(async () => {
    await t.close();
  });

  const publish = (fields: Record<string, string>, file?: Buffer, app = 'demo') => {
    const body = multipart(fields, file ? { name: 'pkg.zip', data: file } : undefined);
    return t.api.inject({
      method: 'POST',
      url: `/admin/v1/apps/${app}/packages`,
      headers: { ...t.admin, ...body.headers },
      payload: body.payload,
    });
  };
  const list = async () =>
    (await t.api.inject({ url: '/admin/v1/apps/demo/packages', headers: t.admin })).json().packages as unknown[];
  const meta = { module: 'home', version: '1.2.0', kind: 'h5', minAppVersion: '8.0', fallbackUrl: 'https://m.example.com/' };

  it('stores a zip, hashes it and reports where devices download it', async () => {
    const zip = await buildYazlZip({ 'index.html': Buffer.from('<h1>hi</h1>'), 'js/app.js': Buffer.from('1') });
    const res = await publish(meta, zip);
    expect(res.statusCode).toBe(201);
    const pkg = res.json();
    expect(pkg).toMatchObject({ module: 'home', version: '1.2.0', kind: 'h5', format: 'zip', fileCount: 2, size: zip.length, platform: null });
    expect(pkg.url).toBe(`https://cdn.example.com/client/v1/blobs/${pkg.hash}`);
    const blob = await t.api.inject({ url: `/client/v1/blobs/${pkg.hash}` });
    expect(blob.statusCode).toBe(200);
    expect(blob.rawPayload.equals(zip)).toBe(true);
    expect(blob.headers['content-length']).toBe(String(zip.length));
    const range = await t.api.inject({ url: `/client/v1/blobs/${pkg.hash}`, headers: { range: 'bytes=2-5' } });
    expect(range.statusCode).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 2-5/${zip.length}`);
    expect(range.rawPayload.equals(zip.subarray(2, 6))).toBe(true);
    const bad = await t.api.inject({ url: `/client/v1/blobs/${pkg.hash}`, headers: { range: `bytes=${zip.length + 5}-` } });
    expect(bad.statusCode).toBe(416);
  });

  it('refuses a duplicate module version with 409', async () => {
    const zip = await buildYazlZip({ 'a.txt': Buffer.from('a') });
    expect((await publish(meta, zip)).statusCode).toBe(201);
    const again = await publish(meta, zip);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('HT_PACKAGE_VERSION_EXISTS');
    expect(await list()).toHaveLength(1);
    // Another platform's package of the same version is fine.
    expect((await publish({ ...meta, platform: 'ios' }, zip)).statusCode).toBe(201);
  });

  it.each([
    ['a ../ path', [{ name: '../evil.sh', data: Buffer.from('x') }], 400, 'HT_PACKAGE_ARCHIVE_UNSAFE_PATH'],
    ['an absolute path', [{ name: '/etc/passwd', data: Buffer.from('x') }], 400, 'HT_PACKAGE_ARCHIVE_UNSAFE_PATH'],
    ['a symlink', [{ name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }], 400, 'HT_PACKAGE_ARCHIVE_SYMLINK'],
    ['a zip bomb', [{ name: 'zeros.bin', precompressed: deflatedZeros(64 * 1024 * 1024) }], 413, 'HT_PACKAGE_ARCHIVE_TOO_LARGE'],
  ] as const)('rejects an archive with %s and stores nothing', async (_label, entries, status, code) => {
    const res = await publish(meta, buildRawZip(entries));
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe(code);
    expect(await list()).toEqual([]);
  });

  it('answers 413 for an upload over the limit, and stores nothing', async () => {
    const res = await publish(meta, Buffer.alloc(3 * 1024 * 1024, 1));
    expect(res.statusCode).toBe(413);
    expect(await list()).toEqual([]);
  });

  it('names the field of a malformed version, and validates every field', async () => {
    const zip = await buildYazlZip({ 'a.txt': Buffer.from('a') });
    const res = await publish({ ...meta, minAppVersion: '8.x' }, zip);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HT_VERSION_INVALID' });
    expect(res.json().detail ?? res.json().title).toMatch(/minAppVersion/);
    const kind = await publish({ ...meta, kind: 'exe' }, zip);
    expect(kind.statusCode).toBe(400);
    expect(kind.json().code).toBe('HT_VALIDATION');
    const noFile = await publish(meta);
    expect(noFile.json().code).toBe('HT_PACKAGE_FILE_MISSING');
    const platform = await publish({ ...meta, platform: 'windows' }, zip);
    expect(platform.json().code).toBe('HT_PACKAGE_PLATFORM_UNKNOWN');
    const noApp = await publish(meta, zip, 'nope');
    expect(noApp.statusCode).toBe(404);
    expect(noApp.json().code).toBe('HT_APP_NOT_FOUND');
  });

  it('publishes installers as links, and disables and enables packages', async () => {
    const res = await t.api.inject({
      method: 'POST',
      url: '/admin/v1/apps/demo/packages',
      headers: t.admin,
      payload: { module: 'app', version: '9.0.0', kind: 'installer', platform: 'android', url: 'https://dl.example.com/app-9.apk' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ format: 'link', url: 'https://dl.example.com/app-9.apk', hash: null });
    const id = res.json().id as string;
    const off = await t.api.inject({ method: 'POST', url: `/admin/v1/packages/${id}/disable`, headers: t.admin });
    expect(off.json().disabled).toBe(true);
    const on = await t.api.inject({ method: 'POST', url: `/admin/v1/packages/${id}/enable`, headers: t.admin });
    expect(on.json().disabled).toBe(false);
  });

  it('requires the admin token', async () => {
    const res = await t.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/packages', payload: {} });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('HT_AUTH_TOKEN_MISSING');
  });
});
