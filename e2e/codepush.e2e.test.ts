import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, cli, startServer } from './harness.js';

// The real acquisition SDK (4.2.3), as react-native-code-push and its forks load it.
const require = createRequire(join(process.cwd(), 'packages/server/package.json'));
const { AcquisitionManager } = require('code-push/script/acquisition-sdk') as {
  AcquisitionManager: new (r: unknown, c: Record<string, unknown>) => {
    queryUpdateWithCurrentPackage(p: Record<string, unknown>, cb: (e: Error | null, r: Record<string, unknown> | null) => void): void;
    reportStatusDeploy(p: unknown, s: string, l: string | undefined, k: string | undefined, cb: (e: Error | null) => void): void;
  };
};
const VERBS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS', 'CONNECT', 'PATCH'];
const requester = {
  request(verb: number, url: string, body: unknown, cb?: unknown) {
    const done = (typeof body === 'function' ? body : cb) as (e: Error | null, r?: { statusCode: number; body: string }) => void;
    fetch(url, { method: VERBS[verb], headers: { 'content-type': 'application/json' }, ...(typeof body === 'string' ? { body } : {}) })
      .then(async (res) => done(null, { statusCode: res.status, body: await res.text() }))
      .catch((e: Error) => done(e));
  },
};

function folderHash(files: Record<string, Uint8Array>): string {
  const entries = Object.entries(files)
    .filter(([p]) => !p.endsWith('/.codepushrelease'))
    .map(([p, d]) => `${p}:${createHash('sha256').update(d).digest('hex')}`)
    .sort();
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

describe('CodePush: the real server, CLI and SDK', () => {
  let server: RunningServer;
  let work: string;
  let key: string;

  beforeAll(async () => {
    server = await startServer();
    work = await mkdtemp(join(tmpdir(), 'halftone-cp-'));
    expect((await cli(server, ['app', 'create', 'rn', '--platform', 'android'])).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const sdkCheck = (current: Record<string, unknown>, clientUniqueId = 'e2e-1') =>
    new Promise<Record<string, unknown> | null>((resolve, reject) =>
      new AcquisitionManager(requester, { serverUrl: `${server.url}/`, deploymentKey: key, appVersion: '1.0.0', clientUniqueId }).queryUpdateWithCurrentPackage(
        { appVersion: '1.0.0', ...current },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );

  it('deployment add → release → update → patch → rollback, all through the CLI', async () => {
    const add = await cli(server, ['codepush', 'deployment', 'add', 'rn', 'Production', '--json']);
    expect(add.code, add.stderr).toBe(0);
    key = add.json().key as string;
    const ls = await cli(server, ['codepush', 'deployment', 'ls', 'rn']);
    expect(ls.stdout).toContain(key);

    const dir = join(work, 'CodePush');
    await mkdir(join(dir, 'assets'), { recursive: true });
    await writeFile(join(dir, 'index.android.bundle'), 'console.log("v1")');
    await writeFile(join(dir, 'assets', 'logo.png'), 'logo');
    const r1 = await cli(server, ['codepush', 'release', 'rn', 'Production', dir, '--target-binary-version', '1.0.x', '--json']);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.json()).toMatchObject({ label: 'v1', appVersion: '1.0.x', rollout: 100 });

    const u1 = await sdkCheck({});
    expect(u1).toMatchObject({ label: 'v1', packageHash: r1.json().packageHash });
    const dl = await fetch(u1?.downloadUrl as string);
    expect(dl.headers.get('content-length')).toBe(String(u1?.packageSize));
    expect(folderHash(unzipSync(new Uint8Array(await dl.arrayBuffer())))).toBe(r1.json().packageHash);

    await writeFile(join(dir, 'index.android.bundle'), 'console.log("v2")');
    const r2 = await cli(server, ['codepush', 'release', 'rn', 'Production', dir, '--target-binary-version', '1.0.x', '--rollout', '50', '--mandatory', '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.json()).toMatchObject({ label: 'v2', rollout: 50, isMandatory: true });
    const blocked = await cli(server, ['codepush', 'release', 'rn', 'Production', dir, '--target-binary-version', '1.0.x']);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toMatch(/^HT_CODEPUSH_(ROLLOUT_UNFINISHED|PACKAGE_IDENTICAL): /);

    let offered = 0;
    for (let i = 0; i < 200; i++) if ((await sdkCheck({ label: 'v1', packageHash: r1.json().packageHash }, `dev-${i}`))?.label === 'v2') offered++;
    expect(offered).toBeGreaterThan(60);
    expect(offered).toBeLessThan(140);

    const p = await cli(server, ['codepush', 'patch', 'rn', 'Production', '--rollout', '100', '--json']);
    expect(p.json()).toMatchObject({ label: 'v2', rollout: 100 });
    expect(await sdkCheck({ label: 'v1', packageHash: r1.json().packageHash }, 'dev-x')).toMatchObject({ label: 'v2', isMandatory: true });

    const rb = await cli(server, ['codepush', 'rollback', 'rn', 'Production', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.json()).toMatchObject({ label: 'v3', packageHash: r1.json().packageHash, releasedFrom: 'rollback:v1' });
    expect(await sdkCheck({ label: 'v2', packageHash: r2.json().packageHash })).toMatchObject({ label: 'v3' });

    await new Promise<void>((resolve, reject) =>
      new AcquisitionManager(requester, { serverUrl: `${server.url}/`, deploymentKey: key, appVersion: '1.0.0', clientUniqueId: 'e2e-1' }).reportStatusDeploy(
        { deploymentKey: key, label: 'v3', appVersion: '1.0.0', packageHash: r1.json().packageHash },
        'DeploymentSucceeded',
        'v2',
        key,
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    const m = await cli(server, ['codepush', 'metrics', 'rn', 'Production', '--json']);
    expect((m.json().metrics as Record<string, Record<string, number>>).v3).toMatchObject({ installed: 1, active: 1 });

    const unknown = await fetch(`${server.url}/v0.1/public/codepush/update_check?deployment_key=nope-nope-nope&app_version=1.0.0`);
    expect([unknown.status, await unknown.text()]).toEqual([404, 'Not Found']);
    const none = await cli(server, ['codepush', 'release', 'rn', 'Production', dir, '--target-binary-version', '>2.0.0 <1.0.0']);
    expect(none.stderr).toMatch(/^HT_CODEPUSH_RANGE_UNSATISFIABLE: /);
  }, 120_000);
});
