import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { useCliHarness } from './stub-server.test-helpers.js';

const h = useCliHarness();

const label = {
  label: 'v3',
  appVersion: '1.0.x',
  packageHash: 'a'.repeat(64),
  size: 12,
  isMandatory: true,
  isDisabled: false,
  rollout: 25,
  description: 'notes',
  releaseId: 'rel_1',
  releasedFrom: null,
};
const deployment = { name: 'Production', platform: 'android', key: 'k'.repeat(32), bucketing: 'halftone', module: 'codepush-production' };

describe('halftone codepush', () => {
  it('adds and lists deployments, printing keys', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/codepush/deployments', { status: 201, body: deployment });
    h.stub.on('GET', '/admin/v1/apps/shop/codepush/deployments', { status: 200, body: { deployments: [deployment] } });
    const add = await h.cli(['codepush', 'deployment', 'add', 'shop', 'Production', '--bucketing', 'codepush', '--json']);
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toEqual(deployment);
    expect(h.stub.requests[0]?.body).toEqual({ name: 'Production', bucketing: 'codepush' });
    const ls = await h.cli(['codepush', 'deployment', 'ls', 'shop']);
    expect(ls.stdout).toContain('Production');
    expect(ls.stdout).toContain(deployment.key);
  });

  it('releases a directory zipped with its top folder and the old CLI options', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/codepush/deployments/Production/release', { status: 201, body: label });
    await mkdir(join(h.cwd, 'CodePush'), { recursive: true });
    await writeFile(join(h.cwd, 'CodePush', 'index.android.bundle'), 'js');
    const { code, stdout } = await h.cli([
      'codepush', 'release', 'shop', 'Production', 'CodePush',
      '--target-binary-version', '1.0.x', '--mandatory', '--rollout', '25', '--description', 'notes', '--json',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(label);
    const parts = h.stub.requests[0]?.parts ?? [];
    expect(parts.filter((p) => p.value !== undefined).map((p) => [p.name, p.value])).toEqual([
      ['targetBinaryVersion', '1.0.x'],
      ['mandatory', 'true'],
      ['rollout', '25'],
      ['description', 'notes'],
    ]);
    const file = parts.find((p) => p.name === 'package');
    expect(Object.keys(unzipSync(new Uint8Array(file?.bytes as Buffer)))).toEqual(['CodePush/index.android.bundle']);
  });

  it('promotes, rolls back and patches with the same meaning as the old CLI', async () => {
    h.stub.on('POST', '/admin/v1/apps/shop/codepush/deployments/Staging/promote/Production', { status: 201, body: label });
    h.stub.on('POST', '/admin/v1/apps/shop/codepush/deployments/Production/rollback', { status: 201, body: label });
    h.stub.on('PATCH', '/admin/v1/apps/shop/codepush/deployments/Production/release', { status: 200, body: label });
    expect((await h.cli(['codepush', 'promote', 'shop', 'Staging', 'Production', '--rollout', '10'])).code).toBe(0);
    expect(h.stub.requests[0]?.body).toEqual({ rollout: 10 });
    expect((await h.cli(['codepush', 'rollback', 'shop', 'Production', '--target-release', 'v2'])).code).toBe(0);
    expect(h.stub.requests[1]?.body).toEqual({ targetRelease: 'v2' });
    const p = await h.cli(['codepush', 'patch', 'shop', 'Production', '--label', 'v3', '--rollout', '50', '--mandatory', 'false', '--disabled', 'true']);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('v3');
    expect(h.stub.requests[2]?.body).toEqual({ label: 'v3', rollout: 50, mandatory: false, disabled: true });
  });

  it('prints HT_CODE: message and exits non-zero on errors and bad usage', async () => {
    h.stub.on('PATCH', '/admin/v1/apps/shop/codepush/deployments/Production/release', {
      status: 409,
      body: { type: 'x', title: 'A rollout only grows', status: 409, code: 'HT_CODEPUSH_ROLLOUT_DECREASE' },
    });
    const r = await h.cli(['codepush', 'patch', 'shop', 'Production', '--rollout', '5']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HT_CODEPUSH_ROLLOUT_DECREASE: A rollout only grows');
    const u = await h.cli(['codepush', 'patch', 'shop', 'Production', '--rollout', '0']);
    expect(u.code).not.toBe(0);
    expect(u.stderr).toContain('HT_CLI_USAGE');
    expect((await h.cli(['codepush', 'patch', 'shop', 'Production'])).stderr).toContain('nothing to change');
  });
});
