import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningServer, cli, startServer } from './harness.js';

// The real patcher as a device would use it: the built @halftone/core.
const core = (await import(join(ROOT, 'packages/core/dist/index.js'))) as typeof import('@halftone/core');

interface Answer {
  action: string;
  url: string;
  contentHash: string;
  patch?: { url: string; size: number; hash: string; from: string };
}

describe('delta updates on demand, against the real server (worker threads)', () => {
  let server: RunningServer;
  let key: string;
  let work: string;
  const files = (v: string): Record<string, string> => ({
    'shop/index.html': `<!doctype html><title>shop ${v}</title>`,
    'shop/js/app.js': `${Array.from({ length: 3000 }, (_, i) => `export const f${i} = (x) => x * ${i};`).join('\n')}\nconsole.log('${v}');\n`,
    'shop/img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  });

  beforeAll(async () => {
    server = await startServer({ HALFTONE_DELTA_WORKERS: '1' });
    work = await mkdtemp(join(tmpdir(), 'halftone-delta-e2e-'));
    key = String((await cli(server, ['app', 'create', 'shop', '--platform', 'android', '--json'])).json().clientKey);
    for (const v of ['1.0.0', '1.1.0']) {
      for (const [path, text] of Object.entries(files(v))) {
        await mkdir(join(work, v, path, '..'), { recursive: true });
        await writeFile(join(work, v, path), text);
      }
      const pub = await cli(server, ['publish', join(work, v), '--app', 'shop', '--module', 'shop', '--version', v, '--kind', 'h5', '--json']);
      expect(pub.stderr).toBe('');
      const rel = await cli(server, ['release', 'create', '--app', 'shop', '--module', 'shop', '--version', v, '--percent', '100', '--json']);
      expect(rel.stderr).toBe('');
    }
  });
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const check = async (deviceId: string): Promise<Answer> => {
    const res = await fetch(`${server.url}/client/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-halftone-key': key },
      body: JSON.stringify({ deviceId, platform: 'android', appVersion: '9.0', modules: [{ name: 'shop', version: '1.0.0' }] }),
    });
    return ((await res.json()) as { modules: Answer[] }).modules[0] as Answer;
  };

  it('the first device gets the full package at once; later devices get a patch that rebuilds it exactly', async () => {
    const first = await check('device-1');
    expect(first.action).toBe('update');
    expect(first.patch).toBeUndefined();
    let later: Answer = first;
    for (let i = 0; i < 100 && later.patch === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      later = await check(`device-${i + 2}`);
    }
    const patch = later.patch;
    expect(patch).toMatchObject({ from: '1.0.0' });
    if (patch === undefined) return;
    const full = await fetch(later.url);
    const fullSize = Number(full.headers.get('content-length'));
    expect(patch.size).toBeLessThan(fullSize / 2);
    const bytes = new Uint8Array(await (await fetch(patch.url)).arrayBuffer());
    expect(core.sha256Hex(bytes)).toBe(patch.hash);
    // The device's old package, as it has it on disk.
    const old = Object.entries(files('1.0.0')).map(([path, text]) => ({ path, data: new TextEncoder().encode(text) }));
    const rebuilt = core.applyDelta(old, bytes);
    const hash = core.packageContentHash(rebuilt.map((f) => ({ path: f.path, sha256: core.sha256Hex(f.data) })));
    expect(hash).toBe(later.contentHash);
    // A device whose files do not match the patch's base is refused before anything is written.
    const wrong = old.map((f, i) => (i === 0 ? { ...f, data: new TextEncoder().encode('changed') } : f));
    let refused: unknown;
    try {
      core.applyDelta(wrong, bytes);
    } catch (err) {
      refused = err;
    }
    expect((refused as { code?: string }).code).toBe('HT_DELTA_BASE_MISMATCH');
  });
});
