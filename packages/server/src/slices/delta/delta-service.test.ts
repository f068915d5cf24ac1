import { applyDelta, packageContentHash, sha256Hex } from '@halftone/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, multipart, type TestApp } from '../../test-app.test-helpers.js';
import { buildYazlZip } from '../packages/archive.test-helpers.js';
import { createInlineDeltaRunner, DeltaJobTimeout, type DeltaRunner } from './delta-runner.js';
import { readPackageFiles } from './package-files.js';

/** Wraps a runner to count jobs (and optionally replace their result). */
function counting(inner: DeltaRunner = createInlineDeltaRunner(), replace?: (patch: Uint8Array) => Uint8Array | Error) {
  const counter = { runs: 0 };
  const runner: DeltaRunner = {
    async run(input, timeoutMs) {
      counter.runs++;
      const patch = await inner.run(input, timeoutMs);
      const replaced = replace?.(patch);
      if (replaced instanceof Error) throw replaced;
      return replaced ?? patch;
    },
    close: () => inner.close(),
  };
  return { runner, counter };
}

function filesOf(version: string): Record<string, Buffer> {
  const lib = Array.from({ length: 400 }, (_, i) => `export const f${i} = (x) => x * ${i} + 1;\n`).join('');
  return {
    'home/index.html': Buffer.from(`<!doctype html><title>home ${version}</title><script src="app.js"></script>`),
    'home/app.js': Buffer.from(`${lib}console.log("home ${version}");\n`),
    'home/logo.svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
  };
}

let t: TestApp;

describe('patches on demand', () => {
  afterEach(async () => {
    await t?.close();
  });

  async function setup(runner: DeltaRunner) {
    t = await createTestApp({}, { deltaRunner: runner });
    const key = await t.createApp('demo', ['android']);
    const zips: Record<string, Buffer> = {};
    for (const v of ['1.0.0', '2.0.0']) {
      zips[v] = await buildYazlZip(filesOf(v));
      const body = multipart({ module: 'home', version: v, kind: 'h5' }, { name: 'p.zip', data: zips[v] });
      const res = await t.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/packages', headers: { ...t.admin, ...body.headers }, payload: body.payload });
      expect(res.statusCode).toBe(201);
      await t.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/releases', headers: t.admin, payload: { module: 'home', version: v, percent: 100 } });
    }
    const check = async (deviceId: string) => {
      const res = await t.api.inject({
        method: 'POST',
        url: '/client/v1/check',
        headers: { 'x-halftone-key': key },
        payload: { deviceId, platform: 'android', appVersion: '8.0', modules: [{ name: 'home', version: '1.0.0' }] },
      });
      return res.json().modules[0] as { action: string; url: string; contentHash: string; patch?: { url: string; size: number; hash: string; from: string } };
    };
    return { check, zips };
  }

  it('answers in full at once, then offers a patch that rebuilds the new package exactly', async () => {
    const { runner, counter } = counting();
    const { check, zips } = await setup(runner);
    const first = await check('d-1');
    expect(first.action).toBe('update');
    expect(first.patch).toBeUndefined();
    await t.deltas.idle();
    expect(counter.runs).toBe(1);
    const later = await check('d-2');
    expect(later.patch).toMatchObject({ from: '1.0.0' });
    const patch = later.patch as NonNullable<typeof later.patch>;
    const download = await t.api.inject({ url: new URL(patch.url).pathname });
    const bytes = new Uint8Array(download.rawPayload);
    expect(bytes.length).toBe(patch.size);
    expect(sha256Hex(bytes)).toBe(patch.hash);
    expect(patch.size).toBeLessThan((zips['2.0.0'] as Buffer).length / 2);
    const oldFiles = await readPackageFiles(zips['1.0.0'] as Buffer, 'zip');
    const rebuilt = applyDelta(oldFiles, bytes);
    const hash = packageContentHash(rebuilt.map((f) => ({ path: f.path, sha256: sha256Hex(f.data) })));
    expect(hash).toBe(later.contentHash);

    const state = await t.api.inject({
      url: '/admin/v1/apps/demo/patches?module=home&from=1.0.0&to=2.0.0',
      headers: t.admin,
    });
    expect(state.json()).toMatchObject({ status: 'ready', size: patch.size, attempts: 1 });
    expect(state.json().ratio).toBeLessThan(0.5);
    const unknown = await t.api.inject({ url: '/admin/v1/apps/demo/patches?module=home&from=0.1.0&to=2.0.0', headers: t.admin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('HT_DELTA_VERSION_UNKNOWN');
    const notYet = await t.api.inject({ url: '/admin/v1/apps/demo/patches?module=home&from=2.0.0&to=1.0.0', headers: t.admin });
    expect(notYet.json().code).toBe('HT_DELTA_NOT_FOUND');
  });

  it('computes one pair once, even under 50 concurrent checks', async () => {
    const { runner, counter } = counting();
    const { check } = await setup(runner);
    await Promise.all(Array.from({ length: 50 }, (_, i) => check(`d-${i}`)));
    await t.deltas.idle();
    await Promise.all(Array.from({ length: 50 }, (_, i) => check(`e-${i}`)));
    await t.deltas.idle();
    expect(counter.runs).toBe(1);
    expect((await check('z')).patch).toBeDefined();
  });

  it('records a patch that saves too little, and keeps serving the full package', async () => {
    const { runner } = counting(undefined, (patch) => new Uint8Array(patch.length + 1_000_000));
    const { check } = await setup(runner);
    await check('d-1');
    await t.deltas.idle();
    expect((await check('d-2')).patch).toBeUndefined();
    const ids = await packageIds();
    expect(t.deltas.state(ids['1.0.0'] as string, ids['2.0.0'] as string)).toMatchObject({ status: 'too_large' });
  });

  it('a job over its budget is recorded as failed and never crashes the server', async () => {
    const { runner, counter } = counting(undefined, () => new DeltaJobTimeout(5));
    const { check } = await setup(runner);
    await check('d-1');
    await t.deltas.idle();
    const again = await check('d-2');
    expect(again.action).toBe('update');
    expect(again.patch).toBeUndefined();
    await t.deltas.idle();
    expect(counter.runs).toBe(1);
    const ids = await packageIds();
    expect(t.deltas.state(ids['1.0.0'] as string, ids['2.0.0'] as string)).toMatchObject({ status: 'failed' });
  });

  it('drops patches whose end is no longer released, blob included', async () => {
    const { runner } = counting();
    const { check } = await setup(runner);
    await check('d-1');
    await t.deltas.idle();
    const patch = (await check('d-2')).patch as { hash: string };
    const ids = await packageIds();
    expect(await t.deltas.collectGarbage(new Set([ids['1.0.0'] as string, ids['2.0.0'] as string]))).toBe(0);
    expect(await t.deltas.collectGarbage(new Set([ids['1.0.0'] as string]))).toBe(1);
    const blob = await t.api.inject({ url: `/client/v1/blobs/${patch.hash}` });
    expect(blob.statusCode).toBe(404);
  });
});

async function packageIds(): Promise<Record<string, string>> {
  const res = await t.api.inject({ url: '/admin/v1/apps/demo/packages', headers: t.admin });
  return Object.fromEntries((res.json().packages as { version: string; id: string }[]).map((p) => [p.version, p.id]));
}

describe('a patch job in flight when the process dies', () => {
  it('is taken up again by the next process (SQLite: at start)', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'halftone-delta-restart-'));
    const env = {
      HALFTONE_DB_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      HALFTONE_BLOB_URL: `file:${join(dir, 'blobs')}`,
    };
    // The first process starts the job, then "dies" with it unfinished (it never resolves).
    const stuck: DeltaRunner = { run: () => new Promise<Uint8Array>(() => {}), close: async () => {} };
    const first = await createTestApp(env, { deltaRunner: stuck });
    t = first;
    const key = await first.createApp('demo', ['android']);
    for (const v of ['1.0.0', '2.0.0']) {
      const body = multipart({ module: 'home', version: v, kind: 'h5' }, { name: 'p.zip', data: await buildYazlZip(filesOf(v)) });
      await first.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/packages', headers: { ...first.admin, ...body.headers }, payload: body.payload });
      await first.api.inject({ method: 'POST', url: '/admin/v1/apps/demo/releases', headers: first.admin, payload: { module: 'home', version: v, percent: 100 } });
    }
    const checkOn = async (node: TestApp) =>
      (await node.api.inject({
        method: 'POST',
        url: '/client/v1/check',
        headers: { 'x-halftone-key': key },
        payload: { deviceId: 'd', platform: 'android', appVersion: '8.0', modules: [{ name: 'home', version: '1.0.0' }] },
      })).json().modules[0] as { patch?: unknown };
    await checkOn(first);
    const ids = await packageIds();
    await new Promise((r) => setTimeout(r, 50));
    expect(first.deltas.state(ids['1.0.0'] as string, ids['2.0.0'] as string)).toMatchObject({ status: 'running' });

    const second = await createTestApp(env, { deltaRunner: createInlineDeltaRunner() });
    t = second;
    await second.deltas.idle();
    expect(second.deltas.state(ids['1.0.0'] as string, ids['2.0.0'] as string)).toMatchObject({ status: 'ready' });
    expect((await checkOn(second)).patch).toBeDefined();
    await second.close();
    await rm(dir, { recursive: true, force: true });
  });
});
