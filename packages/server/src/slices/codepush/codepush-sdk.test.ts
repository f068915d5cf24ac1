import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, multipart, type TestApp } from '../../test-app.test-helpers.js';

// The real acquisition SDKs, unmodified: 4.2.3 (v0.1 dialect) and 2.0.7 (legacy dialect).
const require = createRequire(import.meta.url);
const sdks = {
  '4.2.3': require('code-push/script/acquisition-sdk') as SdkModule,
  '2.0.7': require('code-push-2/script/acquisition-sdk') as SdkModule,
};
interface SdkModule {
  AcquisitionManager: new (requester: unknown, config: Record<string, unknown>) => Manager;
}
interface Manager {
  queryUpdateWithCurrentPackage(pkg: Record<string, unknown>, cb: (err: Error | null, r: RemotePackage | null) => void): void;
  reportStatusDeploy(pkg: unknown, status: string | undefined, prevLabel: string | undefined, prevKey: string | undefined, cb: (err: Error | null) => void): void;
  reportStatusDownload(pkg: unknown, cb: (err: Error | null) => void): void;
}
interface RemotePackage {
  label?: string;
  packageHash?: string;
  isMandatory?: boolean;
  downloadUrl?: string;
  packageSize?: number;
  appVersion?: string;
  updateAppVersion?: boolean;
  description?: string;
}

const VERBS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS', 'CONNECT', 'PATCH'];
/** The requester the SDK calls: `request(verb, url, [body], cb)` over fetch. */
const fetchRequester = {
  request(verb: number, url: string, body: unknown, cb?: unknown): void {
    const callback = (typeof body === 'function' ? body : cb) as (e: Error | null, r?: { statusCode: number; body: string }) => void;
    const payload = typeof body === 'string' ? body : undefined;
    fetch(url, {
      method: VERBS[verb],
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-codepush-sdk-version': '4.2.3' },
      ...(payload !== undefined ? { body: payload } : {}),
    })
      .then(async (res) => callback(null, { statusCode: res.status, body: await res.text() }))
      .catch((e: Error) => callback(e));
  },
};

let t: TestApp;
let server: string;
let prodKey: string;
let stagingKey: string;

const zip = (files: Record<string, string>): Buffer =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new TextEncoder().encode(v)]))));

/** The client's hash of an unzipped folder (Android CodePushUpdateUtils.verifyFolderHash). */
function folderHash(files: Record<string, Uint8Array>): string {
  const entries = Object.entries(files)
    .filter(([p]) => !p.endsWith('/') && !p.startsWith('__MACOSX/') && !p.endsWith('.DS_Store') && !p.endsWith('.codepushrelease'))
    .map(([p, d]) => `${p}:${createHash('sha256').update(d).digest('hex')}`)
    .sort();
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

async function release(deployment: string, files: Record<string, string>, fields: Record<string, string>) {
  const { payload, headers } = multipart(fields, { name: 'p.zip', data: zip(files) });
  return t.api.inject({
    method: 'POST',
    url: `/admin/v1/apps/cp/codepush/deployments/${deployment}/release`,
    headers: { ...t.admin, ...headers },
    payload,
  });
}
async function patch(deployment: string, body: Record<string, unknown>) {
  return t.api.inject({ method: 'PATCH', url: `/admin/v1/apps/cp/codepush/deployments/${deployment}/release`, headers: t.admin, payload: body });
}

function check(
  version: keyof typeof sdks,
  key: string,
  current: { appVersion: string; label?: string; packageHash?: string },
  clientUniqueId = 'cid-1',
): Promise<RemotePackage | null> {
  const m = new sdks[version].AcquisitionManager(fetchRequester, {
    serverUrl: server,
    deploymentKey: key,
    appVersion: current.appVersion,
    clientUniqueId,
  });
  return new Promise((resolve, reject) =>
    m.queryUpdateWithCurrentPackage({ ...current }, (err, r) => (err ? reject(err) : resolve(r))),
  );
}

const download = async (url: string): Promise<Response> => fetch(url.replace('https://cdn.example.com', server.replace(/\/$/, '')));

beforeAll(async () => {
  t = await createTestApp({ HALFTONE_DELTA_WORKERS: '1' });
  await t.createApp('cp', ['android']);
  const address = await t.api.listen({ host: '127.0.0.1', port: 0 });
  server = `${address}/`;
  const add = async (name: string) =>
    (await t.api.inject({ method: 'POST', url: '/admin/v1/apps/cp/codepush/deployments', headers: t.admin, payload: { name } })).json() as { key: string };
  prodKey = (await add('Production')).key;
  stagingKey = (await add('Staging')).key;
});
afterAll(async () => {
  await t.close();
});

describe('the real code-push SDK against Halftone', () => {
  // An asset both versions share, large and incompressible enough that a diff pays off.
  const big = Array.from({ length: 4000 }, (_, i) => ((i * 2654435761) >>> 0).toString(36)).join('');
  const v1 = { 'CodePush/index.android.bundle': 'console.log(1)', 'CodePush/assets/a.png': big, 'CodePush/assets/old.png': 'O' };
  const v2 = { 'CodePush/index.android.bundle': 'console.log(2)', 'CodePush/assets/a.png': big, 'CodePush/.codepushrelease': 'eyJhbGciOiJSUzI1NiJ9.signed.jwt' };
  let h1 = '';
  let h2 = '';

  it('answers "no update" on an empty deployment and 404 Not Found for an unknown key', async () => {
    for (const v of ['4.2.3', '2.0.7'] as const) {
      expect(await check(v, prodKey, { appVersion: '1.0.0' })).toBeNull();
      await expect(check(v, 'unknown-deployment-key', { appVersion: '1.0.0' })).rejects.toThrow('404: Not Found');
    }
    const bad = await fetch(`${server}v0.1/public/codepush/update_check?deployment_key=${prodKey}&app_version=banana`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('semver');
  });

  it('offers v1 on first install (both dialects), with a hash the client recomputes from the download', async () => {
    const res = await release('Production', v1, { targetBinaryVersion: '1.0.x' });
    expect(res.statusCode, res.body).toBe(201);
    h1 = (res.json() as { packageHash: string }).packageHash;
    for (const v of ['4.2.3', '2.0.7'] as const) {
      const r = await check(v, prodKey, { appVersion: '1.0.3' });
      expect(r).toMatchObject({ label: 'v1', packageHash: h1, isMandatory: false, appVersion: '1.0.3' });
      const dl = await download(r?.downloadUrl as string);
      expect(dl.headers.get('content-length')).toBe(String(r?.packageSize));
      expect(dl.headers.get('content-encoding')).toBeNull();
      expect(folderHash(unzipSync(new Uint8Array(await dl.arrayBuffer())))).toBe(h1);
    }
    // appVersion normalisation: "1.0" is 1.0.0 and is echoed as sent.
    expect(await check('4.2.3', prodKey, { appVersion: '1.0' })).toMatchObject({ label: 'v1', appVersion: '1.0' });
    expect(await check('4.2.3', prodKey, { appVersion: '1.0.0', label: 'v1', packageHash: h1 })).toBeNull();
  });

  it('offers a diff to a device on an older label once built (first request: full), signature passed through', async () => {
    const res = await release('Production', v2, { targetBinaryVersion: '1.0.x', description: 'second' });
    h2 = (res.json() as { packageHash: string }).packageHash;
    const first = await check('4.2.3', prodKey, { appVersion: '1.0.0', label: 'v1', packageHash: h1 });
    expect(first).toMatchObject({ label: 'v2', packageHash: h2, description: 'second' });
    const full = new Uint8Array(await (await download(first?.downloadUrl as string)).arrayBuffer());
    expect(new TextDecoder().decode(unzipSync(full)['CodePush/.codepushrelease'])).toBe(v2['CodePush/.codepushrelease']);
    await t.codepush.diffs.idle();
    const second = await check('4.2.3', prodKey, { appVersion: '1.0.0', label: 'v1', packageHash: h1 });
    expect(second?.downloadUrl).not.toBe(first?.downloadUrl);
    expect(second?.packageSize).toBeLessThan(first?.packageSize as number);
    const dl = await download(second?.downloadUrl as string);
    expect(dl.headers.get('content-length')).toBe(String(second?.packageSize));
    const diff = unzipSync(new Uint8Array(await dl.arrayBuffer()));
    expect(JSON.parse(new TextDecoder().decode(diff['hotcodepush.json']))).toEqual({ deletedFiles: ['CodePush/assets/old.png'] });
    // Apply it as the client does and check the folder against the package hash.
    const folder: Record<string, Uint8Array> = Object.fromEntries(Object.entries(v1).map(([k, s]) => [k, new TextEncoder().encode(s)]));
    delete folder['CodePush/assets/old.png'];
    for (const [k, d] of Object.entries(diff)) if (k !== 'hotcodepush.json') folder[k] = d;
    expect(folderHash(folder)).toBe(h2);
    // The old SDK gets the diff as well.
    expect((await check('2.0.7', prodKey, { appVersion: '1.0.0', label: 'v1', packageHash: h1 }))?.downloadUrl).toBe(second?.downloadUrl);
  });

  it('escalates to mandatory across a skipped mandatory release', async () => {
    await patch('Production', { mandatory: true }); // v2 mandatory
    await release('Production', { 'CodePush/index.android.bundle': 'console.log(3)' }, { targetBinaryVersion: '1.0.x' });
    const r = await check('4.2.3', prodKey, { appVersion: '1.0.0', label: 'v1', packageHash: h1 });
    expect(r).toMatchObject({ label: 'v3', isMandatory: true });
    expect(await check('2.0.7', prodKey, { appVersion: '1.0.0', label: 'v2', packageHash: h2 })).toMatchObject({ label: 'v3', isMandatory: false });
  });

  it('matches the four binary-range forms, and asks for a store update outside them', async () => {
    const ranges: [string, string, string][] = [
      ['1.0.x', '1.0.9', '1.1.0'],
      ['^1.2.0', '1.9.0', '2.0.0'],
      ['>=1.0.0 <2.0.0', '1.5.0', '2.0.0'],
      ['*', '9.9.9', ''],
    ];
    for (const [i, [range, inside, outside]] of ranges.entries()) {
      const name = `Range${i}`;
      const d = (await t.api.inject({ method: 'POST', url: '/admin/v1/apps/cp/codepush/deployments', headers: t.admin, payload: { name } })).json() as { key: string };
      expect((await release(name, { 'CodePush/b.js': range }, { targetBinaryVersion: range })).statusCode).toBe(201);
      expect(await check('4.2.3', d.key, { appVersion: inside })).toMatchObject({ label: 'v1' });
      if (outside !== '') expect(await check('4.2.3', d.key, { appVersion: outside })).toBeNull();
    }
    const d = (await t.api.inject({ method: 'POST', url: '/admin/v1/apps/cp/codepush/deployments', headers: t.admin, payload: { name: 'Store' } })).json() as { key: string };
    await release('Store', { 'CodePush/b.js': 's' }, { targetBinaryVersion: '2.0.0' });
    expect(await check('4.2.3', d.key, { appVersion: '1.0.0' })).toEqual({ updateAppVersion: true, appVersion: '2.0.0' });
  });

  it('rolls out to the percentage, sticky per clientUniqueId (10k ids), in both bucketing modes', async () => {
    for (const bucketing of ['halftone', 'codepush'] as const) {
      const name = `Roll-${bucketing}`;
      const d = (await t.api.inject({ method: 'POST', url: '/admin/v1/apps/cp/codepush/deployments', headers: t.admin, payload: { name, bucketing } })).json() as { key: string };
      await release(name, { 'CodePush/b.js': '1' }, { targetBinaryVersion: '*' });
      expect((await release(name, { 'CodePush/b.js': '2' }, { targetBinaryVersion: '*' })).statusCode).toBe(201);
      await release(name, { 'CodePush/b.js': '3' }, { targetBinaryVersion: '*', rollout: '25' });
      // A new release is refused while this rollout is unfinished.
      const refused = await release(name, { 'CodePush/b.js': '4' }, { targetBinaryVersion: '*' });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'HT_CODEPUSH_ROLLOUT_UNFINISHED' });
      const chosen = new Set<string>();
      for (let i = 0; i < 10_000; i++) {
        const res = await t.api.inject({ method: 'GET', url: `/v0.1/public/codepush/update_check?deployment_key=${d.key}&app_version=1.0.0&label=v2&client_unique_id=u-${i}` });
        const info = (res.json() as { update_info: { is_available: boolean; label?: string } }).update_info;
        if (info.is_available && info.label === 'v3') chosen.add(`u-${i}`);
      }
      expect(chosen.size).toBeGreaterThan(2300);
      expect(chosen.size).toBeLessThan(2700);
      if (bucketing === 'codepush') {
        const { codePushRolloutBucket } = await import('@halftone/core');
        for (const id of chosen) expect(codePushRolloutBucket(id, 'v3')).toBeLessThan(25);
      }
      // Sticky: the same devices again; growing the rollout only adds devices.
      await patch(name, { rollout: 50 });
      for (const id of [...chosen].slice(0, 300)) {
        expect(await check('4.2.3', d.key, { appVersion: '1.0.0', label: 'v2', packageHash: 'x' }, id)).toMatchObject({ label: 'v3' });
      }
      expect((await patch(name, { rollout: 10 })).json()).toMatchObject({ code: 'HT_CODEPUSH_ROLLOUT_DECREASE' });
    }
  }, 120_000);

  it('disabling the current release sends devices on it to the previous one; rollback re-releases it as a new label', async () => {
    const res = await patch('Production', { disabled: true }); // v3
    expect(res.statusCode, res.body).toBe(200);
    const h3 = (res.json() as { packageHash: string }).packageHash;
    expect(await check('4.2.3', prodKey, { appVersion: '1.0.0', label: 'v3', packageHash: h3 })).toMatchObject({ label: 'v2' });
    await patch('Production', { disabled: false });
    const rb = await t.api.inject({ method: 'POST', url: '/admin/v1/apps/cp/codepush/deployments/Production/rollback', headers: t.admin, payload: {} });
    expect(rb.statusCode, rb.body).toBe(201);
    expect(rb.json()).toMatchObject({ label: 'v4', packageHash: h2, releasedFrom: 'rollback:v2' });
    expect(await check('2.0.7', prodKey, { appVersion: '1.0.0', label: 'v3', packageHash: h3 })).toMatchObject({ label: 'v4', packageHash: h2 });
  });

  it('promotes Production to Staging as a new label', async () => {
    const res = await t.api.inject({ method: 'POST', url: '/admin/v1/apps/cp/codepush/deployments/Production/promote/Staging', headers: t.admin, payload: {} });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ label: 'v1', packageHash: h2, appVersion: '1.0.x' });
    expect(await check('4.2.3', stagingKey, { appVersion: '1.0.0' })).toMatchObject({ label: 'v1', packageHash: h2 });
  });

  it('counts both reports per label, DeploymentFailed as a failed Halftone install, unknown labels ignored', async () => {
    for (const v of ['4.2.3', '2.0.7'] as const) {
      const m = new sdks[v].AcquisitionManager(fetchRequester, { serverUrl: server, deploymentKey: prodKey, appVersion: '1.0.0', clientUniqueId: `rep-${v}` });
      const pkg = { deploymentKey: prodKey, label: 'v4', appVersion: '1.0.0', packageHash: h2 };
      await new Promise<void>((res, rej) => m.reportStatusDownload(pkg, (e) => (e ? rej(e) : res())));
      await new Promise<void>((res, rej) => m.reportStatusDeploy(pkg, 'DeploymentSucceeded', 'v3', prodKey, (e) => (e ? rej(e) : res())));
      await new Promise<void>((res, rej) => m.reportStatusDeploy({ ...pkg, label: 'v9' }, 'DeploymentSucceeded', 'v4', prodKey, (e) => (e ? rej(e) : res())));
      await new Promise<void>((res, rej) => m.reportStatusDeploy({ ...pkg, label: 'v3' }, 'DeploymentFailed', 'v4', prodKey, (e) => (e ? rej(e) : res())));
    }
    const metrics = (await t.api.inject({ url: '/admin/v1/apps/cp/codepush/deployments/Production/metrics', headers: t.admin })).json() as {
      metrics: Record<string, Record<string, number>>;
    };
    expect(metrics.metrics.v4).toMatchObject({ downloaded: 2, installed: 2, active: 2 });
    expect(metrics.metrics.v3).toMatchObject({ failed: 2, active: -2, rolledBack: 2 });
    expect(metrics.metrics['']).toMatchObject({ ignored: 2 });
    const hist = (await t.api.inject({ url: '/admin/v1/apps/cp/codepush/deployments/Production/history', headers: t.admin })).json() as {
      releases: { label: string; releaseId: string }[];
    };
    const v3 = hist.releases.find((r) => r.label === 'v3');
    const status = (await t.api.inject({ url: `/admin/v1/releases/${v3?.releaseId}/status`, headers: t.admin })).json() as {
      stats: { total: { failed: number } };
    };
    expect(status.stats.total.failed).toBe(2);
    const bad = await fetch(`${server}v0.1/public/codepush/report_status/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deployment_key: prodKey, app_version: '1.0.0', label: 'v4', status: 'Nope' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('Invalid status: Nope');
  });

  it('refuses bad releases with problem+json: unsatisfiable range 409, bad range 400, identical 409, oversized 413', async () => {
    const none = await release('Staging', { a: '1' }, { targetBinaryVersion: '>2.0.0 <1.0.0' });
    expect(none.statusCode).toBe(409);
    expect(none.json()).toMatchObject({ code: 'HT_CODEPUSH_RANGE_UNSATISFIABLE' });
    expect((await release('Staging', { a: '1' }, { targetBinaryVersion: 'banana' })).json()).toMatchObject({ code: 'HT_CODEPUSH_RANGE_INVALID' });
    expect((await release('Staging', v2, { targetBinaryVersion: '1.0.x' })).json()).toMatchObject({ code: 'HT_CODEPUSH_PACKAGE_IDENTICAL' });
    expect((await release('Nope', v2, { targetBinaryVersion: '1.0.x' })).statusCode).toBe(404);
  });
});
