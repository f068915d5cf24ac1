import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, cli, pool, startServer } from './harness.js';

interface ModuleAnswer {
  name: string;
  action: string;
  version?: string;
  url?: string;
  hash?: string;
  size?: number;
  releaseId?: string;
  fallbackUrl?: string;
  mandatory?: boolean;
}

const DEVICES = 10_000;
const WHITELIST = ['wl-device-1', 'wl-device-2', 'wl-device-3'];

describe('gray release lifecycle against the real server', () => {
  let server: RunningServer;
  let clientKey: string;
  let releaseId: string;
  let workDir: string;
  const devices = [...WHITELIST, ...Array.from({ length: DEVICES }, (_, i) => `device-${i}`)];
  /** What each device runs for module `home`. */
  const running = new Map<string, string>(devices.map((d) => [d, '1.0.0']));

  const check = async (deviceId: string, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${server.url}/client/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
      body: JSON.stringify({
        deviceId,
        platform: 'android',
        appVersion: '8.3.0',
        channel: 'huawei',
        modules: [{ name: 'home', version: running.get(deviceId) }],
        ...extra,
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { modules: ModuleAnswer[] };
    const home = body.modules.find((m) => m.name === 'home');
    expect(home).toBeDefined();
    return home as ModuleAnswer;
  };
  const checkAll = async () => {
    const answers = await pool(devices, 32, async (d) => [d, await check(d)] as const);
    return new Map(answers);
  };
  const offeredSet = (answers: Map<string, ModuleAnswer>) =>
    new Set([...answers].filter(([, a]) => a.action === 'update').map(([d]) => d));

  beforeAll(async () => {
    server = await startServer();
    workDir = await mkdtemp(join(tmpdir(), 'halftone-pkg-'));
    for (const v of ['1.0.0', '2.0.0']) {
      const dir = join(workDir, v);
      await mkdir(join(dir, 'assets'), { recursive: true });
      await writeFile(join(dir, 'index.html'), `<h1>home ${v}</h1>`);
      await writeFile(join(dir, 'assets', 'app.js'), `console.log(${JSON.stringify(v)});\n`.repeat(200));
    }
  });
  afterAll(async () => {
    await server?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('creates an app and gets its client key', async () => {
    const res = await cli(server, ['app', 'create', 'demo', '--platform', 'android', '--json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const app = res.json();
    expect(app.id).toBe('demo');
    expect(String(app.clientKey)).toMatch(/^hck_/);
    clientKey = String(app.clientKey);
  });

  it('publishes a directory as an H5 package and serves it with ETag, Range and exact length', async () => {
    const res = await cli(server, [
      'publish', join(workDir, '2.0.0'), '--app', 'demo', '--module', 'home', '--version', '2.0.0',
      '--kind', 'h5', '--min-app-version', '8.0', '--fallback-url', 'https://m.example.com/home', '--json',
    ]);
    expect(res.stderr).toBe('');
    const pkg = res.json();
    expect(pkg).toMatchObject({ module: 'home', version: '2.0.0', kind: 'h5', fileCount: 2 });
    const download = await fetch(String(pkg.url));
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(download.headers.get('content-length')).toBe(String(bytes.length));
    expect(download.headers.get('content-encoding')).toBeNull();
    expect(download.headers.get('etag')).toBe(`"${pkg.hash}"`);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(pkg.hash);
    expect(bytes.length).toBe(pkg.size);
    const part = await fetch(String(pkg.url), { headers: { range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).toString('latin1')).toBe('PK\u0003\u0004');
    const cached = await fetch(String(pkg.url), { headers: { 'if-none-match': `"${pkg.hash}"` } });
    expect(cached.status).toBe(304);

    const again = await cli(server, [
      'publish', join(workDir, '2.0.0'), '--app', 'demo', '--module', 'home', '--version', '2.0.0', '--kind', 'h5', '--json',
    ]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^HT_PACKAGE_VERSION_EXISTS: /);
  });

  it('whitelist stage: only whitelisted devices are offered', async () => {
    const res = await cli(server, [
      'release', 'create', '--app', 'demo', '--module', 'home', '--version', '2.0.0',
      '--whitelist', WHITELIST.join(','), '--json',
    ]);
    expect(res.stderr).toBe('');
    const release = res.json();
    expect(release).toMatchObject({ stage: 'whitelist', status: 'active', percent: 0 });
    releaseId = String(release.id);
    const answers = await checkAll();
    expect([...offeredSet(answers)].sort()).toEqual([...WHITELIST].sort());
    const wl = answers.get('wl-device-1');
    expect(wl).toMatchObject({ action: 'update', version: '2.0.0', releaseId, mandatory: false });
    expect(wl?.url).toMatch(/\/client\/v1\/blobs\/[0-9a-f]{64}$/);
  });

  let tenPercent = new Set<string>();

  it('10% stage: about 10% of devices are offered, whitelisted ones always, stably', async () => {
    const res = await cli(server, ['release', 'set-percent', releaseId, '10', '--json']);
    expect(res.stderr).toBe('');
    expect(res.json()).toMatchObject({ stage: 'percentage', percent: 10 });
    const lower = await cli(server, ['release', 'set-percent', releaseId, '5', '--json']);
    expect(lower.code).not.toBe(0);
    expect(lower.stderr).toMatch(/^HT_ROLLOUT_PERCENT_DECREASE: /);

    tenPercent = offeredSet(await checkAll());
    for (const id of WHITELIST) expect(tenPercent.has(id)).toBe(true);
    const share = (tenPercent.size - WHITELIST.length) / DEVICES;
    expect(share).toBeGreaterThan(0.085);
    expect(share).toBeLessThan(0.115);
    expect(offeredSet(await checkAll())).toEqual(tenPercent);
  });

  const installers: string[] = [];

  it('devices report downloads and installs; status shows the funnel per stage', async () => {
    installers.push(...[...tenPercent].slice(0, 200));
    const failed = [...tenPercent].slice(200, 210);
    await pool(installers, 16, async (deviceId) => {
      const res = await fetch(`${server.url}/client/v1/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
        body: JSON.stringify({
          deviceId,
          events: [
            { type: 'download', releaseId, ok: true },
            { type: 'install', releaseId, ok: true, fromVersion: '1.0.0' },
          ],
        }),
      });
      expect(await res.json()).toEqual({ accepted: 2, rejected: [] });
      running.set(deviceId, '2.0.0');
    });
    for (const deviceId of failed) {
      await fetch(`${server.url}/client/v1/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-halftone-key': clientKey },
        body: JSON.stringify({ deviceId, events: [{ type: 'download', releaseId, ok: false, reason: 'timeout' }] }),
      });
    }
    const status = (await cli(server, ['release', 'status', releaseId, '--json'])).json() as {
      stats: { total: Record<string, number>; stages: Record<string, Record<string, number>> };
    };
    expect(status.stats.total.installed).toBe(200);
    expect(status.stats.total.downloaded).toBe(200);
    expect(status.stats.total.failed).toBe(10);
    expect(status.stats.stages.percentage?.installed).toBe(200);
    // Distinct devices, estimated (HyperLogLog, ~2%): everybody checked; the 10% were offered.
    expect(Math.abs((status.stats.total.checked ?? 0) - devices.length)).toBeLessThan(devices.length * 0.05);
    const offeredCount = (status.stats.stages.percentage?.offered ?? 0);
    expect(Math.abs(offeredCount - tenPercent.size)).toBeLessThan(tenPercent.size * 0.06);
  });

  it('halt: nobody new is offered, installers keep 2.0.0', async () => {
    expect((await cli(server, ['release', 'halt', releaseId, '--json'])).json()).toMatchObject({ status: 'halted' });
    const answers = await checkAll();
    expect(offeredSet(answers).size).toBe(0);
    for (const d of installers) expect(answers.get(d)?.action).toBe('none');
  });

  it('resume reaches the same devices as before', async () => {
    expect((await cli(server, ['release', 'resume', releaseId, '--json'])).json()).toMatchObject({ status: 'active' });
    const stillWaiting = new Set([...tenPercent].filter((d) => !installers.includes(d)));
    expect(offeredSet(await checkAll())).toEqual(stillWaiting);
  });

  it('rollback: only installers are sent back to the version they had; nobody else changes', async () => {
    expect((await cli(server, ['release', 'rollback', releaseId, '--json'])).json()).toMatchObject({ status: 'rolled_back' });
    const answers = await checkAll();
    for (const [deviceId, answer] of answers) {
      if (installers.includes(deviceId)) {
        expect(answer).toMatchObject({ action: 'rollback', version: '1.0.0', releaseId });
      } else {
        expect(answer.action).toBe('none');
      }
    }
    // Runs 2.0.0 without ever reporting the install: untouched.
    running.set('device-stranger', '2.0.0');
    expect((await check('device-stranger')).action).toBe('none');
  });

  it('answers bad input with problem+json and never a 500', async () => {
    const post = (path: string, body: unknown, key: string | null = clientKey) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key !== null ? { 'x-halftone-key': key } : {}) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const cases: [Response, number, string][] = [
      [await post('/client/v1/check', { deviceId: 1, platform: 'android', appVersion: '8', modules: [] }), 400, 'HT_VALIDATION'],
      [await post('/client/v1/check', { deviceId: 'd', platform: 'android', appVersion: '8.x', modules: [] }), 400, 'HT_VERSION_INVALID'],
      [await post('/client/v1/check', '{"deviceId":', clientKey), 400, 'HT_BAD_JSON'],
      [await post('/client/v1/check', { deviceId: 'd', platform: 'android', appVersion: '8', modules: [] }, 'hck_wrong'), 401, 'HT_AUTH_CLIENT_KEY_INVALID'],
      [await post('/client/v1/check', { deviceId: 'd', platform: 'android', appVersion: '8', modules: [] }, null), 401, 'HT_AUTH_CLIENT_KEY_MISSING'],
      [await fetch(`${server.url}/admin/v1/apps`), 401, 'HT_AUTH_TOKEN_MISSING'],
      [await fetch(`${server.url}/admin/v1/apps`, { headers: { authorization: 'Bearer nope' } }), 403, 'HT_AUTH_TOKEN_INVALID'],
    ];
    for (const [res, status, code] of cases) {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as Record<string, unknown>;
      expect(problem.code).toBe(code);
      expect(JSON.stringify(problem)).not.toMatch(/at .*\.js:\d+/);
    }
    const openapi = await fetch(`${server.url}/openapi.json`);
    expect(((await openapi.json()) as { paths: Record<string, unknown> }).paths).toHaveProperty('/client/v1/check');
  });
});
